//! Runs [`Control::deliver_due`]: takes due notifications from the outbox and sends them through their
//! channels, every `poll` (at once again when a round was full).

use std::time::Duration;

use ingest::supervise::LoopHandle;
use tokio::sync::watch;

use crate::app::notifications::RetryPolicy;
use crate::app::Control;
use crate::notify::{Channels, NotifyConfig};
use crate::ControlError;

/// Deliveries taken per round.
const ROUND: i64 = 100;

/// Runs until `shutdown`.
pub async fn run(
    control: Control,
    channels: Channels,
    config: NotifyConfig,
    handle: LoopHandle,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ControlError> {
    let policy = RetryPolicy {
        max_attempts: config.max_attempts,
        first_retry: chrono::Duration::seconds(
            i64::try_from(config.first_retry_s)
                .unwrap_or(i64::MAX / 1_000_000)
                .min(86_400),
        ),
    };
    let poll = Duration::from_millis(config.poll_ms);
    loop {
        let round = control
            .deliver_due(&channels, policy, &config.staff_email, ROUND)
            .await?;
        if round != Default::default() {
            tracing::info!(
                sent = round.sent,
                retried = round.retried,
                dead = round.dead,
                "notifications"
            );
        }
        handle.success();
        let full = (round.sent + round.retried + round.dead) as i64 >= ROUND;
        if !full {
            tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                _ = tokio::time::sleep(poll) => {}
            }
        } else if *shutdown.borrow() {
            return Ok(());
        }
    }
}
