//! Codes asked for by customers registering themselves: rationing counts, a try counted atomically
//! before the code is compared, and the use recorded in the transaction that makes the login.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql;
use super::{instant, maybe_instant, micros, Conn};
use crate::ControlError;

/// One code asked for.
#[derive(Clone, PartialEq, Eq)]
pub struct Registration {
    /// Id (random; carried by the code form).
    pub id: String,
    /// The meter.
    pub meter_id: String,
    /// The keyed hash of the phone typed.
    pub phone_hash: String,
    /// The key the code's MAC is under, and the MAC (`None`: nothing was sent, no code passes).
    pub code_mac: Option<(String, String)>,
    /// Tries at the code so far.
    pub tries: i64,
    /// The network address that asked.
    pub origin: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When a login was made with it.
    pub used_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("id", &self.id)
            .field("meter_id", &self.meter_id)
            .field("code_mac", &self.code_mac.as_ref().map(|_| "<redacted>"))
            .field("tries", &self.tries)
            .field("created_at", &self.created_at)
            .field("used_at", &self.used_at)
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str =
    "id, meter_id, phone_hash, code_key, code_mac, tries, origin, created_at, used_at";

fn from_row(row: &AnyRow) -> Result<Registration, ControlError> {
    let key: Option<String> = row.try_get("code_key")?;
    let mac: Option<String> = row.try_get("code_mac")?;
    Ok(Registration {
        id: row.try_get("id")?,
        meter_id: row.try_get("meter_id")?,
        phone_hash: row.try_get("phone_hash")?,
        code_mac: key.zip(mac),
        tries: row.try_get("tries")?,
        origin: row.try_get("origin")?,
        created_at: instant(row.try_get("created_at")?)?,
        used_at: maybe_instant(row.try_get("used_at")?)?,
    })
}

/// Records one.
pub async fn insert(conn: &mut Conn, r: &Registration) -> Result<(), ControlError> {
    let (key, mac) = match &r.code_mac {
        Some((key, mac)) => (Some(key.as_str()), Some(mac.as_str())),
        None => (None, None),
    };
    sql::execute(
        conn,
        &format!(
            "INSERT INTO registrations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ),
        &[
            r.id.as_str().into(),
            r.meter_id.as_str().into(),
            r.phone_hash.as_str().into(),
            key.into(),
            mac.into(),
            r.tries.into(),
            r.origin.as_str().into(),
            micros(r.created_at).into(),
            r.used_at.map(micros).into(),
        ],
    )
    .await?;
    Ok(())
}

/// Codes asked for `meter_id` since `since`: for it with `phone_hash`, when the newest of those was, and
/// for it with any phone.
pub async fn for_meter_since(
    conn: &mut Conn,
    meter_id: &str,
    phone_hash: &str,
    since: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>, i64), ControlError> {
    let found = sql::row(
        conn,
        "SELECT COALESCE(SUM(CASE WHEN phone_hash = $2 THEN 1 ELSE 0 END), 0) AS pair, \
         MAX(CASE WHEN phone_hash = $2 THEN created_at END) AS newest, COUNT(*) AS n \
         FROM registrations WHERE meter_id = $1 AND created_at >= $3",
        &[meter_id.into(), phone_hash.into(), micros(since).into()],
        |row| {
            let pair: i64 = row.try_get("pair")?;
            let newest: Option<i64> = row.try_get("newest")?;
            let n: i64 = row.try_get("n")?;
            Ok((pair, maybe_instant(newest)?, n))
        },
    )
    .await?;
    Ok(found.unwrap_or((0, None, 0)))
}

/// Deletes the attempts asked for before `before` (their limits and codes are long past).
pub async fn forget_before(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64, ControlError> {
    sql::execute(
        conn,
        "DELETE FROM registrations WHERE created_at < $1",
        &[micros(before).into()],
    )
    .await
}

/// Codes asked from `origin` since `since`.
pub async fn from_origin_since(
    conn: &mut Conn,
    origin: &str,
    since: DateTime<Utc>,
) -> Result<i64, ControlError> {
    let found = sql::row(
        conn,
        "SELECT COUNT(*) AS n FROM registrations WHERE origin = $1 AND created_at >= $2",
        &[origin.into(), micros(since).into()],
        |row| Ok(row.try_get::<i64, _>("n")?),
    )
    .await?;
    Ok(found.unwrap_or(0))
}

/// Counts a try at `id` and returns the attempt as it is after it (`None`: no such attempt).
pub async fn count_try(conn: &mut Conn, id: &str) -> Result<Option<Registration>, ControlError> {
    let statement =
        format!("UPDATE registrations SET tries = tries + 1 WHERE id = $1 RETURNING {COLUMNS}");
    sql::row(conn, &statement, &[id.into()], from_row).await
}

/// Marks `id` used by `username`; false when it was used already (by a concurrent try).
pub async fn mark_used(
    conn: &mut Conn,
    id: &str,
    username: &str,
    now: DateTime<Utc>,
) -> Result<bool, ControlError> {
    let done = sql::execute(
        conn,
        "UPDATE registrations SET used_at = $1, username = $2 WHERE id = $3 AND used_at IS NULL",
        &[micros(now).into(), username.into(), id.into()],
    )
    .await?;
    Ok(done == 1)
}
