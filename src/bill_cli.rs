//! `meterlake bill --period 2026-10 [--meter M] [--as-of V] [--daily] [--validated]`: a month's bills
//! from the lake (raw intervals, or the VEE's validated ones),
//! stored in the lake's `bills` table and printed as a table, CSV or JSON; with `--daily`, the month's
//! daily charges per (meter, day) and their true-ups, stored in the `daily_charges` table.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use analytics::billing::bill_records::{bills_csv, bills_json};
use analytics::billing::daily_run::{
    daily_charges_csv, daily_period, store_daily_charges, MeterDailyCharges,
};
use analytics::billing::period_run::{bill_period, store_bills, MonthPeriod};
use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use meterlake::Config;

/// Output formats of `meterlake bill`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum BillFormat {
    /// One line per bill.
    Table,
    /// CSV, one row per bill (line items as JSON).
    Csv,
    /// JSON lines, one whole bill each.
    Json,
}

/// Options of `meterlake bill`.
#[derive(Debug, clap::Args)]
pub struct BillArgs {
    /// The month, YYYY-MM (local time of the lake's zone).
    #[arg(long)]
    period: String,
    /// Bill only this meter (printed, not stored).
    #[arg(long)]
    meter: Option<String>,
    /// Read the lake as of this version (re-running at a bill's `lake_version` reproduces it).
    #[arg(long)]
    as_of: Option<i64>,
    /// Plan for meters the registry gives none (default: `control.plan`).
    #[arg(long)]
    plan: Option<String>,
    /// Do not store the bills in the lake's `bills` table.
    #[arg(long)]
    no_store: bool,
    /// Daily charges (one per meter and local day, and a true-up per meter) instead of bills.
    #[arg(long)]
    daily: bool,
    /// Bill the VEE's validated energy (`meterlake vee run` over the whole month first) instead of
    /// the raw intervals with gaps spread evenly.
    #[arg(long)]
    validated: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: BillFormat,
    /// Write the bills here instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// Runs `meterlake bill`.
pub async fn run(config: &Config, args: BillArgs) -> anyhow::Result<()> {
    let period = MonthPeriod::parse(&args.period)?;
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    let location = store::LakeLocation::parse(&config.lake.location)?;
    let registry = std::path::Path::new(&config.lake.registry);
    let bar = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message("opening the lake");
    let mut session =
        analytics::LakeSession::open_with_registry(&location, zone, args.as_of, Some(registry))
            .await?;
    if args.validated {
        use_validated_energy(&mut session, &location, period).await?;
    }
    let default_plan = args.plan.as_deref().unwrap_or(&config.control.plan);
    if args.daily {
        return run_daily(&session, &location, period, default_plan, &args, bar).await;
    }
    let bills = bill_period(
        &session,
        period,
        default_plan,
        args.meter.as_deref(),
        &mut |step| bar.set_message(step.to_string()),
    )
    .await
    .with_context(|| format!("billing {}", period.name()))?;
    let stored = if args.meter.is_none() && !args.no_store {
        bar.set_message(format!("storing {} bills", bills.len()));
        Some(store_bills(&location, period, &bills).await?)
    } else {
        None
    };
    bar.finish_and_clear();
    let text = match args.format {
        BillFormat::Table => table(&bills),
        BillFormat::Csv => bills_csv(&bills, &period.name())?,
        BillFormat::Json => bills_json(&bills)?,
    };
    write_out(&args, &text)?;
    let total: rust_decimal::Decimal = bills.iter().map(analytics::Bill::total).sum();
    eprintln!(
        "{} bills for {}, {} yuan in all, from lake version {}{}",
        bills.len(),
        period.name(),
        total,
        session
            .lake_version()
            .map_or_else(|| "none".to_string(), |v| v.to_string()),
        stored
            .map(|v| format!("; bills table version {v}"))
            .unwrap_or_default()
    );
    Ok(())
}

/// Makes `session` bill validated energy, refusing a month VEE has not validated completely.
async fn use_validated_energy(
    session: &mut analytics::LakeSession,
    location: &store::LakeLocation,
    period: MonthPeriod,
) -> anyhow::Result<()> {
    if !session.bill_validated_energy(location).await? {
        anyhow::bail!(
            "the lake has no validated intervals: run `meterlake vee run --from … --to …` first"
        );
    }
    let missing =
        analytics::vee::table::unvalidated_days(session, period.first_day, period.last_day()?)
            .await?;
    if let (Some(first), Some(last)) = (missing.first(), missing.last()) {
        anyhow::bail!(
            "{} day(s) of {} are not validated ({first} … {last}): run `meterlake vee run --from \
             {first} --to {last}` first",
            missing.len(),
            period.name()
        );
    }
    Ok(())
}

fn write_out(args: &BillArgs, text: &str) -> anyhow::Result<()> {
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(())
}

/// `meterlake bill --daily`: the period's daily charges, stored unless `--meter` or `--no-store`.
async fn run_daily(
    session: &analytics::LakeSession,
    location: &store::LakeLocation,
    period: MonthPeriod,
    default_plan: &str,
    args: &BillArgs,
    bar: ProgressBar,
) -> anyhow::Result<()> {
    let charges = daily_period(
        session,
        period,
        default_plan,
        args.meter.as_deref(),
        &mut |step| bar.set_message(step.to_string()),
    )
    .await
    .with_context(|| format!("daily charges for {}", period.name()))?;
    let stored = if args.meter.is_none() && !args.no_store {
        bar.set_message(format!(
            "storing the daily charges of {} meters",
            charges.len()
        ));
        Some(store_daily_charges(location, period, &charges).await?)
    } else {
        None
    };
    bar.finish_and_clear();
    let text = match args.format {
        BillFormat::Table => daily_table(&charges),
        BillFormat::Csv => daily_charges_csv(&charges, &period.name()),
        BillFormat::Json => {
            let mut out = String::new();
            for meter in &charges {
                out.push_str(&serde_json::to_string(meter)?);
                out.push('\n');
            }
            out
        }
    };
    write_out(args, &text)?;
    eprintln!(
        "daily charges of {} meters for {}{}",
        charges.len(),
        period.name(),
        stored
            .map(|v| format!("; daily_charges table version {v}"))
            .unwrap_or_default()
    );
    Ok(())
}

fn daily_table(charges: &[MeterDailyCharges]) -> String {
    let mut out = format!(
        "{:<14} {:<12} {:>12} {:>10}\n",
        "meter", "day", "kWh", "charge"
    );
    for meter in charges {
        for day in &meter.charges.days {
            out.push_str(&format!(
                "{:<14} {:<12} {:>12} {:>10}\n",
                meter.meter_id,
                day.date,
                day.kwh.round_dp(2),
                day.charge
            ));
        }
        out.push_str(&format!(
            "{:<14} {:<12} {:>12} {:>10}\n",
            meter.meter_id, "true-up", "", meter.charges.true_up
        ));
    }
    out
}

fn table(bills: &[analytics::Bill]) -> String {
    let mut out = format!(
        "{:<14} {:<24} {:>10} {:>12} {:>9} {:>12}  {}\n",
        "meter", "plan", "intervals", "billed kWh", "estimated", "total yuan", "estimated by"
    );
    for bill in bills {
        out.push_str(&format!(
            "{:<14} {:<24} {:>10} {:>12} {:>9} {:>12}  {}\n",
            bill.meter_id,
            bill.priced.plan,
            bill.priced.intervals,
            bill.priced.billed_kwh.round_dp(2),
            bill.estimated_intervals,
            bill.priced.total,
            bill.estimation.describe()
        ));
    }
    out
}
