//! Daily rules on a transformer area (台区), judged from the lake once a day is complete: line loss —
//! the share of the supply meter's energy that the customers' meters did not record — and collection
//! success, the share of the customers' scheduled readings that answered. Their alarms are raised on the
//! area's supply meter (an area without one is not judged) and clear on the first day the condition is
//! gone.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int64Type};
use chrono::NaiveDate;

use super::config::DiagnosisConfig;
use super::kinds::AlarmRule;
use super::watch::{Evidence, Signal};
use crate::columns::strings;
use crate::interval_rules::SLOTS_PER_DAY;
use crate::{AnalyticsError, LakeSession};

/// One area's day.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AreaDay {
    /// The area.
    pub area_id: String,
    /// Its supply (total) meter, if the registry names one.
    pub supply_meter_id: Option<String>,
    /// What the supply meter recorded, kWh (gaps at their estimate).
    pub supply_kwh: Option<f64>,
    /// What the customers' meters recorded net of their export, kWh.
    pub customers_kwh: f64,
    /// Customer meters registered in the area and installed that day.
    pub customers: i64,
    /// Their readings in the lake that day (none: the area was not collected at all, so collection
    /// success is not judged — a collector that was not running is not a failing area).
    pub polled: i64,
    /// Of those, the readings that answered.
    pub answered: i64,
}

impl AreaDay {
    /// Line loss, percent of the supply (`None` without a supply reading or below `min_supply_kwh`).
    pub fn loss_pct(&self, min_supply_kwh: f64) -> Option<f64> {
        let supply = self
            .supply_kwh
            .filter(|s| *s >= min_supply_kwh && *s > 0.0)?;
        Some((supply - self.customers_kwh) / supply * 100.0)
    }

    /// Answered share of the customers' scheduled readings (96 a day each), percent (`None` when the
    /// area has no reading that day).
    pub fn collection_pct(&self) -> Option<f64> {
        let expected = self.customers.checked_mul(SLOTS_PER_DAY as i64)?;
        (expected > 0 && self.polled > 0).then(|| self.answered as f64 / expected as f64 * 100.0)
    }
}

/// Every registered area's day `date` from the lake: supply and customer energy, readings answered.
pub async fn area_days(
    session: &LakeSession,
    date: NaiveDate,
) -> Result<Vec<AreaDay>, AnalyticsError> {
    let day = date.format("%Y-%m-%d");
    let (start, end) = crate::local_days::span(session.zone(), date, date)?;
    let (start, end) = (start.timestamp_micros(), end.timestamp_micros());
    let sql = format!(
        "WITH m AS (SELECT DISTINCT meter_id, area_id, kind = 'supply' AS supply FROM meters
                    WHERE installed_on < to_timestamp_micros({end})
                      AND (removed_on IS NULL OR removed_on > to_timestamp_micros({start}))),
         fwd AS (SELECT meter_id, sum(energy_kwh) AS kwh FROM billing_energy
                 WHERE date = DATE '{day}' GROUP BY meter_id),
         rev AS (SELECT meter_id, sum(energy_rev_kwh) AS kwh FROM interval_energy
                 WHERE date = DATE '{day}' GROUP BY meter_id),
         r AS (SELECT meter_id, count(*) AS polled,
                      sum(CASE WHEN quality = 'no_response' THEN 0 ELSE 1 END) AS answered
               FROM readings WHERE date = DATE '{day}' GROUP BY meter_id)
         SELECT m.area_id,
                max(CASE WHEN m.supply THEN m.meter_id END),
                CAST(sum(CASE WHEN m.supply THEN fwd.kwh END) AS DOUBLE),
                CAST(coalesce(sum(CASE WHEN NOT m.supply THEN fwd.kwh END), 0)
                     - coalesce(sum(CASE WHEN NOT m.supply THEN rev.kwh END), 0) AS DOUBLE),
                CAST(count(CASE WHEN NOT m.supply THEN 1 END) AS BIGINT),
                CAST(coalesce(sum(CASE WHEN NOT m.supply THEN r.polled END), 0) AS BIGINT),
                CAST(coalesce(sum(CASE WHEN NOT m.supply THEN r.answered END), 0) AS BIGINT)
         FROM m LEFT JOIN fwd ON fwd.meter_id = m.meter_id
                LEFT JOIN rev ON rev.meter_id = m.meter_id
                LEFT JOIN r ON r.meter_id = m.meter_id
         GROUP BY m.area_id ORDER BY m.area_id"
    );
    let mut days = Vec::new();
    for batch in session.query(&sql).await? {
        let areas = strings(&batch, 0)?;
        let supply_meters = strings(&batch, 1)?;
        let supply = batch.column(2).as_primitive::<Float64Type>();
        let customers_kwh = batch.column(3).as_primitive::<Float64Type>();
        let customers = batch.column(4).as_primitive::<Int64Type>();
        let polled = batch.column(5).as_primitive::<Int64Type>();
        let answered = batch.column(6).as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            days.push(AreaDay {
                area_id: areas.value(row).to_string(),
                supply_meter_id: supply_meters
                    .is_valid(row)
                    .then(|| supply_meters.value(row).to_string()),
                supply_kwh: supply.is_valid(row).then(|| supply.value(row)),
                customers_kwh: customers_kwh.value(row),
                customers: customers.value(row),
                polled: polled.value(row),
                answered: answered.value(row),
            });
        }
    }
    Ok(days)
}

/// The signals of one area's day spanning [`start_us`, `end_us`): each area rule raises (on the supply
/// meter) when it holds and clears when it does not; a rule that cannot be judged (no supply reading)
/// says nothing.
pub fn judge(
    day: &AreaDay,
    config: &DiagnosisConfig,
    (start_us, end_us): (i64, i64),
) -> Vec<Signal> {
    let Some(meter) = day.supply_meter_id.clone() else {
        return Vec::new();
    };
    let evidence = |values: &[(&'static str, f64)]| {
        vec![Evidence {
            at_us: end_us,
            values: values.iter().copied().collect::<BTreeMap<_, _>>(),
        }]
    };
    let mut verdicts: Vec<(AlarmRule, Option<bool>, Vec<Evidence>)> = Vec::new();
    let loss = day.loss_pct(config.line_loss_min_supply_kwh);
    let loss_values = loss.map(|pct| {
        evidence(&[
            ("line_loss_pct", pct),
            ("supply_kwh", day.supply_kwh.unwrap_or_default()),
            ("customers_kwh", day.customers_kwh),
        ])
    });
    verdicts.push((
        AlarmRule::LineLossHigh,
        loss.map(|pct| pct > config.line_loss_max_pct),
        loss_values.clone().unwrap_or_default(),
    ));
    verdicts.push((
        AlarmRule::LineLossNegative,
        loss.map(|pct| pct < config.line_loss_min_pct),
        loss_values.unwrap_or_default(),
    ));
    let collection = day.collection_pct();
    verdicts.push((
        AlarmRule::CollectionLow,
        collection.map(|pct| pct < config.collection_min_pct),
        collection
            .map(|pct| evidence(&[("collection_pct", pct), ("customers", day.customers as f64)]))
            .unwrap_or_default(),
    ));
    verdicts
        .into_iter()
        .filter_map(|(rule, holds, evidence)| match holds? {
            true => Some(Signal::Raised {
                meter_id: meter.clone(),
                rule,
                at_us: end_us,
                since_us: start_us,
                evidence,
            }),
            false => Some(Signal::Cleared {
                meter_id: meter.clone(),
                rule,
                at_us: end_us,
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(supply: Option<f64>, customers_kwh: f64, answered: i64) -> AreaDay {
        AreaDay {
            area_id: "A1".into(),
            supply_meter_id: Some("000000009001".into()),
            supply_kwh: supply,
            customers_kwh,
            customers: 10,
            polled: 960,
            answered,
        }
    }

    fn rules(signals: &[Signal]) -> Vec<(AlarmRule, bool)> {
        signals
            .iter()
            .map(|s| match s {
                Signal::Raised { rule, .. } => (*rule, true),
                Signal::Cleared { rule, .. } => (*rule, false),
            })
            .collect()
    }

    #[test]
    fn line_loss_and_collection_raise_and_clear() {
        let config = DiagnosisConfig::default();
        let span = (0, 86_400_000_000);
        let normal = judge(&day(Some(100.0), 95.0, 960), &config, span);
        assert_eq!(
            rules(&normal),
            vec![
                (AlarmRule::LineLossHigh, false),
                (AlarmRule::LineLossNegative, false),
                (AlarmRule::CollectionLow, false)
            ]
        );
        let stolen = judge(&day(Some(100.0), 80.0, 900), &config, span);
        assert_eq!(
            rules(&stolen),
            vec![
                (AlarmRule::LineLossHigh, true),
                (AlarmRule::LineLossNegative, false),
                (AlarmRule::CollectionLow, true)
            ]
        );
        let Signal::Raised { evidence, .. } = &stolen[0] else {
            panic!("raised")
        };
        assert_eq!(evidence[0].values["line_loss_pct"], 20.0);
        let negative = judge(&day(Some(100.0), 103.0, 960), &config, span);
        assert_eq!(rules(&negative)[1], (AlarmRule::LineLossNegative, true));
        // No supply reading (or too little to judge): loss is not judged either way.
        let unknown = judge(&day(None, 50.0, 960), &config, span);
        assert_eq!(rules(&unknown), vec![(AlarmRule::CollectionLow, false)]);
        assert!(judge(&day(Some(5.0), 1.0, 960), &config, span)
            .iter()
            .all(|s| !matches!(s, Signal::Raised { .. })));
        let mut uncollected = day(Some(100.0), 95.0, 0);
        uncollected.polled = 0;
        assert_eq!(
            rules(&judge(&uncollected, &config, span)).len(),
            2,
            "a day without readings is not a collection failure"
        );
        let mut orphan = day(Some(100.0), 50.0, 0);
        orphan.supply_meter_id = None;
        assert!(judge(&orphan, &config, span).is_empty());
    }
}
