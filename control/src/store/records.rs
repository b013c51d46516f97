//! Smaller tables: keep-power exemptions, account events (why the service changed an account), notices
//! for customers, alarms for staff, and the service's own state.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql;
use super::{instant, maybe_instant, micros, stored_enum, Conn};
use crate::ControlError;

/// Why an account must not be tripped (保电).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionKind {
    /// Life-sustaining medical equipment at home.
    Medical,
    /// A critical customer (hospital, water works, emergency services).
    Critical,
    /// Any other reason an operator records.
    Other,
}

impl ExemptionKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Medical => "medical",
            Self::Critical => "critical",
            Self::Other => "other",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Medical, Self::Critical, Self::Other]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// A keep-power exemption.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Exemption {
    /// Id.
    pub id: String,
    /// Meter.
    pub meter_id: String,
    /// Kind.
    pub kind: ExemptionKind,
    /// Reason, as recorded.
    pub reason: String,
    /// From.
    pub starts_at: DateTime<Utc>,
    /// Until (exclusive).
    pub ends_at: DateTime<Utc>,
    /// Who recorded it.
    pub created_by: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When it was ended early, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Exemption {
    /// Whether it protects the account at `at`.
    pub fn active_at(&self, at: DateTime<Utc>) -> bool {
        self.starts_at <= at && at < self.ends_at && self.revoked_at.is_none_or(|r| at < r)
    }
}

fn exemption(row: &AnyRow) -> Result<Exemption, ControlError> {
    Ok(Exemption {
        id: row.try_get("id")?,
        meter_id: row.try_get("meter_id")?,
        kind: stored_enum(
            &row.try_get::<String, _>("kind")?,
            "exemption kind",
            ExemptionKind::parse,
        )?,
        reason: row.try_get("reason")?,
        starts_at: instant(row.try_get("starts_at")?)?,
        ends_at: instant(row.try_get("ends_at")?)?,
        created_by: row.try_get("created_by")?,
        created_at: instant(row.try_get("created_at")?)?,
        revoked_at: maybe_instant(row.try_get("revoked_at")?)?,
    })
}

/// Records an exemption.
pub async fn insert_exemption(conn: &mut Conn, e: &Exemption) -> Result<(), ControlError> {
    sqlx::query(
        "INSERT INTO exemptions (id, meter_id, kind, reason, starts_at, ends_at, created_by, created_at, \
         revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&e.id)
    .bind(&e.meter_id)
    .bind(e.kind.as_str())
    .bind(&e.reason)
    .bind(micros(e.starts_at))
    .bind(micros(e.ends_at))
    .bind(&e.created_by)
    .bind(micros(e.created_at))
    .bind(e.revoked_at.map(micros))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A meter's exemptions, newest first.
pub async fn exemptions(conn: &mut Conn, meter_id: &str) -> Result<Vec<Exemption>, ControlError> {
    let statement =
        "SELECT id, meter_id, kind, reason, starts_at, ends_at, created_by, created_at, \
                     revoked_at FROM exemptions WHERE meter_id = $1 ORDER BY created_at DESC, id";
    sql::rows(conn, statement, &[meter_id.into()], exemption).await
}

/// Ends an exemption early; returns whether it existed and was not already revoked.
pub async fn revoke_exemption(
    conn: &mut Conn,
    meter_id: &str,
    id: &str,
    at: DateTime<Utc>,
) -> Result<bool, ControlError> {
    Ok(sqlx::query(
        "UPDATE exemptions SET revoked_at = $1 WHERE id = $2 AND meter_id = $3 AND revoked_at IS NULL",
    )
    .bind(micros(at))
    .bind(id)
    .bind(meter_id)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        == 1)
}

/// Meters whose exemption ended in `(since, until]` (their deferred trips are due again).
pub async fn exemptions_ended(
    conn: &mut Conn,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<String>, ControlError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT meter_id FROM exemptions WHERE (ends_at > $1 AND ends_at <= $2) \
         OR (revoked_at > $1 AND revoked_at <= $2) ORDER BY meter_id",
    )
    .bind(micros(since))
    .bind(micros(until))
    .fetch_all(&mut *conn)
    .await?)
}

/// Adds a row to one of the simple event tables: `account_events` (kind, detail), `notices` (kind,
/// body) or `alarms` (kind, detail, command).
pub async fn insert_account_event(
    conn: &mut Conn,
    meter_id: &str,
    kind: &str,
    detail: &str,
    at: DateTime<Utc>,
) -> Result<(), ControlError> {
    sqlx::query(
        "INSERT INTO account_events (id, meter_id, kind, detail, at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(meter_id)
    .bind(kind)
    .bind(detail)
    .bind(micros(at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A notice for a customer: what they were told (the deliveries carry it to them).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Notice {
    /// Id.
    pub id: String,
    /// Meter.
    pub meter_id: String,
    /// Kind (`balance_alarm1`, `pre_trip_warning`, `trip_done`, `close_allowed`, `payment_received`, …).
    pub kind: String,
    /// Text (in Chinese; the deliveries word it in each recipient's language).
    pub body: String,
    /// The facts it was worded from (JSON), for notices written since migration 0008.
    #[serde(skip)]
    pub data: Option<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// Records a notice.
pub async fn insert_notice(conn: &mut Conn, notice: &Notice) -> Result<(), ControlError> {
    sql::execute(
        conn,
        "INSERT INTO notices (id, meter_id, kind, body, data, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            (&notice.id).into(),
            (&notice.meter_id).into(),
            (&notice.kind).into(),
            (&notice.body).into(),
            notice.data.as_deref().into(),
            micros(notice.created_at).into(),
        ],
    )
    .await?;
    Ok(())
}

/// A meter's notices, newest first.
pub async fn notices(conn: &mut Conn, meter_id: &str) -> Result<Vec<Notice>, ControlError> {
    let statement =
        "SELECT id, meter_id, kind, body, data, created_at FROM notices WHERE meter_id = $1 \
                     ORDER BY created_at DESC, id";
    sql::rows(conn, statement, &[meter_id.into()], |row| {
        Ok(Notice {
            id: row.try_get("id")?,
            meter_id: row.try_get("meter_id")?,
            kind: row.try_get("kind")?,
            body: row.try_get("body")?,
            data: row.try_get("data")?,
            created_at: instant(row.try_get("created_at")?)?,
        })
    })
    .await
}

/// Whether a notice of `kind` went to the meter's customer since its last payment (a threshold is
/// crossed once per payment).
pub async fn noticed_since_payment(
    conn: &mut Conn,
    meter_id: &str,
    kind: &str,
) -> Result<bool, ControlError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notices WHERE meter_id = $1 AND kind = $2 AND created_at >= \
         COALESCE((SELECT max(at) FROM ledger WHERE meter_id = $1 AND kind = 'payment'), 0)",
    )
    .bind(meter_id)
    .bind(kind)
    .fetch_one(&mut *conn)
    .await?;
    Ok(count > 0)
}

/// A value the service keeps about itself (e.g. the last billed lake version).
pub async fn state_value(conn: &mut Conn, name: &str) -> Result<Option<String>, ControlError> {
    Ok(
        sqlx::query_scalar("SELECT value FROM service_state WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Sets a service value.
pub async fn set_state_value(conn: &mut Conn, name: &str, value: &str) -> Result<(), ControlError> {
    sqlx::query(
        "INSERT INTO service_state (name, value) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(value)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
