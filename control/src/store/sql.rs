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

/// Rows per multi-row statement, largest first. A set of rows is written in chunks of these sizes only,
/// so each table's multi-row statement has three shapes that stay prepared on the connection (a new
/// row count would be new SQL to prepare every time).
const CHUNK_ROWS: [usize; 3] = [64, 8, 1];

/// The row counts `rows` rows are written in: greedy over [`CHUNK_ROWS`].
fn chunk_rows(mut rows: usize) -> Vec<usize> {
    let mut chunks = Vec::new();
    for size in CHUNK_ROWS {
        while rows >= size {
            chunks.push(size);
            rows -= size;
        }
    }
    chunks
}

/// `($1, …, $width), (…)`: the placeholders of `rows` rows of `width` parameters.
fn row_placeholders(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|row| format!("({})", placeholders(row * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Runs `{head} VALUES (…), (…) {tail}` for rows of `width` parameters given row after row in
/// `params`, in chunks of a few fixed row counts; returns the rows affected.
pub async fn execute_rows(
    conn: &mut Conn,
    head: &str,
    tail: &str,
    width: usize,
    params: &[Param<'_>],
) -> Result<u64, ControlError> {
    if width == 0 || !params.len().is_multiple_of(width) {
        return Err(ControlError::Corrupt(format!(
            "{} parameters do not make rows of {width}",
            params.len()
        )));
    }
    let mut affected = 0;
    let mut rest = params;
    for rows in chunk_rows(params.len() / width) {
        let (chunk, after) = rest.split_at(rows * width);
        let statement = format!("{head} VALUES {} {tail}", row_placeholders(rows, width));
        affected += execute(conn, &statement, chunk).await?;
        rest = after;
    }
    Ok(affected)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_cut_into_the_fixed_chunk_sizes_only() {
        assert_eq!(chunk_rows(0), Vec::<usize>::new());
        assert_eq!(chunk_rows(1), vec![1]);
        assert_eq!(chunk_rows(73), vec![64, 8, 1]);
        assert_eq!(chunk_rows(500).iter().sum::<usize>(), 500);
        assert_eq!(
            chunk_rows(500),
            [vec![64; 7], vec![8; 6], vec![1; 4]].concat()
        );
        assert_eq!(row_placeholders(2, 3), "($1, $2, $3), ($4, $5, $6)");
    }
}
