//! When trips may be sent: daily trip hours, weekends and a holiday file (public holidays, and the
//! weekend days that are working days in lieu, 调休). A trip outside them waits for the next allowed
//! instant; it is deferred, not dropped.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

/// A problem in the trip calendar's settings or holiday file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The trip hours are not `HH:MM-HH:MM`.
    #[error("trip hours {0:?}: expected HH:MM-HH:MM (24:00 allowed as the end), start before end")]
    Hours(String),
    /// A holiday file line does not parse.
    #[error("holiday file line {line}: {why}: {text:?}")]
    HolidayLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        why: &'static str,
        /// The line.
        text: String,
    },
}

/// Days that differ from the plain week: days off, and weekend days that are working days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holidays {
    off: BTreeSet<NaiveDate>,
    work: BTreeSet<NaiveDate>,
}

impl Holidays {
    /// Parses a holiday file: one `YYYY-MM-DD off|work [name]` per line; `#` starts a comment.
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let mut days = Self::default();
        for (index, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or_default().trim();
            if line.is_empty() {
                continue;
            }
            let bad = |why| CalendarError::HolidayLine {
                line: index + 1,
                why,
                text: raw.to_string(),
            };
            let mut fields = line.split_whitespace();
            let date = fields
                .next()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| bad("not a date (YYYY-MM-DD)"))?;
            let set = match fields.next() {
                Some("off") => &mut days.off,
                Some("work") => &mut days.work,
                _ => return Err(bad("the second field must be `off` or `work`")),
            };
            if !set.insert(date) {
                return Err(bad("date listed twice"));
            }
        }
        if let Some(both) = days.off.intersection(&days.work).next() {
            return Err(CalendarError::HolidayLine {
                line: 0,
                why: "a date is both off and work",
                text: both.to_string(),
            });
        }
        Ok(days)
    }
}

/// The trip calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TripCalendar {
    /// Trips may start at this local minute of the day…
    start_minute: u32,
    /// …and until (excluding) this one; 1440 = midnight at the end of the day.
    end_minute: u32,
    /// Whether Saturdays and Sundays (not listed as work days) allow trips.
    weekends: bool,
    holidays: Holidays,
}

impl TripCalendar {
    /// Trips at any time of any day.
    pub fn always() -> Self {
        Self {
            start_minute: 0,
            end_minute: 24 * 60,
            weekends: true,
            holidays: Holidays::default(),
        }
    }

    /// A calendar from trip hours (`"08:30-17:00"`), whether weekends allow trips, and the holidays.
    pub fn new(hours: &str, weekends: bool, holidays: Holidays) -> Result<Self, CalendarError> {
        let bad = || CalendarError::Hours(hours.to_string());
        let (start, end) = hours.split_once('-').ok_or_else(bad)?;
        let minute = |text: &str| -> Option<u32> {
            let text = text.trim();
            if text == "24:00" {
                return Some(24 * 60);
            }
            let time = NaiveTime::parse_from_str(text, "%H:%M").ok()?;
            Some(time.num_seconds_from_midnight() / 60)
        };
        let (start_minute, end_minute) =
            (minute(start).ok_or_else(bad)?, minute(end).ok_or_else(bad)?);
        if start_minute >= end_minute {
            return Err(bad());
        }
        Ok(Self {
            start_minute,
            end_minute,
            weekends,
            holidays,
        })
    }

    fn trip_day(&self, date: NaiveDate) -> bool {
        if self.holidays.work.contains(&date) {
            return true;
        }
        if self.holidays.off.contains(&date) {
            return false;
        }
        self.weekends || !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// The first instant at or after `at` when a trip may be sent (searched up to a year ahead; a
    /// calendar with no allowed day at all gives `at` plus a year, so nothing waits forever silently).
    pub fn next_allowed(&self, at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        let local_day = at.with_timezone(&zone).date_naive();
        for offset in 0..=366 {
            let Some(date) = local_day.checked_add_signed(Duration::days(offset)) else {
                break;
            };
            if !self.trip_day(date) {
                continue;
            }
            let instant = |minute: u32| local_instant(zone, date, minute);
            let (Some(start), Some(end)) = (instant(self.start_minute), instant(self.end_minute))
            else {
                continue;
            };
            if at < end {
                return at.max(start);
            }
        }
        at + Duration::days(366)
    }

    /// Whether a trip may be sent at `at`.
    pub fn allows(&self, at: DateTime<Utc>, zone: Tz) -> bool {
        self.next_allowed(at, zone) == at
    }
}

/// The UTC instant of `minute` after local midnight of `date` (the earliest, where clocks repeat).
fn local_instant(zone: Tz, date: NaiveDate, minute: u32) -> Option<DateTime<Utc>> {
    let midnight = date.and_hms_opt(0, 0, 0)?;
    let naive = midnight + Duration::minutes(i64::from(minute));
    zone.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZONE: Tz = chrono_tz::Asia::Shanghai;

    fn local(text: &str) -> DateTime<Utc> {
        let naive = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        ZONE.from_local_datetime(&naive)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn calendar() -> TripCalendar {
        let holidays = Holidays::parse(
            "# National Day\n2026-10-01 off 国庆\n2026-10-02 off\n2026-10-10 work 调休 # a Saturday\n",
        )
        .unwrap();
        TripCalendar::new("08:00-17:00", false, holidays).unwrap()
    }

    #[test]
    fn nights_weekends_and_holidays_defer_to_the_next_trip_hours() {
        let c = calendar();
        // Wednesday 2026-09-30 at 10:00: allowed.
        assert!(c.allows(local("2026-09-30 10:00"), ZONE));
        // Wednesday evening → Thursday 10-01 is a holiday, 10-02 too, 10-03/04 a weekend → Monday 10-05 08:00.
        assert_eq!(
            c.next_allowed(local("2026-09-30 17:00"), ZONE),
            local("2026-10-05 08:00")
        );
        // Before the hours start on a working day.
        assert_eq!(
            c.next_allowed(local("2026-10-05 06:15"), ZONE),
            local("2026-10-05 08:00")
        );
        // A Saturday that is a working day in lieu.
        assert_eq!(
            c.next_allowed(local("2026-10-10 07:00"), ZONE),
            local("2026-10-10 08:00")
        );
        assert!(
            !c.allows(local("2026-10-11 09:00"), ZONE),
            "an ordinary Sunday"
        );
        assert!(TripCalendar::always().allows(local("2026-10-01 03:00"), ZONE));
    }

    #[test]
    fn bad_settings_and_lines_are_named() {
        for hours in ["8-17", "17:00-08:00", "08:00", "25:00-26:00"] {
            assert!(
                TripCalendar::new(hours, true, Holidays::default()).is_err(),
                "{hours}"
            );
        }
        assert!(TripCalendar::new("00:00-24:00", true, Holidays::default()).is_ok());
        let err = Holidays::parse("2026-10-01 off\n2026-13-01 off\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        let err = Holidays::parse("2026-10-01 maybe").unwrap_err();
        assert!(err.to_string().contains("`off` or `work`"), "{err}");
        assert!(Holidays::parse("2026-10-01 off\n2026-10-01 work").is_err());
    }
}
