//! The statistics of a load report, computed from an area's quarter-hour energies.
//!
//! Definitions (all loads in kW; a slot's load is its energy × 4, the average power of the quarter hour):
//! - **Area load** of a slot: the sum of the `measured` forward energy of the area's customer meters, × 4.
//!   A slot in which no customer interval was measured has no load (it is skipped, never a zero).
//! - **Maximum / minimum load** of a day: the highest / lowest slot load, with the slot's local start time.
//! - **Average load**: the mean of the day's slot loads (for a complete day, energy ÷ 24 h).
//! - **Load factor** (负荷率): average ÷ maximum.
//! - **Peak–valley difference** (峰谷差): maximum − minimum; **peak–valley rate** (峰谷差率): difference ÷ maximum.
//! - **Line loss** (线损) of a day: the supply meter's net energy (forward − reverse) minus the customers' net
//!   energy; the **rate** is the loss ÷ the supply meter's net energy. Only for days on which the supply meter
//!   and every customer interval were measured (`line_loss_complete`); otherwise it is left empty.
//! - **Completeness** (采集完整率): measured customer intervals ÷ (customers × slots of the local day).
//! - **Typical curves**: per slot, the mean area load over the range's weekdays (Mon–Fri) or weekend days.
//! - **Month-over-month / year-over-year**: a whole calendar month's energy against the previous month's and
//!   the same month's a year before: (this − that) ÷ that.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Serialize;

/// Quarter-hour slots in a regular local day.
pub const SLOTS: usize = crate::interval_rules::SLOTS_PER_DAY;

/// The area's energy in one local quarter hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotEnergy {
    /// Local date.
    pub date: NaiveDate,
    /// Quarter hour of the local day, 0–95.
    pub slot: u32,
    /// Forward energy of the measured customer intervals, kWh (`None`: none measured).
    pub energy_kwh: Option<f64>,
    /// Reverse (PV export) energy of the measured customer intervals, kWh.
    pub export_kwh: Option<f64>,
    /// Customer intervals measured in this slot.
    pub measured: u64,
}

/// One local day of the supply (total) meter: net energy and whether every interval was measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupplyDay {
    /// Forward − reverse energy of the measured intervals, kWh.
    pub net_kwh: f64,
    /// Whether all the day's intervals were measured.
    pub complete: bool,
}

/// A day of a load report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DayLoad {
    /// Local date.
    pub date: NaiveDate,
    /// Customers' forward energy, kWh.
    pub energy_kwh: f64,
    /// Customers' PV export, kWh.
    pub export_kwh: f64,
    /// Maximum slot load, kW.
    pub max_kw: Option<f64>,
    /// Local start (`HH:MM`) of the maximum's slot.
    pub max_at: Option<String>,
    /// Minimum slot load, kW.
    pub min_kw: Option<f64>,
    /// Local start (`HH:MM`) of the minimum's slot.
    pub min_at: Option<String>,
    /// Average slot load, kW.
    pub avg_kw: Option<f64>,
    /// Average ÷ maximum.
    pub load_factor: Option<f64>,
    /// Maximum − minimum, kW.
    pub peak_valley_kw: Option<f64>,
    /// (Maximum − minimum) ÷ maximum.
    pub peak_valley_rate: Option<f64>,
    /// Supply meter's net energy, kWh.
    pub supply_kwh: Option<f64>,
    /// Supply − customers' net energy, kWh (complete days only).
    pub line_loss_kwh: Option<f64>,
    /// Line loss ÷ supply (complete days only).
    pub line_loss_rate: Option<f64>,
    /// Customer intervals measured.
    pub measured_intervals: u64,
    /// Customer intervals expected (customers × slots of the day).
    pub expected_intervals: u64,
    /// Measured ÷ expected.
    pub completeness: f64,
}

/// A calendar month's energy with its comparisons.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthEnergy {
    /// `YYYY-MM`.
    pub month: String,
    /// Customers' forward energy over the whole month, kWh.
    pub energy_kwh: f64,
    /// Customers' PV export over the whole month, kWh.
    pub export_kwh: f64,
    /// The previous month's energy, kWh (`None`: no data).
    pub previous_month_kwh: Option<f64>,
    /// (This − previous month) ÷ previous month.
    pub month_over_month: Option<f64>,
    /// The same month a year before, kWh.
    pub previous_year_kwh: Option<f64>,
    /// (This − a year before) ÷ a year before.
    pub year_over_year: Option<f64>,
}

/// `HH:MM` of a slot's start.
pub fn slot_time(slot: u32) -> String {
    format!("{:02}:{:02}", slot / 4, (slot % 4) * 15)
}

/// Slot loads (kW) of one day, indexed by slot.
fn loads_of(slots: &[&SlotEnergy]) -> Vec<(u32, f64)> {
    let mut loads: Vec<(u32, f64)> = slots
        .iter()
        .filter(|s| s.measured > 0)
        .filter_map(|s| s.energy_kwh.map(|e| (s.slot, e * 4.0)))
        .collect();
    loads.sort_by_key(|(slot, _)| *slot);
    loads
}

/// Per-day statistics for every date in `from..=to`.
///
/// `customers` is the area's customer meter count; `slots_per_day` gives a date's slot count (96, or
/// 92/100 on daylight-saving changes); `supply` the supply meter's days.
pub fn day_loads(
    energies: &[SlotEnergy],
    from: NaiveDate,
    to: NaiveDate,
    customers: u64,
    slots_per_day: impl Fn(NaiveDate) -> u64,
    supply: &BTreeMap<NaiveDate, SupplyDay>,
) -> Vec<DayLoad> {
    let mut by_date: BTreeMap<NaiveDate, Vec<&SlotEnergy>> = BTreeMap::new();
    for energy in energies {
        by_date.entry(energy.date).or_default().push(energy);
    }
    from.iter_days()
        .take_while(|d| *d <= to)
        .map(|date| {
            let slots = by_date.remove(&date).unwrap_or_default();
            let loads = loads_of(&slots);
            let energy_kwh: f64 = slots.iter().filter_map(|s| s.energy_kwh).sum();
            let export_kwh: f64 = slots.iter().filter_map(|s| s.export_kwh).sum();
            let measured: u64 = slots.iter().map(|s| s.measured).sum();
            let expected = customers * slots_per_day(date);
            let max = loads
                .iter()
                .copied()
                .reduce(|a, b| if b.1 > a.1 { b } else { a });
            let min = loads
                .iter()
                .copied()
                .reduce(|a, b| if b.1 < a.1 { b } else { a });
            let avg = (!loads.is_empty())
                .then(|| loads.iter().map(|(_, kw)| kw).sum::<f64>() / loads.len() as f64);
            let ratio = |a: f64, b: f64| (b != 0.0).then(|| a / b);
            let supply_day = supply.get(&date);
            let complete =
                expected > 0 && measured == expected && supply_day.is_some_and(|s| s.complete);
            let loss = complete
                .then(|| supply_day.map(|s| s.net_kwh - (energy_kwh - export_kwh)))
                .flatten();
            DayLoad {
                date,
                energy_kwh,
                export_kwh,
                max_kw: max.map(|m| m.1),
                max_at: max.map(|m| slot_time(m.0)),
                min_kw: min.map(|m| m.1),
                min_at: min.map(|m| slot_time(m.0)),
                avg_kw: avg,
                load_factor: avg.zip(max).and_then(|(a, m)| ratio(a, m.1)),
                peak_valley_kw: max.zip(min).map(|(m, n)| m.1 - n.1),
                peak_valley_rate: max.zip(min).and_then(|(m, n)| ratio(m.1 - n.1, m.1)),
                supply_kwh: supply_day.map(|s| s.net_kwh),
                line_loss_kwh: loss,
                line_loss_rate: loss.zip(supply_day).and_then(|(l, s)| ratio(l, s.net_kwh)),
                measured_intervals: measured,
                expected_intervals: expected,
                completeness: if expected == 0 {
                    0.0
                } else {
                    measured as f64 / expected as f64
                },
            }
        })
        .collect()
}

/// The typical weekday and weekend curves over `from..=to`: per slot, the mean area load (kW) of the days
/// of that kind on which the slot was measured.
pub fn typical_curves(
    energies: &[SlotEnergy],
    from: NaiveDate,
    to: NaiveDate,
) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let mut sums = [[(0.0_f64, 0_u32); SLOTS]; 2];
    for e in energies.iter().filter(|e| e.date >= from && e.date <= to) {
        let (Some(kwh), true) = (e.energy_kwh, e.measured > 0) else {
            continue;
        };
        let Some(cell) = usize::try_from(e.slot).ok().filter(|s| *s < SLOTS) else {
            continue;
        };
        let weekend = matches!(e.date.weekday(), Weekday::Sat | Weekday::Sun);
        let entry = &mut sums[usize::from(weekend)][cell];
        entry.0 += kwh * 4.0;
        entry.1 += 1;
    }
    let mean = |kind: usize| {
        sums[kind]
            .iter()
            .map(|(sum, n)| (*n > 0).then(|| sum / f64::from(*n)))
            .collect()
    };
    (mean(0), mean(1))
}

/// The calendar months touched by `from..=to`, each with its whole-month energy and comparisons, from
/// daily (energy, export) totals that reach back at least 13 months before `to`.
pub fn months(
    daily: &BTreeMap<NaiveDate, (f64, f64)>,
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<MonthEnergy> {
    let mut totals: BTreeMap<(i32, u32), (f64, f64)> = BTreeMap::new();
    for (date, (energy, export)) in daily {
        let entry = totals.entry((date.year(), date.month())).or_default();
        entry.0 += energy;
        entry.1 += export;
    }
    let change = |now: f64, then: Option<f64>| then.and_then(|t| (t != 0.0).then(|| (now - t) / t));
    let mut out = Vec::new();
    let (mut year, mut month) = (from.year(), from.month());
    while (year, month) <= (to.year(), to.month()) {
        let (energy_kwh, export_kwh) = totals.get(&(year, month)).copied().unwrap_or_default();
        let previous = if month == 1 {
            (year - 1, 12)
        } else {
            (year, month - 1)
        };
        let previous_month_kwh = totals.get(&previous).map(|t| t.0);
        let previous_year_kwh = totals.get(&(year - 1, month)).map(|t| t.0);
        out.push(MonthEnergy {
            month: format!("{year:04}-{month:02}"),
            energy_kwh,
            export_kwh,
            previous_month_kwh,
            month_over_month: change(energy_kwh, previous_month_kwh),
            previous_year_kwh,
            year_over_year: change(energy_kwh, previous_year_kwh),
        });
        (year, month) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: &str) -> NaiveDate {
        d.parse().unwrap()
    }

    fn slot(date: &str, slot: u32, kwh: f64, measured: u64) -> SlotEnergy {
        SlotEnergy {
            date: day(date),
            slot,
            energy_kwh: Some(kwh),
            export_kwh: Some(0.0),
            measured,
        }
    }

    #[test]
    fn a_day_with_three_slots_gives_hand_computed_statistics() {
        // Loads 4, 8 and 2 kW: max 8 at 00:15, min 2 at 00:30, avg 14/3.
        let energies = [
            slot("2026-10-05", 0, 1.0, 2),
            slot("2026-10-05", 1, 2.0, 2),
            slot("2026-10-05", 2, 0.5, 2),
        ];
        let days = day_loads(
            &energies,
            day("2026-10-05"),
            day("2026-10-06"),
            2,
            |_| 96,
            &BTreeMap::new(),
        );
        assert_eq!(days.len(), 2);
        let d = &days[0];
        assert_eq!(d.energy_kwh, 3.5);
        assert_eq!((d.max_kw, d.max_at.as_deref()), (Some(8.0), Some("00:15")));
        assert_eq!((d.min_kw, d.min_at.as_deref()), (Some(2.0), Some("00:30")));
        assert!((d.avg_kw.unwrap() - 14.0 / 3.0).abs() < 1e-12);
        assert!((d.load_factor.unwrap() - 14.0 / 24.0).abs() < 1e-12);
        assert_eq!(d.peak_valley_kw, Some(6.0));
        assert_eq!(d.peak_valley_rate, Some(0.75));
        assert_eq!((d.measured_intervals, d.expected_intervals), (6, 192));
        assert_eq!(d.line_loss_kwh, None);
        // The next day has no data: no loads, zero completeness, never zeros posing as loads.
        assert_eq!((days[1].max_kw, days[1].completeness), (None, 0.0));
    }

    #[test]
    fn line_loss_needs_a_complete_day() {
        let energies: Vec<SlotEnergy> = (0..4).map(|s| slot("2026-10-05", s, 1.0, 1)).collect();
        let supply = BTreeMap::from([(
            day("2026-10-05"),
            SupplyDay {
                net_kwh: 4.4,
                complete: true,
            },
        )]);
        let days = day_loads(
            &energies,
            day("2026-10-05"),
            day("2026-10-05"),
            1,
            |_| 4,
            &supply,
        );
        assert!((days[0].line_loss_kwh.unwrap() - 0.4).abs() < 1e-12);
        assert!((days[0].line_loss_rate.unwrap() - 0.4 / 4.4).abs() < 1e-12);
        let days = day_loads(
            &energies,
            day("2026-10-05"),
            day("2026-10-05"),
            1,
            |_| 96,
            &supply,
        );
        assert_eq!(days[0].line_loss_kwh, None);
        assert_eq!(days[0].supply_kwh, Some(4.4));
    }

    #[test]
    fn typical_curves_split_weekdays_from_weekends() {
        // 2026-10-05 is a Monday, 10-06 a Tuesday, 10-10 a Saturday.
        let energies = [
            slot("2026-10-05", 10, 1.0, 1),
            slot("2026-10-06", 10, 2.0, 1),
            slot("2026-10-10", 10, 3.0, 1),
        ];
        let (weekday, weekend) = typical_curves(&energies, day("2026-10-01"), day("2026-10-31"));
        assert_eq!(weekday[10], Some(6.0));
        assert_eq!(weekend[10], Some(12.0));
        assert_eq!(weekday[11], None);
    }

    #[test]
    fn months_compare_with_the_previous_month_and_year() {
        let daily = BTreeMap::from([
            (day("2025-10-03"), (50.0, 0.0)),
            (day("2026-09-30"), (80.0, 1.0)),
            (day("2026-10-01"), (60.0, 2.0)),
            (day("2026-10-31"), (40.0, 0.0)),
        ]);
        let months = months(&daily, day("2026-10-10"), day("2026-11-02"));
        assert_eq!(months.len(), 2);
        assert_eq!(months[0].month, "2026-10");
        assert_eq!((months[0].energy_kwh, months[0].export_kwh), (100.0, 2.0));
        assert_eq!(months[0].month_over_month, Some(0.25));
        assert_eq!(months[0].year_over_year, Some(1.0));
        assert_eq!(months[1].month, "2026-11");
        assert_eq!(months[1].month_over_month, Some(-1.0));
        assert_eq!(months[1].previous_year_kwh, None);
    }
}
