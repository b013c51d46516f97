//! Sorted compaction: each date partition's files are rewritten as large files sorted by (meter, boundary).
//!
//! Delta OPTIMIZE ([`crate::compact`]) only concatenates files, so a compacted day loses the per-file sort
//! that lets a meter predicate skip row groups. This rewrite reads one partition sorted by (meter, boundary)
//! through DataFusion (which spills to disk when a day does not fit in memory) and commits it with
//! `replaceWhere date = D`: one atomic commit that removes the partition's old files and adds the sorted ones.
//! If a sink appends to the same day meanwhile, the conflict checker refuses the rewrite (it would have read
//! the new file) and the partition is retried from the new version, so no row is lost or doubled.

use std::collections::BTreeMap;
use std::num::NonZeroU64;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;

use datafusion::prelude::{col, lit, SessionContext};
use datafusion::scalar::ScalarValue;
use deltalake::protocol::SaveMode;
use deltalake::DeltaTableError;

use crate::lake::writer_properties;
use crate::schema::{col as column, PARTITION_COLUMN};
use crate::{CompactOptions, CompactReport, Lake, StoreError};

/// Memory the sort of one partition may use before it spills to disk.
pub const SORT_MEMORY_BYTES: usize = 1024 * 1024 * 1024;

impl Lake {
    /// Rewrites every date partition holding more than one file into files of about `target_bytes`, sorted
    /// by (meter, boundary). Returns what was rewritten.
    pub async fn compact_sorted(
        &mut self,
        options: &CompactOptions,
    ) -> Result<CompactReport, StoreError> {
        let mut report = CompactReport::default();
        self.refresh().await?;
        if self.table.version().is_none() {
            return Ok(report);
        }
        for date in self.partitions_with_several_files()?.into_keys() {
            let mut attempts = 0;
            loop {
                attempts += 1;
                let before = self.files_of(&date)?;
                match self.rewrite_sorted(&date, options.target_bytes).await {
                    Ok(()) => {
                        report.files_removed += before as u64;
                        report.files_added += self.files_of(&date)? as u64;
                        report.partitions += 1;
                        report.attempts = report.attempts.max(attempts);
                        break;
                    }
                    Err(StoreError::Delta(DeltaTableError::Transaction { source }))
                        if attempts < options.max_attempts =>
                    {
                        tracing::warn!(%source, date, attempts, "sorted compaction lost a commit race; retrying");
                        self.refresh().await?;
                    }
                    Err(err) => return Err(err),
                }
            }
        }
        report.version = self.version();
        Ok(report)
    }

    /// Active files per `date=` partition, for partitions with more than one.
    fn partitions_with_several_files(&self) -> Result<BTreeMap<String, usize>, StoreError> {
        let mut counts = BTreeMap::new();
        for uri in self.file_uris()? {
            if let Some(date) = partition_of(&uri) {
                *counts.entry(date.to_string()).or_insert(0) += 1;
            }
        }
        counts.retain(|_, files| *files > 1);
        Ok(counts)
    }

    fn files_of(&self, date: &str) -> Result<usize, StoreError> {
        Ok(self
            .file_uris()?
            .iter()
            .filter(|uri| partition_of(uri) == Some(date))
            .count())
    }

    async fn rewrite_sorted(&mut self, date: &str, target_bytes: u64) -> Result<(), StoreError> {
        let days = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|e| StoreError::Schema(format!("partition date {date:?}: {e}")))?
            .signed_duration_since(chrono::NaiveDate::default())
            .num_days();
        let days = i32::try_from(days)
            .map_err(|_| StoreError::Schema(format!("partition date {date:?} out of range")))?;
        let in_partition = col(PARTITION_COLUMN).eq(lit(ScalarValue::Date32(Some(days))));
        // delta-rs' own session (its write planner), spilling the sort to disk beyond SORT_MEMORY_BYTES.
        // One target partition: a repartition before the writer would interleave the sorted stream.
        let mut state = deltalake::delta_datafusion::create_session_state_with_spill_config(
            Some(SORT_MEMORY_BYTES),
            None,
        );
        state.config_mut().options_mut().execution.target_partitions = 1;
        let ctx = SessionContext::new_with_state(state);
        let provider = self
            .table_provider(&ctx.state())
            .await?
            .ok_or_else(|| StoreError::Schema("no table to compact".into()))?;
        let query = |e: datafusion::error::DataFusionError| {
            StoreError::Schema(format!("sorted compaction of {date}: {e}"))
        };
        // The sort runs here, as a top-level query: under the writer DataFusion would drop it as unrequired.
        let sorted = ctx
            .read_table(provider)
            .map_err(query)?
            .filter(in_partition.clone())
            .map_err(query)?
            .sort(vec![
                col(column::METER_ID).sort(true, false),
                col(column::BOUNDARY_TS).sort(true, false),
            ])
            .map_err(query)?
            .execute_stream()
            .await
            .map_err(query)?;
        let source = StreamingTable::try_new(
            sorted.schema(),
            vec![Arc::new(SortedOnce::new(sorted)) as Arc<dyn PartitionStream>],
        )
        .map_err(query)?;
        let plan = LogicalPlanBuilder::scan("sorted", provider_as_source(Arc::new(source)), None)
            .and_then(LogicalPlanBuilder::build)
            .map_err(query)?;
        let target = NonZeroU64::new(target_bytes.max(1024 * 1024));
        self.table = self
            .table
            .clone()
            .write(Vec::new())
            .with_input_plan(plan)
            .with_session_state(Arc::new(ctx.state()))
            .with_save_mode(SaveMode::Overwrite)
            .with_replace_where(in_partition)
            .with_partition_columns([PARTITION_COLUMN])
            .with_target_file_size(target)
            .with_writer_properties(writer_properties()?)
            .await?;
        Ok(())
    }
}

/// A sorted stream handed to the writer as a one-partition table it reads once.
struct SortedOnce {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl SortedOnce {
    fn new(stream: SendableRecordBatchStream) -> Self {
        Self {
            schema: stream.schema(),
            stream: Mutex::new(Some(stream)),
        }
    }
}

impl std::fmt::Debug for SortedOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SortedOnce")
    }
}

impl PartitionStream for SortedOnce {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut stream| stream.take());
        taken.unwrap_or_else(|| {
            // A second read must fail the rewrite, never write an empty partition.
            let error = DataFusionError::Execution("the sorted partition was already read".into());
            Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async move { Err(error) }),
            ))
        })
    }
}

/// The `YYYY-MM-DD` of a file's `date=` path segment.
fn partition_of(uri: &str) -> Option<&str> {
    uri.split('/')
        .find_map(|segment| segment.strip_prefix(&format!("{PARTITION_COLUMN}=")))
}

#[cfg(test)]
mod tests {
    use super::partition_of;

    #[test]
    fn the_partition_is_read_from_the_path() {
        assert_eq!(
            partition_of("file:///l/readings/date=2026-11-03/part-0001.zstd.parquet"),
            Some("2026-11-03")
        );
        assert_eq!(partition_of("file:///l/readings/part-0001.parquet"), None);
    }
}
