//! Bills as rows: the lake's `bills` table (one Parquet row per meter and period, partitioned by
//! period) and the CSV and JSON exports of `meterlake bill`.
//!
//! A row records what makes the bill reproducible: the plan and the versions of it that priced the
//! lines, the period, and the lake version the intervals were read at. Money columns are decimals
//! (`total` to the fen, `unrounded_total` at full precision); the line items travel as JSON text.

use std::sync::Arc;

use arrow::array::{
    Decimal128Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use rust_decimal::Decimal;

use super::Bill;
use crate::report::export::field;
use crate::AnalyticsError;

/// Name of the bills table below the lake root.
pub const BILLS_TABLE: &str = "bills";
/// Its partition column: the billing period's name (`2026-10`).
pub const PERIOD_COLUMN: &str = "period";

/// Scale of kWh columns (the engine's 10⁻⁶ kWh unit).
const KWH_SCALE: i8 = 6;
/// Scale of the unrounded total (kWh scale × price scale).
const UNROUNDED_SCALE: i8 = 12;

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Columns of the bills table.
pub fn bills_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("meter_id", DataType::Utf8, false),
        Field::new(PERIOD_COLUMN, DataType::Utf8, false),
        Field::new("plan", DataType::Utf8, false),
        Field::new("plan_versions", DataType::Utf8, false),
        Field::new("period_start", utc(), false),
        Field::new("period_end", utc(), false),
        Field::new("lake_version", DataType::Int64, true),
        Field::new("intervals", DataType::Int64, false),
        Field::new("estimated_intervals", DataType::Int64, false),
        Field::new("estimated_kwh", DataType::Decimal128(18, KWH_SCALE), false),
        Field::new("billed_kwh", DataType::Decimal128(18, KWH_SCALE), false),
        Field::new("export_kwh", DataType::Decimal128(18, KWH_SCALE), false),
        Field::new(
            "ladder_start_kwh",
            DataType::Decimal128(18, KWH_SCALE),
            false,
        ),
        Field::new(
            "unrounded_total",
            DataType::Decimal128(38, UNROUNDED_SCALE),
            false,
        ),
        Field::new("total", DataType::Decimal128(18, 2), false),
        Field::new("lines", DataType::Utf8, false),
        Field::new("unverified", DataType::Utf8, true),
        Field::new("estimation", DataType::Utf8, true),
    ]))
}

/// `value` as the mantissa of a decimal with `scale` digits (exact, or an error if it has more).
pub(crate) fn mantissa(value: Decimal, scale: i8, column: &str) -> Result<i128, AnalyticsError> {
    let scale = u32::try_from(scale).unwrap_or(0);
    let mut scaled = value;
    scaled.rescale(scale);
    if scaled != value {
        return Err(AnalyticsError::Shape(format!(
            "{column} {value} has more than {scale} decimal places"
        )));
    }
    Ok(scaled.mantissa())
}

fn decimals(
    bills: &[Bill],
    scale: i8,
    precision: u8,
    column: &str,
    pick: impl Fn(&Bill) -> Decimal,
) -> Result<Decimal128Array, AnalyticsError> {
    let values = bills
        .iter()
        .map(|b| mantissa(pick(b), scale, column))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Decimal128Array::from(values).with_precision_and_scale(precision, scale)?)
}

/// The versions of the plan that priced a bill's lines, as `effective_from` times in order.
pub fn plan_versions(bill: &Bill) -> String {
    let mut versions: Vec<String> = bill
        .priced
        .lines
        .iter()
        .map(|l| l.effective_from.format("%Y-%m-%dT%H:%M:%S").to_string())
        .collect();
    versions.sort();
    versions.dedup();
    versions.join(",")
}

/// Bills of `period` as one batch of the bills table.
pub fn bills_batch(bills: &[Bill], period: &str) -> Result<RecordBatch, AnalyticsError> {
    let text = |f: &dyn Fn(&Bill) -> String| StringArray::from_iter_values(bills.iter().map(f));
    let lines = bills
        .iter()
        .map(|b| serde_json::to_string(&b.priced.lines))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| AnalyticsError::Shape(format!("line items: {e}")))?;
    let columns: Vec<arrow::array::ArrayRef> = vec![
        Arc::new(text(&|b| b.meter_id.clone())),
        Arc::new(text(&|_| period.to_string())),
        Arc::new(text(&|b| b.priced.plan.clone())),
        Arc::new(text(&plan_versions)),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                bills
                    .iter()
                    .map(|b| b.priced.period.start.timestamp_micros()),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(
                bills.iter().map(|b| b.priced.period.end.timestamp_micros()),
            )
            .with_timezone("UTC"),
        ),
        Arc::new(Int64Array::from_iter(bills.iter().map(|b| b.lake_version))),
        Arc::new(Int64Array::from_iter_values(
            bills
                .iter()
                .map(|b| i64::try_from(b.priced.intervals).unwrap_or(i64::MAX)),
        )),
        Arc::new(Int64Array::from_iter_values(bills.iter().map(|b| {
            i64::try_from(b.estimated_intervals).unwrap_or(i64::MAX)
        }))),
        Arc::new(decimals(bills, KWH_SCALE, 18, "estimated_kwh", |b| {
            b.estimated_kwh
        })?),
        Arc::new(decimals(bills, KWH_SCALE, 18, "billed_kwh", |b| {
            b.priced.billed_kwh
        })?),
        Arc::new(decimals(bills, KWH_SCALE, 18, "export_kwh", |b| {
            b.priced.export_kwh
        })?),
        Arc::new(decimals(bills, KWH_SCALE, 18, "ladder_start_kwh", |b| {
            b.priced.ladder_start_kwh
        })?),
        Arc::new(decimals(
            bills,
            UNROUNDED_SCALE,
            38,
            "unrounded_total",
            |b| b.priced.unrounded_total,
        )?),
        Arc::new(decimals(bills, 2, 18, "total", |b| b.priced.total)?),
        Arc::new(StringArray::from(lines)),
        Arc::new(StringArray::from_iter(bills.iter().map(|b| {
            (!b.priced.unverified.is_empty()).then(|| b.priced.unverified.join("; "))
        }))),
        Arc::new(StringArray::from_iter(bills.iter().map(|b| {
            let text = b.estimation.describe();
            (!text.is_empty()).then_some(text)
        }))),
    ];
    Ok(RecordBatch::try_new(bills_schema(), columns)?)
}

/// Bills as CSV, one line per bill (line items as JSON in the `lines` column).
pub fn bills_csv(bills: &[Bill], period: &str) -> Result<String, AnalyticsError> {
    let mut out = String::from(
        "meter_id,period,plan,plan_versions,lake_version,intervals,estimated_intervals,estimated_kwh,\
         billed_kwh,export_kwh,ladder_start_kwh,unrounded_total,total,lines,estimation\n",
    );
    for bill in bills {
        let lines = serde_json::to_string(&bill.priced.lines)
            .map_err(|e| AnalyticsError::Shape(format!("line items: {e}")))?;
        let cells = [
            bill.meter_id.clone(),
            period.to_string(),
            bill.priced.plan.clone(),
            plan_versions(bill),
            bill.lake_version.map(|v| v.to_string()).unwrap_or_default(),
            bill.priced.intervals.to_string(),
            bill.estimated_intervals.to_string(),
            bill.estimated_kwh.to_string(),
            bill.priced.billed_kwh.to_string(),
            bill.priced.export_kwh.to_string(),
            bill.priced.ladder_start_kwh.to_string(),
            bill.priced.unrounded_total.to_string(),
            bill.priced.total.to_string(),
            lines,
            bill.estimation.describe(),
        ];
        let row: Vec<String> = cells.iter().map(|c| field(c)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    Ok(out)
}

/// Bills as JSON lines, one whole bill (line items included) per line.
pub fn bills_json(bills: &[Bill]) -> Result<String, AnalyticsError> {
    let mut out = String::new();
    for bill in bills {
        out.push_str(
            &serde_json::to_string(bill)
                .map_err(|e| AnalyticsError::Shape(format!("bill json: {e}")))?,
        );
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_every_digit_or_refuse() {
        assert_eq!(
            mantissa(Decimal::new(12345, 2), 6, "x").unwrap(),
            123_450_000
        );
        assert!(mantissa(Decimal::new(1, 7), 6, "x").is_err());
        assert_eq!(field("a,b"), "\"a,b\"");
    }
}
