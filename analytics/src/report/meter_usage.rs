//! One meter's usage as its account page and its customer see it: measured energy per local day over
//! a window and per month over a year, the quarter-hour load curve of its last day with readings, the
//! share of its energy in peak hours, and its newest theft score and usage class when the prediction
//! tables have them.

use arrow::array::Array;
use chrono::{Datelike, Months, NaiveDate};

use super::load_query::{dates, floats, integers, literal};
use crate::columns::strings;
use crate::prediction::tables::{METER_CLUSTERS, THEFT_SCORES};
use crate::{AnalyticsError, LakeSession};

/// Quarter hours in a day.
const SLOTS: usize = 96;

/// A meter's usage.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeterUsage {
    /// Each local day of the window with its measured energy, kWh (`None`: no measured interval).
    pub days: Vec<(NaiveDate, Option<f64>)>,
    /// The last day of the window with measured energy, and its 96 average loads, kW.
    pub curve: Option<(NaiveDate, Vec<Option<f64>>)>,
    /// The newest theft score (0–1) and the last day of the window it was computed over.
    pub theft: Option<(f64, String)>,
    /// The newest usage class and the meter's average daily energy then, kWh.
    pub class: Option<(String, f64)>,
    /// Measured energy per calendar month (`YYYY-MM`) over the twelve months up to the window's end.
    pub months: Vec<(String, Option<f64>)>,
    /// The share of the window's measured energy on the sharp and peak registers (尖 + 峰), 0–1.
    pub peak_share: Option<f64>,
}

/// `meter_id`'s usage over `from..=to` (local days). The meter address must be digits only.
pub async fn meter_usage(
    session: &LakeSession,
    meter_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<MeterUsage, AnalyticsError> {
    if meter_id.is_empty() || !meter_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(AnalyticsError::Shape(format!(
            "meter address {meter_id:?}: digits expected"
        )));
    }
    let meter = literal(meter_id);
    let measured = session
        .query(&format!(
            "SELECT CAST(date AS VARCHAR) AS date, energy_kwh FROM daily_energy
             WHERE meter_id = {meter} AND date >= DATE '{from}' AND date <= DATE '{to}'"
        ))
        .await?;
    let mut by_day = std::collections::BTreeMap::new();
    for batch in &measured {
        for (day, kwh) in dates(batch, 0)?.into_iter().zip(floats(batch, 1)?) {
            by_day.insert(day, kwh);
        }
    }
    let days: Vec<(NaiveDate, Option<f64>)> = from
        .iter_days()
        .take_while(|d| *d <= to)
        .map(|d| (d, by_day.get(&d).copied().flatten()))
        .collect();
    let last = days
        .iter()
        .rev()
        .find(|(_, kwh)| kwh.is_some())
        .map(|(d, _)| *d);
    let curve = match last {
        Some(day) => Some((day, load_curve(session, &meter, day).await?)),
        None => None,
    };
    let derived = session.register_derived().await?;
    let theft = if derived.contains(&THEFT_SCORES) {
        newest(session, THEFT_SCORES, "score, window_to", &meter)
            .await?
            .and_then(|batch| {
                let score = floats(&batch, 0).ok()?.first().copied().flatten()?;
                let window = strings(&batch, 1).ok()?;
                Some((score, window.value(0).to_string()))
            })
    } else {
        None
    };
    let class = if derived.contains(&METER_CLUSTERS) {
        newest(session, METER_CLUSTERS, "usage_class, daily_kwh", &meter)
            .await?
            .and_then(|batch| {
                let name = strings(&batch, 0).ok()?;
                let kwh = floats(&batch, 1).ok()?.first().copied().flatten()?;
                Some((name.value(0).to_string(), kwh))
            })
    } else {
        None
    };
    let months = monthly(session, &meter, to).await?;
    let peak_share = peak_share(session, &meter, from, to).await?;
    Ok(MeterUsage {
        days,
        curve,
        theft,
        class,
        months,
        peak_share,
    })
}

/// The first day of the month eleven months before `to`'s.
fn year_start(to: NaiveDate) -> NaiveDate {
    let first = to.with_day(1).unwrap_or(to);
    first.checked_sub_months(Months::new(11)).unwrap_or(first)
}

/// Measured energy per month over the twelve months up to `to` (every month listed, `None` when it
/// has no measured day).
async fn monthly(
    session: &LakeSession,
    meter: &str,
    to: NaiveDate,
) -> Result<Vec<(String, Option<f64>)>, AnalyticsError> {
    let start = year_start(to);
    let batches = session
        .query(&format!(
            "SELECT substr(CAST(date AS VARCHAR), 1, 7) AS month, sum(energy_kwh) AS kwh
             FROM daily_energy WHERE meter_id = {meter} AND date >= DATE '{start}' AND date <= DATE '{to}'
             GROUP BY substr(CAST(date AS VARCHAR), 1, 7)"
        ))
        .await?;
    let mut by_month = std::collections::BTreeMap::new();
    for batch in &batches {
        let names = strings(batch, 0)?;
        for (i, kwh) in floats(batch, 1)?.into_iter().enumerate() {
            by_month.insert(names.value(i).to_string(), kwh);
        }
    }
    Ok((0..12)
        .filter_map(|k| start.checked_add_months(Months::new(k)))
        .map(|m| {
            let name = m.format("%Y-%m").to_string();
            let kwh = by_month.get(&name).copied().flatten();
            (name, kwh)
        })
        .collect())
}

/// The sharp + peak share of the measured energy over `from..=to`.
async fn peak_share(
    session: &LakeSession,
    meter: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Option<f64>, AnalyticsError> {
    let batches = session
        .query(&format!(
            "SELECT sum(coalesce(energy_t1_kwh, 0) + coalesce(energy_t2_kwh, 0)) AS peak, sum(energy_kwh) AS total
             FROM interval_energy WHERE meter_id = {meter} AND quality = 'measured'
             AND date >= DATE '{from}' AND date <= DATE '{to}'"
        ))
        .await?;
    let Some(batch) = batches.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let (peak, total) = (floats(batch, 0)?[0], floats(batch, 1)?[0]);
    Ok(match (peak, total) {
        (Some(peak), Some(total)) if total > 0.0 => Some((peak / total).clamp(0.0, 1.0)),
        _ => None,
    })
}

/// The 96 average loads of one day (kW; `None` where the interval was not measured).
async fn load_curve(
    session: &LakeSession,
    meter: &str,
    day: NaiveDate,
) -> Result<Vec<Option<f64>>, AnalyticsError> {
    let batches = session
        .query(&format!(
            "SELECT slot, CASE WHEN quality = 'measured' THEN avg_kw END AS kw FROM load_curve
             WHERE meter_id = {meter} AND date = DATE '{day}'"
        ))
        .await?;
    let mut curve = vec![None; SLOTS];
    for batch in &batches {
        for (slot, kw) in integers(batch, 0)?.into_iter().zip(floats(batch, 1)?) {
            if let Some(point) = usize::try_from(slot).ok().and_then(|s| curve.get_mut(s)) {
                *point = kw;
            }
        }
    }
    Ok(curve)
}

/// The newest row of a prediction table for the meter, with `columns`.
async fn newest(
    session: &LakeSession,
    table: &str,
    columns: &str,
    meter: &str,
) -> Result<Option<arrow::array::RecordBatch>, AnalyticsError> {
    let batches = session
        .query(&format!(
            "SELECT {columns} FROM {table} WHERE meter_id = {meter} ORDER BY date DESC LIMIT 1"
        ))
        .await?;
    Ok(batches
        .into_iter()
        .find(|b| b.num_rows() > 0 && b.column(0).is_valid(0)))
}
