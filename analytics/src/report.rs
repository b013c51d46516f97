//! Load reports for planners (负荷报表): one transformer area over a date range — daily and monthly energy,
//! maximum/minimum/average load, load factor, peak–valley difference, typical weekday and weekend curves,
//! top consumers, month-over-month and year-over-year, line loss against the supply meter, PV export and
//! collection completeness. [`build_load_report`] computes a [`LoadReport`]; [`html`] renders it as one
//! self-contained page with SVG charts, [`export`] as CSV or JSON for machines. The statistics are
//! defined in [`stats`].

pub mod export;
pub mod fleet_status;
pub mod html;
pub mod labels;
pub mod load_query;
pub mod meter_bills;
pub mod meter_usage;
pub mod stats;
pub mod svg;

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate, TimeDelta};
use chrono_tz::Tz;
use serde::Serialize;

pub use load_query::Consumer;
pub use stats::{DayLoad, MonthEnergy};

use crate::{AnalyticsError, LakeSession};

/// What to report on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadReportRequest {
    /// Transformer area (`area_id` of the registry).
    pub area: String,
    /// First local date.
    pub from: NaiveDate,
    /// Last local date (inclusive).
    pub to: NaiveDate,
    /// How many top consumers to list.
    pub top_n: usize,
}

/// A load report of one area.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadReport {
    /// The area.
    pub area_id: String,
    /// Its feeder.
    pub feeder_id: Option<String>,
    /// Its supply (total) meter.
    pub supply_meter_id: Option<String>,
    /// Customer meters in the area.
    pub customers: u64,
    /// First local date.
    pub from: NaiveDate,
    /// Last local date (inclusive).
    pub to: NaiveDate,
    /// The local zone of dates and times.
    pub zone: String,
    /// The lake version read.
    pub lake_version: Option<i64>,
    /// Totals over the range.
    pub totals: Totals,
    /// One entry per date of the range.
    pub days: Vec<DayLoad>,
    /// The calendar months the range touches (whole months).
    pub months: Vec<MonthEnergy>,
    /// Typical weekday curve: 96 mean slot loads, kW.
    pub typical_weekday_kw: Vec<Option<f64>>,
    /// Typical weekend curve: 96 mean slot loads, kW.
    pub typical_weekend_kw: Vec<Option<f64>>,
    /// The largest consumers over the range.
    pub top_consumers: Vec<Consumer>,
}

/// Totals of a report's range.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Customers' forward energy, kWh.
    pub energy_kwh: f64,
    /// Customers' PV export, kWh.
    pub export_kwh: f64,
    /// The highest slot load of the range, kW.
    pub max_kw: Option<f64>,
    /// When (`YYYY-MM-DD HH:MM` local).
    pub max_at: Option<String>,
    /// The lowest slot load of the range, kW.
    pub min_kw: Option<f64>,
    /// When (`YYYY-MM-DD HH:MM` local).
    pub min_at: Option<String>,
    /// Line loss over the complete days, kWh.
    pub line_loss_kwh: Option<f64>,
    /// Line loss ÷ supply over the complete days.
    pub line_loss_rate: Option<f64>,
    /// Measured ÷ expected customer intervals over the range.
    pub completeness: f64,
}

/// Quarter-hour slots of local `date` in `zone` (96, or 92/100 where clocks change).
pub fn slots_of_day(zone: Tz, date: NaiveDate) -> u64 {
    let start = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(zone).earliest())
    };
    match (start(date), date.succ_opt().and_then(start)) {
        (Some(a), Some(b)) => u64::try_from((b - a).num_minutes() / 15).unwrap_or(96),
        _ => 96,
    }
}

/// Builds the report; `progress` hears the name of each step as it starts.
pub async fn build_load_report(
    session: &LakeSession,
    request: &LoadReportRequest,
    progress: &mut dyn FnMut(&str),
) -> Result<LoadReport, AnalyticsError> {
    if request.to < request.from {
        return Err(AnalyticsError::Shape(format!(
            "the range ends ({}) before it starts ({})",
            request.to, request.from
        )));
    }
    let zone = session.zone();
    let slots = |date: NaiveDate| slots_of_day(zone, date);
    progress("reading the registry");
    let facts = load_query::area_facts(session, &request.area).await?;
    // Whole months, back to the same month a year before the first, for the comparisons.
    let month_start = |d: NaiveDate| d.with_day(1).unwrap_or(d);
    let history_from = month_start(request.from)
        .checked_sub_months(Months::new(13))
        .unwrap_or(request.from);
    let history_to = month_start(request.to)
        .checked_add_months(Months::new(1))
        .map_or(request.to, |d| d - TimeDelta::days(1));
    progress("area energy per quarter hour");
    let energies =
        load_query::slot_energies(session, &request.area, history_from, history_to).await?;
    progress("supply meter");
    let supply = match &facts.supply_meter_id {
        Some(meter) => {
            load_query::supply_days(session, meter, request.from, request.to, slots).await?
        }
        None => BTreeMap::new(),
    };
    progress("top consumers");
    let top_consumers = load_query::top_consumers(
        session,
        &request.area,
        request.from,
        request.to,
        request.top_n,
    )
    .await?;
    progress("statistics");
    let in_range: Vec<_> = energies
        .iter()
        .filter(|e| e.date >= request.from && e.date <= request.to)
        .copied()
        .collect();
    let days = stats::day_loads(
        &in_range,
        request.from,
        request.to,
        facts.customers,
        slots,
        &supply,
    );
    let mut daily = BTreeMap::new();
    for e in &energies {
        let entry: &mut (f64, f64) = daily.entry(e.date).or_default();
        entry.0 += e.energy_kwh.unwrap_or(0.0);
        entry.1 += e.export_kwh.unwrap_or(0.0);
    }
    let months = stats::months(&daily, request.from, request.to);
    let (typical_weekday_kw, typical_weekend_kw) =
        stats::typical_curves(&in_range, request.from, request.to);
    Ok(LoadReport {
        area_id: request.area.clone(),
        feeder_id: facts.feeder_id,
        supply_meter_id: facts.supply_meter_id,
        customers: facts.customers,
        from: request.from,
        to: request.to,
        zone: zone.name().to_string(),
        lake_version: session.lake_version(),
        totals: totals(&days),
        days,
        months,
        typical_weekday_kw,
        typical_weekend_kw,
        top_consumers,
    })
}

/// Totals over the report's days.
fn totals(days: &[DayLoad]) -> Totals {
    let extreme = |pick: fn(&DayLoad) -> Option<(f64, &str)>, higher: bool| {
        days.iter()
            .filter_map(|d| pick(d).map(|(kw, at)| (kw, format!("{} {at}", d.date))))
            .reduce(|a, b| {
                if (b.0 > a.0) == higher && b.0 != a.0 {
                    b
                } else {
                    a
                }
            })
    };
    let max = extreme(|d| d.max_kw.zip(d.max_at.as_deref()), true);
    let min = extreme(|d| d.min_kw.zip(d.min_at.as_deref()), false);
    let complete: Vec<&DayLoad> = days.iter().filter(|d| d.line_loss_kwh.is_some()).collect();
    let loss: f64 = complete.iter().filter_map(|d| d.line_loss_kwh).sum();
    let supplied: f64 = complete.iter().filter_map(|d| d.supply_kwh).sum();
    let measured: u64 = days.iter().map(|d| d.measured_intervals).sum();
    let expected: u64 = days.iter().map(|d| d.expected_intervals).sum();
    Totals {
        energy_kwh: days.iter().map(|d| d.energy_kwh).sum(),
        export_kwh: days.iter().map(|d| d.export_kwh).sum(),
        max_kw: max.as_ref().map(|m| m.0),
        max_at: max.map(|m| m.1),
        min_kw: min.as_ref().map(|m| m.0),
        min_at: min.map(|m| m.1),
        line_loss_kwh: (!complete.is_empty()).then_some(loss),
        line_loss_rate: (!complete.is_empty() && supplied != 0.0).then(|| loss / supplied),
        completeness: if expected == 0 {
            0.0
        } else {
            measured as f64 / expected as f64
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_days_have_96_slots_except_where_clocks_change() {
        let day = |d: &str| d.parse::<NaiveDate>().unwrap();
        assert_eq!(
            slots_of_day(chrono_tz::Asia::Shanghai, day("2026-10-02")),
            96
        );
        assert_eq!(
            slots_of_day(chrono_tz::Europe::Berlin, day("2026-03-29")),
            92
        );
        assert_eq!(
            slots_of_day(chrono_tz::Europe::Berlin, day("2026-10-25")),
            100
        );
    }
}
