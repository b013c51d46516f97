//! Lake operations: `meterlake compact` rewrites small files into large ones (Delta OPTIMIZE, safe while
//! the sink writes); `meterlake retention` drops old date partitions and vacuums their files.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use meterlake::Config;
use store::{CompactOptions, Lake, LakeLocation};

/// Options of `meterlake compact`.
#[derive(Debug, clap::Args)]
pub struct CompactArgs {
    /// Size the rewritten files aim for, MiB.
    #[arg(long, default_value_t = 256)]
    target_mb: u64,
    /// Z-order the rewritten files by meter.
    #[arg(long, conflicts_with = "sort")]
    zorder: bool,
    /// Rewrite each partition sorted by (meter, boundary) instead (best pruning for meter predicates).
    #[arg(long)]
    sort: bool,
}

/// Options of `meterlake retention`.
#[derive(Debug, clap::Args)]
pub struct RetentionArgs {
    /// Keep this many most recent local days (today included); older partitions are dropped.
    #[arg(long)]
    keep_days: u32,
    /// Delete dropped files from storage only after this many hours (time travel works until then).
    #[arg(long, default_value_t = 168)]
    grace_hours: u32,
}

/// Drops partitions older than `keep_days`, then vacuums files removed more than the grace ago.
pub async fn retention(config: &Config, args: RetentionArgs) -> anyhow::Result<()> {
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    let location = LakeLocation::parse(&config.lake.location)?;
    let mut lake = Lake::open(&location, zone).await?;
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    // Keeping more days than the calendar holds drops nothing.
    let cutoff = today
        .checked_sub_days(chrono::Days::new(u64::from(
            args.keep_days.saturating_sub(1),
        )))
        .unwrap_or(chrono::NaiveDate::MIN);
    let dropped = lake.drop_partitions_before(cutoff).await?;
    println!(
        "dropped partitions before {cutoff}: {} files{} (lake version {})",
        dropped.files_removed,
        dropped
            .rows_removed
            .map(|rows| format!(", {rows} rows"))
            .unwrap_or_default(),
        dropped
            .version
            .map_or_else(|| "none".to_string(), |v| v.to_string())
    );
    let deleted = lake
        .vacuum(chrono::TimeDelta::hours(i64::from(args.grace_hours)))
        .await?;
    println!(
        "vacuum: {} files removed more than {} h ago deleted from storage",
        deleted.len(),
        args.grace_hours
    );
    Ok(())
}

/// Compacts every partition of the readings table.
pub async fn compact(config: &Config, args: CompactArgs) -> anyhow::Result<()> {
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    let location = LakeLocation::parse(&config.lake.location)?;
    let mut lake = Lake::open(&location, zone).await?;
    let files_before = lake.file_uris()?.len();
    let spinner = ProgressBar::new_spinner().with_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    spinner.set_message(format!(
        "compacting {files_before} files of {}",
        location.root()
    ));
    spinner.enable_steady_tick(Duration::from_millis(120));
    let options = CompactOptions {
        target_bytes: args.target_mb * 1024 * 1024,
        zorder_by_meter: args.zorder,
        ..CompactOptions::default()
    };
    let report = if args.sort {
        lake.compact_sorted(&options).await
    } else {
        lake.compact(&options).await
    };
    spinner.finish_and_clear();
    let report = report?;
    println!(
        "{} partitions: {} files rewritten into {} ({} files before, {} after); lake version {}",
        report.partitions,
        report.files_removed,
        report.files_added,
        files_before,
        lake.file_uris()?.len(),
        report
            .version
            .map_or_else(|| "none (empty lake)".to_string(), |v| v.to_string())
    );
    Ok(())
}
