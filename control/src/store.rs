//! The only place that speaks SQL: the accounts database on SQLite (embedded default) or PostgreSQL,
//! through sqlx's `Any` driver, with one set of portable migrations (`control/migrations/`).
//!
//! Money is stored as integer fen, instants as microseconds since the epoch (UTC), states as the
//! stored names of their enums. Functions take a connection so use cases compose them in one
//! transaction.

pub mod accounts;
pub mod alarms;
pub mod audit;
pub mod bill_issues;
pub mod commands;
pub mod customers;
pub mod deliveries;
pub mod interval_edits;
pub mod ledger;
pub mod meter_events;
pub mod outbox;
pub mod payment_orders;
pub mod records;
pub mod registrations;
mod released;
pub mod security_alarms;
pub mod sql;
pub mod tickets;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

use crate::ControlError;

/// A connection, inside a transaction or not.
pub type Conn = sqlx::AnyConnection;

/// The migrations, embedded at compile time.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `sqlite://path` or `sqlite::memory:`.
    Sqlite,
    /// `postgres://user:password@host/db`.
    Postgres,
}

impl Backend {
    /// The backend of `url`, or a clear error.
    pub fn of(url: &str) -> Result<Self, ControlError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(ControlError::Invalid(format!(
                "control.database must start with sqlite:// or postgres://, not {:?}",
                redact(url)
            )))
        }
    }
}

/// `url` with any password replaced by `***`, for messages and logs.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

/// The accounts database.
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Db {
    /// Opens the database at `url` (creating an SQLite file and its directory if needed) and applies
    /// the migrations. SQLite runs in WAL mode on one connection (one writer at a time, no busy
    /// failures); PostgreSQL gets `max_connections` connections.
    pub async fn open(url: &str, max_connections: u32) -> Result<Self, ControlError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of(url)?;
        let mut url = url.to_string();
        if backend == Backend::Sqlite && !url.contains(":memory:") {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = path.split('?').next().unwrap_or_default();
            if let Some(dir) = std::path::Path::new(path).parent() {
                if !dir.as_os_str().is_empty() {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        ControlError::Invalid(format!(
                            "cannot create the database directory {}: {e}",
                            dir.display()
                        ))
                    })?;
                }
            }
            if !url.contains("mode=") {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str("mode=rwc");
            }
        }
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new()
                    .max_connections(1)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA synchronous = NORMAL").await?;
                            // After a checkpoint the write-ahead log shrinks back to this size
                            // instead of keeping every page it ever grew to.
                            conn.execute("PRAGMA journal_size_limit = 4194304").await?;
                            Ok(())
                        })
                    })
                    .after_release(|conn, _| Box::pin(released::settled(conn)))
                    .connect_with(options)
                    .await?
            }
            Backend::Postgres => {
                AnyPoolOptions::new()
                    .max_connections(max_connections.max(1))
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?
            }
        };
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool, backend })
    }

    /// The pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, ControlError> {
        Ok(self.pool.begin().await?)
    }

    /// A connection from the pool (for reads outside a transaction).
    pub async fn conn(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>, ControlError> {
        Ok(self.pool.acquire().await?)
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// An instant as stored: microseconds since the epoch.
pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// A stored instant.
pub fn instant(micros: i64) -> Result<DateTime<Utc>, ControlError> {
    DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| ControlError::Corrupt(format!("instant {micros}")))
}

/// A stored optional instant.
pub fn maybe_instant(micros: Option<i64>) -> Result<Option<DateTime<Utc>>, ControlError> {
    micros.map(instant).transpose()
}

/// A stored enum, parsed by `parse`.
pub fn stored_enum<T>(
    text: &str,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, ControlError> {
    parse(text).ok_or_else(|| ControlError::Corrupt(format!("{what} {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_backend_and_passwords_are_redacted() {
        assert_eq!(Backend::of("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::of("postgres://u:p@h/db").unwrap(),
            Backend::Postgres
        );
        let err = Backend::of("mysql://u:secret@h/db")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
    }
}
