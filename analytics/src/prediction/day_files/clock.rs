//! The local days a file scan reads, as UTC instants (see [`DayClock`]).

use chrono::{NaiveDate, TimeDelta};
use chrono_tz::Tz;

use crate::interval_rules::INTERVAL_US;
use crate::local_days::{midnight, LocalSlots};

/// Microseconds of a day.
const DAY_US: i64 = 86_400_000_000;

/// The local days read, as UTC instants: a reading or interval is placed on its day by a search of
/// their midnights, and on a day of 24 hours its quarter-hour is its distance from midnight; another
/// day (a daylight-saving change) asks the zone.
#[derive(Clone)]
pub(super) struct DayClock {
    /// Midnights of the days read and of the day after them, UTC µs.
    pub midnights: Vec<i64>,
    /// Days since 1970-01-01 of the first day read.
    first_date: i64,
    zone: LocalSlots,
    /// The day found last (`midnights[day]..midnights[day + 1]`): instants come in time order, so
    /// the next is usually on it.
    day: usize,
}

impl DayClock {
    /// The days `first..=last` in `zone`; `None` when one has no local midnight.
    pub fn new(zone: Tz, first: NaiveDate, last: NaiveDate) -> Option<Self> {
        let mut midnights = Vec::new();
        let mut day = first;
        while day <= last + TimeDelta::days(1) {
            midnights.push(midnight(zone, day).ok()?.timestamp_micros());
            day = day.succ_opt()?;
        }
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
        Some(Self {
            midnights,
            first_date: (first - epoch).num_days(),
            zone: LocalSlots::new(zone),
            day: 0,
        })
    }

    /// The local date (days since 1970-01-01) and quarter-hour of `at_us`.
    pub fn of(&mut self, at_us: i64) -> (i32, i32) {
        let on_day = |day: usize| {
            let m = &self.midnights;
            day + 1 < m.len() && m[day] <= at_us && at_us < m[day + 1]
        };
        if !on_day(self.day) {
            if on_day(self.day + 1) {
                self.day += 1;
            } else {
                let i = self.midnights.partition_point(|m| *m <= at_us);
                if i == 0 || i == self.midnights.len() {
                    return self.zone.of(at_us);
                }
                self.day = i - 1;
            }
        }
        let (start, end) = (self.midnights[self.day], self.midnights[self.day + 1]);
        if end - start != DAY_US {
            return self.zone.of(at_us);
        }
        let date = self.first_date + self.day as i64;
        (
            i32::try_from(date).unwrap_or(i32::MAX),
            i32::try_from((at_us - start) / INTERVAL_US).unwrap_or(0),
        )
    }
}
