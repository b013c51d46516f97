//! Reading typed columns out of query results.

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::DataType;

use crate::AnalyticsError;

/// `text` as an SQL string literal.
pub(crate) fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Column `i` as plain strings (Delta scans may return string views, which are cast).
pub fn strings(batch: &RecordBatch, i: usize) -> Result<StringArray, AnalyticsError> {
    let cast = arrow::compute::cast(batch.column(i), &DataType::Utf8)?;
    Ok(cast.as_string::<i32>().clone())
}

/// Column `i` downcast to `T`, or an error naming its actual type.
pub fn typed<T: 'static>(batch: &RecordBatch, i: usize) -> Result<&T, AnalyticsError> {
    batch.column(i).as_any().downcast_ref::<T>().ok_or_else(|| {
        AnalyticsError::Shape(format!(
            "column {i} has type {}",
            batch.column(i).data_type()
        ))
    })
}
