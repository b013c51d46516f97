//! Runs [`Control::sweep`] on a fixed period.

use std::time::Duration;

use ingest::supervise::LoopHandle;
use tokio::sync::watch;

use crate::app::Control;
use crate::ControlError;

/// Runs until `shutdown`.
pub async fn run(
    control: Control,
    every: Duration,
    handle: LoopHandle,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ControlError> {
    loop {
        let report = control.sweep().await?;
        if report != Default::default() {
            tracing::info!(?report, "sweep");
        }
        handle.success();
        tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            _ = tokio::time::sleep(every) => {}
        }
    }
}
