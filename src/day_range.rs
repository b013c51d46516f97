//! Commands over a range of local days (`--from D1 --to D2`): the arguments, a progress bar counting
//! the days, and a session over the configured lake and registry.

use std::sync::Arc;

use anyhow::Context;
use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressStyle};

use crate::Config;

/// `--from D1 --to D2`: local dates, both included.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct DayRange {
    /// First local date.
    #[arg(long)]
    pub from: NaiveDate,
    /// Last local date.
    #[arg(long)]
    pub to: NaiveDate,
}

impl DayRange {
    /// The UTC instants bounding the range in the configured zone.
    pub fn bounds(
        &self,
        config: &Config,
    ) -> anyhow::Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>)> {
        let zone = store::partition::parse_zone(&config.lake.zone)?;
        Ok(analytics::local_days::span(zone, self.from, self.to)?)
    }

    /// A progress bar over the range's days.
    pub fn progress(&self) -> anyhow::Result<Arc<ProgressBar>> {
        let days = u64::try_from((self.to - self.from).num_days() + 1).unwrap_or(0);
        let bar = Arc::new(ProgressBar::new(days));
        bar.set_style(ProgressStyle::with_template(
            "{bar:30} {pos}/{len} days  {msg}",
        )?);
        Ok(bar)
    }
}

/// A session over the configured lake (newest version) with the registry.
pub async fn lake_session(config: &Config) -> anyhow::Result<analytics::LakeSession> {
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    let lake = store::LakeLocation::parse(&config.lake.location)?;
    let registry = std::path::PathBuf::from(&config.lake.registry);
    analytics::LakeSession::open_with_registry(&lake, zone, None, Some(&registry))
        .await
        .context("opening the lake")
}
