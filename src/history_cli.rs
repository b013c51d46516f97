//! `meterlake history`: simulate a fleet's history straight into the configured lake — readings, event
//! records (`meter_events`), the registry and the answers models are judged against (`theft.csv`,
//! `faults.csv`, `households.csv`, all in `lake.registry`).

use analytics::diagnosis::lake_tables::{events_batch, replace_day, EventRow, EVENTS_TABLE};
use anyhow::Context;
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};
use ingest::sim::history::{write_history, HistoryPlan};

use meterlake::Config;

/// `meterlake history …`
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Transformer areas (each with a supply meter).
    #[arg(long, default_value_t = 10)]
    areas: usize,
    /// Customer meters per area.
    #[arg(long, default_value_t = 50)]
    customers_per_area: usize,
    /// First local day.
    #[arg(long, default_value = "2026-09-01")]
    from: NaiveDate,
    /// Days of readings.
    #[arg(long, default_value_t = 60)]
    days: u32,
    /// Seed of every draw (households, thieves, failing meters).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of customer meters that steal, 0–1.
    #[arg(long, default_value_t = 0.05)]
    theft_share: f64,
    /// Share of meters that fail during the history, 0–1.
    #[arg(long, default_value_t = 0.02)]
    failing_share: f64,
}

/// Runs `meterlake history`.
pub async fn run(config: &Config, args: HistoryArgs) -> anyhow::Result<()> {
    let plan = HistoryPlan {
        areas: args.areas,
        customers_per_area: args.customers_per_area,
        first_day: args.from,
        days: args.days,
        seed: args.seed,
        theft_share: args.theft_share,
        failing_share: args.failing_share,
        zone: store::partition::parse_zone(&config.lake.zone)?,
        ..HistoryPlan::default()
    };
    plan.validate()?;
    let location = store::LakeLocation::parse(&config.lake.location)?;
    let dir = std::path::PathBuf::from(&config.lake.registry);
    let rows = (plan.areas * (plan.customers_per_area + 1)) as u64 * 96 * u64::from(plan.days);
    let bar = ProgressBar::new(rows);
    bar.set_style(ProgressStyle::with_template(
        "{msg} [{bar:30}] {human_pos}/{human_len} readings, {per_sec}, eta {eta}",
    )?);
    bar.set_message("simulating");
    let summary = write_history(&plan, &location, &dir, |n| bar.inc(n))
        .await
        .context("writing the history")?;
    bar.finish_and_clear();
    for (day, events) in &summary.events {
        let rows: Vec<EventRow> = events
            .iter()
            .map(|e| EventRow {
                meter_id: e.meter_id.clone(),
                event: e.event.name().to_string(),
                sequence: e.sequence,
                at_us: e.at_us,
                end_us: None,
                operator: None,
            })
            .collect();
        let date = day.to_string();
        replace_day(&location, EVENTS_TABLE, &date, events_batch(&date, &rows)?).await?;
    }
    println!(
        "{} readings of {} customer meters ({} stealing, {} failing) over {}..={} into {}",
        summary.readings,
        summary.customers,
        summary.thieves,
        summary.failing,
        plan.first_day,
        plan.last_day(),
        config.lake.location
    );
    println!(
        "registry and labels (meters.csv, areas.csv, theft.csv, faults.csv, households.csv) in {}",
        dir.display()
    );
    Ok(())
}
