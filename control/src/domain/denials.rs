//! How many refused requests of one user the audit trail records: a client looping on a route its
//! role may not use would otherwise add a record per request to the append-only, hash-chained trail.
//! Each user gets [`RECORDED_PER_MINUTE`] records a minute; the rest are counted and the next record
//! says how many were held back, so the trail keeps the count of every refusal.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

/// Refusals of one user recorded in the audit trail per minute.
pub const RECORDED_PER_MINUTE: u32 = 10;

/// Users tracked before windows that have ended are dropped.
const TRACKED: usize = 10_000;

/// Whether a refusal gets its own audit record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// Record it, saying how many refusals of this user were held back before it.
    Record {
        /// Refusals counted but not recorded since this user's last record.
        held_back: u64,
    },
    /// Count it only (the user's records for this minute are used up).
    HoldBack,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: DateTime<Utc>,
    recorded: u32,
    held_back: u64,
}

/// The per-user minute windows.
#[derive(Debug, Default)]
pub struct DenialWindows {
    by_user: HashMap<String, Window>,
}

impl DenialWindows {
    /// Decides on one refusal of `user` at `now`.
    pub fn admit(&mut self, user: &str, now: DateTime<Utc>) -> Denial {
        let minute = Duration::minutes(1);
        if self.by_user.len() >= TRACKED {
            self.by_user.retain(|_, w| now - w.started < minute);
        }
        let window = self.by_user.entry(user.to_string()).or_insert(Window {
            started: now,
            recorded: 0,
            held_back: 0,
        });
        if now - window.started >= minute || now < window.started {
            window.started = now;
            window.recorded = 0;
        }
        if window.recorded < RECORDED_PER_MINUTE {
            window.recorded += 1;
            let held_back = std::mem::take(&mut window.held_back);
            Denial::Record { held_back }
        } else {
            window.held_back = window.held_back.saturating_add(1);
            Denial::HoldBack
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_a_minute_are_recorded_and_the_next_record_counts_the_rest() {
        let start: DateTime<Utc> = "2026-12-06T10:00:00Z".parse().unwrap();
        let mut windows = DenialWindows::default();
        let decisions: Vec<Denial> = (0..25)
            .map(|k| windows.admit("u1", start + Duration::seconds(k)))
            .collect();
        assert_eq!(
            decisions
                .iter()
                .filter(|d| matches!(d, Denial::Record { .. }))
                .count(),
            10
        );
        assert_eq!(decisions[10], Denial::HoldBack);
        // Another user has a window of their own.
        assert_eq!(windows.admit("u2", start), Denial::Record { held_back: 0 });
        // A minute on, the first record says how many were held back.
        assert_eq!(
            windows.admit("u1", start + Duration::seconds(61)),
            Denial::Record { held_back: 15 }
        );
        assert_eq!(
            windows.admit("u1", start + Duration::seconds(62)),
            Denial::Record { held_back: 0 }
        );
    }
}
