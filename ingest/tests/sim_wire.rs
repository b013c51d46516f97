//! The simulated fleet on the wire: a meter read over a pseudo-terminal pair (socat), and communication
//! faults (drop-out, late reply, garbage bytes) seen by the collector's bus client over TCP.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use chrono::{DateTime, Utc};
use ingest::collector::poll::read_value;
use ingest::collector::{BusClient, BusEndpoint};
use ingest::dlt645::data_id::Value;
use ingest::dlt645::{Address, DataId, Frame};
use ingest::sim::{
    Fault, FaultConfig, FaultKind, Fleet, FleetConfig, GridConfig, ScheduledFault, SimClock,
};
use rust_decimal::Decimal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn start() -> DateTime<Utc> {
    "2026-10-01T00:00:00Z".parse().unwrap()
}

fn fleet(faults: Vec<ScheduledFault>) -> Fleet {
    Fleet::new(
        &FleetConfig {
            meters: 2,
            constant_watts: Some(1000.0),
            grid: GridConfig {
                supply_meters: false,
                ..GridConfig::default()
            },
            faults: FaultConfig {
                scheduled: faults,
                random: Vec::new(),
            },
            ..FleetConfig::default()
        },
        start(),
    )
    .unwrap()
}

/// Kills the socat child when the test ends, however it ends.
struct Socat(Child);

impl Drop for Socat {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn pty_pair(dir: &Path) -> (Socat, PathBuf, PathBuf) {
    let (a, b) = (dir.join("a"), dir.join("b"));
    let child = Command::new("socat")
        .arg("-d")
        .arg("-d")
        .arg(format!("pty,raw,echo=0,link={}", a.display()))
        .arg(format!("pty,raw,echo=0,link={}", b.display()))
        .spawn()
        .expect("socat is required for this test (scripts/test.sh installs it)");
    let socat = Socat(child);
    for _ in 0..400 {
        if a.exists() && b.exists() {
            return (socat, a, b);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("socat did not create {} and {}", a.display(), b.display());
}

fn kwh(v: Option<Value>) -> Decimal {
    match v {
        Some(Value::Number(n, "kWh")) => n,
        other => panic!("expected kWh, got {other:?}"),
    }
}

#[tokio::test]
async fn a_meter_is_read_over_a_serial_pty() {
    let dir = tempfile::tempdir().unwrap();
    let (_socat, a, b) = pty_pair(dir.path());
    let fleet = fleet(Vec::new());
    let clock = SimClock::new(start() + chrono::Duration::minutes(30));
    let server = ingest::sim::serve_bus_serial(fleet.buses[0].clone(), clock, &a).unwrap();
    let mut client = BusClient::new(
        BusEndpoint::Serial {
            path: b.display().to_string(),
            baud: 2400,
            parity: Default::default(),
        },
        Duration::from_secs(2),
        2,
    );
    let meter = Address::from_number(1002).unwrap();
    assert_eq!(
        kwh(read_value(&mut client, meter, DataId::FORWARD_ACTIVE_TOTAL).await),
        Decimal::new(50, 2)
    );
    assert_eq!(
        read_value(&mut client, meter, DataId::METER_NUMBER).await,
        Some(Value::Digits("000000001002".into()))
    );
    match read_value(&mut client, meter, DataId::VOLTAGE_A).await {
        Some(Value::Number(v, "V")) => {
            assert!((Decimal::from(217)..Decimal::from(223)).contains(&v))
        }
        other => panic!("voltage {other:?}"),
    }
    server.abort();
}

#[tokio::test]
async fn dropouts_late_replies_and_garbage_happen_on_the_wire() {
    let hour = |h: i64| start() + chrono::Duration::hours(h);
    let mut timeout = Fault::new(FaultKind::CommTimeout, hour(2), hour(3));
    timeout.magnitude = 1200.0;
    let faults = vec![
        ScheduledFault {
            meter_number: 1001,
            fault: Fault::new(FaultKind::CommDropout, hour(1), hour(2)),
        },
        ScheduledFault {
            meter_number: 1001,
            fault: timeout,
        },
        ScheduledFault {
            meter_number: 1001,
            fault: Fault::new(FaultKind::Garbage, hour(3), hour(4)),
        },
    ];
    let fleet = fleet(faults);
    let clock = SimClock::new(hour(0));
    let (addr, server) = ingest::sim::server::serve_bus(
        fleet.buses[0].clone(),
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let endpoint = BusEndpoint::Tcp(addr.to_string());
    let meter = Address::from_number(1001).unwrap();
    let fast = || BusClient::new(endpoint.clone(), Duration::from_millis(400), 0);
    let di = DataId::FORWARD_ACTIVE_TOTAL;

    clock.set(hour(1) + chrono::Duration::minutes(30));
    assert_eq!(read_value(&mut fast(), meter, di).await, None, "drop-out");
    // The other meter on the bus still answers.
    let other = Address::from_number(1002).unwrap();
    assert_eq!(
        kwh(read_value(&mut fast(), other, di).await),
        Decimal::new(150, 2)
    );

    clock.set(hour(2) + chrono::Duration::minutes(30));
    assert_eq!(read_value(&mut fast(), meter, di).await, None, "late reply");
    let mut patient = BusClient::new(endpoint.clone(), Duration::from_secs(3), 0);
    assert_eq!(
        kwh(read_value(&mut patient, meter, di).await),
        Decimal::new(250, 2)
    );

    clock.set(hour(3) + chrono::Duration::minutes(30));
    let mut raw = tokio::net::TcpStream::connect(addr).await.unwrap();
    raw.write_all(&Frame::read_request(meter, di).encode(0).unwrap())
        .await
        .unwrap();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 256];
    // 8 garbage bytes + a 20-byte reply (12 + DI + 4-byte value) + 8 garbage bytes.
    while bytes.len() < 36 {
        let n = tokio::time::timeout(Duration::from_secs(2), raw.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        bytes.extend_from_slice(&buf[..n]);
    }
    assert_eq!(bytes.len(), 36);
    assert!(
        !bytes[..8].contains(&0x68),
        "garbage never holds a start byte"
    );
    let (reply, used) = Frame::decode(&bytes[8..]).unwrap();
    assert_eq!((reply.address, used), (meter, 20));
    assert!(!bytes[28..].contains(&0x68));
    // The collector's decoder skips the garbage.
    assert_eq!(
        kwh(read_value(&mut fast(), meter, di).await),
        Decimal::new(350, 2)
    );
    server.abort();
}
