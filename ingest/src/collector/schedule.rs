//! The collection schedule: rounds aligned to interval boundaries, until shutdown.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use super::Collector;

/// Longest single sleep while waiting for a boundary: the wall clock is read again after it, so a
/// step of the clock (NTP, an operator, a resumed virtual machine) is noticed within this time.
pub const CLOCK_LOOK: Duration = Duration::from_secs(1);

fn step_micros(interval: Duration) -> i64 {
    i64::try_from(interval.as_micros())
        .unwrap_or(i64::MAX)
        .max(1)
}

/// The first boundary strictly after `now` for intervals of `interval` (aligned to the Unix epoch,
/// so 15-minute rounds fall on :00, :15, :30 and :45).
pub fn next_boundary(now: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    let step = step_micros(interval);
    let next = (now.timestamp_micros().div_euclid(step) + 1).saturating_mul(step);
    DateTime::from_timestamp_micros(next).unwrap_or(now)
}

/// The latest boundary at or before `now`.
pub fn boundary_reached(now: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    let step = step_micros(interval);
    let reached = now.timestamp_micros().div_euclid(step).saturating_mul(step);
    DateTime::from_timestamp_micros(reached).unwrap_or(now)
}

/// The boundary to wait for after a round at `last` (if any), by the wall clock at `now`: the next
/// one, and never one at or before `last` (never two rounds for one boundary, even when the clock
/// stepped back).
pub fn due_boundary(
    last: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    interval: Duration,
) -> DateTime<Utc> {
    let due = next_boundary(now, interval);
    match last {
        Some(last) if due <= last => next_boundary(last, interval),
        _ => due,
    }
}

/// The boundary to collect once the wall clock shows `now` at or after `due`: the latest reached
/// (a clock that stepped forward, or a process that was stopped, has passed later ones), and how
/// many boundaries after `last` get no round.
pub fn boundary_to_collect(
    last: Option<DateTime<Utc>>,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
    interval: Duration,
) -> (DateTime<Utc>, u64) {
    let boundary = boundary_reached(now, interval).max(due);
    let step = step_micros(interval);
    let missed = last.map_or(0, |last| {
        let steps = boundary
            .timestamp_micros()
            .saturating_sub(last.timestamp_micros())
            / step;
        u64::try_from(steps.saturating_sub(1)).unwrap_or(0)
    });
    (boundary, missed)
}

impl Collector {
    /// Runs a round at every boundary of `interval` (by this collector's clock) until `shutdown`.
    /// A round in progress when shutdown comes finishes the buses already being polled.
    ///
    /// The wall clock is read at least every [`CLOCK_LOOK`] while waiting. When it stepped back before
    /// the last round's boundary, no round runs until it passes that boundary again (the readings of
    /// those boundaries are taken) and `/healthz` shows `clock_behind_last_round`; when it stepped
    /// forward, the latest boundary reached is collected and the ones passed are counted missed.
    pub async fn run_schedule(
        self: Arc<Self>,
        interval: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut last: Option<DateTime<Utc>> = None;
        let recorded = super::unfinished::read(&self.whole_round_file);
        let mut owed = super::unfinished::owed(recorded, self.clock.now(), interval);
        loop {
            let (boundary, missed) = if let Some(boundary) = owed.take() {
                tracing::info!(%boundary, last_whole = ?recorded, "collecting at once a boundary an earlier process did not finish");
                (boundary, 0)
            } else {
                let due = due_boundary(last, self.clock.now(), interval);
                if !self.wait_for(due, last, &mut shutdown).await {
                    return;
                }
                boundary_to_collect(last, due, self.clock.now(), interval)
            };
            if missed > 0 {
                tracing::warn!(
                    %boundary, missed,
                    "boundaries passed without a round (the clock stepped forward, or rounds overran)"
                );
                metrics::counter!("meterlake_collector_rounds_missed_total").increment(missed);
            }
            last = Some(boundary);
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
                Ok(stats) => {
                    tracing::info!(
                        %boundary, rows = stats.rows, silent = stats.no_response,
                        skipped_buses = stats.skipped_buses, "collection round done"
                    );
                    if stats.skipped_buses == 0 {
                        if let Err(err) = super::unfinished::write(&self.whole_round_file, boundary)
                        {
                            tracing::warn!(%err, "could not record the last whole round");
                        }
                    }
                }
                Err(err) => tracing::error!(%boundary, %err, "collection round failed"),
            }
            if self.stopping.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
        }
    }

    /// Sleeps until the wall clock reaches `due`, reading it every [`CLOCK_LOOK`]; false on shutdown.
    async fn wait_for(
        &self,
        due: DateTime<Utc>,
        last: Option<DateTime<Utc>>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        loop {
            let now = self.clock.now();
            if now >= due {
                self.faults.clock_behind(None);
                return true;
            }
            let behind = last.filter(|last| now < *last).map(|last| {
                format!(
                    "the clock ({now}) is before the last round's boundary ({last}); rounds resume at {due}"
                )
            });
            if behind.is_some() && !self.faults.is_clock_behind() {
                tracing::warn!(%now, ?last, %due, "the clock stepped back: rounds wait for it");
            }
            self.faults.clock_behind(behind.as_deref());
            let wait = (due - now)
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(CLOCK_LOOK);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => return false,
            }
            if *shutdown.borrow() {
                return false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn a_clock_that_stepped_back_waits_past_the_last_round() {
        // Rounds ran up to 10:05; the clock went back to 09:30.
        let last = Some(at("2026-12-06T10:05:00Z"));
        assert_eq!(
            due_boundary(last, at("2026-12-06T09:30:10Z"), MINUTE),
            at("2026-12-06T10:06:00Z")
        );
        // Normally the next boundary after now.
        assert_eq!(
            due_boundary(last, at("2026-12-06T10:05:02Z"), MINUTE),
            at("2026-12-06T10:06:00Z")
        );
        assert_eq!(
            due_boundary(None, at("2026-12-06T10:05:02Z"), MINUTE),
            at("2026-12-06T10:06:00Z")
        );
    }

    #[test]
    fn a_clock_that_stepped_forward_collects_the_latest_boundary_and_counts_the_missed() {
        let last = Some(at("2026-12-06T10:05:00Z"));
        let due = at("2026-12-06T10:06:00Z");
        // On time: that boundary, none missed.
        assert_eq!(
            boundary_to_collect(last, due, at("2026-12-06T10:06:00.003Z"), MINUTE),
            (due, 0)
        );
        // The clock jumped an hour ahead while the round was awaited.
        assert_eq!(
            boundary_to_collect(last, due, at("2026-12-06T11:06:20Z"), MINUTE),
            (at("2026-12-06T11:06:00Z"), 60)
        );
        // The first round misses nothing.
        assert_eq!(
            boundary_to_collect(None, due, at("2026-12-06T10:09:00Z"), MINUTE),
            (at("2026-12-06T10:09:00Z"), 0)
        );
        assert_eq!(
            boundary_reached(at("2026-12-06T10:09:59.9Z"), MINUTE),
            at("2026-12-06T10:09:00Z")
        );
    }

    #[test]
    fn boundaries_fall_on_the_quarter_hour() {
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
