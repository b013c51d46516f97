//! Reading rows made ready for an append ahead of time: lake schema, key and date of every row.
//!
//! Preparing is the per-row work of an append that does not need the table (the partition date, the
//! dedup key). A writer can prepare each message's rows as it receives them, off the commit path, and a
//! message whose rows do not fit the lake is refused there, alone.

use arrow::array::RecordBatch;
use chrono_tz::Tz;

use crate::dedup::{keys, ReadingKey};
use crate::key_index::row_dates;
use crate::partition::with_partition_date;
use crate::schema::reading_schema;
use crate::StoreError;

/// Wire-schema rows turned into lake rows, with each row's (meter, boundary) key and local date.
#[derive(Debug, Clone)]
pub struct PreparedRows {
    pub(crate) batch: RecordBatch,
    pub(crate) keys: Vec<ReadingKey>,
    pub(crate) dates: Vec<i32>,
}

impl PreparedRows {
    /// Prepares a wire-schema batch for a lake whose local dates are in `zone`.
    pub fn new(batch: &RecordBatch, zone: Tz) -> Result<Self, StoreError> {
        let batch = with_partition_date(batch, zone)?;
        Ok(Self {
            keys: keys(&batch)?,
            dates: row_dates(&batch)?,
            batch,
        })
    }

    /// Rows held.
    pub fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// Joins prepared parts into one (no parts give no rows).
    pub(crate) fn concat(parts: Vec<PreparedRows>) -> Result<Self, StoreError> {
        let schema = parts
            .first()
            .map_or_else(reading_schema, |first| first.batch.schema());
        let rows = parts.iter().map(PreparedRows::num_rows).sum();
        let batch = arrow::compute::concat_batches(&schema, parts.iter().map(|p| &p.batch))?;
        let mut keys = Vec::with_capacity(rows);
        let mut dates = Vec::with_capacity(rows);
        for part in parts {
            keys.extend(part.keys);
            dates.extend(part.dates);
        }
        Ok(Self { batch, keys, dates })
    }
}
