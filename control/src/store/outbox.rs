//! The `outbox`: messages written in the same transaction as the state change that causes them, and
//! produced to Kafka by the relay worker.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{self, Param};
use super::{instant, micros, Conn};
use crate::ControlError;

/// A new message id that sorts in creation order within this process (micros, then a counter), so
/// messages written in one instant leave in the order they were written.
pub fn new_id(at: DateTime<Utc>) -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "{:020}-{n:012}-{}",
        at.timestamp_micros().max(0),
        std::process::id()
    )
}

/// A message waiting to be produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Unique id.
    pub id: String,
    /// Kafka topic.
    pub topic: String,
    /// Kafka key.
    pub key: String,
    /// Value (JSON).
    pub payload: String,
    /// The command it carries, if any.
    pub command_id: Option<String>,
    /// After this instant the message is useless (the command's deadline).
    pub deadline: DateTime<Utc>,
    /// Written.
    pub created_at: DateTime<Utc>,
    /// Next try.
    pub next_attempt_at: DateTime<Utc>,
    /// Failed tries so far.
    pub attempts: u32,
    /// The last failure.
    pub last_error: Option<String>,
}

const COLUMNS: &str =
    "id, topic, message_key, payload, command_id, deadline, created_at, next_attempt_at, attempts, last_error";

fn from_row(row: &AnyRow) -> Result<OutboxMessage, ControlError> {
    let attempts: i64 = row.try_get("attempts")?;
    Ok(OutboxMessage {
        id: row.try_get("id")?,
        topic: row.try_get("topic")?,
        key: row.try_get("message_key")?,
        payload: row.try_get("payload")?,
        command_id: row.try_get("command_id")?,
        deadline: instant(row.try_get("deadline")?)?,
        created_at: instant(row.try_get("created_at")?)?,
        next_attempt_at: instant(row.try_get("next_attempt_at")?)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        last_error: row.try_get("last_error")?,
    })
}

/// Adds a message.
pub async fn insert(conn: &mut Conn, m: &OutboxMessage) -> Result<(), ControlError> {
    let statement =
        format!("INSERT INTO outbox ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)");
    let params: [Param; 10] = [
        (&m.id).into(),
        (&m.topic).into(),
        (&m.key).into(),
        (&m.payload).into(),
        m.command_id.as_deref().into(),
        micros(m.deadline).into(),
        micros(m.created_at).into(),
        micros(m.next_attempt_at).into(),
        i64::from(m.attempts).into(),
        m.last_error.as_deref().into(),
    ];
    sql::execute(conn, &statement, &params).await?;
    Ok(())
}

/// Messages due at `now`, oldest first.
pub async fn due(
    conn: &mut Conn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<OutboxMessage>, ControlError> {
    let statement = format!(
        "SELECT {COLUMNS} FROM outbox WHERE next_attempt_at <= $1 ORDER BY created_at, id LIMIT $2"
    );
    sql::rows(
        conn,
        &statement,
        &[micros(now).into(), limit.into()],
        from_row,
    )
    .await
}

/// Removes a produced (or abandoned) message; returns whether it was there.
pub async fn delete(conn: &mut Conn, id: &str) -> Result<bool, ControlError> {
    Ok(sql::execute(conn, "DELETE FROM outbox WHERE id = $1", &[id.into()]).await? == 1)
}

/// Removes every message of a command (it ended before they were produced).
pub async fn delete_for_command(conn: &mut Conn, command_id: &str) -> Result<u64, ControlError> {
    sql::execute(
        conn,
        "DELETE FROM outbox WHERE command_id = $1",
        &[command_id.into()],
    )
    .await
}

/// Records a failed try and when to try again.
pub async fn delay(
    conn: &mut Conn,
    id: &str,
    next_attempt_at: DateTime<Utc>,
    error: &str,
) -> Result<(), ControlError> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2 WHERE id = $3",
    )
    .bind(micros(next_attempt_at))
    .bind(error)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The oldest message Kafka has refused at least once, or that has been due since before
/// `overdue_before` without being produced (the relay is waiting on Kafka): (created at, last error).
pub async fn oldest_refused(
    conn: &mut Conn,
    overdue_before: DateTime<Utc>,
) -> Result<Option<(DateTime<Utc>, Option<String>)>, ControlError> {
    let statement = format!(
        "SELECT {COLUMNS} FROM outbox WHERE attempts > 0 OR next_attempt_at <= $1 \
         ORDER BY created_at, id LIMIT 1"
    );
    let rows = sql::rows(conn, &statement, &[micros(overdue_before).into()], from_row).await?;
    Ok(rows
        .into_iter()
        .next()
        .map(|m| (m.created_at, m.last_error)))
}

/// Messages waiting.
pub async fn count(conn: &mut Conn) -> Result<i64, ControlError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM outbox")
        .fetch_one(&mut *conn)
        .await?)
}
