//! Runs a billing pass on a fixed period against the lake's newest version.

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
        let report =
            tokio::task::spawn_blocking(move || runtime.block_on(c.billing_pass(&session)))
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
