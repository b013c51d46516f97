//! Billing: prices each meter's interval consumption from the lake with a tariff plan.
//!
//! Intervals come from the `billing_energy` view in time order and are priced by
//! [`crate::tariff::Pricer`]: tiers fill chronologically (or pro-rata when the plan says so), line
//! items keep full precision and the total is rounded half-up to the fen. The ladder starts at zero
//! at `from` (the lake does not yet record ladder state carried from earlier periods); settlements
//! inside the period reset it. Missing intervals are billed at their estimate
//! ([`crate::views::BILLING_ENERGY`]) and counted on the bill; intervals whose energy stays null (a
//! register that went backwards) are not billed.

pub mod bill_records;
pub mod period_run;

use arrow::array::{Array, BooleanArray, Decimal128Array, TimestampMicrosecondArray};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::columns::{strings, typed};
use crate::tariff::exact::scaled_to_e6;
use crate::tariff::{AccountTerms, BillingPeriod, PreparedPeriod, Pricer, TariffBill, TariffPlan};
use crate::{AnalyticsError, LakeSession};

/// A meter's bill for a period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Bill {
    /// Meter address.
    pub meter_id: String,
    /// The lake version read.
    pub lake_version: Option<i64>,
    /// The priced bill: plan, period, line items, total.
    pub priced: TariffBill,
    /// Intervals billed at an estimate (their readings were missing).
    pub estimated_intervals: u64,
    /// Energy of the estimated intervals, kWh (included in the bill).
    pub estimated_kwh: Decimal,
}

impl Bill {
    /// The total, rounded half-up to the fen.
    pub fn total(&self) -> Decimal {
        self.priced.total
    }
}

/// Bills every meter (or `meter`) for intervals within [`from`, `to`].
pub async fn bill_meters(
    session: &LakeSession,
    plan: &TariffPlan,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    meter: Option<&str>,
) -> Result<Vec<Bill>, AnalyticsError> {
    if to <= from {
        return Ok(Vec::new());
    }
    let mut sql = format!(
        "SELECT meter_id, interval_start, energy_kwh, estimated FROM billing_energy \
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
    sql.push_str(" ORDER BY meter_id, interval_start");
    let batches = session.query(&sql).await?;
    let pricer = Pricer::new(plan.clone(), session.zone());
    let prepared = pricer.prepare(
        BillingPeriod {
            start: from,
            end: to,
        },
        &AccountTerms::default(),
    )?;
    let mut bills = Vec::new();
    let mut current: Option<String> = None;
    let mut meter = MeterIntervals::default();
    let finish = |meter_id: String, meter: &mut MeterIntervals| {
        let bill = price(&prepared, session, meter_id, meter);
        *meter = MeterIntervals::default();
        bill
    };
    for batch in &batches {
        let meters = strings(batch, 0)?;
        let interval_starts = typed::<TimestampMicrosecondArray>(batch, 1)?;
        let kwh = typed::<Decimal128Array>(batch, 2)?;
        let estimated = typed::<BooleanArray>(batch, 3)?;
        let scale = u32::try_from(kwh.scale())
            .map_err(|_| AnalyticsError::Shape("negative scale".into()))?;
        for row in 0..batch.num_rows() {
            if kwh.is_null(row) || interval_starts.is_null(row) {
                continue;
            }
            let meter_id = meters.value(row);
            if current.as_deref() != Some(meter_id) {
                if let Some(done) = current.replace(meter_id.to_string()) {
                    bills.push(finish(done, &mut meter)?);
                }
            }
            let e6 = scaled_to_e6(kwh.value(row), scale)
                .map_err(|e| AnalyticsError::Shape(e.to_string()))?;
            meter.starts.push(interval_starts.value(row));
            meter.energy.push(e6);
            if estimated.is_valid(row) && estimated.value(row) {
                meter.estimated += 1;
                meter.estimated_e6 += e6;
            }
        }
    }
    if let Some(done) = current {
        bills.push(finish(done, &mut meter)?);
    }
    Ok(bills)
}

/// One meter's intervals as the engine takes them, with what was estimated.
#[derive(Default)]
struct MeterIntervals {
    starts: Vec<i64>,
    energy: Vec<i64>,
    estimated: u64,
    estimated_e6: i64,
}

fn price(
    prepared: &PreparedPeriod<'_>,
    session: &LakeSession,
    meter_id: String,
    meter: &MeterIntervals,
) -> Result<Bill, AnalyticsError> {
    Ok(Bill {
        priced: prepared.price_e6(0, &meter.starts, &meter.energy)?,
        meter_id,
        lake_version: session.lake_version(),
        estimated_intervals: meter.estimated,
        estimated_kwh: Decimal::new(meter.estimated_e6, 6),
    })
}
