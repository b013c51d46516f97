//! What the pricing engine takes and gives: intervals, the billing period, per-account terms,
//! line items and the priced bill.

use chrono::{DateTime, NaiveDateTime, Utc};
use rust_decimal::Decimal;

/// Consumption of one interval (normally 15 minutes) of one meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Interval {
    /// Start of the interval, UTC; the interval is priced by the class and version in force here.
    pub start: DateTime<Utc>,
    /// Energy, kWh (at most 6 decimals). Negative values are export (reverse energy).
    pub kwh: Decimal,
}

/// A billing period `[start, end)`: intervals that start in it are billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BillingPeriod {
    /// First instant, inclusive.
    pub start: DateTime<Utc>,
    /// Last instant, exclusive.
    pub end: DateTime<Utc>,
}

/// Per-account terms that change the ladder.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountTerms {
    /// Household-size bonus (一户多人口) in kWh per month, added to the thresholds the plan names
    /// (scaled by the months of the accounting period); `None` for no bonus.
    pub household_bonus_kwh_per_month: Option<Decimal>,
}

/// One priced line: energy of one tier in one TOU class under one plan version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineItem {
    /// Effective-from of the plan version that priced it (local time).
    pub effective_from: NaiveDateTime,
    /// Tier, 1-based.
    pub tier: u8,
    /// TOU class (sharp, peak, flat, valley…).
    pub class: String,
    /// Energy, kWh.
    pub kwh: Decimal,
    /// Price, yuan/kWh.
    pub price: Decimal,
    /// `kwh × price`, yuan, full precision (not rounded).
    pub amount: Decimal,
}

/// A priced bill for one meter and one period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TariffBill {
    /// Plan name.
    pub plan: String,
    /// The period billed.
    pub period: BillingPeriod,
    /// Intervals read.
    pub intervals: u64,
    /// Lines by version, tier and class; zero-energy lines are left out.
    pub lines: Vec<LineItem>,
    /// Energy billed, kWh (the sum of line kWh).
    pub billed_kwh: Decimal,
    /// Export (negative intervals) not billed, kWh. Without net metering export never reduces
    /// billed consumption.
    pub export_kwh: Decimal,
    /// Consumption offset by earlier export under net metering, kWh.
    pub netted_kwh: Decimal,
    /// Ladder consumption of the current accounting period at the start, kWh.
    pub ladder_start_kwh: Decimal,
    /// Ladder consumption of the accounting period in force at the end, kWh (zero when a
    /// settlement falls exactly at the end).
    pub ladder_end_kwh: Decimal,
    /// Sum of line amounts, full precision.
    pub unrounded_total: Decimal,
    /// `unrounded_total` rounded half-up to the fen ([`super::FEN_ROUNDING`]).
    pub total: Decimal,
    /// Unverified fields of the plan and of the versions used.
    pub unverified: Vec<String>,
}
