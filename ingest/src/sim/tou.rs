//! The tariff-period clock: which TOU register (尖/峰/平/谷, sharp/peak/flat/valley) accumulates at a given
//! local time of the meter's clock.

use chrono::{NaiveDateTime, Timelike};

/// A switch point of the daily TOU schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TouSwitch {
    /// Minute of the day (0..1440) from which `register` accumulates.
    pub minute: u32,
    /// Register index, 0-based: 0 sharp (尖), 1 peak (峰), 2 flat (平), 3 valley (谷).
    pub register: usize,
}

/// Why a TOU schedule is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TouError {
    /// No switch points.
    #[error("a TOU schedule needs at least one switch point")]
    Empty,
    /// A minute outside the day or a register outside 0..4.
    #[error("invalid TOU switch at minute {minute} to register {register}")]
    Invalid {
        /// Minute of the day.
        minute: u32,
        /// Register index.
        register: usize,
    },
}

/// A daily TOU schedule; the default is peak 06:00–22:00 and valley otherwise (Shanghai residential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouSchedule {
    switches: Vec<TouSwitch>,
}

impl Default for TouSchedule {
    fn default() -> Self {
        Self {
            switches: vec![
                TouSwitch {
                    minute: 0,
                    register: 3,
                },
                TouSwitch {
                    minute: 6 * 60,
                    register: 1,
                },
                TouSwitch {
                    minute: 22 * 60,
                    register: 3,
                },
            ],
        }
    }
}

impl TouSchedule {
    /// A schedule from its switch points (any order); the last switch of the day carries over midnight.
    pub fn new(mut switches: Vec<TouSwitch>) -> Result<Self, TouError> {
        if switches.is_empty() {
            return Err(TouError::Empty);
        }
        if let Some(bad) = switches
            .iter()
            .find(|s| s.minute >= 1440 || s.register >= 4)
        {
            return Err(TouError::Invalid {
                minute: bad.minute,
                register: bad.register,
            });
        }
        switches.sort_by_key(|s| s.minute);
        Ok(Self { switches })
    }

    /// The register that accumulates at local time `t`.
    pub fn register(&self, t: NaiveDateTime) -> usize {
        let minute = t.hour() * 60 + t.minute();
        self.switches
            .iter()
            .rev()
            .find(|s| s.minute <= minute)
            .or(self.switches.last())
            .map_or(3, |s| s.register)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 10, 1)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn default_is_peak_by_day_and_valley_by_night() {
        let s = TouSchedule::default();
        assert_eq!(s.register(at(5, 59)), 3);
        assert_eq!(s.register(at(6, 0)), 1);
        assert_eq!(s.register(at(21, 59)), 1);
        assert_eq!(s.register(at(22, 0)), 3);
    }

    #[test]
    fn custom_schedule_wraps_over_midnight_and_rejects_bad_points() {
        let s = TouSchedule::new(vec![
            TouSwitch {
                minute: 19 * 60,
                register: 0,
            },
            TouSwitch {
                minute: 8 * 60,
                register: 2,
            },
            TouSwitch {
                minute: 23 * 60,
                register: 3,
            },
        ])
        .unwrap();
        assert_eq!(s.register(at(2, 0)), 3);
        assert_eq!(s.register(at(9, 0)), 2);
        assert_eq!(s.register(at(20, 0)), 0);
        assert_eq!(TouSchedule::new(vec![]), Err(TouError::Empty));
        assert!(TouSchedule::new(vec![TouSwitch {
            minute: 1440,
            register: 0
        }])
        .is_err());
    }
}
