//! Prepaid accounts and their ledger: openings, payments and charges, each one row with its balance after.
//!
//! Every money change is a ledger row with a unique reference (payment id, or the change of one day's
//! charge at one lake version), written in the same transaction as the account's new balance, so a
//! repeated payment or billing pass never counts twice. Charges are kept per (meter, day) in
//! `day_charges`: a day is charged once, and re-charged only by the difference.

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

/// Applies an account's daily charges: each `(day, charge)` (a local date, or a period's true-up key)
/// replaces what was charged for that day before, so only the difference moves the balance.
///
/// A pass at a version already applied, or one whose charges did not change, is a no-op; late readings
/// that change a day's charge book only the difference, under a reference naming the day and the lake
/// version. Everything happens in one transaction. Returns whether the balance changed.
pub async fn apply_day_charges(
    pool: &SqlitePool,
    meter_id: &str,
    charges: &[(String, Decimal)],
    lake_version: i64,
    at: DateTime<Utc>,
) -> Result<bool, ControlError> {
    let mut tx = pool.begin().await?;
    let current = account_from_row(
        &sqlx::query("SELECT * FROM accounts WHERE meter_id = ?")
            .bind(meter_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| ControlError::UnknownAccount(meter_id.to_string()))?,
    )?;
    let (mut balance, mut charged) = (current.balance, current.charged_to_date);
    let mut changed = false;
    for (day, charge) in charges {
        let before: Option<String> =
            sqlx::query_scalar("SELECT charge FROM day_charges WHERE meter_id = ? AND day = ?")
                .bind(meter_id)
                .bind(day)
                .fetch_optional(&mut *tx)
                .await?;
        let before = before
            .as_deref()
            .map(stored)
            .transpose()?
            .unwrap_or_default();
        let difference = *charge - before;
        if difference == Decimal::ZERO {
            continue;
        }
        balance -= difference;
        charged += difference;
        let inserted = sqlx::query(
            "INSERT INTO ledger (meter_id, kind, amount, balance_after, reference, lake_version, at)
             VALUES (?, 'charge', ?, ?, ?, ?, ?) ON CONFLICT(reference) DO NOTHING",
        )
        .bind(meter_id)
        .bind((-difference).to_string())
        .bind(balance.to_string())
        .bind(format!("charge:{meter_id}:{day}:v{lake_version}"))
        .bind(lake_version)
        .bind(at.to_rfc3339())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(ControlError::Corrupt(format!(
                "charge of {meter_id} for {day} at lake version {lake_version} was booked with another amount"
            )));
        }
        sqlx::query(
            "INSERT INTO day_charges (meter_id, day, charge, lake_version) VALUES (?, ?, ?, ?)
             ON CONFLICT(meter_id, day) DO UPDATE SET charge = excluded.charge,
             lake_version = excluded.lake_version",
        )
        .bind(meter_id)
        .bind(day)
        .bind(charge.to_string())
        .bind(lake_version)
        .execute(&mut *tx)
        .await?;
        changed = true;
    }
    if changed {
        sqlx::query("UPDATE accounts SET balance = ?, charged_to_date = ? WHERE meter_id = ?")
            .bind(balance.to_string())
            .bind(charged.to_string())
            .bind(meter_id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(changed)
}

/// The charges applied to `meter_id`, by day key (local date, or `YYYY-MM-DD/true-up`), in key order.
pub async fn day_charges(
    pool: &SqlitePool,
    meter_id: &str,
) -> Result<Vec<(String, Decimal)>, ControlError> {
    let rows = sqlx::query("SELECT day, charge FROM day_charges WHERE meter_id = ? ORDER BY day")
        .bind(meter_id)
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("day")?,
                stored(&row.try_get::<String, _>("charge")?)?,
            ))
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn key(day: &str, charge: Decimal) -> (String, Decimal) {
        (day.to_string(), charge)
    }

    #[tokio::test]
    async fn a_day_is_charged_once_and_recharged_only_by_its_difference() {
        let pool = crate::db::open("sqlite::memory:").await.unwrap();
        let at = Utc::now();
        open_account(&pool, "000000001001", "c-1", "plan", at, dec!(50))
            .await
            .unwrap();
        let first = [key("2026-11-01", dec!(1.23)), key("2026-11-02", dec!(0.40))];
        assert!(apply_day_charges(&pool, "000000001001", &first, 3, at)
            .await
            .unwrap());
        assert_eq!(
            account(&pool, "000000001001").await.unwrap().balance,
            dec!(48.37)
        );
        // The same charges again (same or later version): nothing moves.
        assert!(!apply_day_charges(&pool, "000000001001", &first, 3, at)
            .await
            .unwrap());
        assert!(!apply_day_charges(&pool, "000000001001", &first, 4, at)
            .await
            .unwrap());
        // Late readings raise the second day to 0.55 and a third day appears: only 0.15 + 2.00 more.
        let later = [
            key("2026-11-01", dec!(1.23)),
            key("2026-11-02", dec!(0.55)),
            key("2026-11-03", dec!(2.00)),
        ];
        assert!(apply_day_charges(&pool, "000000001001", &later, 5, at)
            .await
            .unwrap());
        let account = account(&pool, "000000001001").await.unwrap();
        assert_eq!(account.balance, dec!(46.22));
        assert_eq!(account.charged_to_date, dec!(3.78));
        assert_eq!(
            day_charges(&pool, "000000001001").await.unwrap(),
            vec![
                key("2026-11-01", dec!(1.23)),
                key("2026-11-02", dec!(0.55)),
                key("2026-11-03", dec!(2.00)),
            ]
        );
        let references: Vec<String> =
            sqlx::query_scalar("SELECT reference FROM ledger WHERE kind = 'charge' ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert_eq!(
            references,
            [
                "charge:000000001001:2026-11-01:v3",
                "charge:000000001001:2026-11-02:v3",
                "charge:000000001001:2026-11-02:v5",
                "charge:000000001001:2026-11-03:v5",
            ]
        );
        // A negative true-up (rounding) gives money back.
        let true_up = [key("2026-11-01/true-up", dec!(-0.02))];
        assert!(apply_day_charges(&pool, "000000001001", &true_up, 5, at)
            .await
            .unwrap());
        assert_eq!(
            super::account(&pool, "000000001001").await.unwrap().balance,
            dec!(46.24)
        );
    }
}
