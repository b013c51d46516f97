//! The partition column: the utility's local date of each row's collection boundary.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Date32Array, RecordBatch, TimestampMicrosecondArray};
use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;

use crate::schema::{col, reading_schema, wire_schema};
use crate::StoreError;

/// Parses a time-zone name such as `Asia/Shanghai`.
pub fn parse_zone(name: &str) -> Result<Tz, StoreError> {
    name.parse::<Tz>()
        .map_err(|_| StoreError::TimeZone(name.to_string()))
}

/// Days since 1970-01-01 of the local date of a UTC microsecond timestamp.
pub fn local_date_days(micros: i64, zone: Tz) -> Option<i32> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let local = DateTime::from_timestamp_micros(micros)?.with_timezone(&zone);
    i32::try_from((local.date_naive() - epoch).num_days()).ok()
}

/// Turns a batch with the wire schema into a batch with the lake schema by appending `date`.
pub fn with_partition_date(batch: &RecordBatch, zone: Tz) -> Result<RecordBatch, StoreError> {
    let expected = wire_schema();
    if batch.schema().fields() != expected.fields() {
        return Err(StoreError::Schema(format!(
            "expected {} wire columns, got {:?}",
            expected.fields().len(),
            batch
                .schema()
                .fields()
                .iter()
                .map(|f| format!("{}:{}", f.name(), f.data_type()))
                .collect::<Vec<_>>()
        )));
    }
    let boundary = batch
        .column_by_name(col::BOUNDARY_TS)
        .and_then(|c| c.as_any().downcast_ref::<TimestampMicrosecondArray>())
        .ok_or_else(|| StoreError::Schema("boundary_ts is not a microsecond timestamp".into()))?;
    let mut dates = Vec::with_capacity(boundary.len());
    for i in 0..boundary.len() {
        if boundary.is_null(i) {
            return Err(StoreError::Schema(format!("row {i}: boundary_ts is null")));
        }
        let days = local_date_days(boundary.value(i), zone)
            .ok_or_else(|| StoreError::Schema(format!("row {i}: boundary_ts out of range")))?;
        dates.push(days);
    }
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    columns.push(Arc::new(Date32Array::from(dates)));
    Ok(RecordBatch::try_new(reading_schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shanghai_local_date_differs_from_utc_date_after_16h_utc() {
        let zone = parse_zone("Asia/Shanghai").unwrap();
        // 2026-11-23T16:00:00Z is 2026-11-24 00:00 in Shanghai.
        let micros = DateTime::parse_from_rfc3339("2026-11-23T16:00:00Z")
            .unwrap()
            .timestamp_micros();
        let expected = (NaiveDate::from_ymd_opt(2026, 11, 24).unwrap()
            - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap())
        .num_days() as i32;
        assert_eq!(local_date_days(micros, zone), Some(expected));
        assert_eq!(local_date_days(micros - 1, zone), Some(expected - 1));
        assert!(parse_zone("Mars/Olympus").is_err());
    }
}
