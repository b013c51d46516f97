//! A meter's usage from the lake for the pages: daily energy over a window ending today, the load curve
//! of its last measured day, its theft score and usage class ([`analytics::report::meter_usage`]).

use analytics::report::meter_usage::{meter_usage, MeterUsage};
use chrono::Duration;

use super::accounts::check_meter_id;
use super::Control;
use crate::{ControlError, SessionOpener};

impl Control {
    /// `meter_id`'s usage over the `days` local days up to today, read from the lake's newest version.
    pub async fn usage(
        &self,
        lake: &SessionOpener,
        meter_id: &str,
        days: i64,
    ) -> Result<MeterUsage, ControlError> {
        check_meter_id(meter_id)?;
        let today = self.now().with_timezone(&self.rules().zone).date_naive();
        let from = today - Duration::days(days.clamp(1, 366) - 1);
        let session = lake().await?;
        let meter = meter_id.to_string();
        // The lake scans hold non-`Send` state across awaits: the query runs on a blocking thread that
        // drives it on the runtime.
        let runtime = tokio::runtime::Handle::current();
        let usage = tokio::task::spawn_blocking(move || {
            runtime.block_on(meter_usage(&session, &meter, from, today))
        })
        .await
        .map_err(|e| ControlError::Corrupt(format!("usage query task: {e}")))??;
        Ok(usage)
    }
}
