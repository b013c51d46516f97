//! Daily charges for prepaid accounts (远程费控) from the lake, and the lake's `daily_charges` table.
//!
//! Each meter's period is priced day by day with the ladder carried chronologically
//! ([`crate::tariff::DailySplit`]): one charge per (meter, local day), rounded half-up to the fen, and
//! a true-up that makes the charges add up to the period's bill exactly. A charge is identified by
//! (meter, day), so whoever applies charges applies the difference to what it applied for that day
//! before: a re-run, or a run after late readings arrived, never charges a day twice. The stored table
//! is replaced per period, like `bills`.

use std::sync::Arc;

use arrow::array::{Date32Array, Decimal128Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use store::{DerivedTable, LakeLocation};

use super::bill_records::mantissa;
use super::meter_intervals::{carried_ladder, map_meters, MeterSelection};
use super::period_run::{MonthPeriod, PlanRuns};
use crate::report::export::field;
use crate::tariff::{AccountTerms, BillingPeriod, DailyCharges, DailySplit, Pricer, TariffPlan};
use crate::{AnalyticsError, LakeSession};

/// Name of the daily charges table below the lake root.
pub const DAILY_CHARGES_TABLE: &str = "daily_charges";
/// `kind` of a day's charge.
pub const DAY: &str = "day";
/// `kind` of the period's true-up line (its `date` is null).
pub const TRUE_UP: &str = "true_up";

/// One meter's daily charges over a period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MeterDailyCharges {
    /// Meter address.
    pub meter_id: String,
    /// The plan that priced them.
    pub plan: String,
    /// The lake version read.
    pub lake_version: Option<i64>,
    /// The days, the bill total and the true-up.
    pub charges: DailyCharges,
}

/// Daily charges of the selected meters over `period` under `plan`, each meter's ladder starting with
/// what it carries from its last settlement.
pub async fn daily_charges_for(
    session: &LakeSession,
    plan: &TariffPlan,
    period: BillingPeriod,
    selection: MeterSelection<'_>,
) -> Result<Vec<MeterDailyCharges>, AnalyticsError> {
    if period.end <= period.start {
        return Ok(Vec::new());
    }
    let carried = carried_ladder(session, plan, period.start, selection).await?;
    let pricer = Pricer::new(plan.clone(), session.zone());
    let split = DailySplit::new(&pricer, period, &AccountTerms::default())?;
    let (start, end) = (period.start, period.end);
    let charged = map_meters(session, start, end, selection, &|meter_id, meter| {
        let ladder_start = carried.get(meter_id).copied().unwrap_or(0);
        Ok(MeterDailyCharges {
            charges: split.charges_e6(ladder_start, &meter.starts, &meter.energy)?,
            meter_id: meter_id.to_string(),
            plan: plan.name.clone(),
            lake_version: session.lake_version(),
        })
    })
    .await?;
    Ok(charged.into_iter().map(|(_, charges)| charges).collect())
}

/// Daily charges of every meter (or only `meter`) for a calendar month, each with its registry plan
/// (or `default_plan`).
pub async fn daily_period(
    session: &LakeSession,
    period: MonthPeriod,
    default_plan: &str,
    meter: Option<&str>,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<MeterDailyCharges>, AnalyticsError> {
    let (start, end) = period.bounds(session.zone())?;
    progress("reading the registry");
    let runs = PlanRuns::new(session, default_plan, meter).await?;
    let mut all = Vec::new();
    for (name, plan) in &runs.plans {
        progress(&format!("daily charges with {name}"));
        let billing = BillingPeriod { start, end };
        for charges in daily_charges_for(session, plan, billing, runs.selection(name)).await? {
            if runs.plan_of(&charges.meter_id) == name {
                all.push(charges);
            }
        }
    }
    all.sort_by(|a, b| a.meter_id.cmp(&b.meter_id));
    Ok(all)
}

/// One row of the table: (meter, kind, date, kWh, amount, charge) with the run's plan and version.
struct Row<'a> {
    meter: &'a MeterDailyCharges,
    kind: &'static str,
    date: Option<NaiveDate>,
    kwh: Decimal,
    amount: Decimal,
    charge: Decimal,
}

fn rows(charges: &[MeterDailyCharges]) -> Vec<Row<'_>> {
    let mut rows = Vec::new();
    for meter in charges {
        for day in &meter.charges.days {
            rows.push(Row {
                meter,
                kind: DAY,
                date: Some(day.date),
                kwh: day.kwh,
                amount: day.amount,
                charge: day.charge,
            });
        }
        rows.push(Row {
            meter,
            kind: TRUE_UP,
            date: None,
            kwh: Decimal::ZERO,
            amount: meter.charges.true_up,
            charge: meter.charges.true_up,
        });
    }
    rows
}

/// Columns of the daily charges table (partitioned by `period`).
pub fn daily_charges_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("meter_id", DataType::Utf8, false),
        Field::new("period", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("date", DataType::Date32, true),
        Field::new("plan", DataType::Utf8, false),
        Field::new("lake_version", DataType::Int64, true),
        Field::new("kwh", DataType::Decimal128(18, 6), false),
        Field::new("amount", DataType::Decimal128(38, 12), false),
        Field::new("charge", DataType::Decimal128(18, 2), false),
    ]))
}

fn decimal_column(
    rows: &[Row<'_>],
    precision: u8,
    scale: i8,
    name: &str,
    pick: impl Fn(&Row<'_>) -> Decimal,
) -> Result<Decimal128Array, AnalyticsError> {
    let values = rows
        .iter()
        .map(|r| mantissa(pick(r), scale, name))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Decimal128Array::from(values).with_precision_and_scale(precision, scale)?)
}

/// The charges of `period` as one batch of the daily charges table.
pub fn daily_charges_batch(
    charges: &[MeterDailyCharges],
    period: &str,
) -> Result<RecordBatch, AnalyticsError> {
    let rows = rows(charges);
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let days = |d: NaiveDate| i32::try_from((d - epoch).num_days()).unwrap_or(i32::MAX);
    let columns: Vec<arrow::array::ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.meter.meter_id.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|_| period))),
        Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.kind))),
        Arc::new(Date32Array::from_iter(
            rows.iter().map(|r| r.date.map(days)),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|r| r.meter.plan.as_str()),
        )),
        Arc::new(Int64Array::from_iter(
            rows.iter().map(|r| r.meter.lake_version),
        )),
        Arc::new(decimal_column(&rows, 18, 6, "kwh", |r| r.kwh)?),
        Arc::new(decimal_column(&rows, 38, 12, "amount", |r| r.amount)?),
        Arc::new(decimal_column(&rows, 18, 2, "charge", |r| r.charge)?),
    ];
    Ok(RecordBatch::try_new(daily_charges_schema(), columns)?)
}

/// The charges as CSV: `meter_id,period,kind,date,plan,lake_version,kwh,amount,charge`.
pub fn daily_charges_csv(charges: &[MeterDailyCharges], period: &str) -> String {
    let mut out = String::from("meter_id,period,kind,date,plan,lake_version,kwh,amount,charge\n");
    for row in rows(charges) {
        let cells = [
            row.meter.meter_id.clone(),
            period.to_string(),
            row.kind.to_string(),
            row.date.map(|d| d.to_string()).unwrap_or_default(),
            row.meter.plan.clone(),
            row.meter
                .lake_version
                .map(|v| v.to_string())
                .unwrap_or_default(),
            row.kwh.to_string(),
            row.amount.to_string(),
            row.charge.to_string(),
        ];
        let fields: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

/// Replaces `period`'s rows of the lake's `daily_charges` table; returns the table version.
pub async fn store_daily_charges(
    location: &LakeLocation,
    period: MonthPeriod,
    charges: &[MeterDailyCharges],
) -> Result<i64, AnalyticsError> {
    let name = period.name();
    let mut table = DerivedTable::open(location, DAILY_CHARGES_TABLE, "period").await?;
    Ok(table
        .replace_partition(daily_charges_batch(charges, &name)?, &name)
        .await?)
}

/// The (day key, charge) pairs an account applies for one period: one per local day (`YYYY-MM-DD`)
/// and, once the period is over at `now`, the true-up (`YYYY-MM-DD/true-up`, keyed by the period's
/// first day).
pub fn charge_keys(
    charges: &DailyCharges,
    now: DateTime<Utc>,
    period_end: DateTime<Utc>,
) -> Vec<(String, Decimal)> {
    let mut keys: Vec<(String, Decimal)> = charges
        .days
        .iter()
        .map(|d| (d.date.to_string(), d.charge))
        .collect();
    if period_end <= now {
        if let Some(first) = charges.days.first() {
            keys.push((format!("{}/true-up", first.date), charges.true_up));
        }
    }
    keys
}
