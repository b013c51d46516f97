//! Errors of the control service, each knowing whose fault it is ([`ErrorKind`]); the HTTP layer maps
//! kinds to status codes in one place.

use crate::domain::calendar::CalendarError;
use crate::domain::money::MoneyError;
use crate::domain::terms::TermsError;

/// Unix milliseconds of the latest write the database refused for a full disk (0: none yet).
static LAST_FULL_DISK_REFUSAL_MS: std::sync::atomic::AtomicI64 =
    std::sync::atomic::AtomicI64::new(0);

/// Whether the database refused a write for a full disk within `within` (a small write such as the
/// health probe's may still fit where a payment no longer does).
pub fn recent_full_disk_refusal(within: chrono::Duration) -> bool {
    let last = LAST_FULL_DISK_REFUSAL_MS.load(std::sync::atomic::Ordering::Relaxed);
    last > 0 && chrono::Utc::now().timestamp_millis() - last <= within.num_milliseconds()
}

/// Whose fault an error is, and what a caller can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request is malformed or breaks a rule (amount, terms, limits); do not retry as is.
    Invalid,
    /// No such account, command or record.
    NotFound,
    /// The request contradicts what is stored (a reused payment reference).
    Conflict,
    /// A dependency (database, Kafka, lake) failed; retrying later may work.
    Unavailable,
    /// No valid credentials were presented.
    Unauthenticated,
    /// The caller's role lacks the right, or a limit of the role was exceeded.
    Forbidden,
    /// A bug or corrupt stored data.
    Internal,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The caller sent something invalid or the rules refuse it.
    #[error("{0}")]
    Invalid(String),
    /// No such object.
    #[error("{0}")]
    NotFound(String),
    /// Contradicts what is stored.
    #[error("{0}")]
    Conflict(String),
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Not allowed for the caller's role.
    #[error("{0}")]
    Forbidden(String),
    /// An amount was refused.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// Terms were refused.
    #[error(transparent)]
    Terms(#[from] TermsError),
    /// A step of a customer's self-registration was refused.
    #[error(transparent)]
    Registration(#[from] crate::domain::registration::RegistrationRefusal),
    /// The trip calendar's settings or holiday file are wrong.
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// The accounts database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The database takes no writes now (its disk is full).
    #[error("database refuses writes: {0}")]
    Unwritable(String),
    /// A schema migration failed.
    #[error("database migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// Kafka failed.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// Reading or pricing the lake failed.
    #[error("billing: {0}")]
    Analytics(#[from] analytics::AnalyticsError),
    /// A stored value is corrupt.
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
    /// A background loop made no progress where it should have (it is started afresh).
    #[error("stalled: {0}")]
    Stalled(String),
}

impl ControlError {
    /// Whose fault it is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Invalid(_)
            | Self::Money(_)
            | Self::Terms(_)
            | Self::Calendar(_)
            | Self::Registration(_) => ErrorKind::Invalid,
            Self::NotFound(_) => ErrorKind::NotFound,
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Unauthenticated(_) => ErrorKind::Unauthenticated,
            Self::Forbidden(_) => ErrorKind::Forbidden,
            Self::Database(_)
            | Self::Unwritable(_)
            | Self::Kafka(_)
            | Self::Analytics(_)
            | Self::Stalled(_) => ErrorKind::Unavailable,
            Self::Migration(_) | Self::Corrupt(_) => ErrorKind::Internal,
        }
    }

    /// True when the database refused a write because its disk is full (SQLite `SQLITE_FULL`,
    /// PostgreSQL `53100 disk_full`). Each such answer is noted for `/healthz`
    /// ([`recent_full_disk_refusal`]).
    pub fn storage_full(&self) -> bool {
        let Self::Database(sqlx::Error::Database(error)) = self else {
            return false;
        };
        let full = matches!(error.code().as_deref(), Some("13" | "53100"))
            || error.message().contains("disk is full");
        if full {
            LAST_FULL_DISK_REFUSAL_MS.store(
                chrono::Utc::now().timestamp_millis(),
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        full
    }

    /// No account for `meter_id`.
    pub fn no_account(meter_id: &str) -> Self {
        Self::NotFound(format!("no account for meter {meter_id}"))
    }
}
