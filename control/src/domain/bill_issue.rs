//! When a month's bills are issued (月度电费账单发行): the month before the local date, once the local
//! clock has passed the configured day and hour of the new month (the last day's readings have arrived
//! by then). Pure: the service asks with its clock's local time.

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, NaiveTime};

/// The latest day of the month bills may be issued on (every month has it).
pub const LAST_ISSUE_DAY: u32 = 28;

/// The day and hour of each month the previous month's bills are issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IssueSchedule {
    /// Day of the month, 1 ..= [`LAST_ISSUE_DAY`].
    pub day: u32,
    /// Local hour, 0 ..= 23.
    pub hour: u32,
}

impl Default for IssueSchedule {
    /// The 1st at 06:00: the month's last readings (and the collectors' catch-up after midnight) are in.
    fn default() -> Self {
        Self { day: 1, hour: 6 }
    }
}

impl IssueSchedule {
    /// A schedule, or why the day or hour cannot be one.
    pub fn new(day: u32, hour: u32) -> Result<Self, String> {
        if !(1..=LAST_ISSUE_DAY).contains(&day) {
            return Err(format!(
                "bill_issue_day {day}: 1 to {LAST_ISSUE_DAY} expected (every month has them)"
            ));
        }
        if hour > 23 {
            return Err(format!("bill_issue_hour {hour}: 0 to 23 expected"));
        }
        Ok(Self { day, hour })
    }

    /// The first day of the latest month whose bills are due at local time `now`: the previous month
    /// once `now` has passed this month's issue day and hour, the month before it until then. A month
    /// stays due until the next one is (a service down at the issue time issues it when it is back).
    pub fn due_month(&self, now: NaiveDateTime) -> Option<NaiveDate> {
        let this_month = now.date().with_day(1)?;
        let issue_at = this_month
            .with_day(self.day)?
            .and_time(NaiveTime::from_hms_opt(self.hour, 0, 0)?);
        let back = if now < issue_at { 2 } else { 1 };
        this_month.checked_sub_months(Months::new(back))
    }
}

/// Whether a month ending (exclusive) at `end` is over at `now`: only a whole month is issued.
pub fn month_over(end: chrono::DateTime<chrono::Utc>, now: chrono::DateTime<chrono::Utc>) -> bool {
    now >= end
}

/// One meter's issued bill, as the customer is told of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedBill {
    /// Meter address.
    pub meter_id: String,
    /// Energy billed, kWh.
    pub kwh: rust_decimal::Decimal,
    /// The amount, yuan.
    pub total: rust_decimal::Decimal,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn month(text: &str) -> Option<NaiveDate> {
        Some(NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d").unwrap())
    }

    #[test]
    fn the_latest_month_past_its_issue_time_is_due() {
        let s = IssueSchedule::default();
        assert_eq!(s.due_month(at("2026-12-01 05:59")), month("2026-10"));
        assert_eq!(s.due_month(at("2026-12-01 06:00")), month("2026-11"));
        assert_eq!(s.due_month(at("2026-12-31 23:59")), month("2026-11"));
        // January issues December of the year before.
        assert_eq!(s.due_month(at("2027-01-01 06:00")), month("2026-12"));
        // A late issue day: January stays due through March's issue time, so a service down in
        // February's last hour issues it when it is back.
        let late = IssueSchedule::new(28, 23).unwrap();
        assert_eq!(late.due_month(at("2027-02-28 22:59")), month("2026-12"));
        assert_eq!(late.due_month(at("2027-02-28 23:00")), month("2027-01"));
        assert_eq!(late.due_month(at("2027-03-01 00:00")), month("2027-01"));
        assert_eq!(late.due_month(at("2027-03-28 23:00")), month("2027-02"));
    }

    #[test]
    fn days_every_month_lacks_and_hours_past_the_day_are_refused() {
        assert!(IssueSchedule::new(0, 6).is_err());
        assert!(IssueSchedule::new(29, 6).unwrap_err().contains("1 to 28"));
        assert!(IssueSchedule::new(1, 24).unwrap_err().contains("0 to 23"));
        assert_eq!(
            IssueSchedule::new(3, 0).unwrap(),
            IssueSchedule { day: 3, hour: 0 }
        );
    }
}
