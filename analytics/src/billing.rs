//! Billing: prices each meter's interval consumption from the lake with a tariff plan.
//!
//! Intervals come from the `billing_energy` view in time order and are priced by
//! [`crate::tariff::Pricer`]: tiers fill chronologically (or pro-rata when the plan says so), line
//! items keep full precision and the total is rounded half-up to the fen. The ladder starts at the
//! consumption each meter carries from the last settlement before `from`
//! ([`meter_intervals::carried_ladder`], read from the same lake version); settlements inside the period
//! reset it. Missing intervals are billed at their estimate ([`crate::views::billing_energy`]) and
//! counted on the bill; intervals whose energy stays null (a register that went backwards) are not
//! billed.

pub mod bill_records;
pub mod daily_run;
pub mod lake_scan;
pub mod meter_intervals;
pub mod period_run;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

pub use meter_intervals::{MeterIntervals, MeterSelection};

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
    /// How the estimated intervals were estimated.
    #[serde(default)]
    pub estimation: Estimation,
}

/// How many of a bill's intervals each estimation method (or a person's edit) supplied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Estimation {
    /// A register gap spread evenly, or interpolated between neighbours.
    pub linear: u64,
    /// The meter's profile of recent days.
    pub profile: u64,
    /// Set by a person (validated energy only).
    pub edited: u64,
}

impl Estimation {
    /// Counts one interval obtained by `method` (measured intervals are not counted).
    pub fn count(&mut self, method: crate::vee::Method) {
        use crate::vee::Method;
        match method {
            Method::Linear => self.linear += 1,
            Method::Profile => self.profile += 1,
            Method::Edit => self.edited += 1,
            Method::Measured | Method::None => {}
        }
    }

    /// The counts as a bill shows them (`linear 3, profile 12`; empty when nothing was estimated).
    pub fn describe(&self) -> String {
        [
            ("linear", self.linear),
            ("profile", self.profile),
            ("edited", self.edited),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{name} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
    }
}

impl Bill {
    /// The total, rounded half-up to the fen.
    pub fn total(&self) -> Decimal {
        self.priced.total
    }
}

/// Bills the selected meters for intervals within [`from`, `to`], in the order
/// [`meter_intervals::map_meters`] gives them (priced on every core for the direct scan).
pub async fn bill_meters(
    session: &LakeSession,
    plan: &TariffPlan,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    selection: MeterSelection<'_>,
) -> Result<Vec<Bill>, AnalyticsError> {
    if to <= from {
        return Ok(Vec::new());
    }
    let carried = meter_intervals::carried_ladder(session, plan, from, selection).await?;
    let pricer = Pricer::new(plan.clone(), session.zone());
    let prepared = pricer.prepare(
        BillingPeriod {
            start: from,
            end: to,
        },
        &AccountTerms::default(),
    )?;
    let bills = meter_intervals::map_meters(session, from, to, selection, &|meter_id, meter| {
        let ladder_start = carried.get(meter_id).copied().unwrap_or(0);
        price(
            &prepared,
            session,
            ladder_start,
            meter_id.to_string(),
            meter,
        )
    })
    .await?;
    Ok(bills.into_iter().map(|(_, bill)| bill).collect())
}

fn price(
    prepared: &PreparedPeriod<'_>,
    session: &LakeSession,
    ladder_start: crate::tariff::KwhE6,
    meter_id: String,
    meter: &MeterIntervals,
) -> Result<Bill, AnalyticsError> {
    Ok(Bill {
        priced: prepared.price_e6(ladder_start, &meter.starts, &meter.energy)?,
        meter_id,
        lake_version: session.lake_version(),
        estimated_intervals: meter.estimated,
        estimated_kwh: Decimal::new(meter.estimated_e6, 6),
        estimation: meter.estimation,
    })
}
