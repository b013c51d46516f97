//! What the pages read from the lake: a meter's usage (daily energy over a window ending today, the
//! load curve of its last measured day, its theft score and usage class —
//! [`analytics::report::meter_usage`]), its bills with their line items, and an area's load report.

use std::future::Future;

use analytics::report::fleet_status::{fleet_status, FleetStatus};
use analytics::report::meter_bills::{meter_bills, StoredBill};
use analytics::report::meter_usage::{meter_usage, MeterUsage};
use analytics::report::{build_load_report, LoadReport, LoadReportRequest};
use analytics::{AnalyticsError, LakeSession};
use chrono::Duration;

use super::accounts::check_meter_id;
use super::Control;
use crate::{ControlError, SessionOpener};

/// Runs `query` over a session at the lake's newest version. The lake scans hold non-`Send` state
/// across awaits: the query runs on a blocking thread that drives it on the runtime.
async fn on_lake<T, F, Fut>(lake: &SessionOpener, query: F) -> Result<T, ControlError>
where
    T: Send + 'static,
    F: FnOnce(LakeSession) -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, AnalyticsError>>,
{
    let session = lake().await?;
    let runtime = tokio::runtime::Handle::current();
    let answer = tokio::task::spawn_blocking(move || runtime.block_on(query(session)))
        .await
        .map_err(|e| ControlError::Corrupt(format!("lake query task: {e}")))??;
    Ok(answer)
}

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
        let meter = meter_id.to_string();
        on_lake(lake, move |session| async move {
            meter_usage(&session, &meter, from, today).await
        })
        .await
    }

    /// `meter_id`'s newest bills (at most `limit`) from the lake's `bills` table.
    pub async fn bills(
        &self,
        lake: &SessionOpener,
        meter_id: &str,
        limit: usize,
    ) -> Result<Vec<StoredBill>, ControlError> {
        check_meter_id(meter_id)?;
        let meter = meter_id.to_string();
        on_lake(lake, move |session| async move {
            meter_bills(&session, &meter, limit).await
        })
        .await
    }

    /// An area's load report (the content of `meterlake report load`).
    pub async fn load_report(
        &self,
        lake: &SessionOpener,
        request: LoadReportRequest,
    ) -> Result<LoadReport, ControlError> {
        on_lake(lake, move |session| async move {
            build_load_report(&session, &request, &mut |_| {}).await
        })
        .await
    }

    /// The fleet at a glance: meters heard from in the last hour, collection success per area and day.
    pub async fn fleet_status(
        &self,
        lake: &SessionOpener,
        days: i64,
    ) -> Result<FleetStatus, ControlError> {
        let now = self.now();
        on_lake(lake, move |session| async move {
            fleet_status(&session, now, days).await
        })
        .await
    }

    /// The transformer areas the registry knows, in order.
    pub async fn areas(&self, lake: &SessionOpener) -> Result<Vec<String>, ControlError> {
        on_lake(lake, move |session| async move {
            analytics::report::load_query::area_ids(&session).await
        })
        .await
    }
}
