//! The accounts database (SQLite, a file by default) and its schema.

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

use crate::ControlError;

/// Schema statements, applied idempotently at start.
const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS accounts (
        meter_id TEXT PRIMARY KEY,
        collector_id TEXT NOT NULL,
        plan TEXT NOT NULL,
        opened_at TEXT NOT NULL,
        balance TEXT NOT NULL,
        charged_to_date TEXT NOT NULL,
        relay TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS ledger (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
        kind TEXT NOT NULL,
        amount TEXT NOT NULL,
        balance_after TEXT NOT NULL,
        reference TEXT NOT NULL UNIQUE,
        lake_version INTEGER,
        at TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS commands (
        command_id TEXT PRIMARY KEY,
        meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
        collector_id TEXT NOT NULL,
        action TEXT NOT NULL,
        reason TEXT NOT NULL,
        status TEXT NOT NULL,
        error TEXT,
        relay_open INTEGER,
        issued_at TEXT NOT NULL,
        acked_at TEXT
    )",
    "CREATE TABLE IF NOT EXISTS day_charges (
        meter_id TEXT NOT NULL REFERENCES accounts(meter_id),
        day TEXT NOT NULL,
        charge TEXT NOT NULL,
        lake_version INTEGER NOT NULL,
        PRIMARY KEY (meter_id, day)
    )",
    "CREATE INDEX IF NOT EXISTS ledger_meter ON ledger(meter_id)",
    "CREATE INDEX IF NOT EXISTS commands_meter ON commands(meter_id)",
];

/// Opens (creating if needed) the database at `url` (`sqlite://path` or `sqlite::memory:`) and applies the schema.
pub async fn open(url: &str) -> Result<SqlitePool, ControlError> {
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true);
    // SQLite has one writer; a single connection serialises every transaction instead of failing
    // read-then-write transactions with SQLITE_BUSY when two tasks write at once.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?;
    for statement in SCHEMA {
        sqlx::query(statement).execute(&pool).await?;
    }
    Ok(pool)
}
