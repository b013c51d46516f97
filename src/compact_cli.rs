//! `meterlake compact`: rewrite the lake's small files into large ones (Delta OPTIMIZE), safe while the
//! sink writes.

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
    #[arg(long)]
    zorder: bool,
}

/// Compacts every partition of the readings table.
pub async fn run(config: &Config, args: CompactArgs) -> anyhow::Result<()> {
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
    let report = lake
        .compact(&CompactOptions {
            target_bytes: args.target_mb * 1024 * 1024,
            zorder_by_meter: args.zorder,
            ..CompactOptions::default()
        })
        .await;
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
