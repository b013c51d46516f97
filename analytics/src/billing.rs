//! Billing: prices each meter's interval consumption from the lake with a time-of-use plan.
//!
//! Each interval is priced by the class in force at its start (local time). Line items keep full
//! precision; the bill total is rounded half-up (away from zero at .5) to the fen.

use std::collections::BTreeMap;

use arrow::array::{Array, Decimal128Array, TimestampMicrosecondArray};
use chrono::{DateTime, Utc};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::columns::{strings, typed};
use crate::{AnalyticsError, LakeSession, TouPlan};

/// One priced class of a bill.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BillLine {
    /// Price class (peak, valley, flat...).
    pub class: String,
    /// Energy in the class, kWh.
    pub kwh: Decimal,
    /// Price, yuan/kWh.
    pub price: Decimal,
    /// kWh × price, full precision.
    pub amount: Decimal,
}

/// A meter's bill for a period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bill {
    /// Meter address.
    pub meter_id: String,
    /// Plan name.
    pub plan: String,
    /// Start of the period (intervals starting at or after it).
    pub period_start: DateTime<Utc>,
    /// End of the period (intervals ending at or before it).
    pub period_end: DateTime<Utc>,
    /// The lake version read.
    pub lake_version: Option<i64>,
    /// Intervals priced.
    pub intervals: u64,
    /// Lines, one per class with consumption.
    pub lines: Vec<BillLine>,
    /// Sum of line amounts rounded half-up to the fen.
    pub total: Decimal,
}

/// Bills every meter (or `meter`) for intervals within [`from`, `to`].
pub async fn bill_meters(
    session: &LakeSession,
    plan: &TouPlan,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    meter: Option<&str>,
) -> Result<Vec<Bill>, AnalyticsError> {
    let mut sql = format!(
        "SELECT meter_id, interval_start, energy_kwh FROM interval_energy \
         WHERE energy_kwh IS NOT NULL AND interval_start >= to_timestamp_micros({}) \
         AND interval_end <= to_timestamp_micros({})",
        from.timestamp_micros(),
        to.timestamp_micros()
    );
    if let Some(meter) = meter {
        if !meter.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AnalyticsError::Shape(format!("invalid meter id {meter:?}")));
        }
        sql.push_str(&format!(" AND meter_id = '{meter}'"));
    }
    let batches = session.query(&sql).await?;
    let zone = session.zone();
    // meter -> class -> kWh
    let mut usage: BTreeMap<String, (u64, BTreeMap<String, Decimal>)> = BTreeMap::new();
    for batch in &batches {
        let meters = strings(batch, 0)?;
        let starts = typed::<TimestampMicrosecondArray>(batch, 1)?;
        let energy = typed::<Decimal128Array>(batch, 2)?;
        let scale = u32::try_from(energy.scale())
            .map_err(|_| AnalyticsError::Shape("negative scale".into()))?;
        for row in 0..batch.num_rows() {
            if energy.is_null(row) || starts.is_null(row) {
                continue;
            }
            let kwh = Decimal::try_from_i128_with_scale(energy.value(row), scale)
                .map_err(|e| AnalyticsError::Shape(e.to_string()))?;
            let start = DateTime::from_timestamp_micros(starts.value(row))
                .ok_or_else(|| AnalyticsError::Shape("timestamp out of range".into()))?;
            let class = plan.class_at(start.with_timezone(&zone).naive_local());
            let entry = usage.entry(meters.value(row).to_string()).or_default();
            entry.0 += 1;
            *entry.1.entry(class.to_string()).or_default() += kwh;
        }
    }
    Ok(usage
        .into_iter()
        .map(|(meter_id, (intervals, classes))| {
            let lines: Vec<BillLine> = classes
                .into_iter()
                .map(|(class, kwh)| {
                    let price = plan.price(&class);
                    BillLine {
                        amount: kwh * price,
                        class,
                        kwh,
                        price,
                    }
                })
                .collect();
            let total = lines
                .iter()
                .map(|l| l.amount)
                .sum::<Decimal>()
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
            Bill {
                meter_id,
                plan: plan.name.clone(),
                period_start: from,
                period_end: to,
                lake_version: session.lake_version(),
                intervals,
                lines,
                total,
            }
        })
        .collect())
}
