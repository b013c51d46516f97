//! Monthly bills for a whole fleet from the lake, and the same bills from a plain pandas implementation.
//!
//! 1. A lake of `AREAS × CUSTOMERS_PER_AREA` customer meters (plus one supply meter per area) with
//!    `DAYS` days of 15-minute readings from 2026-11-01 ([`fleet_lake`]) is billed for 2026-11 with each
//!    meter's registry plan (`shanghai-residential`: annual ladder × peak/valley), the way
//!    `meterlake bill` does it. Reported: meters, intervals, seconds.
//! 2. A subset lake (`SUBSET_AREAS` areas) is billed the same way and by `billing/pandas_bills.py`, a
//!    straightforward pandas implementation of the same rules over the same Parquet files; every
//!    meter's total must be identical. Reported: seconds per meter for both and the ratio.
//!
//! `cargo bench --bench billing_run -- [AREAS] [CUSTOMERS_PER_AREA] [DAYS] [SUBSET_AREAS]` (default
//! 1,000 × 100 × 30 × 100: 100,000 customers, 288 million intervals; the subset 10,000). Lakes are
//! generated once below `$CARGO_TARGET_DIR/bench-lakes`. Without `--bench` it runs 3 × 5 × 3 days and a
//! subset of 2 areas. Needs `METERLAKE_PYTHON` (a Python with pandas and pyarrow).

use std::path::Path;
use std::time::Instant;

use analytics::billing::period_run::{bill_period, MonthPeriod};
use analytics::{Bill, LakeSession};
use chrono::NaiveDate;
use store::Lake;

mod args;
mod fleet_lake;

use args::positional as arg;
use fleet_lake::{FleetShape, PLAN, ZONE};

/// Bills the generated lake of `shape` for November 2026; returns the bills and the seconds taken
/// (opening the session included).
async fn bill(
    shape: FleetShape,
    root: &Path,
) -> anyhow::Result<(Vec<Bill>, f64, fleet_lake::FleetLake)> {
    let fleet = fleet_lake::fleet_lake(shape, root).await?;
    let started = Instant::now();
    let lake = Lake::open(&fleet.location, ZONE).await?;
    let session = LakeSession::from_lake_with_registry(&lake, ZONE, Some(&fleet.registry)).await?;
    let period = MonthPeriod::parse("2026-11")?;
    let bills = bill_period(&session, period, PLAN, None, &mut |_| {}).await?;
    Ok((bills, started.elapsed().as_secs_f64(), fleet))
}

fn summary(bills: &[Bill]) -> (u64, rust_decimal::Decimal) {
    (
        bills.iter().map(|b| b.priced.intervals).sum(),
        bills.iter().map(Bill::total).sum(),
    )
}

fn main() -> anyhow::Result<()> {
    meterlake::allocator::tune_for_scans();
    let bench = args::full_run();
    let shape = |areas: usize, customers: usize, days: u32| FleetShape {
        areas,
        customers_per_area: customers,
        days,
        first_day: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
        lost_per_10k: 20,
    };
    let (full, subset) = if bench {
        let (customers, days) = (arg(2, 100), arg(3, 30) as u32);
        (
            shape(arg(1, 1_000), customers, days),
            shape(arg(4, 100), customers, days),
        )
    } else {
        (shape(3, 5, 3), shape(2, 5, 3))
    };
    let python = fleet_lake::python("pandas and pyarrow")?;
    let scratch = tempfile::tempdir()?;
    let root = fleet_lake::lakes_root(bench, scratch.path());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (bills, secs, _) = bill(full, &root).await?;
        let (intervals, total) = summary(&bills);
        println!(
            "full: {} bills, {intervals} intervals, {total} yuan in {secs:.2} s ({:.1} M intervals/s)",
            bills.len(),
            intervals as f64 / secs / 1e6
        );
        let (bills, secs, fleet) = bill(subset, &root).await?;
        let (intervals, total) = summary(&bills);
        println!(
            "subset: {} bills, {intervals} intervals, {total} yuan in {secs:.2} s",
            bills.len()
        );
        let answers = scratch.path().join("meterlake-bills.csv");
        let mut csv = String::from("meter_id,intervals,billed_kwh,total\n");
        for b in &bills {
            csv.push_str(&format!(
                "{},{},{},{}\n",
                b.meter_id, b.priced.intervals, b.priced.billed_kwh, b.priced.total
            ));
        }
        std::fs::write(&answers, csv)?;
        let lake = Lake::open(&fleet.location, ZONE).await?;
        let files = scratch.path().join("files.txt");
        std::fs::write(&files, lake.file_uris()?.join("\n"))?;
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let status = std::process::Command::new(python)
            .arg(here.join("benches/billing/pandas_bills.py"))
            .arg("--files")
            .arg(&files)
            .arg("--registry")
            .arg(&fleet.registry)
            .arg("--plan")
            .arg(here.join(format!("tariffs/{PLAN}.toml")))
            .arg("--period")
            .arg("2026-11")
            .arg("--answers")
            .arg(&answers)
            .arg("--meterlake-seconds")
            .arg(secs.to_string())
            .status()?;
        anyhow::ensure!(status.success(), "the pandas comparison failed ({status})");
        Ok(())
    })
}
