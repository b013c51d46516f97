//! Meter health over a simulated history: failing meters whose fault is announced by precursors (a clock
//! drifting faster and faster, the battery warning flickering, power-down records from a loose contact, a
//! noisier voltage reading), and honest meters that show some of the same signs without failing (an old
//! clock drifting steadily, a battery warning that never goes away).

use chrono::{Datelike, NaiveDate};

use super::super::fault::FaultKind;
use super::super::profile::unit_hash;

/// A meter that fails during (or just after) the history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Failing {
    /// The fault it ends in: [`FaultKind::StuckRegister`] or [`FaultKind::CommDropout`].
    pub kind: FaultKind,
    /// First day with precursors.
    pub precursors_from: NaiveDate,
    /// The day the fault starts (it lasts to the end of the history).
    pub fails_on: NaiveDate,
}

/// One meter's health.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Health {
    /// Clock offset on the first day, s.
    pub offset_s: f64,
    /// Steady drift, s per day (most clocks ±0.1, a few old ones up to 3).
    pub drift_s_per_day: f64,
    /// A battery warning shown all the time (a weak battery that does not make the meter fail).
    pub battery_warning: bool,
    /// The failure, when the meter fails.
    pub failing: Option<Failing>,
    seed: u64,
}

impl Health {
    /// The health of meter `index`: a share `failing_share` fails between day 15 of the history and two
    /// weeks after its `last` day.
    pub fn draw(
        seed: u64,
        index: u64,
        first: NaiveDate,
        last: NaiveDate,
        failing_share: f64,
    ) -> Self {
        let s = seed.wrapping_mul(0x2000_0003).wrapping_add(index + 7);
        let u = |salt: u64| unit_hash(s, salt);
        let old_clock = u(1) < 0.08;
        let failing = (u(2) < failing_share).then(|| {
            let span = ((last - first).num_days() - 15 + 14).max(1);
            let fails_on = first + chrono::TimeDelta::days(15 + (u(3) * span as f64) as i64);
            Failing {
                kind: if u(4) < 0.6 {
                    FaultKind::StuckRegister
                } else {
                    FaultKind::CommDropout
                },
                precursors_from: fails_on - chrono::TimeDelta::days(7 + (u(5) * 15.0) as i64),
                fails_on,
            }
        });
        Self {
            offset_s: (u(6) - 0.5) * 20.0,
            drift_s_per_day: if old_clock {
                0.5 + 2.5 * u(7)
            } else {
                (u(7) - 0.5) * 0.2
            },
            battery_warning: u(8) < 0.01,
            failing,
            seed: s,
        }
    }

    /// Days into the precursors on `day` (0 before them), counting the first as 1.
    fn precursor_days(&self, day: NaiveDate) -> f64 {
        self.failing
            .map(|f| (day - f.precursors_from).num_days() + 1)
            .filter(|d| *d > 0)
            .map_or(0.0, |d| d as f64)
    }

    /// The fault in force on `day`.
    pub fn fault_on(&self, day: NaiveDate) -> Option<FaultKind> {
        self.failing.filter(|f| day >= f.fails_on).map(|f| f.kind)
    }

    /// Clock offset at the start of `day`, s (meter clock − true time).
    pub fn clock_offset_s(&self, first: NaiveDate, day: NaiveDate) -> f64 {
        let days = (day - first).num_days() as f64;
        let p = self.precursor_days(day);
        self.offset_s + self.drift_s_per_day * days + 1.5 * p * p / 2.0
    }

    /// Whether the battery warning shows at quarter-hour `slot` of `day`.
    pub fn battery_low(&self, day: NaiveDate, slot: usize) -> bool {
        let p = self.precursor_days(day);
        let key = u64::try_from(day.num_days_from_ce()).unwrap_or_default() * 96 + slot as u64;
        self.battery_warning
            || (p > 0.0 && unit_hash(self.seed ^ 0xBA77, key) < (0.03 * p).min(0.6))
    }

    /// Standard deviation of the voltage reading's noise on `day`, V.
    pub fn voltage_noise(&self, day: NaiveDate) -> f64 {
        0.6 + (0.25 * self.precursor_days(day)).min(4.0)
    }

    /// Power-down records the meter writes on `day` from its own failing contacts.
    pub fn power_downs(&self, day: NaiveDate) -> u32 {
        let p = self.precursor_days(day);
        let key = u64::try_from(day.num_days_from_ce()).unwrap_or_default();
        u32::from(p > 0.0 && unit_hash(self.seed ^ 0x9D0, key) < 0.3)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precursors_grow_before_the_fault() {
        let first = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(2026, 10, 30).unwrap();
        let all: Vec<Health> = (0..3000)
            .map(|i| Health::draw(3, i, first, last, 0.05))
            .collect();
        let failing: Vec<&Health> = all.iter().filter(|h| h.failing.is_some()).collect();
        assert!((100..200).contains(&failing.len()), "{}", failing.len());
        let h = failing[0];
        let f = h.failing.unwrap();
        let before = f.precursors_from - chrono::TimeDelta::days(1);
        assert!(h.fault_on(before).is_none() && h.fault_on(f.fails_on).is_some());
        assert!(h.voltage_noise(f.fails_on) > h.voltage_noise(before));
        let drift = |d: NaiveDate| {
            h.clock_offset_s(first, d + chrono::TimeDelta::days(1)) - h.clock_offset_s(first, d)
        };
        assert!(drift(f.fails_on) > drift(before) + 5.0);
        assert!(all
            .iter()
            .any(|h| h.failing.is_none() && h.drift_s_per_day > 1.0));
    }
}
