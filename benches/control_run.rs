//! The control service's speed, three ways:
//!
//! 1. **Payments per second** through the payment use case (ledger entry, state, receipt, one
//!    transaction each) on SQLite and on PostgreSQL (a server started on a temporary directory), with
//!    16 payments in flight over 100 accounts.
//! 2. **Payment → close-allowed at the meter**: a pipeline whose every meter starts tripped; one payment
//!    at a time over HTTP, timed until the simulated meter's relay is close-allowed (HTTP, ledger,
//!    outbox, Kafka, collector, DL/T 645 frame). p50, p99, max.
//! 3. **Billing passes over a fleet**: accounts for every customer meter of a generated lake
//!    ([`fleet_lake`]); the first pass over `DAYS − 1` days, then the last day is appended and the
//!    second (incremental) pass runs. SQLite and PostgreSQL.
//!
//! `cargo bench --bench control_run -- [PAYMENTS] [LATENCY_PAYMENTS] [AREAS] [CUSTOMERS_PER_AREA] [DAYS]`
//! (default 5,000 × 1,000 × 1,000 areas × 100 customers × 10 days). Without `--bench` it runs tiny sizes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use control::app::audit::Actor;
use control::domain::access::Role;
use control::store::Db;
use control::Control;
use futures::{StreamExt, TryStreamExt};
use ingest::clock::Clock;
use ingest::dlt645::Address;
use ingest::kafka::Topics;
use ingest::sim::RelayState;
use meterlake::{Config, Pipeline, PipelineOptions};
use rust_decimal::Decimal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod args;
#[allow(dead_code)] // shared with billing_run and sql_questions
mod fleet_lake;
#[path = "../control/tests/support/postgres.rs"]
mod postgres;

use args::positional as arg;
use fleet_lake::{FleetShape, PLAN, ZONE};

/// A clock the benchmark sets.
#[derive(Clone)]
struct SetClock(Arc<Mutex<DateTime<Utc>>>);

impl Clock for SetClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SetClock {
    fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }
}

fn config(url: &str) -> control::Config {
    control::Config {
        database: url.to_string(),
        max_connections: 32,
        trip_hours: "00:00-24:00".into(),
        trip_on_weekends: true,
        warning_lead_s: 0,
        ..control::Config::default()
    }
}

async fn use_cases(url: &str, clock: Arc<dyn Clock>) -> anyhow::Result<Control> {
    let config = config(url);
    let rules = control::service::rules(&config, Topics::with_prefix(""), ZONE)?;
    let key = ingest::keyring::KeyRing::single("bench", &[1; 32])?;
    let keys = control::app::ServiceKeys {
        audit: key.clone(),
        commands: key.clone(),
        pii: control::pii::PiiKeys::new(key),
    };
    Ok(Control::new(Db::open(url, 32).await?, rules, keys, clock))
}

fn new_account(meter: String, balance: Decimal) -> control::app::accounts::NewAccount {
    control::app::accounts::NewAccount {
        meter_id: meter,
        collector_id: "col-1".into(),
        plan: Some(PLAN.into()),
        opening_balance: balance,
        terms: Default::default(),
    }
}

/// Part 1: payments per second on the database at `url`.
async fn payments_per_second(url: &str, payments: usize) -> anyhow::Result<f64> {
    let control = use_cases(url, Arc::new(ingest::clock::SystemClock)).await?;
    let meters: Vec<String> = (0..100).map(|i| format!("{:012}", 500_000 + i)).collect();
    for meter in &meters {
        control
            .open_account(
                new_account(meter.clone(), Decimal::ONE_HUNDRED),
                &Actor::system(),
            )
            .await?;
    }
    let started = Instant::now();
    futures::stream::iter(0..payments)
        .map(|i| {
            let (control, meter) = (&control, &meters[i % meters.len()]);
            async move {
                control
                    .pay(meter, "1.00", &format!("bench-{i}"), &Actor::system())
                    .await
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await?;
    let rate = payments as f64 / started.elapsed().as_secs_f64();
    anyhow::ensure!(
        control.check_ledger().await?.is_empty(),
        "ledger check failed"
    );
    control.db().close().await;
    Ok(rate)
}

async fn http_post(port: u16, token: &str, path: &str, body: &str) -> anyhow::Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: b\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    Ok(response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

fn relay(p: &Pipeline, address: Address) -> Option<RelayState> {
    p.fleet.with_meter(address, |m| m.relay())
}

/// Part 2: payment → close-allowed latencies, sorted, in milliseconds.
async fn payment_to_meter(meters: usize) -> anyhow::Result<Vec<f64>> {
    let dir = tempfile::tempdir()?;
    let mut config = Config::default();
    config.lake.location = dir.path().join("lake").display().to_string();
    config.lake.registry = dir.path().join("registry").display().to_string();
    config.collector.spool_dir = dir.path().join("spool").display().to_string();
    config.control.audit_keys_dir = dir.path().join("keys/audit").display().to_string();
    config.control.command_keys_dir = dir.path().join("keys/commands").display().to_string();
    config.control = control::Config {
        listen: "127.0.0.1:0".into(),
        sweep_every_ms: 100,
        billing_every_s: 0,
        ..self::config(&format!("sqlite://{}/control.db", dir.path().display()))
    };
    let p = Pipeline::start(PipelineOptions {
        config,
        meters,
        meters_per_bus: 50,
        constant_watts: Some(500.0),
        start: "2026-11-02T02:00:00Z".parse()?,
        // Past the overdraft limit at opening: every meter is tripped before the payments start.
        opening_balance: |_| Decimal::new(-2000, 2),
        seed: 7,
        faults: Default::default(),
    })
    .await?;
    let addresses: Vec<Address> = p
        .control
        .accounts("", 10_000)
        .await?
        .iter()
        .map(|a| a.meter_id.parse())
        .collect::<Result<_, _>>()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while addresses
        .iter()
        .any(|a| relay(&p, *a) != Some(RelayState::Open))
    {
        anyhow::ensure!(
            Instant::now() < deadline,
            "the opening trips did not all run"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    p.wait_acks(Duration::from_secs(60)).await?;
    let mut latencies = Vec::with_capacity(meters);
    let bar = indicatif::ProgressBar::new(meters as u64);
    for (i, address) in addresses.iter().enumerate() {
        let started = Instant::now();
        let status = http_post(
            p.http.port(),
            p.token(Role::Cashier),
            &format!("/api/accounts/{address}/payments"),
            &format!(r#"{{"amount":"30.00","reference":"latency-{i}"}}"#),
        )
        .await?;
        anyhow::ensure!(status == 200, "payment {i} answered {status}");
        while relay(&p, *address) != Some(RelayState::OpenCloseAllowed) {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(30),
                "meter {address} got no close-allowed"
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        bar.inc(1);
    }
    bar.finish_and_clear();
    p.shutdown().await?;
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

fn local_midnight(day: NaiveDate) -> DateTime<Utc> {
    ZONE.from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

/// One billing pass at local midnight `days` after the fleet's first day: (seconds, report).
async fn timed_pass(
    control: &Control,
    clock: &SetClock,
    location: &store::LakeLocation,
    registry: &std::path::Path,
    shape: FleetShape,
    days: u32,
) -> anyhow::Result<(f64, control::app::billing::PassReport)> {
    clock.set(local_midnight(
        shape.first_day + chrono::TimeDelta::days(i64::from(days)),
    ));
    let started = Instant::now();
    let session =
        analytics::LakeSession::open_with_registry(location, ZONE, None, Some(registry)).await?;
    let report = control.billing_pass(&session).await?;
    anyhow::ensure!(
        report.errors.is_empty(),
        "billing errors: {:?}",
        &report.errors[..1]
    );
    Ok((started.elapsed().as_secs_f64(), report))
}

/// Part 3: (accounts, seconds to open them, first pass seconds, incremental pass seconds).
async fn billing_passes(shape: FleetShape, root: &std::path::Path) -> anyhow::Result<()> {
    let dir = root.join(format!(
        "control-{}x{}x{}d",
        shape.areas, shape.customers_per_area, shape.days
    ));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let location = store::LakeLocation::parse(dir.join("lake").to_str().unwrap_or_default())?;
    let registry = dir.join("registry");
    fleet_lake::write_registry(&shape, &registry)?;
    let started = Instant::now();
    fleet_lake::generate_days(shape, &location, 0..shape.days - 1).await?;
    eprintln!(
        "generated {} days in {:.1} s",
        shape.days - 1,
        started.elapsed().as_secs_f64()
    );
    let clock = SetClock(Arc::new(Mutex::new(local_midnight(shape.first_day))));
    let databases = [
        ("SQLite", format!("sqlite://{}/control.db", dir.display())),
        ("PostgreSQL", postgres::fresh_database().await),
    ];
    let mut runs = Vec::new();
    for (name, url) in databases {
        let control = use_cases(&url, Arc::new(clock.clone())).await?;
        let started = Instant::now();
        let bar = indicatif::ProgressBar::new(shape.customers() as u64);
        for area in 0..shape.areas {
            for j in 0..shape.customers_per_area {
                control
                    .open_account(
                        new_account(shape.meter_id(area, j), Decimal::new(50_000, 2)),
                        &Actor::system(),
                    )
                    .await?;
                bar.inc(1);
            }
        }
        bar.finish_and_clear();
        runs.push((name, control, started.elapsed().as_secs_f64()));
    }
    let mut firsts = Vec::new();
    for (_, control, _) in &runs {
        firsts
            .push(timed_pass(control, &clock, &location, &registry, shape, shape.days - 1).await?);
    }
    fleet_lake::generate_days(shape, &location, shape.days - 1..shape.days).await?;
    for ((name, control, open_secs), (first_secs, first)) in runs.iter().zip(firsts) {
        let (second_secs, second) =
            timed_pass(control, &clock, &location, &registry, shape, shape.days).await?;
        anyhow::ensure!(
            control.check_ledger().await?.is_empty(),
            "ledger check failed"
        );
        println!(
            "billing passes, {name}: {} accounts opened in {open_secs:.1} s; first pass over {} days \
             {first_secs:.2} s ({} charged, {:?}); incremental pass after one more day {second_secs:.2} s \
             ({} charged, {:?})",
            shape.customers(),
            shape.days - 1,
            first.charged,
            first.timings,
            second.charged,
            second.timings
        );
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let full = args::full_run();
        let payments = arg(1, if full { 5_000 } else { 100 });
        let latency_payments = arg(2, if full { 1_000 } else { 20 });
        let shape = FleetShape {
            areas: arg(3, if full { 1_000 } else { 2 }),
            customers_per_area: arg(4, if full { 100 } else { 5 }),
            days: u32::try_from(arg(5, if full { 10 } else { 3 }))?.max(2),
            first_day: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
            lost_per_10k: 5,
        };
        let scratch = tempfile::tempdir()?;
        let sqlite = scratch.path().join("payments.db");
        let rate = payments_per_second(&format!("sqlite://{}", sqlite.display()), payments).await?;
        println!("payments/s, SQLite: {rate:.0} ({payments} payments, 16 in flight, 100 accounts)");
        let rate = payments_per_second(&postgres::fresh_database().await, payments).await?;
        println!("payments/s, PostgreSQL: {rate:.0} ({payments} payments, 16 in flight, 100 accounts)");
        let latencies = payment_to_meter(latency_payments).await?;
        println!(
            "payment → close-allowed at the meter over {} payments: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            percentile(&latencies, 1.0)
        );
        billing_passes(shape, &fleet_lake::lakes_root(full, scratch.path())).await?;
        Ok(())
    })
}
