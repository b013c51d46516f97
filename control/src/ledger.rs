//! Prepaid accounts and their ledger: openings, payments and charges, each one row with its balance after.
//!
//! Every money change is a ledger row with a unique reference (payment id, or charge per lake version),
//! written in the same transaction as the account's new balance, so a repeated payment or billing pass
//! never counts twice.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::{Row, SqlitePool};

use crate::money::stored;
use crate::policy::RelayTrack;
use crate::ControlError;

/// An account as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Account {
    /// Meter address.
    pub meter_id: String,
    /// Collector owning the meter's bus.
    pub collector_id: String,
    /// Tariff plan name.
    pub plan: String,
    /// When the account opened (billing starts here).
    pub opened_at: DateTime<Utc>,
    /// Current balance, yuan.
    pub balance: Decimal,
    /// Sum of all charges so far, yuan.
    pub charged_to_date: Decimal,
    /// Relay as tracked.
    pub relay: String,
}

/// The result of a payment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Payment {
    /// Meter.
    pub meter_id: String,
    /// Amount credited.
    pub amount: Decimal,
    /// Balance after.
    pub balance: Decimal,
    /// True if this reference was already applied (nothing changed).
    pub duplicate: bool,
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, ControlError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.to_utc())
        .map_err(|_| ControlError::Corrupt(format!("timestamp {text:?}")))
}

fn account_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Account, ControlError> {
    Ok(Account {
        meter_id: row.try_get("meter_id")?,
        collector_id: row.try_get("collector_id")?,
        plan: row.try_get("plan")?,
        opened_at: parse_time(&row.try_get::<String, _>("opened_at")?)?,
        balance: stored(&row.try_get::<String, _>("balance")?)?,
        charged_to_date: stored(&row.try_get::<String, _>("charged_to_date")?)?,
        relay: row.try_get("relay")?,
    })
}

/// Opens an account with an opening balance; an existing account is left as it is.
pub async fn open_account(
    pool: &SqlitePool,
    meter_id: &str,
    collector_id: &str,
    plan: &str,
    opened_at: DateTime<Utc>,
    opening_balance: Decimal,
) -> Result<(), ControlError> {
    let mut tx = pool.begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO accounts (meter_id, collector_id, plan, opened_at, balance, charged_to_date, relay)
         VALUES (?, ?, ?, ?, ?, '0', 'closed') ON CONFLICT(meter_id) DO NOTHING",
    )
    .bind(meter_id)
    .bind(collector_id)
    .bind(plan)
    .bind(opened_at.to_rfc3339())
    .bind(opening_balance.to_string())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 1 {
        sqlx::query(
            "INSERT INTO ledger (meter_id, kind, amount, balance_after, reference, at)
             VALUES (?, 'opening', ?, ?, ?, ?)",
        )
        .bind(meter_id)
        .bind(opening_balance.to_string())
        .bind(opening_balance.to_string())
        .bind(format!("opening:{meter_id}"))
        .bind(opened_at.to_rfc3339())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One account.
pub async fn account(pool: &SqlitePool, meter_id: &str) -> Result<Account, ControlError> {
    let row = sqlx::query("SELECT * FROM accounts WHERE meter_id = ?")
        .bind(meter_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| ControlError::UnknownAccount(meter_id.to_string()))?;
    account_from_row(&row)
}

/// Every account, by meter.
pub async fn accounts(pool: &SqlitePool) -> Result<Vec<Account>, ControlError> {
    sqlx::query("SELECT * FROM accounts ORDER BY meter_id")
        .fetch_all(pool)
        .await?
        .iter()
        .map(account_from_row)
        .collect()
}

/// Credits a payment once per `reference`.
pub async fn pay(
    pool: &SqlitePool,
    meter_id: &str,
    amount: Decimal,
    reference: &str,
    at: DateTime<Utc>,
) -> Result<Payment, ControlError> {
    let mut tx = pool.begin().await?;
    let row = sqlx::query("SELECT balance FROM accounts WHERE meter_id = ?")
        .bind(meter_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| ControlError::UnknownAccount(meter_id.to_string()))?;
    let balance = stored(&row.try_get::<String, _>("balance")?)?;
    let reference = format!("payment:{reference}");
    let seen = sqlx::query("SELECT amount FROM ledger WHERE reference = ?")
        .bind(&reference)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(previous) = seen {
        return Ok(Payment {
            meter_id: meter_id.to_string(),
            amount: stored(&previous.try_get::<String, _>("amount")?)?,
            balance,
            duplicate: true,
        });
    }
    let after = balance + amount;
    sqlx::query(
        "INSERT INTO ledger (meter_id, kind, amount, balance_after, reference, at) VALUES (?, 'payment', ?, ?, ?, ?)",
    )
    .bind(meter_id)
    .bind(amount.to_string())
    .bind(after.to_string())
    .bind(&reference)
    .bind(at.to_rfc3339())
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE accounts SET balance = ? WHERE meter_id = ?")
        .bind(after.to_string())
        .bind(meter_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Payment {
        meter_id: meter_id.to_string(),
        amount,
        balance: after,
        duplicate: false,
    })
}

/// Brings the account's charges up to `cost_to_date` (the bill since opening, at `lake_version`).
///
/// Charges only the difference to what was already charged; a pass at an already-charged version is a no-op.
/// Returns the new balance.
pub async fn charge_to(
    pool: &SqlitePool,
    meter_id: &str,
    cost_to_date: Decimal,
    lake_version: i64,
    at: DateTime<Utc>,
) -> Result<Decimal, ControlError> {
    let mut tx = pool.begin().await?;
    let current = account_from_row(
        &sqlx::query("SELECT * FROM accounts WHERE meter_id = ?")
            .bind(meter_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| ControlError::UnknownAccount(meter_id.to_string()))?,
    )?;
    let charge = cost_to_date - current.charged_to_date;
    if charge == Decimal::ZERO {
        return Ok(current.balance);
    }
    let after = current.balance - charge;
    let inserted = sqlx::query(
        "INSERT INTO ledger (meter_id, kind, amount, balance_after, reference, lake_version, at)
         VALUES (?, 'charge', ?, ?, ?, ?, ?) ON CONFLICT(reference) DO NOTHING",
    )
    .bind(meter_id)
    .bind((-charge).to_string())
    .bind(after.to_string())
    .bind(format!("charge:{meter_id}:{lake_version}"))
    .bind(lake_version)
    .bind(at.to_rfc3339())
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(current.balance);
    }
    sqlx::query("UPDATE accounts SET balance = ?, charged_to_date = ? WHERE meter_id = ?")
        .bind(after.to_string())
        .bind(cost_to_date.to_string())
        .bind(meter_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(after)
}

/// Sets the tracked relay state.
pub async fn set_relay(
    pool: &SqlitePool,
    meter_id: &str,
    relay: RelayTrack,
) -> Result<(), ControlError> {
    sqlx::query("UPDATE accounts SET relay = ? WHERE meter_id = ?")
        .bind(relay.as_str())
        .bind(meter_id)
        .execute(pool)
        .await?;
    Ok(())
}
