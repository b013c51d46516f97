//! Runs a billing pass on a fixed period against the lake's newest version, then issues the previous
//! month's bills once they are due (`control.bill_issue_day` / `bill_issue_hour`).

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
    handle: LoopHandle,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ControlError> {
    loop {
        let session = open_session().await?;
        // The lake scans hold non-`Send` state across awaits: the pass runs on a blocking thread that
        // drives it on the runtime.
        let (c, runtime) = (control.clone(), tokio::runtime::Handle::current());
        let report = tokio::task::spawn_blocking(move || {
            runtime.block_on(async {
                let report = c.billing_pass(&session).await?;
                // The month's issue logs and counts itself; its failure (the lake refusing the bills,
                // say) does not stop the passes: it is tried again on the next one.
                if let Err(err) = c.issue_due_bills(&session).await {
                    metrics::counter!("meterlake_control_bill_issue_failures_total").increment(1);
                    tracing::warn!(error = %err, "the month's bills could not be issued");
                }
                Ok::<_, ControlError>(report)
            })
        })
        .await
        .map_err(|e| ControlError::Corrupt(format!("billing pass task: {e}")))??;

        tracing::info!(
            lake_version = ?report.lake_version, accounts = report.accounts, charged = report.charged,
            commands = report.commands, errors = report.errors.len(), "billing pass"
        );
        handle.success();
        tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            _ = tokio::time::sleep(every) => {}
        }
    }
}
