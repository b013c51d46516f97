//! Meters' event records (`meter_events`, migration 0006): kept once per (meter, event, sequence).

use chrono::{DateTime, Utc};
use ingest::dlt645::MeterEvent;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{self, Param};
use super::{instant, micros, stored_enum, Conn};
use crate::ControlError;

/// One event occurrence as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredEvent {
    /// Meter.
    pub meter_id: String,
    /// The event.
    pub event: MeterEvent,
    /// The meter's count of this event at the occurrence (1 for the first ever).
    pub sequence: i64,
    /// When it happened.
    pub at: Option<DateTime<Utc>>,
    /// When it ended.
    pub end: Option<DateTime<Utc>>,
    /// The operator code (hex), for programming and clearing.
    pub operator: Option<String>,
    /// When the collector's reading of it reached the service.
    pub read_at: DateTime<Utc>,
}

const COLUMNS: &str = "meter_id, event, sequence, at_us, end_us, operator, read_at";

fn maybe(us: Option<i64>) -> Result<Option<DateTime<Utc>>, ControlError> {
    us.map(instant).transpose()
}

fn read(row: &AnyRow) -> Result<StoredEvent, ControlError> {
    let event: String = row.try_get("event")?;
    Ok(StoredEvent {
        meter_id: row.try_get("meter_id")?,
        event: stored_enum(&event, "meter event", MeterEvent::parse)?,
        sequence: row.try_get("sequence")?,
        at: maybe(row.try_get("at_us")?)?,
        end: maybe(row.try_get("end_us")?)?,
        operator: row.try_get("operator")?,
        read_at: instant(row.try_get("read_at")?)?,
    })
}

/// Keeps an occurrence; false if it was already kept.
pub async fn insert(conn: &mut Conn, event: &StoredEvent) -> Result<bool, ControlError> {
    let inserted = sql::execute(
        conn,
        &format!(
            "INSERT INTO meter_events ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (meter_id, event, sequence) DO NOTHING"
        ),
        &[
            event.meter_id.as_str().into(),
            event.event.name().into(),
            event.sequence.into(),
            event.at.map(micros).into(),
            event.end.map(micros).into(),
            event.operator.as_deref().into(),
            micros(event.read_at).into(),
        ],
    )
    .await?;
    Ok(inserted == 1)
}

/// Every occurrence that happened in [`from`, `to`), oldest first (for the lake export: no limit).
pub async fn between(
    conn: &mut Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StoredEvent>, ControlError> {
    sql::rows(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM meter_events WHERE at_us >= $1 AND at_us < $2 \
             ORDER BY at_us, meter_id, event, sequence"
        ),
        &[micros(from).into(), micros(to).into()],
        read,
    )
    .await
}

/// Occurrences that happened in [`from`, `to`), of one meter or all, oldest first, at most `limit`.
pub async fn list(
    conn: &mut Conn,
    meter: Option<&str>,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    limit: i64,
) -> Result<Vec<StoredEvent>, ControlError> {
    let mut params: Vec<Param<'_>> = vec![micros(from).into(), micros(to).into()];
    let mut filter = String::new();
    if let Some(meter) = meter {
        params.push(meter.into());
        filter = format!(" AND meter_id = ${}", params.len());
    }
    params.push(limit.clamp(1, 100_000).into());
    sql::rows(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM meter_events WHERE at_us >= $1 AND at_us < $2{filter} \
             ORDER BY at_us, meter_id, event, sequence LIMIT ${}",
            params.len()
        ),
        &params,
        read,
    )
    .await
}
