//! `meterlake frame decode|encode` and `meterlake meter read`, run as the real binary. Frames are the
//! documented ones (docs: DL/T 645 reference §12); the meter is a simulated bus on 127.0.0.1.

use std::process::Output;

use chrono::{DateTime, Utc};
use ingest::sim::server::serve_bus;
use ingest::sim::{Fleet, FleetConfig, SecurityMode, SimClock};
use serde_json::Value;

fn meterlake(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn failure(out: &Output) -> String {
    assert!(!out.status.success(), "expected failure");
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn encode(args: &[&str]) -> String {
    let mut all = vec!["frame", "encode"];
    all.extend_from_slice(args);
    stdout(&meterlake(&all))
}

fn decode_json(hex: &str) -> Value {
    serde_json::from_str(&stdout(&meterlake(&["frame", "decode", hex, "--json"]))).unwrap()
}

#[test]
fn documented_requests_encode_to_the_documented_bytes() {
    // F2, F3, F5, F1.
    assert_eq!(
        encode(&["read", "--address", "000102030425", "--di", "00010000"]),
        "68 25 04 03 02 01 00 68 11 04 33 33 34 33 E1 16"
    );
    assert_eq!(
        encode(&["read", "--address", "161", "--di", "02010100"]),
        "68 61 01 00 00 00 00 68 11 04 33 34 34 35 17 16"
    );
    assert_eq!(
        encode(&["read", "--address", "AAAAAAAAAAAA", "--di", "00010000"]),
        "68 AA AA AA AA AA AA 68 11 04 33 33 34 33 AE 16"
    );
    assert_eq!(
        encode(&["read-address", "--preamble", "4"]),
        "FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16"
    );
    // F4 is the meter's reply to F3: 100.1 V.
    assert_eq!(
        encode(&[
            "reply",
            "--address",
            "161",
            "--di",
            "02010100",
            "--value",
            "100.1"
        ]),
        "68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16"
    );
}

#[test]
fn documented_frames_decode() {
    let f4 = decode_json("68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16");
    assert_eq!(f4["direction"], "meter_to_master");
    assert_eq!(f4["di"], "02010100");
    assert_eq!(f4["values"][0]["value"], "100.1");
    assert_eq!(f4["values"][0]["unit"], "V");
    let short = decode_json(&encode(&[
        "read",
        "--address",
        "AAAAAAAA0425",
        "--di",
        "0001FF00",
    ]));
    assert_eq!(short["address"], "AAAAAAAA0425");
    assert_eq!(short["shortened"], true);
    assert_eq!(
        short["di_name"],
        "forward active energy block (total, tariffs 1..4)"
    );
    let f1 = decode_json("FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16");
    assert_eq!(f1["wildcard"], true);
    assert_eq!(f1["function"], "read address");
    let f6 = decode_json("FE FE FE FE 68 02 00 31 08 22 20 68 11 04 32 55 B3 35 D1 16");
    assert_eq!(f6["address"], "202208310002");
    assert_eq!(f6["di"], "028022FF");
    let plain = stdout(&meterlake(&[
        "frame",
        "decode",
        "68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16",
    ]));
    assert!(plain.contains("phase-A voltage"), "{plain}");
    assert!(plain.contains("100.1 V"), "{plain}");
}

#[test]
fn commands_round_trip_through_encode_and_decode() {
    let sync = encode(&["time-sync", "--at", "2017-06-05 10:22:51"]);
    assert_eq!(
        sync,
        "68 99 99 99 99 99 99 68 08 06 84 55 43 38 39 4A 4B 16"
    );
    let e = decode_json(&sync);
    assert_eq!(e["broadcast"], true);
    assert_eq!(e["time_sync"], "2017-06-05 10:22:51");

    let freeze = decode_json(&encode(&["freeze", "--address", "1"]));
    assert_eq!(freeze["freeze"], "now");
    assert_eq!(freeze["data"], "99999999");

    let actions = [
        ("trip", "0x1a"),
        ("close-allowed", "0x1b"),
        ("close", "0x1c"),
        ("pre-trip-restore", "0x1d"),
        ("pre-trip-close-allowed", "0x1e"),
        ("alarm", "0x2a"),
        ("alarm-off", "0x2b"),
        ("keep-power", "0x3a"),
        ("keep-power-off", "0x3b"),
    ];
    for (action, n1) in actions {
        let hex = encode(&[
            "relay",
            "--address",
            "000102030425",
            "--action",
            action,
            "--delay",
            "6",
            "--valid-until",
            "2099-12-31 23:59:59",
            "--preamble",
            "4",
        ]);
        let e = decode_json(&hex);
        assert_eq!(e["address"], "000102030425");
        assert_eq!(e["relay"]["n1"], n1, "{action}");
        assert_eq!(e["relay"]["n2"], 6);
        assert_eq!(e["relay"]["privilege"], "02");
        assert_eq!(e["relay"]["valid_until"], "2099-12-31 23:59:59");
    }

    let block = decode_json(&encode(&[
        "reply",
        "--address",
        "1",
        "--di",
        "0001FF00",
        "--value",
        "12.34",
        "--value",
        "1",
        "--value",
        "2",
        "--value",
        "3",
        "--value",
        "6.34",
    ]));
    let values = block["values"].as_array().unwrap();
    assert_eq!(values.len(), 5);
    assert_eq!(values[0]["di"], "00010000");
    assert_eq!(values[0]["value"], "12.34");
    assert_eq!(values[4]["di"], "00010400");
    assert_eq!(values[4]["value"], "6.34");
}

#[test]
fn bad_input_is_a_clear_error() {
    let err = failure(&meterlake(&["frame", "decode", "68 ZZ"]));
    assert!(err.contains("invalid hex"), "{err}");
    // F8: wrong checksum.
    let err = failure(&meterlake(&[
        "frame",
        "decode",
        "68 61 57 85 09 03 24 68 11 04 33 33 36 35 24 16",
    ]));
    assert!(
        err.contains("checksum mismatch: frame says 0x24, computed 0x23"),
        "{err}"
    );
    let refused: [(&[&str], &str); 3] = [
        (
            &["read", "--address", "1", "--di", "0201"],
            "\"0201\" is not a data identifier",
        ),
        (
            &["read", "--address", "12345X", "--di", "02010100"],
            "is not a meter address",
        ),
        (
            &[
                "reply",
                "--address",
                "1",
                "--di",
                "02010100",
                "--value",
                "1000",
            ],
            "does not fit format XXX.X",
        ),
    ];
    for (args, expected) in refused {
        let mut full = vec!["frame", "encode"];
        full.extend_from_slice(args);
        let err = failure(&meterlake(&full));
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}

async fn simulated_bus(start: DateTime<Utc>) -> (String, SimClock) {
    let config = FleetConfig {
        meters: 2,
        meters_per_bus: 2,
        first_meter_number: 1001,
        seed: 7,
        constant_watts: Some(1000.0),
        security: SecurityMode::Lab,
        zone: chrono_tz::Asia::Shanghai,
        bus_prefix: "cli".into(),
        grid: ingest::sim::GridConfig {
            supply_meters: false,
            ..Default::default()
        },
        ..FleetConfig::default()
    };
    let fleet = Fleet::new(&config, start).unwrap();
    let clock = SimClock::new(start);
    let (addr, _task) = serve_bus(
        fleet.buses[0].clone(),
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    (addr.to_string(), clock)
}

/// `meterlake meter read --tcp TCP --address ADDRESS EXTRA...`.
async fn meter_read(tcp: &str, address: &str, extra: &[&str]) -> Output {
    let mut args = vec!["meter", "read", "--tcp", tcp, "--address", address];
    args.extend_from_slice(extra);
    run(args.iter().map(|s| s.to_string()).collect()).await
}

async fn run(args: Vec<String>) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args(args)
        .output()
        .await
        .expect("the binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meter_read_prints_every_decoded_value_and_refusals() {
    let start: DateTime<Utc> = "2026-10-01T04:00:00Z".parse().unwrap();
    let (tcp, clock) = simulated_bus(start).await;
    clock.set(start + chrono::Duration::minutes(15));
    let out = meter_read(&tcp, "000000001001", &["--json"]).await;
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["meter"], "000000001001");
    let readings = report["readings"].as_array().unwrap();
    assert_eq!(readings.len(), 15);
    assert_eq!(report["answered"], 15);
    let value = |di: &str| -> (String, String) {
        let row = readings.iter().find(|r| r["di"] == di).unwrap();
        assert_eq!(row["status"], "ok", "{row}");
        let v = &row["values"][0];
        (
            v["value"].as_str().unwrap().to_string(),
            v["unit"].as_str().unwrap().to_string(),
        )
    };
    // 1 kW for 15 minutes.
    assert_eq!(value("00010000"), ("0.25".into(), "kWh".into()));
    assert_eq!(value("00020000"), ("0.00".into(), "kWh".into()));
    assert_eq!(value("02030000"), ("1.0000".into(), "kW".into()));
    assert_eq!(value("02060000"), ("0.950".into(), "".into()));
    let (hertz, unit) = value("02800002");
    assert_eq!(unit, "Hz");
    let hertz: f64 = hertz.parse().unwrap();
    assert!((49.8..=50.2).contains(&hertz), "{hertz}");
    assert_eq!(value("04000503"), ("0x8200".into(), "".into()));
    let (volts, unit) = value("02010100");
    assert_eq!(unit, "V");
    let volts: f64 = volts.parse().unwrap();
    assert!((218.0..=222.0).contains(&volts), "{volts}");
    // The simulated meter does not hold the balance: refused with ERR 02, not a crash.
    let balance = readings.iter().find(|r| r["di"] == "00900200").unwrap();
    assert_eq!(balance["status"], "refused");
    assert_eq!(balance["error"]["kind"], "ERR");
    assert_eq!(balance["error"]["word"], "0x02");
    assert_eq!(balance["error"]["bits"][0], "no requested data");

    // Plain output: an aligned table with units.
    let out = meter_read(
        &tcp,
        "000000001002",
        &["--di", "02030000", "--di", "00900200"],
    )
    .await;
    let table = stdout(&out);
    assert!(table.contains("total active power"), "{table}");
    assert!(table.contains("1.0000 kW"), "{table}");
    assert!(
        table.contains("refused: ERR 0x02 (no requested data)"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meter_that_never_answers_fails_the_command() {
    let start: DateTime<Utc> = "2026-10-01T04:00:00Z".parse().unwrap();
    let (tcp, _clock) = simulated_bus(start).await;
    let out = meter_read(
        &tcp,
        "000000009999",
        &["--timeout-ms", "200", "--retries", "0", "--json"],
    )
    .await;
    let err = failure(&out);
    assert!(err.contains("meter 000000009999 never answered"), "{err}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["readings"][0]["status"], "no_reply");
}
