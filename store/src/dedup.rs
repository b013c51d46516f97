//! Deduplication by (meter, boundary): a reading the lake already holds is not written again.
//!
//! Policy: **the first copy wins** — the one already committed, or, within one append, the one that
//! arrived first (the lowest Kafka offset). Later copies (collector retries, spool re-sends, replays of
//! other messages) are dropped and counted. A collector reads a meter once per boundary, so copies carry
//! the same values; keeping the first makes a re-run of the same input a no-op.

use std::collections::HashSet;

use arrow::array::{AsArray, BooleanArray, RecordBatch};
use arrow::datatypes::{DataType, TimestampMicrosecondType};
use datafusion::prelude::{col, lit, SessionContext};
use datafusion::scalar::ScalarValue;

use crate::schema::{col as column, PARTITION_COLUMN};
use crate::{Lake, StoreError};

/// A reading's identity: meter id and boundary (µs since the epoch, UTC).
pub type ReadingKey = (String, i64);

/// The (meter, boundary) of every row, in order.
pub fn keys(batch: &RecordBatch) -> Result<Vec<ReadingKey>, StoreError> {
    let missing = |name: &str| StoreError::Schema(format!("missing {name}"));
    let meters = batch
        .column_by_name(column::METER_ID)
        .ok_or_else(|| missing(column::METER_ID))?;
    let meters = arrow::compute::cast(meters, &DataType::Utf8)?;
    let meters = meters.as_string::<i32>();
    let times = batch
        .column_by_name(column::BOUNDARY_TS)
        .ok_or_else(|| missing(column::BOUNDARY_TS))?
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| {
            StoreError::Schema(format!("{} is not µs timestamps", column::BOUNDARY_TS))
        })?;
    Ok((0..batch.num_rows())
        .map(|i| (meters.value(i).to_string(), times.value(i)))
        .collect())
}

/// Keeps the rows whose key is neither in `seen` nor earlier in the batch; adds the kept keys to `seen`.
pub fn keep_first(
    batch: &RecordBatch,
    seen: &mut HashSet<ReadingKey>,
) -> Result<RecordBatch, StoreError> {
    let mask: BooleanArray = keys(batch)?
        .into_iter()
        .map(|key| Some(seen.insert(key)))
        .collect();
    Ok(arrow::compute::filter_record_batch(batch, &mask)?)
}

impl Lake {
    /// The keys among `candidates` the loaded table already holds. Only the candidates' date partitions
    /// and boundary range are read, so file statistics prune everything else.
    pub async fn existing_keys(
        &self,
        candidates: &[RecordBatch],
    ) -> Result<HashSet<ReadingKey>, StoreError> {
        let mut found = HashSet::new();
        let mut dates = HashSet::new();
        let (mut low, mut high) = (i64::MAX, i64::MIN);
        let mut wanted = HashSet::new();
        for batch in candidates {
            if let Some(date) = batch.column_by_name(PARTITION_COLUMN) {
                let date = date
                    .as_primitive_opt::<arrow::datatypes::Date32Type>()
                    .ok_or_else(|| {
                        StoreError::Schema(format!("{PARTITION_COLUMN} is not a date"))
                    })?;
                dates.extend(date.iter().flatten());
            }
            for key in keys(batch)? {
                low = low.min(key.1);
                high = high.max(key.1);
                wanted.insert(key);
            }
        }
        if wanted.is_empty() || self.table.version().is_none() {
            return Ok(found);
        }
        let ctx = SessionContext::new();
        let Some(provider) = self.table_provider(&ctx.state()).await? else {
            return Ok(found);
        };
        let utc = Some("UTC".into());
        let in_range = col(column::BOUNDARY_TS).between(
            lit(ScalarValue::TimestampMicrosecond(Some(low), utc.clone())),
            lit(ScalarValue::TimestampMicrosecond(Some(high), utc)),
        );
        let on_dates = col(PARTITION_COLUMN).in_list(
            dates
                .into_iter()
                .map(|d| lit(ScalarValue::Date32(Some(d))))
                .collect(),
            false,
        );
        let query =
            |e: datafusion::error::DataFusionError| StoreError::Schema(format!("dedup scan: {e}"));
        let existing = ctx
            .read_table(provider)
            .map_err(query)?
            .filter(on_dates.and(in_range))
            .map_err(query)?
            .select_columns(&[column::METER_ID, column::BOUNDARY_TS])
            .map_err(query)?
            .collect()
            .await
            .map_err(query)?;
        for batch in &existing {
            found.extend(keys(batch)?.into_iter().filter(|k| wanted.contains(k)));
        }
        Ok(found)
    }
}
