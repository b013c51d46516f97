//! The demo's VEE section: the simulated day validated into `validated_intervals`, the silent DTU's
//! gap estimated with its registers' energy kept, an operator's edit, and a bill from validated energy
//! that says what was estimated and how.

use analytics::billing::period_run::{bill_period, MonthPeriod};
use analytics::vee::{DaySummary, Flag, Method, Status};
use chrono::{DateTime, Datelike, NaiveDate, Utc};

use control::app::audit::Actor;
use meterlake::Pipeline;
use rust_decimal::Decimal;

/// The meter the demo's DTU dropout silences (06:00–08:00) and the one it bypasses (from 10:00).
const SILENT: &str = "000000001007";
const BYPASSED: &str = "000000001011";

fn count<K: Ord>(map: &std::collections::BTreeMap<K, usize>, key: K) -> usize {
    map.get(&key).copied().unwrap_or(0)
}

/// Validates the simulated local day starting at `start`, shows what the rules did, edits one interval
/// and bills the bypassed meter from validated energy.
pub async fn validated(p: &Pipeline, start: DateTime<Utc>) -> anyhow::Result<()> {
    let day: NaiveDate = start.with_timezone(&p.zone).date_naive();
    let edit_at = start + chrono::Duration::hours(11);
    let edited = p
        .control
        .edit_interval(
            BYPASSED,
            edit_at,
            Decimal::new(35, 2),
            "site visit: bypass found, load measured with a clamp meter",
            &Actor::cli(),
        )
        .await;
    if let Err(why) = edited {
        println!("  (no edit: {why})");
    }
    let edits: Vec<_> = p
        .control
        .interval_edits(None, start, start + chrono::Duration::days(1))
        .await?
        .iter()
        .map(|e| e.to_vee())
        .collect();
    let mut session = p.session().await?;
    let config = analytics::vee::VeeConfig::default();
    let days =
        analytics::vee::run(&session, &p.lake, &config, (day, day), &edits, &mut |_| {}).await?;
    println!(
        "\nvalidation, estimation, editing (VEE) of {day} into the lake's validated_intervals:"
    );
    for d in &days {
        print_day(d);
    }
    session.register_validated(&p.lake).await?;
    let silent = analytics::vee::table::flagged(&session, SILENT, Flag::Gap).await?;
    println!(
        "  {SILENT} (silent DTU 06:00–08:00): its gap estimated, the registers' energy kept:\n{}",
        arrow::util::pretty::pretty_format_batches(&silent)?
    );
    let plan = p.control.account(BYPASSED).await?.plan;
    let month = MonthPeriod {
        first_day: day.with_day(1).unwrap_or(day),
    };
    let raw = bill_period(&session, month, &plan, Some(BYPASSED), &mut |_| {}).await?;
    session.bill_validated_energy(&p.lake).await?;
    let validated = bill_period(&session, month, &plan, Some(BYPASSED), &mut |_| {}).await?;
    for (name, bills) in [("raw intervals", &raw), ("validated energy", &validated)] {
        for bill in bills {
            println!(
                "  bill of {BYPASSED} for {day} from {name:<16}: {} kWh, {} yuan; {} intervals estimated{}",
                bill.priced.billed_kwh.round_dp(2),
                bill.total(),
                bill.estimated_intervals,
                match bill.estimation.describe() {
                    how if how.is_empty() => how,
                    how => format!(" ({how})"),
                }
            );
        }
    }
    println!("  (meterlake vee run|show|edit|edits; meterlake bill --validated; docs/vee.md)");
    Ok(())
}

fn print_day(d: &DaySummary) {
    println!(
        "  {} meters, {} intervals: {} valid, {} estimated ({} linear, {} profile), {} edited, {} unestimated",
        d.meters,
        d.intervals,
        count(&d.by_status, Status::Valid),
        count(&d.by_status, Status::Estimated),
        count(&d.by_method, Method::Linear),
        count(&d.by_method, Method::Profile),
        count(&d.by_status, Status::Edited),
        count(&d.by_status, Status::Unestimated),
    );
    let flags: Vec<String> = Flag::ALL
        .iter()
        .filter_map(|f| d.by_flag.get(f).map(|n| format!("{} {n}", f.name())))
        .collect();
    println!("  flags: {}", flags.join(", "));
}
