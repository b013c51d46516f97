//! Alarms about people and the service rather than a meter: many failed logins, a burst of trips, a
//! refund attempted above the cashier limit.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql;
use super::{instant, maybe_instant, micros, stored_enum, Conn};
use crate::domain::security_alarm::SecurityAlarmKind;
use crate::ControlError;

/// A security alarm.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecurityAlarm {
    /// Id.
    pub id: String,
    /// What it is about (`user:alice`, `fleet`).
    pub subject: String,
    /// Kind.
    pub kind: SecurityAlarmKind,
    /// What was seen.
    pub detail: String,
    /// When.
    pub raised_at: DateTime<Utc>,
    /// Cleared then.
    pub cleared_at: Option<DateTime<Utc>>,
    /// By whom.
    pub cleared_by: Option<String>,
    /// Why.
    pub clear_note: Option<String>,
}

const COLUMNS: &str = "id, subject, kind, detail, raised_at, cleared_at, cleared_by, clear_note";

fn from_row(row: &AnyRow) -> Result<SecurityAlarm, ControlError> {
    let kind: String = row.try_get("kind")?;
    Ok(SecurityAlarm {
        id: row.try_get("id")?,
        subject: row.try_get("subject")?,
        kind: stored_enum(&kind, "security alarm kind", SecurityAlarmKind::parse)?,
        detail: row.try_get("detail")?,
        raised_at: instant(row.try_get("raised_at")?)?,
        cleared_at: maybe_instant(row.try_get("cleared_at")?)?,
        cleared_by: row.try_get("cleared_by")?,
        clear_note: row.try_get("clear_note")?,
    })
}

/// Raises one.
pub async fn insert(
    conn: &mut Conn,
    subject: &str,
    kind: SecurityAlarmKind,
    detail: String,
    now: DateTime<Utc>,
) -> Result<(), ControlError> {
    let kind = kind.as_str();
    tracing::warn!(subject, kind, %detail, "security alarm raised");
    metrics::counter!("meterlake_control_security_alarms_total", "kind" => kind).increment(1);
    sql::execute(
        conn,
        "INSERT INTO security_alarms (id, subject, kind, detail, raised_at) VALUES ($1, $2, $3, $4, $5)",
        &[
            uuid::Uuid::new_v4().to_string().as_str().into(),
            subject.into(),
            kind.into(),
            detail.as_str().into(),
            micros(now).into(),
        ],
    )
    .await?;
    Ok(())
}

/// Open ones, newest first, at most `limit`.
pub async fn open(conn: &mut Conn, limit: i64) -> Result<Vec<SecurityAlarm>, ControlError> {
    let statement = format!(
        "SELECT {COLUMNS} FROM security_alarms WHERE cleared_at IS NULL \
         ORDER BY raised_at DESC, id LIMIT $1"
    );
    sql::rows(conn, &statement, &[limit.into()], from_row).await
}

/// One by id.
pub async fn get(conn: &mut Conn, id: &str) -> Result<Option<SecurityAlarm>, ControlError> {
    let statement = format!("SELECT {COLUMNS} FROM security_alarms WHERE id = $1");
    sql::row(conn, &statement, &[id.into()], from_row).await
}

/// Clears an open one; false when it is not open (unknown, or cleared already).
pub async fn clear(
    conn: &mut Conn,
    id: &str,
    by: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<bool, ControlError> {
    let done = sql::execute(
        conn,
        "UPDATE security_alarms SET cleared_at = $1, cleared_by = $2, clear_note = $3 \
         WHERE id = $4 AND cleared_at IS NULL",
        &[micros(now).into(), by.into(), note.into(), id.into()],
    )
    .await?;
    Ok(done == 1)
}
