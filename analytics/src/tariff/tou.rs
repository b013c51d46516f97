//! Time-of-use (分时) periods: which price class is in force at each minute of the local day, with
//! seasonal variants (month ranges with their own period sets).

use std::ops::Range;

use chrono::{NaiveTime, Timelike};

use super::plan::Fault;

/// Minutes in a local day (China has no DST; elsewhere a 23- or 25-hour day still maps every
/// local wall-clock minute to one class).
pub const DAY_MINUTES: usize = 24 * 60;

/// The usual TOU price classes, in display order: sharp (尖), peak (峰), flat (平), valley (谷).
/// A plan may name other classes; they sort after these, alphabetically.
pub const CLASS_ORDER: [&str; 4] = ["sharp", "peak", "flat", "valley"];

/// A daily time window priced at one class; `end` may wrap past midnight.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TouPeriod {
    /// Price class, e.g. `peak` (峰) or `valley` (谷).
    pub class: String,
    /// Start, `HH:MM` local time, inclusive.
    pub start: String,
    /// End, `HH:MM` local time, exclusive; `24:00` is midnight.
    pub end: String,
}

/// One season of a TOU schedule: the months it covers and the day's periods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouSeason {
    /// First and last month (1–12, inclusive; `[11, 4]` wraps over the new year).
    pub months: [u32; 2],
    /// The periods; together they cover the day exactly once.
    pub periods: Vec<TouPeriod>,
}

/// A validated TOU schedule, compiled to a class index per minute of the day per month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TouSchedule {
    /// The seasons as written.
    pub seasons: Vec<TouSeason>,
    /// Minute of day → class index (into the version's class list), one table per season.
    tables: Vec<Box<[u8]>>,
    /// Month − 1 → index into `tables`.
    month_table: [u8; 12],
}

impl TouSchedule {
    /// The schedule of a plan with a single price class: that class all day, all year.
    pub(crate) fn all_day(class: &str) -> Self {
        Self {
            seasons: vec![TouSeason {
                months: [1, 12],
                periods: vec![TouPeriod {
                    class: class.to_string(),
                    start: "00:00".into(),
                    end: "24:00".into(),
                }],
            }],
            tables: vec![vec![0u8; DAY_MINUTES].into_boxed_slice()],
            month_table: [0; 12],
        }
    }

    /// Builds and validates a schedule. `seasons` pairs each season with the span of its table
    /// and of each period; `class_index` maps a class name to its matrix column.
    pub(crate) fn build(
        seasons: Vec<(TouSeason, Range<usize>, Vec<Range<usize>>)>,
        class_index: impl Fn(&str) -> Option<u8>,
    ) -> Result<Self, Fault> {
        let mut month_owner: [Option<usize>; 12] = [None; 12];
        let mut tables = Vec::with_capacity(seasons.len());
        let mut kept = Vec::with_capacity(seasons.len());
        for (index, (season, span, period_spans)) in seasons.into_iter().enumerate() {
            for month in months_of(season.months, &span)? {
                let slot = &mut month_owner[month as usize - 1];
                if slot.is_some() {
                    return Err(Fault::new(
                        span.clone(),
                        format!("TOU seasons overlap: month {month} is in two seasons"),
                    ));
                }
                *slot = Some(index);
            }
            tables.push(day_table(
                &season.periods,
                &period_spans,
                &span,
                &class_index,
            )?);
            kept.push((season, span));
        }
        let mut month_table = [0u8; 12];
        for (month, owner) in month_owner.iter().enumerate() {
            let Some(owner) = owner else {
                let span = kept.last().map(|(_, s)| s.clone()).unwrap_or(0..0);
                return Err(Fault::new(
                    span,
                    format!("no TOU season covers month {}", month + 1),
                ));
            };
            month_table[month] = *owner as u8;
        }
        Ok(Self {
            seasons: kept.into_iter().map(|(s, _)| s).collect(),
            tables,
            month_table,
        })
    }

    /// The minute → class table in force in `month` (1–12).
    pub(crate) fn table_for_month(&self, month: u32) -> &[u8] {
        let index = self.month_table[(month.clamp(1, 12) - 1) as usize];
        &self.tables[usize::from(index)]
    }

    /// Index of the table in force in `month` (1–12); equal indices mean identical periods.
    pub(crate) fn table_index(&self, month: u32) -> u8 {
        self.month_table[(month.clamp(1, 12) - 1) as usize]
    }

    /// The class index in force at a local time.
    pub fn class_index_at(&self, t: chrono::NaiveDateTime) -> u8 {
        use chrono::Datelike;
        let minute = (t.hour() * 60 + t.minute()) as usize;
        self.table_for_month(t.month())[minute]
    }
}

/// The months (1–12) of an inclusive, possibly wrapping month range.
pub(crate) fn months_of(range: [u32; 2], span: &Range<usize>) -> Result<Vec<u32>, Fault> {
    let [first, last] = range;
    if !(1..=12).contains(&first) || !(1..=12).contains(&last) {
        return Err(Fault::new(
            span.clone(),
            format!("months [{first}, {last}] must be between 1 and 12"),
        ));
    }
    let mut months = vec![first];
    let mut month = first;
    while month != last {
        month = month % 12 + 1;
        months.push(month);
    }
    Ok(months)
}

/// `HH:MM` → minute of day; `24:00` → 1440.
pub(crate) fn parse_minute(text: &str) -> Option<usize> {
    if text == "24:00" {
        return Some(DAY_MINUTES);
    }
    if text.len() != 5 {
        return None;
    }
    NaiveTime::parse_from_str(text, "%H:%M")
        .ok()
        .map(|t| (t.hour() * 60 + t.minute()) as usize)
}

fn day_table(
    periods: &[TouPeriod],
    spans: &[Range<usize>],
    season_span: &Range<usize>,
    class_index: &impl Fn(&str) -> Option<u8>,
) -> Result<Box<[u8]>, Fault> {
    const UNSET: u8 = u8::MAX;
    let mut table = vec![UNSET; DAY_MINUTES];
    let mut owner = vec![usize::MAX; DAY_MINUTES];
    for (index, period) in periods.iter().enumerate() {
        let span = spans.get(index).cloned().unwrap_or(season_span.clone());
        let (Some(start), Some(end)) = (parse_minute(&period.start), parse_minute(&period.end))
        else {
            return Err(Fault::new(
                span,
                format!(
                    "period {} {}–{}: times must be HH:MM (00:00–24:00)",
                    period.class, period.start, period.end
                ),
            ));
        };
        let start = start % DAY_MINUTES;
        let end = end % DAY_MINUTES;
        let Some(class) = class_index(&period.class) else {
            return Err(Fault::new(
                span,
                format!("period class {:?} has no prices", period.class),
            ));
        };
        let mut minute = start;
        loop {
            if table[minute] != UNSET {
                let other = &periods[owner[minute]];
                return Err(Fault::new(
                    span,
                    format!(
                        "period {} {}–{} overlaps period {} {}–{} at {:02}:{:02}",
                        period.class,
                        period.start,
                        period.end,
                        other.class,
                        other.start,
                        other.end,
                        minute / 60,
                        minute % 60
                    ),
                ));
            }
            table[minute] = class;
            owner[minute] = index;
            minute = (minute + 1) % DAY_MINUTES;
            if minute == end {
                break;
            }
        }
    }
    if let Some(gap) = table.iter().position(|c| *c == UNSET) {
        let until = table[gap..]
            .iter()
            .position(|c| *c != UNSET)
            .map_or(DAY_MINUTES, |n| gap + n);
        return Err(Fault::new(
            season_span.clone(),
            format!(
                "gap in the day: no period covers {:02}:{:02}–{:02}:{:02}",
                gap / 60,
                gap % 60,
                until / 60,
                until % 60
            ),
        ));
    }
    Ok(table.into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(class: &str, start: &str, end: &str) -> TouPeriod {
        TouPeriod {
            class: class.into(),
            start: start.into(),
            end: end.into(),
        }
    }

    fn index(class: &str) -> Option<u8> {
        CLASS_ORDER
            .iter()
            .position(|c| *c == class)
            .map(|i| i as u8)
    }

    fn build(periods: Vec<TouPeriod>) -> Result<TouSchedule, Fault> {
        let spans = vec![0..0; periods.len()];
        TouSchedule::build(
            vec![(
                TouSeason {
                    months: [1, 12],
                    periods,
                },
                0..0,
                spans,
            )],
            index,
        )
    }

    #[test]
    fn a_wrapping_valley_covers_the_night() {
        let schedule = build(vec![
            period("peak", "06:00", "22:00"),
            period("valley", "22:00", "06:00"),
        ])
        .unwrap();
        let table = schedule.table_for_month(7);
        assert_eq!(table[6 * 60 - 1], 3);
        assert_eq!(table[6 * 60], 1);
        assert_eq!(table[22 * 60 - 1], 1);
        assert_eq!(table[22 * 60], 3);
    }

    #[test]
    fn overlaps_and_gaps_are_named() {
        let overlap = build(vec![
            period("peak", "06:00", "22:00"),
            period("valley", "21:00", "06:00"),
        ])
        .unwrap_err();
        assert!(overlap.reason.contains("overlaps"), "{}", overlap.reason);
        let gap = build(vec![period("peak", "06:00", "22:00")]).unwrap_err();
        assert!(
            gap.reason.contains("no period covers 22:00–06:00")
                || gap.reason.contains("no period covers 00:00–06:00"),
            "{}",
            gap.reason
        );
        assert!(build(vec![period("peak", "6:00", "24:00")]).is_err());
    }

    #[test]
    fn wrapping_month_ranges() {
        assert_eq!(months_of([11, 2], &(0..0)).unwrap(), vec![11, 12, 1, 2]);
        assert_eq!(months_of([5, 5], &(0..0)).unwrap(), vec![5]);
        assert!(months_of([0, 5], &(0..0)).is_err());
    }
}
