//! `meterlake sim`: a simulated fleet serving DL/T 645 on TCP DTUs (consecutive ports) or serial devices,
//! on a real-time or compressed clock, writing the meter registry and fault labels, until Ctrl-C.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, ensure, Context};
use chrono::{DateTime, Utc};
use ingest::collector::{buses_file, BusConfig, BusEndpoint};
use ingest::sim::{FaultConfig, Fleet, FleetConfig, GridConfig, SimClock};
use meterlake::Config;

/// Options of `meterlake sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Customer meters.
    #[arg(long, default_value_t = 100)]
    meters: usize,
    /// Customer meters behind each DTU.
    #[arg(long, default_value_t = 32)]
    meters_per_bus: usize,
    /// Customer meters per transformer area.
    #[arg(long, default_value_t = 100)]
    meters_per_area: usize,
    /// Areas per feeder.
    #[arg(long, default_value_t = 4)]
    areas_per_feeder: usize,
    /// Leave out the areas' supply meters.
    #[arg(long)]
    no_supply_meters: bool,
    /// Address number of the first customer meter.
    #[arg(long, default_value_t = 1001)]
    first_meter: u64,
    /// Address the DTUs listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Port of the first DTU; bus n listens on base + n.
    #[arg(long, default_value_t = 7100)]
    base_port: u16,
    /// Serve the buses on these serial devices instead of TCP (one per bus, in bus order, comma-separated).
    #[arg(long, value_delimiter = ',')]
    serial: Vec<PathBuf>,
    /// Simulated seconds per real second (1 = real time).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Simulated start (default: now).
    #[arg(long)]
    start: Option<DateTime<Utc>>,
    /// Seed of every random draw.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of customer meters with rooftop PV.
    #[arg(long, default_value_t = 0.1)]
    pv_share: f64,
    /// Share of customer meters that get each fault kind.
    #[arg(long, default_value_t = 0.0)]
    fault_share: f64,
    /// Random faults fall in a window of this many simulated hours from one hour after the start (each fault
    /// starts in the window's first half and lasts half the window).
    #[arg(long, default_value_t = 6.0)]
    fault_hours: f64,
    /// Every meter draws this constant power (W) instead of a residential profile (lab meters).
    #[arg(long)]
    constant_watts: Option<f64>,
    /// Directory for meters.csv, areas.csv and faults.csv.
    #[arg(long, default_value = "sim-out")]
    out: PathBuf,
}

/// The fastest the simulated clock may run, × real time.
const MAX_SPEED: f64 = 1_000_000.0;
/// The longest fault window, simulated hours.
const MAX_FAULT_HOURS: f64 = 87_600.0;

/// Runs the simulator until Ctrl-C.
pub async fn run(config: Config, args: SimArgs) -> anyhow::Result<()> {
    ensure!(
        (0.0..=1.0).contains(&args.pv_share),
        "--pv-share must be in 0..=1"
    );
    ensure!(
        (0.0..=1.0).contains(&args.fault_share),
        "--fault-share must be in 0..=1"
    );
    ensure!(
        args.speed > 0.0 && args.speed <= MAX_SPEED,
        "--speed must be above 0 and at most {MAX_SPEED} (one simulated year in under a minute)"
    );
    ensure!(
        args.fault_hours > 0.0 && args.fault_hours <= MAX_FAULT_HOURS,
        "--fault-hours must be above 0 and at most {MAX_FAULT_HOURS} (ten years)"
    );
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    let start = args.start.unwrap_or_else(Utc::now);
    let fault_start = start + chrono::Duration::hours(1);
    let fault_end = chrono::Duration::try_seconds((args.fault_hours * 3600.0) as i64)
        .and_then(|window| fault_start.checked_add_signed(window))
        .context("--fault-hours: the fault window ends past the calendar's end")?;
    let fleet_config = FleetConfig {
        meters: args.meters,
        meters_per_bus: args.meters_per_bus,
        first_meter_number: args.first_meter,
        seed: args.seed,
        constant_watts: args.constant_watts,
        zone,
        grid: GridConfig {
            meters_per_area: args.meters_per_area,
            areas_per_feeder: args.areas_per_feeder,
            supply_meters: !args.no_supply_meters,
            ..GridConfig::default()
        },
        pv_share: args.pv_share,
        faults: if args.fault_share > 0.0 {
            FaultConfig::random_share(args.fault_share, fault_start, fault_end)
        } else {
            FaultConfig::default()
        },
        ..FleetConfig::default()
    };
    let fleet = Fleet::new(&fleet_config, start)?;
    fleet.write_registry(&args.out)?;
    let customers: usize = fleet.areas.iter().map(|a| a.customers).sum();
    let supply = fleet
        .areas
        .iter()
        .filter(|a| a.supply_meter_id.is_some())
        .count();
    println!(
        "{customers} customer and {supply} supply meters on {} buses in {} areas; {} faults; registry in {}",
        fleet.buses.len(),
        fleet.areas.len(),
        fleet.faults.len(),
        args.out.display()
    );
    let clock = SimClock::new(start);
    let mut servers = Vec::new();
    let mut buses = Vec::with_capacity(fleet.buses.len());
    let area_of = |bus_id: &str| {
        fleet
            .meters
            .iter()
            .find(|m| m.bus_id == bus_id)
            .map(|m| m.area_id.clone())
            .unwrap_or_default()
    };
    if args.serial.is_empty() {
        raise_open_files(fleet.buses.len() as u64 * 2 + 64);
        for (n, bus) in fleet.buses.iter().enumerate() {
            let port = u16::try_from(usize::from(args.base_port) + n)
                .context("too many buses for the port range above --base-port")?;
            let (addr, handle) = ingest::sim::server::serve_bus(
                bus.clone(),
                clock.clone(),
                SocketAddr::new(args.bind, port),
            )
            .await
            .with_context(|| format!("binding {}:{port}", args.bind))?;
            servers.push(handle);
            println!("{} tcp://{addr} {}", bus.bus_id, describe(&bus.addresses));
            buses.push(BusConfig {
                bus_id: bus.bus_id.clone(),
                area: area_of(&bus.bus_id),
                endpoint: BusEndpoint::Tcp(addr.to_string()),
                meters: bus.addresses.clone(),
                relay_security: std::sync::Arc::new(ingest::collector::PlaintextLab::default()),
            });
        }
    } else {
        if args.serial.len() < fleet.buses.len() {
            bail!(
                "{} buses but only {} serial devices",
                fleet.buses.len(),
                args.serial.len()
            );
        }
        for (bus, device) in fleet.buses.iter().zip(&args.serial) {
            servers.push(ingest::sim::serve_bus_serial(
                bus.clone(),
                clock.clone(),
                device,
            )?);
            println!(
                "{} serial://{}@2400 {}",
                bus.bus_id,
                device.display(),
                describe(&bus.addresses)
            );
            buses.push(BusConfig {
                bus_id: bus.bus_id.clone(),
                area: area_of(&bus.bus_id),
                endpoint: BusEndpoint::Serial {
                    path: device.display().to_string(),
                    baud: 2400,
                    parity: Default::default(),
                },
                meters: bus.addresses.clone(),
                relay_security: std::sync::Arc::new(ingest::collector::PlaintextLab::default()),
            });
        }
    }
    let buses_path = args.out.join("buses.toml");
    std::fs::write(&buses_path, buses_file::render(&buses))
        .with_context(|| format!("writing {}", buses_path.display()))?;
    println!(
        "buses file for `meterlake collect --buses {}` written",
        buses_path.display()
    );
    let driver = {
        let clock = clock.clone();
        let began = Instant::now();
        let speed = args.speed;
        tokio::spawn(async move {
            loop {
                let elapsed = began.elapsed().as_secs_f64() * speed;
                let ahead = chrono::Duration::microseconds((elapsed * 1e6) as i64);
                let now = start.checked_add_signed(ahead);
                let Some(now) = now else {
                    tracing::error!(
                        "the simulated clock reached the calendar's end; it stops here"
                    );
                    return;
                };
                clock.set(now);
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        })
    };
    println!(
        "simulating from {start} at {}× speed; Ctrl-C to stop",
        args.speed
    );
    tokio::signal::ctrl_c().await?;
    driver.abort();
    for server in servers {
        server.abort();
    }
    Ok(())
}

fn describe(addresses: &[ingest::dlt645::Address]) -> String {
    match (addresses.first(), addresses.last()) {
        (Some(first), Some(last)) if addresses.len() > 1 => {
            format!("meters {first}..{last} ({})", addresses.len())
        }
        (Some(only), _) => format!("meter {only}"),
        _ => "no meters".into(),
    }
}

/// Raises the soft open-files limit towards `needed` (up to the hard limit); warns if it stays lower.
fn raise_open_files(needed: u64) {
    match ingest::collector::limits::raise_open_files_limit(needed) {
        Ok(limit) if limit >= needed => {}
        Ok(limit) => {
            eprintln!("warning: open-files limit {limit} is below the {needed} this fleet needs")
        }
        Err(err) => eprintln!("warning: cannot raise the open-files limit: {err}"),
    }
}
