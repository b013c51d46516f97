//! `meterlake vee …`: validation, estimation and editing of interval data (`docs/vee.md`) — run the
//! rules over a date range into the lake's `validated_intervals` table, show a meter-day, and record
//! or list people's edits.

use analytics::vee::table::VALIDATED_TABLE;
use analytics::vee::{DaySummary, Flag, Method, Status};
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use control::app::audit::Actor;
use rust_decimal::Decimal;

use crate::control_cli::use_cases;
use meterlake::day_range::{lake_session, DayRange};
use meterlake::Config;

/// `meterlake vee …`
#[derive(Debug, clap::Args)]
pub struct VeeArgs {
    #[command(subcommand)]
    command: VeeCommand,
}

#[derive(Debug, clap::Subcommand)]
enum VeeCommand {
    /// Validate local dates FROM..=TO: every meter-day through the rules ([vee]), with people's edits,
    /// into the lake's `validated_intervals` table (a day run again is replaced).
    Run {
        #[command(flatten)]
        days: DayRange,
    },
    /// One meter-day's validated intervals (those estimated, edited or flagged; --all for every one).
    Show {
        /// Meter address.
        #[arg(long)]
        meter: String,
        /// Local date.
        #[arg(long)]
        date: NaiveDate,
        /// Every interval, not only the ones the rules touched.
        #[arg(long)]
        all: bool,
    },
    /// Set one interval's value, with the reason (kept with who and when; the raw reading stays).
    Edit {
        /// Meter address.
        #[arg(long)]
        meter: String,
        /// The interval's start (RFC 3339, on the 15-minute grid).
        #[arg(long)]
        at: DateTime<Utc>,
        /// The value, kWh.
        #[arg(long, allow_negative_numbers = true)]
        kwh: Decimal,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Edits of intervals starting in local dates FROM..=TO, oldest first.
    Edits {
        /// Only this meter.
        #[arg(long)]
        meter: Option<String>,
        #[command(flatten)]
        days: DayRange,
    },
}

/// Runs `meterlake vee`.
pub async fn run(config: &Config, args: VeeArgs) -> anyhow::Result<()> {
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    match args.command {
        VeeCommand::Run { days } => validate(config, days).await,
        VeeCommand::Show { meter, date, all } => show(config, zone, &meter, date, all).await,
        VeeCommand::Edit {
            meter,
            at,
            kwh,
            reason,
        } => {
            let control = use_cases(config).await?;
            let edit = control
                .edit_interval(&meter, at, kwh, &reason, &Actor::cli())
                .await?;
            println!(
                "{} {} set to {} kWh by {} ({}); applied by the next `meterlake vee run` of that day",
                edit.meter_id,
                edit.interval_start.to_rfc3339(),
                edit.kwh,
                edit.edited_by,
                edit.reason
            );
            Ok(())
        }
        VeeCommand::Edits { meter, days } => {
            let (start, end) = days.bounds(config)?;
            let control = use_cases(config).await?;
            let edits = control.interval_edits(meter.as_deref(), start, end).await?;
            println!(
                "{:<12}  {:<25}  {:>12}  {:<12}  {:<25}  reason",
                "meter", "interval", "kWh", "by", "at"
            );
            for e in &edits {
                println!(
                    "{:<12}  {:<25}  {:>12}  {:<12}  {:<25}  {}",
                    e.meter_id,
                    e.interval_start.to_rfc3339(),
                    e.kwh,
                    e.edited_by,
                    e.edited_at.to_rfc3339(),
                    e.reason
                );
            }
            eprintln!("{} edit(s)", edits.len());
            Ok(())
        }
    }
}

/// `meterlake vee run`.
async fn validate(config: &Config, days: DayRange) -> anyhow::Result<()> {
    config.vee.validate().context("the [vee] section")?;
    let (start, end) = days.bounds(config)?;
    let control = use_cases(config).await?;
    let edits: Vec<_> = control
        .interval_edits(None, start, end)
        .await?
        .iter()
        .map(|e| e.to_vee())
        .collect();
    let session = lake_session(config).await?;
    let location = session.location()?;
    let bar = days.progress()?;
    let shown = bar.clone();
    let summaries = analytics::vee::run(
        &session,
        &location,
        &config.vee,
        (days.from, days.to),
        &edits,
        &mut move |day: &DaySummary| {
            shown.inc(1);
            shown.set_message(format!("{}: {} meters", day.date, day.meters));
        },
    )
    .await?;
    bar.finish_and_clear();
    print_summaries(&summaries, edits.len());
    Ok(())
}

fn print_summaries(summaries: &[DaySummary], edits: usize) {
    let statuses = [
        Status::Valid,
        Status::Estimated,
        Status::Edited,
        Status::Unestimated,
    ];
    print!("{:<10}  {:>6}  {:>9}", "date", "meters", "intervals");
    for status in statuses {
        print!("  {:>11}", status.name());
    }
    println!("  {:>8}  {:>8}  flags", "linear", "profile");
    for day in summaries {
        print!("{:<10}  {:>6}  {:>9}", day.date, day.meters, day.intervals);
        for status in statuses {
            print!("  {:>11}", day.by_status.get(&status).copied().unwrap_or(0));
        }
        let method = |m: Method| day.by_method.get(&m).copied().unwrap_or(0);
        let flags: Vec<String> = Flag::ALL
            .iter()
            .filter_map(|f| day.by_flag.get(f).map(|n| format!("{} {n}", f.name())))
            .collect();
        println!(
            "  {:>8}  {:>8}  {}",
            method(Method::Linear),
            method(Method::Profile),
            flags.join(", ")
        );
    }
    println!(
        "{} day(s) validated into `{VALIDATED_TABLE}` with {edits} edit(s) on record",
        summaries.len()
    );
}

/// `meterlake vee show`.
async fn show(
    config: &Config,
    zone: chrono_tz::Tz,
    meter: &str,
    date: NaiveDate,
    all: bool,
) -> anyhow::Result<()> {
    control::app::accounts::check_meter_id(meter)?;
    let location = store::LakeLocation::parse(&config.lake.location)?;
    let session = analytics::LakeSession::open(&location, zone, None).await?;
    if !session.register_validated(&location).await? {
        anyhow::bail!("the lake has no validated intervals yet: run `meterlake vee run` first");
    }
    let (batches, totals) = analytics::vee::table::meter_day(&session, meter, date, all).await?;
    println!("{}", arrow::util::pretty::pretty_format_batches(&batches)?);
    println!("{}", arrow::util::pretty::pretty_format_batches(&totals)?);
    Ok(())
}
