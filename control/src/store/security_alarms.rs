//! Alarms about people and the service rather than a meter: many failed logins, a burst of trips, a
//! refund attempted above the cashier limit.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::sql;
use super::{instant, maybe_instant, micros, Conn};
use crate::ControlError;

/// A security alarm.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecurityAlarm {
    /// Id.
    pub id: String,
    /// What it is about (`user:alice`, `fleet`).
    pub subject: String,
    /// Kind (`failed_logins`, `trip_burst`, `refund_above_limit`).
    pub kind: String,
    /// What was seen.
    pub detail: String,
    /// When.
    pub raised_at: DateTime<Utc>,
    /// Cleared then.
    pub cleared_at: Option<DateTime<Utc>>,
}

/// Raises one.
pub async fn insert(
    conn: &mut Conn,
    subject: &str,
    kind: &str,
    detail: String,
    now: DateTime<Utc>,
) -> Result<(), ControlError> {
    tracing::warn!(subject, kind, %detail, "security alarm raised");
    metrics::counter!("meterlake_control_security_alarms_total", "kind" => kind.to_string())
        .increment(1);
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
    sql::rows(
        conn,
        "SELECT id, subject, kind, detail, raised_at, cleared_at FROM security_alarms \
         WHERE cleared_at IS NULL ORDER BY raised_at DESC, id LIMIT $1",
        &[limit.into()],
        |row| {
            Ok(SecurityAlarm {
                id: row.try_get("id")?,
                subject: row.try_get("subject")?,
                kind: row.try_get("kind")?,
                detail: row.try_get("detail")?,
                raised_at: instant(row.try_get("raised_at")?)?,
                cleared_at: maybe_instant(row.try_get("cleared_at")?)?,
            })
        },
    )
    .await
}
