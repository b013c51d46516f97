//! The SQL behind a load report: an area's quarter-hour energies, its supply meter's days and its top
//! consumers, from the `interval_energy` view and the `meters`/`areas` registry.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use chrono::NaiveDate;

use super::stats::{SlotEnergy, SupplyDay};
use crate::columns::strings;
use crate::{AnalyticsError, LakeSession};

/// A string as a SQL literal (quotes doubled).
pub(crate) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The registry's facts about an area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaFacts {
    /// Feeder of the area.
    pub feeder_id: Option<String>,
    /// The supply (total) meter's address.
    pub supply_meter_id: Option<String>,
    /// Customer meters in the area.
    pub customers: u64,
}

/// A top consumer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Consumer {
    /// Meter address.
    pub meter_id: String,
    /// Customer of the meter.
    pub customer_id: Option<String>,
    /// Measured forward energy over the report range, kWh.
    pub energy_kwh: f64,
}

/// Column `i` as f64 values (null stays `None`), whatever numeric type the query produced.
pub(crate) fn floats(batch: &RecordBatch, i: usize) -> Result<Vec<Option<f64>>, AnalyticsError> {
    let cast = arrow::compute::cast(batch.column(i), &DataType::Float64)?;
    let values = cast.as_primitive::<Float64Type>();
    Ok((0..values.len())
        .map(|r| values.is_valid(r).then(|| values.value(r)))
        .collect())
}

/// Column `i` as i64 values (null as 0).
pub(crate) fn integers(batch: &RecordBatch, i: usize) -> Result<Vec<i64>, AnalyticsError> {
    let cast = arrow::compute::cast(batch.column(i), &DataType::Int64)?;
    let values = cast.as_primitive::<Int64Type>();
    Ok((0..values.len())
        .map(|r| {
            if values.is_valid(r) {
                values.value(r)
            } else {
                0
            }
        })
        .collect())
}

/// Column `i` as dates parsed from their text.
pub(crate) fn dates(batch: &RecordBatch, i: usize) -> Result<Vec<NaiveDate>, AnalyticsError> {
    let text = strings(batch, i)?;
    (0..text.len())
        .map(|r| {
            text.value(r)
                .parse::<NaiveDate>()
                .map_err(|e| AnalyticsError::Shape(format!("date {:?}: {e}", text.value(r))))
        })
        .collect()
}

/// The transformer areas with customer meters in the registry, in order (none without a registry).
pub async fn area_ids(session: &LakeSession) -> Result<Vec<String>, AnalyticsError> {
    if !session.context().table_exist("meters")? {
        return Ok(Vec::new());
    }
    let batches = session
        .query("SELECT DISTINCT area_id FROM meters WHERE kind = 'customer' AND area_id IS NOT NULL ORDER BY area_id")
        .await?;
    let mut areas = Vec::new();
    for batch in &batches {
        let ids = strings(batch, 0)?;
        areas.extend((0..ids.len()).map(|r| ids.value(r).to_string()));
    }
    Ok(areas)
}

/// The registry's row for `area`, or an error naming it if the registry does not know it.
pub async fn area_facts(session: &LakeSession, area: &str) -> Result<AreaFacts, AnalyticsError> {
    let area_sql = literal(area);
    let sql = format!(
        "SELECT (SELECT max(feeder_id) FROM meters WHERE area_id = {area_sql}) AS feeder_id,
                (SELECT max(supply_meter_id) FROM areas WHERE area_id = {area_sql}) AS supply_meter_id,
                (SELECT count(DISTINCT meter_id) FROM meters
                  WHERE area_id = {area_sql} AND kind = 'customer') AS customers"
    );
    let batches = session.query(&sql).await?;
    let batch = batches
        .first()
        .filter(|b| b.num_rows() == 1)
        .ok_or_else(|| AnalyticsError::Shape("area query returned no row".into()))?;
    let feeder = strings(batch, 0)?;
    let supply = strings(batch, 1)?;
    let customers = integers(batch, 2)?[0];
    if customers == 0 {
        return Err(AnalyticsError::Shape(format!(
            "area {area:?} has no customer meters in the registry (meters.csv)"
        )));
    }
    Ok(AreaFacts {
        feeder_id: feeder.is_valid(0).then(|| feeder.value(0).to_string()),
        supply_meter_id: supply.is_valid(0).then(|| supply.value(0).to_string()),
        customers: u64::try_from(customers).unwrap_or(0),
    })
}

/// The area's customer energy per local date and slot over `from..=to` (measured intervals only).
pub async fn slot_energies(
    session: &LakeSession,
    area: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<SlotEnergy>, AnalyticsError> {
    let sql = format!(
        "SELECT CAST(e.date AS VARCHAR) AS date, e.slot,
                sum(e.energy_kwh) FILTER (WHERE e.quality = 'measured') AS energy_kwh,
                sum(e.energy_rev_kwh) FILTER (WHERE e.quality = 'measured') AS export_kwh,
                count(*) FILTER (WHERE e.quality = 'measured') AS measured
         FROM interval_energy e
         JOIN (SELECT DISTINCT meter_id FROM meters
               WHERE area_id = {area} AND kind = 'customer') m ON e.meter_id = m.meter_id
         WHERE e.date >= DATE '{from}' AND e.date <= DATE '{to}'
         GROUP BY e.date, e.slot",
        area = literal(area)
    );
    let mut out = Vec::new();
    for batch in session.query(&sql).await? {
        let (date, slot, energy, export, measured) = (
            dates(&batch, 0)?,
            integers(&batch, 1)?,
            floats(&batch, 2)?,
            floats(&batch, 3)?,
            integers(&batch, 4)?,
        );
        for r in 0..batch.num_rows() {
            out.push(SlotEnergy {
                date: date[r],
                slot: u32::try_from(slot[r]).unwrap_or(0),
                energy_kwh: energy[r],
                export_kwh: export[r],
                measured: u64::try_from(measured[r]).unwrap_or(0),
            });
        }
    }
    out.sort_by_key(|e| (e.date, e.slot));
    Ok(out)
}

/// The supply meter's net energy per local date over `from..=to`; a day is complete when it has
/// `slots_per_day(date)` measured intervals.
pub async fn supply_days(
    session: &LakeSession,
    supply_meter: &str,
    from: NaiveDate,
    to: NaiveDate,
    slots_per_day: impl Fn(NaiveDate) -> u64,
) -> Result<BTreeMap<NaiveDate, SupplyDay>, AnalyticsError> {
    let sql = format!(
        "SELECT CAST(date AS VARCHAR) AS date,
                sum(energy_kwh) FILTER (WHERE quality = 'measured') AS energy_kwh,
                sum(energy_rev_kwh) FILTER (WHERE quality = 'measured') AS export_kwh,
                count(*) FILTER (WHERE quality = 'measured') AS measured
         FROM interval_energy
         WHERE meter_id = {meter} AND date >= DATE '{from}' AND date <= DATE '{to}'
         GROUP BY date",
        meter = literal(supply_meter)
    );
    let mut out = BTreeMap::new();
    for batch in session.query(&sql).await? {
        let (date, energy, export, measured) = (
            dates(&batch, 0)?,
            floats(&batch, 1)?,
            floats(&batch, 2)?,
            integers(&batch, 3)?,
        );
        for r in 0..batch.num_rows() {
            let net = energy[r].unwrap_or(0.0) - export[r].unwrap_or(0.0);
            let complete = u64::try_from(measured[r]).unwrap_or(0) == slots_per_day(date[r]);
            out.insert(
                date[r],
                SupplyDay {
                    net_kwh: net,
                    complete,
                },
            );
        }
    }
    Ok(out)
}

/// The `n` customers of the area with the most measured energy over `from..=to`.
pub async fn top_consumers(
    session: &LakeSession,
    area: &str,
    from: NaiveDate,
    to: NaiveDate,
    n: usize,
) -> Result<Vec<Consumer>, AnalyticsError> {
    let sql = format!(
        "SELECT e.meter_id, max(m.customer_id) AS customer_id,
                sum(e.energy_kwh) FILTER (WHERE e.quality = 'measured') AS energy_kwh
         FROM interval_energy e
         JOIN (SELECT DISTINCT meter_id, customer_id FROM meters
               WHERE area_id = {area} AND kind = 'customer') m ON e.meter_id = m.meter_id
         WHERE e.date >= DATE '{from}' AND e.date <= DATE '{to}'
         GROUP BY e.meter_id
         ORDER BY energy_kwh DESC NULLS LAST, e.meter_id
         LIMIT {n}",
        area = literal(area)
    );
    let mut out = Vec::new();
    for batch in session.query(&sql).await? {
        let (meter, customer, energy) =
            (strings(&batch, 0)?, strings(&batch, 1)?, floats(&batch, 2)?);
        for (r, energy) in energy.into_iter().enumerate() {
            out.push(Consumer {
                meter_id: meter.value(r).to_string(),
                customer_id: customer.is_valid(r).then(|| customer.value(r).to_string()),
                energy_kwh: energy.unwrap_or(0.0),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(literal("a-area-0"), "'a-area-0'");
        assert_eq!(literal("x' OR '1'='1"), "'x'' OR ''1''=''1'");
    }
}
