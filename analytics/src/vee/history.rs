//! Each meter's recent history as the rules use it: its average daily use (high/low usage) and its
//! profile, the average measured energy of every quarter-hour on workdays and on weekends (estimation
//! by proxy days). Read from the `interval_energy` view, measured intervals only.

use std::collections::HashMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use chrono::NaiveDate;

use crate::columns::strings;
use crate::interval_rules::SLOTS_PER_DAY;
use crate::{AnalyticsError, LakeSession};

/// One meter's history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeterHistory {
    /// Mean energy of the complete days, micro-kWh (`None`: no complete day).
    pub average_day_e6: Option<i64>,
    /// Mean energy per quarter-hour of workdays, micro-kWh (`None`: no workday measured).
    pub workday: Option<Vec<i64>>,
    /// The same for weekends.
    pub weekend: Option<Vec<i64>>,
}

impl MeterHistory {
    /// The profile for a day of this kind, or the other kind's when it has none.
    pub fn profile(&self, weekend: bool) -> Option<&[i64]> {
        let (own, other) = if weekend {
            (&self.weekend, &self.workday)
        } else {
            (&self.workday, &self.weekend)
        };
        own.as_deref().or(other.as_deref())
    }
}

/// Every meter's history over a window of days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// By meter.
    pub meters: HashMap<String, MeterHistory>,
}

/// Sum and count per slot of one kind of day.
type SlotSums = Vec<(i64, i64)>;

impl History {
    /// The history of every meter over the local days `from..=to`; a day is complete with at least
    /// `min_intervals` measured intervals.
    pub async fn read(
        session: &LakeSession,
        from: NaiveDate,
        to: NaiveDate,
        min_intervals: u32,
    ) -> Result<Self, AnalyticsError> {
        let window = format!(
            "quality = 'measured' AND date >= DATE '{from}' AND date <= DATE '{to}'",
            from = from.format("%Y-%m-%d"),
            to = to.format("%Y-%m-%d")
        );
        let days = session
            .query(&format!(
                "SELECT meter_id, CAST(avg(kwh) * 1000000 AS BIGINT) FROM (\
                 SELECT meter_id, date, sum(energy_kwh) AS kwh FROM interval_energy WHERE {window} \
                 GROUP BY meter_id, date HAVING count(*) >= {min_intervals}) GROUP BY meter_id"
            ))
            .await?;
        let mut meters: HashMap<String, MeterHistory> = HashMap::new();
        for batch in &days {
            let ids = strings(batch, 0)?;
            let averages = batch.column(1).as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                if averages.is_valid(row) {
                    meters
                        .entry(ids.value(row).to_string())
                        .or_default()
                        .average_day_e6 = Some(averages.value(row));
                }
            }
        }
        let slots = session
            .query(&format!(
                "SELECT meter_id, CAST(date_part('dow', date) IN (0, 6) AS BOOLEAN), \
                 CAST(slot AS BIGINT), CAST(sum(energy_kwh) * 1000000 AS BIGINT), count(*) \
                 FROM interval_energy WHERE {window} GROUP BY 1, 2, 3"
            ))
            .await?;
        let mut sums: HashMap<String, [SlotSums; 2]> = HashMap::new();
        for batch in &slots {
            let ids = strings(batch, 0)?;
            let weekend = batch.column(1).as_boolean();
            let slot = batch.column(2).as_primitive::<Int64Type>();
            let energy = batch.column(3).as_primitive::<Int64Type>();
            let count = batch.column(4).as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                let Some(slot) = usize::try_from(slot.value(row))
                    .ok()
                    .filter(|s| *s < SLOTS_PER_DAY)
                else {
                    continue;
                };
                if energy.is_null(row) {
                    continue;
                }
                let kinds = sums
                    .entry(ids.value(row).to_string())
                    .or_insert_with(|| [vec![(0, 0); SLOTS_PER_DAY], vec![(0, 0); SLOTS_PER_DAY]]);
                let kind = usize::from(weekend.is_valid(row) && weekend.value(row));
                let cell = &mut kinds[kind][slot];
                cell.0 = cell.0.saturating_add(energy.value(row));
                cell.1 = cell.1.saturating_add(count.value(row));
            }
        }
        for (meter, [workday, weekend]) in sums {
            let entry = meters.entry(meter).or_default();
            entry.workday = profile(&workday);
            entry.weekend = profile(&weekend);
        }
        Ok(Self { meters })
    }
}

/// Per-slot means, `None` when no slot has a value.
fn profile(sums: &SlotSums) -> Option<Vec<i64>> {
    if sums.iter().all(|(_, n)| *n == 0) {
        return None;
    }
    Some(
        sums.iter()
            .map(|(sum, n)| if *n == 0 { 0 } else { sum / n })
            .collect(),
    )
}
