//! On a fixed period: judges yesterday's transformer-area rules once (line loss, collection success:
//! a complete day) and raises the theft inspection list (the shipped model over the last 30 days), then exports today's and yesterday's alarms and meter events to the lake (a day is
//! replaced whole, so alarms taken or cleared since the last export show their new state).

use std::time::Duration;

use ingest::supervise::LoopHandle;
use tokio::sync::watch;

use crate::app::Control;
use crate::{ControlError, SessionOpener};

/// Runs until `shutdown`.
pub async fn run(
    control: Control,
    open_session: SessionOpener,
    every: Duration,
    areas: Option<analytics::diagnosis::DiagnosisConfig>,
    handle: LoopHandle,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ControlError> {
    let mut areas_judged: Option<chrono::NaiveDate> = None;
    loop {
        let session = open_session().await?;
        let today = control
            .now()
            .with_timezone(&control.rules().zone)
            .date_naive();
        let yesterday = today.pred_opt();
        if let (Some(config), Some(yesterday)) =
            (&areas, yesterday.filter(|y| areas_judged != Some(*y)))
        {
            let profiles = analytics::diagnosis::profiles(&session).await?;
            let outcome = control
                .judge_areas(&session, yesterday, config, &profiles)
                .await?;
            tracing::debug!(%yesterday, raised = outcome.raised, cleared = outcome.cleared, "area rules");
            let model = analytics::prediction::ModelFile::default_theft()
                .map_err(|e| ControlError::Corrupt(e.to_string()))?;
            let list = analytics::prediction::inspection::InspectionList::default();
            let outcome = control
                .judge_theft(&session, yesterday, &model, list, &profiles)
                .await?;
            areas_judged = Some(yesterday);
            tracing::debug!(%yesterday, raised = outcome.raised, cleared = outcome.cleared, "theft inspection list");
        }
        for day in [today.pred_opt(), Some(today)].into_iter().flatten() {
            let export = control.export_day(&session, day).await?;
            tracing::debug!(%day, alarms = export.alarms, events = export.events, "exported to the lake");
        }
        handle.success();
        tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            _ = tokio::time::sleep(every) => {}
        }
    }
}
