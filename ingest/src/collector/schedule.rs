//! The collection schedule: rounds aligned to interval boundaries, until shutdown.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::Collector;

/// The first boundary strictly after `now` for intervals of `interval` (aligned to the Unix epoch,
/// so 15-minute rounds fall on :00, :15, :30 and :45).
pub fn next_boundary(now: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    let step = i64::try_from(interval.as_micros())
        .unwrap_or(i64::MAX)
        .max(1);
    let micros = now.timestamp_micros();
    let next = (micros.div_euclid(step) + 1).saturating_mul(step);
    DateTime::from_timestamp_micros(next).unwrap_or(now)
}

impl Collector {
    /// Runs a round at every boundary of `interval` (by this collector's clock) until `shutdown`.
    /// A round in progress when shutdown comes finishes the buses already being polled.
    pub async fn run_schedule(
        self: Arc<Self>,
        interval: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut last: Option<DateTime<Utc>> = None;
        loop {
            let mut boundary = next_boundary(self.clock.now(), interval);
            if let Some(last) = last.filter(|l| boundary <= *l) {
                // Never two rounds for one boundary, even if the clock stepped back.
                boundary = next_boundary(last, interval);
            }
            last = Some(boundary);
            let wait = (boundary - self.clock.now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return,
            }
            if *shutdown.borrow() {
                return;
            }
            let round = self.collect(boundary);
            tokio::pin!(round);
            let result = tokio::select! {
                result = &mut round => result,
                _ = shutdown.changed() => {
                    self.begin_shutdown();
                    round.await
                }
            };
            match result {
                Ok(stats) if stats.held > 0 => tracing::warn!(
                    %boundary, rows = stats.rows, held = stats.held,
                    "collection round held in memory: the spool refused it"
                ),
                Ok(stats) => tracing::info!(
                    %boundary, rows = stats.rows, silent = stats.no_response,
                    skipped_buses = stats.skipped_buses, "collection round done"
                ),
                Err(err) => tracing::error!(%boundary, %err, "collection round failed"),
            }
            if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_fall_on_the_quarter_hour() {
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        let quarter = Duration::from_secs(900);
        assert_eq!(
            next_boundary(at("2026-11-24T05:07:13Z"), quarter),
            at("2026-11-24T05:15:00Z")
        );
        assert_eq!(
            next_boundary(at("2026-11-24T05:15:00Z"), quarter),
            at("2026-11-24T05:30:00Z")
        );
        assert_eq!(
            next_boundary(at("2026-11-24T23:59:59.999Z"), quarter),
            at("2026-11-25T00:00:00Z")
        );
    }
}
