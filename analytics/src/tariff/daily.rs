//! Daily charges for remote cost control (远程费控): each local day's charge with the ladder state
//! carried chronologically from day to day, and a true-up so that the rounded daily charges plus the
//! true-up equal the rounded monthly bill exactly.

use chrono::{NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use super::bill::{AccountTerms, BillingPeriod, Interval};
use super::engine::{columns, PreparedPeriod, Pricer, PricingError};
use super::exact::{e6_to_kwh, kwh_to_e6, round_to_fen, KwhE6};

/// The charge of one local day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DayCharge {
    /// Local date.
    pub date: NaiveDate,
    /// Energy billed that day, kWh.
    pub kwh: Decimal,
    /// Sum of that day's line amounts, full precision.
    pub amount: Decimal,
    /// `amount` rounded half-up to the fen: what is deducted for the day.
    pub charge: Decimal,
}

/// The daily charges of a billing period and the true-up that reconciles them with the bill.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DailyCharges {
    /// One entry per local day that starts or partly lies in the period, in order.
    pub days: Vec<DayCharge>,
    /// The rounded bill total of the whole period.
    pub bill_total: Decimal,
    /// `bill_total − Σ charge`: booked at period end.
    pub true_up: Decimal,
}

/// A billing period prepared for daily charges: priced whole (for the bill) and cut at local midnights
/// (for the days). Prepare once, then charge any number of meters.
pub struct DailySplit<'a> {
    whole: PreparedPeriod<'a>,
    split: PreparedPeriod<'a>,
    dates: Vec<NaiveDate>,
}

impl<'a> DailySplit<'a> {
    /// Prepares `period` under `terms` for `pricer`.
    pub fn new(
        pricer: &'a Pricer,
        period: BillingPeriod,
        terms: &AccountTerms,
    ) -> Result<Self, PricingError> {
        let zone = pricer.zone();
        let (first, last) = (
            period.start.with_timezone(&zone).date_naive(),
            period.end.with_timezone(&zone).naive_local(),
        );
        let mut midnights: Vec<NaiveDateTime> = Vec::new();
        let mut dates = vec![first];
        let mut day = first;
        while let Some(next) = day.succ_opt() {
            let midnight = next.and_time(chrono::NaiveTime::MIN);
            if midnight >= last {
                break;
            }
            midnights.push(midnight);
            dates.push(next);
            day = next;
        }
        Ok(Self {
            whole: pricer.prepare(period, terms)?,
            split: pricer.prepare_split(period, terms, &midnights)?,
            dates,
        })
    }

    /// The local days of the period, in order.
    pub fn dates(&self) -> &[NaiveDate] {
        &self.dates
    }

    /// The daily charges of one meter's intervals (integer columns, time order) from `ladder_start`.
    pub fn charges_e6(
        &self,
        ladder_start: KwhE6,
        starts: &[i64],
        kwh: &[KwhE6],
    ) -> Result<DailyCharges, PricingError> {
        let bill_total = self
            .whole
            .bill(&self.whole.run(ladder_start, starts, kwh)?)
            .total;
        let usage = self.split.run(ladder_start, starts, kwh)?;
        let mut days = Vec::with_capacity(self.dates.len());
        for (part, date) in self.dates.iter().enumerate() {
            let segments: Vec<_> = usage
                .segments
                .iter()
                .filter(|s| s.part == part)
                .cloned()
                .collect();
            let lines = self.split.lines(&segments);
            let amount: Decimal = lines.iter().map(|l| l.amount).sum();
            let energy: i128 = segments
                .iter()
                .flat_map(|s| s.lines.iter())
                .map(|e| i128::from(*e))
                .sum();
            days.push(DayCharge {
                date: *date,
                kwh: e6_to_kwh(energy),
                amount,
                charge: round_to_fen(amount),
            });
        }
        let charged: Decimal = days.iter().map(|d| d.charge).sum();
        Ok(DailyCharges {
            days,
            bill_total,
            true_up: bill_total - charged,
        })
    }
}

/// Splits the bill of `intervals` over `period` into local days and a true-up.
///
/// Each day is priced with the ladder consumption carried from the days before it (chronological
/// allocation reproduces the monthly lines exactly, so the true-up is only the fen rounding of the
/// days; under pro-rata allocation each day is apportioned on its own and the true-up also absorbs
/// the difference to the monthly apportionment).
pub fn daily_charges(
    pricer: &Pricer,
    period: BillingPeriod,
    terms: &AccountTerms,
    ladder_start_kwh: Decimal,
    intervals: &[Interval],
) -> Result<DailyCharges, PricingError> {
    let ladder_start = kwh_to_e6(ladder_start_kwh).map_err(|source| PricingError::Energy {
        index: usize::MAX,
        source,
    })?;
    let (starts, kwh) = columns(intervals)?;
    DailySplit::new(pricer, period, terms)?.charges_e6(ladder_start, &starts, &kwh)
}
