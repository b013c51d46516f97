//! `meterlake demo`: the whole loop on a compressed clock, narrated.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use meterlake::table_output::{render, OutputFormat};
use meterlake::{Config, Pipeline, PipelineOptions};
use rust_decimal::Decimal;

/// Options of `meterlake demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Simulated meters.
    #[arg(long, default_value_t = 1000)]
    meters: usize,
    /// Meters behind each simulated DTU (one TCP port each).
    #[arg(long, default_value_t = 50)]
    meters_per_bus: usize,
    /// 15-minute intervals to simulate (96 = one day).
    #[arg(long, default_value_t = 96)]
    intervals: u32,
    /// Real milliseconds per simulated interval.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// Bill and enforce every this many intervals.
    #[arg(long, default_value_t = 4)]
    bill_every: u32,
    /// Kafka bootstrap servers (default: start an embedded broker).
    #[arg(long)]
    brokers: Option<String>,
    /// Lake location (default: a new directory under meterlake-data/).
    #[arg(long)]
    lake: Option<String>,
    /// Simulated start (the first collection boundary).
    #[arg(long, default_value = "2026-10-01T00:00:00+08:00")]
    start: DateTime<Utc>,
}

/// Every 100th meter starts nearly empty so that the demo shows trips and reconnects.
fn opening_balance(index: usize) -> Decimal {
    if index % 100 == 7 {
        Decimal::new(100, 2)
    } else {
        Decimal::new(10_000, 2)
    }
}

/// Intervals a tripped customer waits before paying.
const PAY_AFTER_INTERVALS: u32 = 6;

pub async fn run(mut config: Config, args: DemoArgs) -> anyhow::Result<()> {
    if let Some(brokers) = &args.brokers {
        config.kafka.brokers = brokers.clone();
    }
    let run_dir = format!("meterlake-data/demo-{}", Utc::now().format("%Y%m%d-%H%M%S"));
    config.lake.location = args
        .lake
        .clone()
        .unwrap_or_else(|| format!("{run_dir}/lake"));
    config.lake.registry = format!("{run_dir}/registry");
    config.control.database = format!("sqlite://{run_dir}/control.db");
    config.collector.spool_dir = format!("{run_dir}/spool");
    config.control.listen = "127.0.0.1:0".into();
    let started = Instant::now();
    let mut p = Pipeline::start(PipelineOptions {
        config,
        meters: args.meters,
        meters_per_bus: args.meters_per_bus,
        constant_watts: None,
        start: args.start,
        opening_balance,
        seed: 2026,
    })
    .await
    .context("starting the pipeline")?;
    println!("meterlake demo");
    println!(
        "  meters        {} on {} simulated DTUs (DL/T 645 over TCP)",
        args.meters,
        p.fleet.buses.len()
    );
    println!("  kafka         {}", p.brokers);
    println!("  lake          {}", p.lake.root());
    println!("  control API   http://{}/api/accounts", p.http);
    println!(
        "  simulating    {} intervals of 15 min, {} ms each\n",
        args.intervals, args.interval_ms
    );

    let result = drive(&mut p, &args, started).await;
    let stopped = p.shutdown().await;
    result.and(stopped)
}

/// Runs the simulated intervals, billing passes, payments and button presses, then prints the summary.
async fn drive(p: &mut Pipeline, args: &DemoArgs, started: Instant) -> anyhow::Result<()> {
    let bar = ProgressBar::new(u64::from(args.intervals) + 1);
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} intervals  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut tripped_at: BTreeMap<String, u32> = BTreeMap::new();
    let (mut trips, mut reconnects) = (0u32, 0u32);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    for i in 0..=args.intervals {
        let tick = Instant::now();
        let boundary = args.start + chrono::Duration::minutes(15 * i64::from(i));
        for meter in p.fleet.press_waiting_buttons(boundary) {
            reconnects += 1;
            say(
                &bar,
                format!(
                    "{}  customer {meter} presses the button: relay closed",
                    local(p, boundary)
                ),
            );
        }
        p.collect(boundary).await?;
        if i > 0 && i % args.bill_every == 0 {
            let report = p.billing_pass().await?;
            for command in &report.commands {
                say(
                    &bar,
                    format!(
                        "{}  billing @lake v{}: {:?} → meter {} ({})",
                        local(p, boundary),
                        report.lake_version.unwrap_or(0),
                        command.action,
                        command.meter_id,
                        command.reason
                    ),
                );
            }
            p.wait_acks(Duration::from_secs(20)).await?;
        }
        for account in control::ledger::accounts(p.control.pool()).await? {
            if account.relay == "open" && !tripped_at.contains_key(&account.meter_id) {
                trips += 1;
                tripped_at.insert(account.meter_id.clone(), i);
                say(
                    &bar,
                    format!(
                        "{}  meter {} tripped (relay open), balance {}",
                        local(p, boundary),
                        account.meter_id,
                        account.balance
                    ),
                );
            }
            if account.relay == "open"
                && tripped_at
                    .get(&account.meter_id)
                    .is_some_and(|t| i >= t + PAY_AFTER_INTERVALS)
            {
                let (payment, command) = p
                    .control
                    .pay(
                        &account.meter_id,
                        "20.00",
                        &format!("demo-{}-{i}", account.meter_id),
                    )
                    .await?;
                say(
                    &bar,
                    format!(
                        "{}  customer pays {} yuan for {}: balance {} → {}",
                        local(p, boundary),
                        payment.amount,
                        payment.meter_id,
                        payment.balance,
                        command.map_or("no command".to_string(), |c| format!("{:?}", c.action))
                    ),
                );
                tripped_at.remove(&account.meter_id);
                p.wait_acks(Duration::from_secs(20)).await?;
            }
        }
        bar.set_message(format!(
            "produced {}  committed {}  trips {trips}  reconnects {reconnects}",
            p.produced_rows(),
            p.sink_stats()
                .rows_committed
                .load(std::sync::atomic::Ordering::Relaxed)
        ));
        bar.inc(1);
        let pause = Duration::from_millis(args.interval_ms).saturating_sub(tick.elapsed());
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = &mut ctrl_c => {
                say(&bar, "Ctrl-C: finishing cleanly");
                break;
            }
        }
    }
    bar.finish_and_clear();
    let report = p.billing_pass().await?;
    summary(p, trips, reconnects, report.lake_version, started).await
}

/// Prints a line above the progress bar, or plainly when the bar is hidden (output not a terminal).
fn say(bar: &ProgressBar, line: impl AsRef<str>) {
    if bar.is_hidden() {
        println!("{}", line.as_ref());
    } else {
        bar.println(line);
    }
}

fn local(p: &Pipeline, t: DateTime<Utc>) -> String {
    t.with_timezone(&p.zone).format("%m-%d %H:%M").to_string()
}

async fn summary(
    p: &Pipeline,
    trips: u32,
    reconnects: u32,
    version: Option<i64>,
    started: Instant,
) -> anyhow::Result<()> {
    let stats = p.sink_stats();
    let session = p.session().await?;
    let files = store::Lake::open(&p.lake, p.zone).await?.file_uris()?.len();
    println!("\nreadings produced   {}", p.produced_rows());
    println!(
        "readings committed  {}",
        stats
            .rows_committed
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    println!(
        "delta commits       {}  (lake version {})",
        stats.commits.load(std::sync::atomic::Ordering::Relaxed),
        version.unwrap_or(0)
    );
    println!("parquet files       {files}");
    println!(
        "dead letters        {}",
        stats
            .dead_letters
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    println!("trips               {trips}");
    println!("reconnects          {reconnects}");
    let sql = "SELECT date, count(DISTINCT meter_id) AS meters, sum(energy_kwh) AS energy_kwh, \
               max(energy_kwh) AS max_meter_kwh FROM daily_energy GROUP BY date ORDER BY date";
    println!("\nSQL> {sql}");
    println!(
        "{}",
        render(&session.query(sql).await?, OutputFormat::Table)?
    );
    println!("\nbalances of accounts that ran out of money:");
    let commands: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT meter_id FROM commands ORDER BY meter_id LIMIT 5")
            .fetch_all(p.control.pool())
            .await?;
    for (meter,) in commands {
        let account = control::ledger::account(p.control.pool(), &meter).await?;
        println!(
            "  {meter}  charged {} yuan, balance {} yuan, relay {}",
            account.charged_to_date, account.balance, account.relay
        );
    }
    println!("\ncommands by action and outcome:");
    for (action, status, n) in control::commands::summary(p.control.pool()).await? {
        println!("  {action:<14} {status:<12} {n}");
    }
    println!("\nlake: {}", p.lake.root());
    if let Some(dir) = p.lake.local_dir() {
        println!(
            "query it: METERLAKE_LAKE__LOCATION={} meterlake sql \"SELECT count(*) FROM readings\"",
            dir.display()
        );
    }
    println!("finished in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
