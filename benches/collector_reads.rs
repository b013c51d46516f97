//! Collector throughput: DL/T 645 read requests per second (one request and its reply each) from a
//! collector to simulated DTUs over loopback TCP, through the real collection path (poll, Arrow batch,
//! fsync'd spool).
//!
//! `cargo bench --bench collector_reads -- [DTUS] [METERS_PER_DTU] [ROUNDS]` (default 2000 × 5 × 5).
//! Without `--bench` (as under `cargo test --all-targets`) it runs 20 × 2 × 1 as a smoke test.
//! The simulator runs in the same process, so both sides share the machine's cores.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ingest::collector::limits::raise_open_files_limit;
use ingest::collector::poll::POLLED_IDS;
use ingest::collector::{Collector, CollectorConfig};
use ingest::kafka::{EmbeddedKafka, KafkaSettings, Topics};
use ingest::sim::{Fleet, FleetConfig, SecurityMode, SimClock};
use ingest::spool::{Spool, SpoolConfig};

mod args;

use args::positional as arg;

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; under `cargo test --all-targets` this runs as a small smoke test.
    let bench = args::full_run();
    let (dtus, per_dtu, rounds) = if bench {
        (arg(1, 2000), arg(2, 5), arg(3, 5))
    } else {
        (20, 2, 1)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let topics = Topics::with_prefix("bench.");
    let kafka = EmbeddedKafka::start(1, &topics, 1)?;
    let settings = KafkaSettings {
        brokers: kafka.bootstrap_servers(),
        properties: Default::default(),
    };
    runtime.block_on(async move {
        let limit = raise_open_files_limit((dtus as u64) * 3 + 1024)?;
        let start: DateTime<Utc> = "2026-10-01T00:00:00Z".parse()?;
        let fleet = Fleet::new(
            &FleetConfig {
                meters: dtus * per_dtu,
                meters_per_bus: per_dtu,
                first_meter_number: 1,
                seed: 1,
                constant_watts: None,
                security: SecurityMode::Lab,
                zone: chrono_tz::Asia::Shanghai,
                bus_prefix: "bench".into(),
                grid: ingest::sim::grid::GridConfig {
                    supply_meters: false,
                    ..Default::default()
                },
                ..FleetConfig::default()
            },
            start,
        )?;
        let clock = SimClock::new(start);
        let buses = ingest::sim::server::serve_fleet(&fleet, &clock, [127, 0, 0, 1].into())
            .await?
            .buses;
        let spool_dir = tempfile::tempdir()?;
        let collector = Arc::new(Collector::new(
            CollectorConfig {
                collector_id: "bench".into(),
                buses,
                timeout: Duration::from_secs(5),
                retries: 0,
                zone: chrono_tz::Asia::Shanghai,
                max_concurrent_buses: dtus,
                clock_check_every: 0,
                event_check_every: 0,
                clock_threshold: Duration::from_secs(60),
                command_keys: None,
            },
            Arc::new(std::sync::Mutex::new(Spool::open(SpoolConfig::new(
                spool_dir.path(),
                1 << 34,
            ))?)),
            ingest::kafka::producer(&settings)?,
            topics,
            Arc::new(clock.clone()),
        ));
        println!(
            "collector_reads: {dtus} DTU connections × {per_dtu} meters × {} DIs, {rounds} rounds \
             (open-files limit {limit})",
            POLLED_IDS.len()
        );
        let mut best = 0f64;
        for round in 0..=rounds {
            let boundary = start + chrono::Duration::minutes(15 * (round as i64 + 1));
            clock.set(boundary);
            let began = Instant::now();
            let stats = collector.collect(boundary).await?;
            let elapsed = began.elapsed().as_secs_f64();
            let reads = stats.rows as f64 * POLLED_IDS.len() as f64;
            if stats.no_response > 0 {
                anyhow::bail!("{} meters did not answer", stats.no_response);
            }
            if round == 0 {
                println!("  warm-up (connects {dtus} DTUs): {elapsed:.2} s");
                continue;
            }
            let rate = reads / elapsed;
            best = best.max(rate);
            println!(
                "  round {round}: {} rows, {reads} reads in {elapsed:.3} s = {rate:.0} reads/s",
                stats.rows
            );
        }
        println!("best: {best:.0} DI reads/s");
        anyhow::Ok(())
    })?;
    drop(kafka);
    Ok(())
}
