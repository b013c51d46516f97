//! Local days of the utility's zone as UTC instants: where a date starts and ends.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

use crate::interval_rules::INTERVAL_US;
use crate::AnalyticsError;

/// Microseconds of a day.
const DAY_US: i64 = 86_400_000_000;
/// Days from 0001-01-01 (day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// Local date (days since 1970-01-01) and quarter-hour of a UTC instant in a zone, cached per UTC day
/// for instants on the 15-minute grid.
#[derive(Clone)]
pub(crate) struct LocalSlots {
    zone: Tz,
    days: HashMap<i64, Box<[(i32, i32); 96]>>,
}

impl LocalSlots {
    /// An empty cache for `zone`.
    pub fn new(zone: Tz) -> Self {
        Self {
            zone,
            days: HashMap::new(),
        }
    }

    fn compute(zone: Tz, at_us: i64) -> (i32, i32) {
        let Some(utc) = DateTime::from_timestamp_micros(at_us) else {
            return (0, 0);
        };
        let local = utc.with_timezone(&zone).naive_local();
        let date = local.date().num_days_from_ce() - EPOCH_DAYS_FROM_CE;
        let slot = i32::try_from(local.hour() * 4 + local.minute() / 15).unwrap_or(0);
        (date, slot)
    }

    /// The local (date, quarter-hour) of `at_us`.
    pub fn of(&mut self, at_us: i64) -> (i32, i32) {
        if at_us % INTERVAL_US != 0 {
            return Self::compute(self.zone, at_us);
        }
        let day = at_us.div_euclid(DAY_US);
        let zone = self.zone;
        let table = self.days.entry(day).or_insert_with(|| {
            let mut table = Box::new([(0, 0); 96]);
            for (q, entry) in table.iter_mut().enumerate() {
                *entry = Self::compute(zone, day * DAY_US + q as i64 * INTERVAL_US);
            }
            table
        });
        table[(at_us.rem_euclid(DAY_US) / INTERVAL_US) as usize]
    }
}

/// The first instant of local date `date` in `zone` (the earlier one if midnight repeats).
pub fn midnight(zone: Tz, date: NaiveDate) -> Result<DateTime<Utc>, AnalyticsError> {
    date.and_hms_opt(0, 0, 0)
        .and_then(|local| zone.from_local_datetime(&local).earliest())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| AnalyticsError::Shape(format!("no local midnight on {date} in {zone}")))
}

/// The instants bounding local dates `from..=to`: [midnight of `from`, midnight after `to`).
pub fn span(
    zone: Tz,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(DateTime<Utc>, DateTime<Utc>), AnalyticsError> {
    if to < from {
        return Err(AnalyticsError::Shape(format!(
            "the range ends ({to}) before it starts ({from})"
        )));
    }
    let after = to
        .succ_opt()
        .ok_or_else(|| AnalyticsError::Shape(format!("no day after {to}")))?;
    Ok((midnight(zone, from)?, midnight(zone, after)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_in_utc() {
        let zone = chrono_tz::Asia::Shanghai;
        let day = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        let (from, to) = span(zone, day, day).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-09-30T16:00:00+00:00");
        assert_eq!((to - from).num_hours(), 24);
        assert!(span(zone, day, day.pred_opt().unwrap()).is_err());
    }
}
