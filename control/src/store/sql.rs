//! Running one statement with its parameters bound in order: the one place the store turns rows into
//! values, so each table module states only its SQL and its row mapping.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::Any;

use super::Conn;
use crate::ControlError;

/// A statement parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param<'a> {
    /// Text.
    Text(&'a str),
    /// Nullable text.
    MaybeText(Option<&'a str>),
    /// An integer (fen, microseconds, counts).
    Int(i64),
    /// A nullable integer.
    MaybeInt(Option<i64>),
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(value: &'a str) -> Self {
        Self::Text(value)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(value: &'a String) -> Self {
        Self::Text(value)
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(value: Option<&'a str>) -> Self {
        Self::MaybeText(value)
    }
}

impl From<i64> for Param<'_> {
    fn from(value: i64) -> Self {
        Self::Int(value)
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(value: Option<i64>) -> Self {
        Self::MaybeInt(value)
    }
}

/// `$first, $first+1, …` for `n` parameters: the placeholder list of an `IN (…)`.
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn bound<'q>(sql: &'q str, params: &[Param<'q>]) -> Query<'q, Any, AnyArguments<'q>> {
    params
        .iter()
        .fold(sqlx::query(sql), |query, param| match *param {
            Param::Text(v) => query.bind(v),
            Param::MaybeText(v) => query.bind(v),
            Param::Int(v) => query.bind(v),
            Param::MaybeInt(v) => query.bind(v),
        })
}

/// Runs a statement; returns the rows it affected.
pub async fn execute(
    conn: &mut Conn,
    sql: &str,
    params: &[Param<'_>],
) -> Result<u64, ControlError> {
    Ok(bound(sql, params)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Every row of a query, mapped.
pub async fn rows<T>(
    conn: &mut Conn,
    sql: &str,
    params: &[Param<'_>],
    map: fn(&AnyRow) -> Result<T, ControlError>,
) -> Result<Vec<T>, ControlError> {
    bound(sql, params)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(map)
        .collect()
}

/// The first row of a query, if any, mapped.
pub async fn row<T>(
    conn: &mut Conn,
    sql: &str,
    params: &[Param<'_>],
    map: fn(&AnyRow) -> Result<T, ControlError>,
) -> Result<Option<T>, ControlError> {
    bound(sql, params)
        .fetch_optional(&mut *conn)
        .await?
        .as_ref()
        .map(map)
        .transpose()
}
