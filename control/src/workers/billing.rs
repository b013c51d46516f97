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
        let report = control.billing_pass(&session).await?;
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
