//! `meterlake demo`: the whole loop on a compressed clock, narrated.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, Utc};
use control::domain::relay::RelayState;
use control::store::accounts::Account;
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

/// The demo's prepaid terms: alarms at 5 and 2 yuan, the trip at zero (no overdraft), trips at any hour,
/// and the pre-trip warning half an hour (two intervals) ahead; billing passes are driven by the demo.
fn demo_control_terms(control: &mut control::Config) {
    control.terms.alarm1 = Decimal::new(500, 2);
    control.terms.alarm2 = Decimal::new(200, 2);
    control.terms.overdraft_limit = Decimal::ZERO;
    control.trip_hours = "00:00-24:00".into();
    control.trip_on_weekends = true;
    control.warning_lead_s = 1800;
    control.billing_every_s = 0;
    control.lake_export_every_s = 0;
    control.sweep_every_ms = 200;
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
    config.control.audit_keys_dir = format!("{run_dir}/keys/audit");
    config.control.command_keys_dir = format!("{run_dir}/keys/commands");
    config.control.listen = "127.0.0.1:0".into();
    demo_control_terms(&mut config.control);
    let receivers = crate::demo_pages::Receivers::start().await?;
    receivers.configure(&mut config.control);
    // The compressed day reads the meters' event records every four simulated hours, not daily.
    config.collector.event_check_every_rounds = 16;
    let started = Instant::now();
    let mut p = Pipeline::start(PipelineOptions {
        config,
        meters: args.meters,
        meters_per_bus: args.meters_per_bus,
        constant_watts: None,
        start: args.start,
        opening_balance,
        seed: 2026,
        faults: demo_faults(args.start),
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
    println!(
        "  control API   http://{0}/api/accounts  http://{0}/api/summary  http://{0}/healthz  http://{0}/api/openapi.json",
        p.http
    );
    let operator = p
        .staff
        .iter()
        .find(|u| u.role == control::domain::access::Role::Operator);
    if let Some(user) = operator {
        println!(
            "  web pages     http://{}/  (log in as {} with password {}; 中文 by default, English at the top)",
            p.http, user.username, user.password
        );
    }
    let customer = crate::demo_pages::customer(&p).await?;
    println!(
        "  customer page http://{}/my  (log in as {} with password {}: meter {}, made for a phone)",
        p.http, customer.username, customer.password, customer.meter
    );
    println!("  notifications {}", receivers.describe());
    println!(
        "  security      plain HTTP on loopback (demo only); every route needs a login or token. Demo users,\n\
         \x20               random passwords (log in: POST /api/login), API tokens (no expiry; this demo's database only):"
    );
    for user in &p.staff {
        println!(
            "                {:<17} {:<12} password {}  token {}",
            user.username,
            user.role.as_str(),
            user.password,
            user.token
        );
    }
    println!(
        "                e.g. curl -H 'Authorization: Bearer {}' http://{}/api/summary",
        p.token(control::domain::access::Role::Operator),
        p.http
    );
    println!(
        "  collector     http://{0}/healthz  http://{0}/api/meters/{{meter}}/read?di=00010000 (maintenance, operator)",
        p.collector_http
    );
    println!(
        "  sink          http://{}/healthz  /metrics (admin, maintenance)",
        p.sink_http
    );
    println!(
        "  simulating    {} intervals of 15 min, {} ms each\n",
        args.intervals, args.interval_ms
    );

    let mut result = drive(&mut p, &args, started).await;
    if result.is_ok() {
        result = crate::demo_pages::delivered(&p, &receivers, &customer, args.start).await;
    }
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
    let mut ever_tripped: BTreeSet<String> = BTreeSet::new();
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
        if i == args.intervals / 2 && args.intervals >= 8 {
            kafka_outage(p, &bar, boundary).await?;
        } else {
            p.collect(boundary).await?;
        }
        if i > 0 && i % args.bill_every == 0 {
            let report = p.billing_pass().await?;
            if report.commands > 0 || !report.errors.is_empty() {
                say(
                    &bar,
                    format!(
                        "{}  billing @lake v{}: {} accounts charged, {} relay commands planned, {} errors",
                        local(p, boundary),
                        report.lake_version.unwrap_or(0),
                        report.charged,
                        report.commands,
                        report.errors.len()
                    ),
                );
            }
            p.wait_acks(Duration::from_secs(20)).await?;
        }
        for account in all_accounts(p).await? {
            let open = account.relay == RelayState::Open;
            if open && !tripped_at.contains_key(&account.meter_id) {
                trips += 1;
                ever_tripped.insert(account.meter_id.clone());
                tripped_at.insert(account.meter_id.clone(), i);
                say(
                    &bar,
                    format!(
                        "{}  meter {} tripped (relay open, verified by read-back), balance {}",
                        local(p, boundary),
                        account.meter_id,
                        account.balance
                    ),
                );
            }
            if open
                && tripped_at
                    .get(&account.meter_id)
                    .is_some_and(|t| i >= t + PAY_AFTER_INTERVALS)
            {
                let receipt = p
                    .control
                    .pay(
                        &account.meter_id,
                        "20.00",
                        &format!("demo-{}-{i}", account.meter_id),
                        &control::app::audit::Actor::user(
                            "demo-cashier",
                            control::domain::access::Role::Cashier,
                            "demo",
                        ),
                    )
                    .await?;
                say(
                    &bar,
                    format!(
                        "{}  customer pays {} yuan for {}: balance {} → {}",
                        local(p, boundary),
                        receipt.amount,
                        receipt.meter_id,
                        receipt.balance,
                        if receipt.command_id.is_some() {
                            "close-allowed sent"
                        } else {
                            "no command"
                        }
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
    summary(
        p,
        &ever_tripped,
        (trips, reconnects),
        report.lake_version,
        (args.start, started),
    )
    .await
}

/// A Kafka outage in the middle of the day: the round is collected while the broker is down, the
/// collector's health names the fault, and the spool drains in full when the broker returns.
async fn kafka_outage(
    p: &mut Pipeline,
    bar: &ProgressBar,
    boundary: DateTime<Utc>,
) -> anyhow::Result<()> {
    p.set_kafka_up(false)?;
    let stats = p.collect(boundary).await?;
    // The collector names Kafka unreachable once a batch has waited 3 s for its acknowledgement.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let health = p.collector_health().await?;
    let faults: Vec<&str> = health.faults.iter().map(|f| f.name()).collect();
    say(
        bar,
        format!(
            "{}  Kafka broker down: {} readings collected into the spool ({} records waiting); collector /healthz {} {:?}",
            local(p, boundary),
            stats.rows,
            health.spool_records,
            health.status,
            faults
        ),
    );
    p.set_kafka_up(true)?;
    let back = Instant::now();
    let left = p.wait_forwarded(Duration::from_secs(60)).await?;
    let health = p.collector_health().await?;
    say(
        bar,
        format!(
            "{}  Kafka back: spool drained in {:.1} s ({left} records left), collector /healthz {}",
            local(p, boundary),
            back.elapsed().as_secs_f64(),
            health.status
        ),
    );
    Ok(())
}

/// Faults the demo injects (meters 1003, 1007 and 1011 of the fleet), so that the streaming diagnosis
/// has something to find: a voltage sag that ends (its alarm clears by itself), a DTU silent for two
/// hours, and a bypass that lasts.
fn demo_faults(start: DateTime<Utc>) -> ingest::sim::FaultConfig {
    use ingest::sim::{Fault, FaultKind, ScheduledFault};
    let hours = |h: i64| start + chrono::TimeDelta::hours(h);
    let fault = |meter_number, kind, from, to| ScheduledFault {
        meter_number,
        fault: Fault::new(kind, hours(from), hours(to)),
    };
    ingest::sim::FaultConfig {
        scheduled: vec![
            fault(1003, FaultKind::VoltageSag, 2, 5),
            fault(1007, FaultKind::CommDropout, 6, 8),
            fault(1011, FaultKind::Bypass, 10, 24 * 365),
        ],
        random: Vec::new(),
    }
}

/// The alarms the streaming diagnosis raised, with their lifecycle; then the day's area rules, the
/// meters' event records and the export of both to the lake.
async fn alarms_seen(p: &Pipeline, start: DateTime<Utc>) -> anyhow::Result<()> {
    let day = start.with_timezone(&p.zone).date_naive();
    let session = p.session().await?;
    let profiles = analytics::diagnosis::profiles(&session).await?;
    let areas = p
        .control
        .judge_areas(
            &session,
            day,
            &analytics::diagnosis::DiagnosisConfig::default(),
            &profiles,
        )
        .await?;
    let alarms = p
        .control
        .alarms(&control::store::alarms::AlarmFilter {
            all: true,
            limit: Some(1000),
            ..Default::default()
        })
        .await?;
    println!(
        "
alarms from the streaming diagnosis ({} raised; injected: a voltage sag on 000000001003, \
         a silent DTU for 000000001007, a bypass on 000000001011):",
        alarms.len()
    );
    for alarm in alarms.iter().rev().take(12) {
        let cleared = match (&alarm.cleared_at, &alarm.cleared_by) {
            (Some(at), Some(by)) => format!("cleared {} by {by}", local(p, *at)),
            _ => "open".to_string(),
        };
        println!(
            "  {} {:<24} {:<8} raised {}  {cleared}\n      {}",
            alarm.meter_id,
            alarm.kind.name(),
            alarm.severity.name(),
            local(p, alarm.raised_at),
            alarm.detail
        );
    }
    let (from, to) = analytics::local_days::span(p.zone, day, day)?;
    let events = p.control.meter_events(None, from, to, 1000).await?;
    let area_days = analytics::diagnosis::area::area_days(&session, day).await?;
    let judged = area_days
        .iter()
        .filter(|a| a.supply_meter_id.is_some())
        .count();
    println!(
        "  area rules of {day} (line loss, collection success): {judged} of {} areas have a supply \
         meter to judge on{}; {} raised, {} cleared",
        area_days.len(),
        if judged == 0 {
            " (the demo fleet has no supply meters)"
        } else {
            ""
        },
        areas.raised,
        areas.cleared
    );
    for e in events.iter().take(6) {
        println!(
            "  event record {} {:<20} #{} at {}",
            e.meter_id,
            e.event.name(),
            e.sequence,
            e.at.map(|t| local(p, t)).unwrap_or_default()
        );
    }
    let exported = p.control.export_day(&session, day).await?;
    println!(
        "  exported to the lake: {} alarm(s) to `alarms`, {} event(s) to `meter_events`",
        exported.alarms, exported.events
    );
    println!(
        "  (meterlake alarms list --all | events | export; GET /api/alarms; docs/diagnosis.md)"
    );
    Ok(())
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

/// Every account, in meter order.
async fn all_accounts(p: &Pipeline) -> anyhow::Result<Vec<Account>> {
    let mut all = Vec::new();
    loop {
        let after = all
            .last()
            .map_or(String::new(), |a: &Account| a.meter_id.clone());
        let page = p.control.accounts(&after, 1000).await?;
        if page.is_empty() {
            return Ok(all);
        }
        all.extend(page);
    }
}

async fn summary(
    p: &Pipeline,
    tripped: &BTreeSet<String>,
    (trips, reconnects): (u32, u32),
    version: Option<i64>,
    (start, started): (DateTime<Utc>, Instant),
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
    println!(
        "rows refused        {}  (screening: future boundaries, registers out of range)",
        stats
            .rows_refused
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
    println!("\naccounts by prepaid state:");
    for (state, n) in p.control.state_summary().await? {
        println!("  {state:<16} {n}");
    }
    println!("\naccounts that ran out of money:");
    for meter in tripped.iter().take(5) {
        let account = p.control.account(meter).await?;
        println!(
            "  {meter}  charged {} yuan, balance {} yuan, state {}, relay {}",
            account.charged,
            account.balance,
            account.state.as_str(),
            account.relay.as_str()
        );
        for notice in p.control.notices(meter).await?.iter().rev().take(4) {
            println!("      notice {:<18} {}", notice.kind, notice.body);
        }
    }
    println!("\ncommands by action and lifecycle state:");
    for (action, state, n) in p.control.command_summary().await? {
        println!("  {action:<14} {state:<12} {n}");
    }
    crate::demo_reads::on_demand_read(p).await?;
    crate::demo_reads::customer_data(p).await?;
    alarms_seen(p, start).await?;
    crate::demo_bills::month_end(p, start).await?;
    crate::demo_vee::validated(p, start).await?;
    let history_dir = match p.lake.local_dir() {
        Some(dir) => dir.with_file_name("prediction"),
        None => {
            std::env::temp_dir().join(format!("meterlake-demo-prediction-{}", std::process::id()))
        }
    };
    crate::demo_prediction::predicted(&history_dir, p.zone).await?;
    let mismatches = p.control.check_ledger().await?;
    println!(
        "\nledger check: {}",
        if mismatches.is_empty() {
            "every balance is the sum of its entries".to_string()
        } else {
            format!("{} accounts disagree", mismatches.len())
        }
    );
    let chain = p.control.verify_audit().await?;
    println!(
        "audit trail: {} records, {}",
        chain.records,
        match &chain.broken {
            None => "chain intact (meterlake audit verify)".to_string(),
            Some(broken) => format!("BROKEN at record {}: {}", broken.seq, broken.why),
        }
    );
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
