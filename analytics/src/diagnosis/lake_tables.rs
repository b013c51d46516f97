//! Alarms and meter event records as lake tables (`alarms`, `meter_events`), partitioned by the local
//! date they were raised or happened, so that analysts and models join them with the readings. The
//! control service keeps the live records and exports a day at a time (`docs/contracts.md`); a day
//! exported again is replaced.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use store::{DerivedTable, LakeLocation};

use crate::AnalyticsError;

/// The alarms table below the lake root.
pub const ALARMS_TABLE: &str = "alarms";
/// The meter events table below the lake root.
pub const EVENTS_TABLE: &str = "meter_events";
/// The partition column of both: the local date (`2026-10-01`).
pub const DATE_COLUMN: &str = "date";

/// One alarm as the lake keeps it (instants UTC µs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlarmRow {
    /// Alarm id.
    pub id: String,
    /// Meter.
    pub meter_id: String,
    /// Transformer area.
    pub area_id: Option<String>,
    /// Bus.
    pub bus_id: Option<String>,
    /// Rule or kind name.
    pub kind: String,
    /// `info`, `warning` or `critical`.
    pub severity: String,
    /// Lifecycle state when exported.
    pub state: String,
    /// What was seen.
    pub detail: String,
    /// The readings behind it (JSON).
    pub evidence: Option<String>,
    /// First reading of the condition.
    pub since_us: i64,
    /// Raised.
    pub raised_us: i64,
    /// Acknowledged by.
    pub acknowledged_by: Option<String>,
    /// Acknowledged.
    pub acknowledged_us: Option<i64>,
    /// Cleared by.
    pub cleared_by: Option<String>,
    /// Cleared.
    pub cleared_us: Option<i64>,
}

/// One event occurrence as the lake keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventRow {
    /// Meter.
    pub meter_id: String,
    /// Event name (`cover_open`, `power_down`, …).
    pub event: String,
    /// The meter's count of the event at this occurrence.
    pub sequence: i64,
    /// When it happened.
    pub at_us: i64,
    /// When it ended.
    pub end_us: Option<i64>,
    /// Operator code (hex).
    pub operator: Option<String>,
}

fn utc() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// Columns of the alarms table.
pub fn alarms_schema() -> SchemaRef {
    let text = |name: &str, nullable| Field::new(name, DataType::Utf8, nullable);
    Arc::new(Schema::new(vec![
        text("id", false),
        text("meter_id", false),
        text("area_id", true),
        text("bus_id", true),
        text("kind", false),
        text("severity", false),
        text("state", false),
        text("detail", false),
        text("evidence", true),
        Field::new("since_at", utc(), false),
        Field::new("raised_at", utc(), false),
        text("acknowledged_by", true),
        Field::new("acknowledged_at", utc(), true),
        text("cleared_by", true),
        Field::new("cleared_at", utc(), true),
        text(DATE_COLUMN, false),
    ]))
}

/// Columns of the meter events table.
pub fn events_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("meter_id", DataType::Utf8, false),
        Field::new("event", DataType::Utf8, false),
        Field::new("sequence", DataType::Int64, false),
        Field::new("at", utc(), false),
        Field::new("end_at", utc(), true),
        Field::new("operator", DataType::Utf8, true),
        Field::new(DATE_COLUMN, DataType::Utf8, false),
    ]))
}

fn stamps(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from_iter(values).with_timezone("UTC"))
}

fn texts<'a>(values: impl Iterator<Item = Option<&'a str>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(values))
}

/// The alarms of local date `date` as a batch of the alarms table.
pub fn alarms_batch(date: &str, rows: &[AlarmRow]) -> Result<RecordBatch, AnalyticsError> {
    let columns: Vec<ArrayRef> = vec![
        texts(rows.iter().map(|r| Some(r.id.as_str()))),
        texts(rows.iter().map(|r| Some(r.meter_id.as_str()))),
        texts(rows.iter().map(|r| r.area_id.as_deref())),
        texts(rows.iter().map(|r| r.bus_id.as_deref())),
        texts(rows.iter().map(|r| Some(r.kind.as_str()))),
        texts(rows.iter().map(|r| Some(r.severity.as_str()))),
        texts(rows.iter().map(|r| Some(r.state.as_str()))),
        texts(rows.iter().map(|r| Some(r.detail.as_str()))),
        texts(rows.iter().map(|r| r.evidence.as_deref())),
        stamps(rows.iter().map(|r| Some(r.since_us))),
        stamps(rows.iter().map(|r| Some(r.raised_us))),
        texts(rows.iter().map(|r| r.acknowledged_by.as_deref())),
        stamps(rows.iter().map(|r| r.acknowledged_us)),
        texts(rows.iter().map(|r| r.cleared_by.as_deref())),
        stamps(rows.iter().map(|r| r.cleared_us)),
        texts(rows.iter().map(|_| Some(date))),
    ];
    Ok(RecordBatch::try_new(alarms_schema(), columns)?)
}

/// The events of local date `date` as a batch of the meter events table.
pub fn events_batch(date: &str, rows: &[EventRow]) -> Result<RecordBatch, AnalyticsError> {
    let columns: Vec<ArrayRef> = vec![
        texts(rows.iter().map(|r| Some(r.meter_id.as_str()))),
        texts(rows.iter().map(|r| Some(r.event.as_str()))),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.sequence),
        )),
        stamps(rows.iter().map(|r| Some(r.at_us))),
        stamps(rows.iter().map(|r| r.end_us)),
        texts(rows.iter().map(|r| r.operator.as_deref())),
        texts(rows.iter().map(|_| Some(date))),
    ];
    Ok(RecordBatch::try_new(events_schema(), columns)?)
}

/// Replaces local date `date` of `table` below `location` with `batch`; returns the table version.
pub async fn replace_day(
    location: &LakeLocation,
    table: &str,
    date: &str,
    batch: RecordBatch,
) -> Result<i64, AnalyticsError> {
    let mut derived = DerivedTable::open(location, table, DATE_COLUMN).await?;
    Ok(derived.replace_partition(batch, date).await?)
}
