//! People's edits of interval values (`interval_edits`, migration 0005): append-only, newest wins.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{self, Param};
use super::{instant, micros, Conn};
use crate::ControlError;

/// One edit as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredEdit {
    /// Id.
    pub id: String,
    /// Meter.
    pub meter_id: String,
    /// The interval's start.
    pub interval_start: DateTime<Utc>,
    /// The value set, kWh.
    pub kwh: Decimal,
    /// Why.
    pub reason: String,
    /// Who.
    pub edited_by: String,
    /// When.
    pub edited_at: DateTime<Utc>,
}

impl StoredEdit {
    /// The edit as VEE applies it.
    pub fn to_vee(&self) -> analytics::vee::IntervalEdit {
        analytics::vee::IntervalEdit {
            meter_id: self.meter_id.clone(),
            interval_start_us: self.interval_start.timestamp_micros(),
            kwh: self.kwh,
            edited_by: self.edited_by.clone(),
            reason: self.reason.clone(),
            edited_at_us: self.edited_at.timestamp_micros(),
        }
    }
}

const COLUMNS: &str = "id, meter_id, interval_start, energy_e6, reason, edited_by, edited_at";

fn read(row: &AnyRow) -> Result<StoredEdit, ControlError> {
    Ok(StoredEdit {
        id: row.try_get("id")?,
        meter_id: row.try_get("meter_id")?,
        interval_start: instant(row.try_get("interval_start")?)?,
        kwh: Decimal::new(row.try_get("energy_e6")?, 6).normalize(),
        reason: row.try_get("reason")?,
        edited_by: row.try_get("edited_by")?,
        edited_at: instant(row.try_get("edited_at")?)?,
    })
}

/// Stores an edit whose value is `energy_e6` micro-kWh.
pub async fn insert(
    conn: &mut Conn,
    edit: &StoredEdit,
    energy_e6: i64,
) -> Result<(), ControlError> {
    sql::execute(
        conn,
        &format!("INSERT INTO interval_edits ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
        &[
            edit.id.as_str().into(),
            edit.meter_id.as_str().into(),
            micros(edit.interval_start).into(),
            energy_e6.into(),
            edit.reason.as_str().into(),
            edit.edited_by.as_str().into(),
            micros(edit.edited_at).into(),
        ],
    )
    .await?;
    Ok(())
}

/// Edits of intervals starting in [`from`, `to`), of one meter or all, oldest first.
pub async fn list(
    conn: &mut Conn,
    meter: Option<&str>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<StoredEdit>, ControlError> {
    let mut params: Vec<Param<'_>> = vec![micros(from).into(), micros(to).into()];
    let mut filter = String::new();
    if let Some(meter) = meter {
        params.push(meter.into());
        filter = " AND meter_id = $3".into();
    }
    sql::rows(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM interval_edits WHERE interval_start >= $1 AND interval_start < $2\
             {filter} ORDER BY interval_start, edited_at, id"
        ),
        &params,
        read,
    )
    .await
}
