//! The lake's `validated_intervals` table: one row per meter and interval, partitioned by local date,
//! with the raw (measured) value beside the validated one, what the rules flagged, how the value was
//! obtained, and who edited it and why (`docs/contracts.md` §8).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use super::ValidatedInterval;
use crate::interval_rules::INTERVAL_US;
use crate::AnalyticsError;

/// Name of the table below the lake root.
pub const VALIDATED_TABLE: &str = "validated_intervals";
/// Its partition column: the local date (`2026-10-01`).
pub const DATE_COLUMN: &str = "date";
/// Scale of its kWh columns (micro-kWh, the estimates' unit).
pub const KWH_SCALE: i8 = 6;

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Columns of the table.
pub fn validated_schema() -> SchemaRef {
    let kwh = DataType::Decimal128(18, KWH_SCALE);
    Arc::new(Schema::new(vec![
        Field::new("meter_id", DataType::Utf8, false),
        Field::new(DATE_COLUMN, DataType::Utf8, false),
        Field::new("slot", DataType::Int32, false),
        Field::new("interval_start", utc(), false),
        Field::new("interval_end", utc(), false),
        Field::new("raw_kwh", kwh.clone(), true),
        Field::new("kwh", kwh, true),
        Field::new("status", DataType::Utf8, false),
        Field::new("method", DataType::Utf8, false),
        Field::new("flags", DataType::Utf8, false),
        Field::new("edited_by", DataType::Utf8, true),
        Field::new("edit_reason", DataType::Utf8, true),
        Field::new("validated_at", utc(), false),
        Field::new("lake_version", DataType::Int64, true),
    ]))
}

/// One day's validated intervals of many meters (`(meter, intervals)`), as a batch of the table.
pub fn validated_batch(
    date: &str,
    meters: &[(String, Vec<ValidatedInterval>)],
    validated_at_us: i64,
    lake_version: Option<i64>,
) -> Result<RecordBatch, AnalyticsError> {
    let rows = || {
        meters
            .iter()
            .flat_map(|(m, v)| v.iter().map(move |i| (m, i)))
    };
    let count = rows().count();
    // Strings are collected first: a flattened iterator has no exact length for the builders.
    let text = |values: Vec<&str>| -> ArrayRef { Arc::new(StringArray::from(values)) };
    let flags: Vec<String> = rows().map(|(_, i)| i.flags.names()).collect();
    let stamp =
        |values: Vec<i64>| Arc::new(TimestampMicrosecondArray::from(values).with_timezone("UTC"));
    let kwh =
        |pick: &dyn Fn(&ValidatedInterval) -> Option<i64>| -> Result<ArrayRef, AnalyticsError> {
            let values: Decimal128Array = rows().map(|(_, i)| pick(i).map(i128::from)).collect();
            Ok(Arc::new(values.with_precision_and_scale(18, KWH_SCALE)?))
        };
    let columns: Vec<ArrayRef> = vec![
        text(rows().map(|(m, _)| m.as_str()).collect()),
        text(vec![date; count]),
        Arc::new(Int32Array::from_iter_values(rows().map(|(_, i)| i.slot))),
        stamp(rows().map(|(_, i)| i.start_us).collect()),
        stamp(rows().map(|(_, i)| i.start_us + INTERVAL_US).collect()),
        kwh(&|i| i.raw_e6)?,
        kwh(&|i| i.value_e6)?,
        text(rows().map(|(_, i)| i.status.name()).collect()),
        text(rows().map(|(_, i)| i.method.name()).collect()),
        text(flags.iter().map(String::as_str).collect()),
        Arc::new(StringArray::from(
            rows()
                .map(|(_, i)| i.edit.as_ref().map(|e| e.edited_by.as_str()))
                .collect::<Vec<_>>(),
        )),
        Arc::new(StringArray::from(
            rows()
                .map(|(_, i)| i.edit.as_ref().map(|e| e.reason.as_str()))
                .collect::<Vec<_>>(),
        )),
        stamp(vec![validated_at_us; count]),
        Arc::new(Int64Array::from(vec![lake_version; count])),
    ];
    Ok(RecordBatch::try_new(validated_schema(), columns)?)
}

/// The local dates of `from..=to` that `validated_intervals` (registered in `session`) has no rows
/// for: a bill over validated energy must not silently miss them.
pub async fn unvalidated_days(
    session: &crate::LakeSession,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<chrono::NaiveDate>, AnalyticsError> {
    let batches = session
        .query(&format!(
            "SELECT DISTINCT {DATE_COLUMN} FROM {VALIDATED_TABLE} \
             WHERE {DATE_COLUMN} >= '{from}' AND {DATE_COLUMN} <= '{to}'",
            from = from.format("%Y-%m-%d"),
            to = to.format("%Y-%m-%d")
        ))
        .await?;
    let mut present = std::collections::BTreeSet::new();
    for batch in &batches {
        let dates = crate::columns::strings(batch, 0)?;
        for row in 0..batch.num_rows() {
            if let Ok(date) = dates.value(row).parse::<chrono::NaiveDate>() {
                present.insert(date);
            }
        }
    }
    Ok(from
        .iter_days()
        .take_while(|d| *d <= to)
        .filter(|d| !present.contains(d))
        .collect())
}

/// One meter-day of `validated_intervals` (registered in `session`): its intervals in slot order —
/// only those the rules touched (not valid, or flagged) unless `all` — and its totals (intervals, raw
/// kWh, validated kWh).
pub async fn meter_day(
    session: &crate::LakeSession,
    meter: &str,
    date: chrono::NaiveDate,
    all: bool,
) -> Result<(Vec<RecordBatch>, Vec<RecordBatch>), AnalyticsError> {
    let meter = crate::billing::MeterSelection::One(meter).condition()?;
    let day = format!("{DATE_COLUMN} = '{}'{meter}", date.format("%Y-%m-%d"));
    let touched = if all {
        ""
    } else {
        " AND (status <> 'valid' OR flags <> '')"
    };
    let intervals = session
        .query(&format!(
            "SELECT slot, interval_start, raw_kwh, kwh, status, method, flags, edited_by, edit_reason \
             FROM {VALIDATED_TABLE} WHERE {day}{touched} ORDER BY slot"
        ))
        .await?;
    let totals = session
        .query(&format!(
            "SELECT count(*) AS intervals, sum(raw_kwh) AS raw_kwh, sum(kwh) AS validated_kwh \
             FROM {VALIDATED_TABLE} WHERE {day}"
        ))
        .await?;
    Ok((intervals, totals))
}

/// A meter's validated intervals carrying `flag`, by estimation method: intervals and validated kWh.
pub async fn flagged(
    session: &crate::LakeSession,
    meter: &str,
    flag: super::Flag,
) -> Result<Vec<RecordBatch>, AnalyticsError> {
    let meter = crate::billing::MeterSelection::One(meter).condition()?;
    session
        .query(&format!(
            "SELECT count(*) AS intervals, method, sum(kwh) AS kwh FROM {VALIDATED_TABLE} \
             WHERE flags LIKE '%{flag}%'{meter} GROUP BY method ORDER BY method",
            flag = flag.name()
        ))
        .await
}
