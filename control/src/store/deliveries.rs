//! `deliveries` and `notification_prefs` (migration 0008): the notifications' outbox, one row per
//! channel and recipient, and each customer's choice of channels and language.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql::{self, Param};
use super::{instant, maybe_instant, micros, stored_enum, Conn};
use crate::domain::notice::{Language, NoticeKind};
use crate::ControlError;

/// How a notification travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// An HMAC-signed HTTP POST to the SMS / app-push provider.
    Webhook,
    /// E-mail over SMTP.
    Email,
}

impl Channel {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Email => "email",
        }
    }

    /// The channel of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Webhook, Self::Email]
            .into_iter()
            .find(|c| c.as_str() == name)
    }
}

/// Who a delivery is for; the address is looked up when it is sent (never copied here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// The account's customer (their app, or their e-mail from the preferences).
    Customer,
    /// The maintenance staff's address from the configuration.
    Staff,
}

impl Recipient {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Staff => "staff",
        }
    }

    /// The recipient of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Customer, Self::Staff]
            .into_iter()
            .find(|r| r.as_str() == name)
    }
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// Accepted by the receiver.
    Sent,
    /// Given up: attempts exhausted or refused for good.
    Dead,
}

impl DeliveryState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Dead => "dead",
        }
    }

    /// The state of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Dead]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// One notification on its way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Delivery {
    /// Id (also the receiver's idempotency key).
    pub id: String,
    /// The customer notice it carries, if any.
    pub notice_id: Option<String>,
    /// The meter it is about.
    pub meter_id: Option<String>,
    /// What it says.
    pub kind: NoticeKind,
    /// In which language.
    pub lang: Language,
    /// The facts it is worded from (JSON of `NoticeFacts`).
    pub data: String,
    /// How it travels.
    pub channel: Channel,
    /// To whom.
    pub recipient: Recipient,
    /// Where it is.
    pub state: DeliveryState,
    /// Attempts so far.
    pub attempts: i64,
    /// When it is next tried.
    pub next_at: DateTime<Utc>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When the receiver accepted it.
    pub sent_at: Option<DateTime<Utc>>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, notice_id, meter_id, kind, lang, data, channel, recipient, state, attempts, \
                       next_at, last_error, sent_at, created_at";

fn from_row(row: &AnyRow) -> Result<Delivery, ControlError> {
    Ok(Delivery {
        id: row.try_get("id")?,
        notice_id: row.try_get("notice_id")?,
        meter_id: row.try_get("meter_id")?,
        kind: stored_enum(
            &row.try_get::<String, _>("kind")?,
            "notice kind",
            NoticeKind::parse,
        )?,
        lang: stored_enum(
            &row.try_get::<String, _>("lang")?,
            "language",
            Language::parse,
        )?,
        data: row.try_get("data")?,
        channel: stored_enum(
            &row.try_get::<String, _>("channel")?,
            "channel",
            Channel::parse,
        )?,
        recipient: stored_enum(
            &row.try_get::<String, _>("recipient")?,
            "recipient",
            Recipient::parse,
        )?,
        state: stored_enum(
            &row.try_get::<String, _>("state")?,
            "delivery state",
            DeliveryState::parse,
        )?,
        attempts: row.try_get("attempts")?,
        next_at: instant(row.try_get("next_at")?)?,
        last_error: row.try_get("last_error")?,
        sent_at: maybe_instant(row.try_get("sent_at")?)?,
        created_at: instant(row.try_get("created_at")?)?,
    })
}

/// Queues a delivery.
pub async fn insert(conn: &mut Conn, d: &Delivery) -> Result<(), ControlError> {
    let statement = format!(
        "INSERT INTO deliveries ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
    );
    let params: [Param; 14] = [
        (&d.id).into(),
        d.notice_id.as_deref().into(),
        d.meter_id.as_deref().into(),
        d.kind.as_str().into(),
        d.lang.code().into(),
        (&d.data).into(),
        d.channel.as_str().into(),
        d.recipient.as_str().into(),
        d.state.as_str().into(),
        d.attempts.into(),
        micros(d.next_at).into(),
        d.last_error.as_deref().into(),
        d.sent_at.map(micros).into(),
        micros(d.created_at).into(),
    ];
    sql::execute(conn, &statement, &params).await?;
    Ok(())
}

/// Pending deliveries due at `now`, oldest first, at most `limit`.
pub async fn due(
    conn: &mut Conn,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Delivery>, ControlError> {
    let statement = format!(
        "SELECT {COLUMNS} FROM deliveries WHERE state = 'pending' AND next_at <= $1 \
         ORDER BY next_at, id LIMIT $2"
    );
    sql::rows(
        conn,
        &statement,
        &[micros(now).into(), limit.into()],
        from_row,
    )
    .await
}

/// Takes a due delivery for one attempt: moves its next try to `lease_until` unless another notifier
/// took it first (its `next_at` changed). Returns whether this caller has it.
pub async fn claim(
    conn: &mut Conn,
    d: &Delivery,
    lease_until: DateTime<Utc>,
) -> Result<bool, ControlError> {
    let done = sql::execute(
        conn,
        "UPDATE deliveries SET next_at = $1 WHERE id = $2 AND state = 'pending' AND next_at = $3",
        &[
            micros(lease_until).into(),
            (&d.id).into(),
            micros(d.next_at).into(),
        ],
    )
    .await?;
    Ok(done == 1)
}

/// Records an attempt's outcome: the new state, attempts, next try and error.
pub async fn record(conn: &mut Conn, d: &Delivery) -> Result<(), ControlError> {
    sql::execute(
        conn,
        "UPDATE deliveries SET state = $1, attempts = $2, next_at = $3, last_error = $4, sent_at = $5 \
         WHERE id = $6",
        &[
            d.state.as_str().into(),
            d.attempts.into(),
            micros(d.next_at).into(),
            d.last_error.as_deref().into(),
            d.sent_at.map(micros).into(),
            (&d.id).into(),
        ],
    )
    .await?;
    Ok(())
}

/// A meter's deliveries, newest first, at most `limit`.
pub async fn for_meter(
    conn: &mut Conn,
    meter_id: &str,
    limit: i64,
) -> Result<Vec<Delivery>, ControlError> {
    let statement = format!(
        "SELECT {COLUMNS} FROM deliveries WHERE meter_id = $1 ORDER BY created_at DESC, id LIMIT $2"
    );
    sql::rows(conn, &statement, &[meter_id.into(), limit.into()], from_row).await
}

/// Deliveries counted by state.
pub async fn count_by_state(conn: &mut Conn) -> Result<Vec<(String, i64)>, ControlError> {
    Ok(
        sqlx::query_as("SELECT state, count(*) FROM deliveries GROUP BY state ORDER BY state")
            .fetch_all(&mut *conn)
            .await?,
    )
}

/// A customer's notification preferences as stored (the e-mail address sealed).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredPrefs {
    /// The account's meter.
    pub meter_id: String,
    /// Language.
    pub lang: Language,
    /// Whether notices go to the app / SMS provider.
    pub app_push: bool,
    /// The sealed e-mail address, if e-mail is wanted.
    pub email: Option<String>,
}

impl std::fmt::Debug for StoredPrefs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredPrefs")
            .field("meter_id", &self.meter_id)
            .field("lang", &self.lang)
            .field("app_push", &self.app_push)
            .field("email", &self.email.as_ref().map(|_| "<sealed>"))
            .finish()
    }
}

/// A customer's preferences, if set.
pub async fn prefs(conn: &mut Conn, meter_id: &str) -> Result<Option<StoredPrefs>, ControlError> {
    sql::row(
        conn,
        "SELECT meter_id, lang, app_push, email FROM notification_prefs WHERE meter_id = $1",
        &[meter_id.into()],
        |row| {
            Ok(StoredPrefs {
                meter_id: row.try_get("meter_id")?,
                lang: stored_enum(
                    &row.try_get::<String, _>("lang")?,
                    "language",
                    Language::parse,
                )?,
                app_push: row.try_get::<i64, _>("app_push")? != 0,
                email: row.try_get("email")?,
            })
        },
    )
    .await
}

/// Sets a customer's preferences.
pub async fn set_prefs(
    conn: &mut Conn,
    prefs: &StoredPrefs,
    now: DateTime<Utc>,
) -> Result<(), ControlError> {
    sql::execute(
        conn,
        "INSERT INTO notification_prefs (meter_id, lang, app_push, email, updated_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (meter_id) DO UPDATE SET lang = excluded.lang, \
         app_push = excluded.app_push, email = excluded.email, updated_at = excluded.updated_at",
        &[
            (&prefs.meter_id).into(),
            prefs.lang.code().into(),
            i64::from(prefs.app_push).into(),
            prefs.email.as_deref().into(),
            micros(now).into(),
        ],
    )
    .await?;
    Ok(())
}
