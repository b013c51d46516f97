//! The audit trail's table and its head row. An append locks the head (so appends are serialised on
//! PostgreSQL as on SQLite), inserts the sealed record and moves the head, inside the caller's
//! transaction: the record commits or rolls back with the action it describes.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql;
use super::{instant, micros, stored_enum, Conn};
use crate::domain::audit::{AuditAction, AuditEntry, AuditRecord, Outcome};
use crate::ControlError;

const COLUMNS: &str =
    "seq, at, actor, action, object, before_value, after_value, origin, outcome, \
                       prev_hash, hash, key_id, mac";

fn from_row(row: &AnyRow) -> Result<AuditRecord, ControlError> {
    let outcome: String = row.try_get("outcome")?;
    let action: String = row.try_get("action")?;
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        at: instant(row.try_get("at")?)?,
        entry: AuditEntry {
            actor: row.try_get("actor")?,
            action: stored_enum(&action, "audit action", AuditAction::parse)?,
            object: row.try_get("object")?,
            before: row.try_get("before_value")?,
            after: row.try_get("after_value")?,
            origin: row.try_get("origin")?,
            outcome: stored_enum(&outcome, "audit outcome", Outcome::parse)?,
        },
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
        key_id: row.try_get("key_id")?,
        mac: row.try_get("mac")?,
    })
}

/// Locks the chain's head until the transaction ends; returns (last seq, last hash).
pub async fn lock_head(conn: &mut Conn) -> Result<(i64, String), ControlError> {
    sql::row(
        conn,
        "UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash",
        &[],
        |row| Ok((row.try_get("seq")?, row.try_get("hash")?)),
    )
    .await?
    .ok_or_else(|| ControlError::Corrupt("the audit head row is missing".into()))
}

/// The chain's head without locking it.
pub async fn head(conn: &mut Conn) -> Result<(i64, String), ControlError> {
    sql::row(
        conn,
        "SELECT seq, hash FROM audit_head WHERE id = 1",
        &[],
        |row| Ok((row.try_get("seq")?, row.try_get("hash")?)),
    )
    .await?
    .ok_or_else(|| ControlError::Corrupt("the audit head row is missing".into()))
}

/// Inserts a sealed record and moves the head to it.
pub async fn append(conn: &mut Conn, record: &AuditRecord) -> Result<(), ControlError> {
    let statement = format!(
        "INSERT INTO audit ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    );
    let e = &record.entry;
    let params = [
        record.seq.into(),
        micros(record.at).into(),
        (&e.actor).into(),
        e.action.as_str().into(),
        (&e.object).into(),
        e.before.as_deref().into(),
        e.after.as_deref().into(),
        (&e.origin).into(),
        e.outcome.as_str().into(),
        (&record.prev_hash).into(),
        (&record.hash).into(),
        (&record.key_id).into(),
        (&record.mac).into(),
    ];
    sql::execute(conn, &statement, &params).await?;
    sql::execute(
        conn,
        "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1",
        &[record.seq.into(), (&record.hash).into()],
    )
    .await?;
    Ok(())
}

/// Records after `after_seq` in chain order, at most `limit`.
pub async fn after(
    conn: &mut Conn,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>, ControlError> {
    let statement = format!("SELECT {COLUMNS} FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2");
    sql::rows(
        conn,
        &statement,
        &[after_seq.into(), limit.into()],
        from_row,
    )
    .await
}

/// Records at instants in [`from`, `to`), in chain order, after `after_seq`, at most `limit`.
pub async fn between(
    conn: &mut Conn,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditRecord>, ControlError> {
    let statement = format!(
        "SELECT {COLUMNS} FROM audit WHERE at >= $1 AND at < $2 AND seq > $3 ORDER BY seq LIMIT $4"
    );
    sql::rows(
        conn,
        &statement,
        &[
            micros(from).into(),
            micros(to).into(),
            after_seq.into(),
            limit.into(),
        ],
        from_row,
    )
    .await
}

/// How many records with `action` there are since `since` (for alarms on suspicious patterns).
pub async fn count_since(
    conn: &mut Conn,
    action: AuditAction,
    since: DateTime<Utc>,
) -> Result<i64, ControlError> {
    sql::row(
        conn,
        "SELECT count(*) AS n FROM audit WHERE action = $1 AND at >= $2",
        &[action.as_str().into(), micros(since).into()],
        |row| Ok(row.try_get::<i64, _>("n")?),
    )
    .await
    .map(Option::unwrap_or_default)
}
