//! Each month's bill issue: one row per period, written in the transaction that queues its customers'
//! notices, so a month is issued — and its customers told — once.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::sql;
use super::{instant, micros, Conn};
use crate::domain::money::{from_fen, to_fen};
use crate::ControlError;

/// A month's issue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BillIssue {
    /// The month, `YYYY-MM`.
    pub period: String,
    /// The lake version billed.
    pub lake_version: Option<i64>,
    /// Bills issued (every meter the lake priced).
    pub bills: i64,
    /// Customers told (bills of meters with an account).
    pub noticed: i64,
    /// The bills' sum, yuan.
    pub total: Decimal,
    /// When.
    pub issued_at: DateTime<Utc>,
}

const COLUMNS: &str = "period, lake_version, bills, noticed, total_fen, issued_at";

fn from_row(row: &AnyRow) -> Result<BillIssue, ControlError> {
    Ok(BillIssue {
        period: row.try_get("period")?,
        lake_version: row.try_get("lake_version")?,
        bills: row.try_get("bills")?,
        noticed: row.try_get("noticed")?,
        total: from_fen(row.try_get("total_fen")?),
        issued_at: instant(row.try_get("issued_at")?)?,
    })
}

/// Records `issue`; false when its period was issued already (nothing written).
pub async fn insert(conn: &mut Conn, issue: &BillIssue) -> Result<bool, ControlError> {
    let total_fen = to_fen(issue.total)
        .map_err(|e| ControlError::Invalid(format!("bill issue {}: {e}", issue.period)))?;
    let written = sql::execute(
        conn,
        &format!(
            "INSERT INTO bill_issues ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (period) DO NOTHING"
        ),
        &[
            issue.period.as_str().into(),
            issue.lake_version.into(),
            issue.bills.into(),
            issue.noticed.into(),
            total_fen.into(),
            micros(issue.issued_at).into(),
        ],
    )
    .await?;
    Ok(written == 1)
}

/// The issue of `period`, if it was issued.
pub async fn get(conn: &mut Conn, period: &str) -> Result<Option<BillIssue>, ControlError> {
    let statement = format!("SELECT {COLUMNS} FROM bill_issues WHERE period = $1");
    sql::row(conn, &statement, &[period.into()], from_row).await
}

/// The newest issues first, at most `limit`.
pub async fn newest(conn: &mut Conn, limit: i64) -> Result<Vec<BillIssue>, ControlError> {
    let statement = format!("SELECT {COLUMNS} FROM bill_issues ORDER BY period DESC LIMIT $1");
    sql::rows(conn, &statement, &[limit.into()], from_row).await
}
