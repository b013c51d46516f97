//! Local days of the utility's zone as UTC instants: where a date starts and ends.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use crate::AnalyticsError;

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
