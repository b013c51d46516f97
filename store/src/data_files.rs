//! Writing an append's data files in parallel and committing them with their source positions.
//!
//! The first commit of a table goes through delta-rs' write operation, which creates the table. Later
//! appends skip its query plan: the kept rows are cut into key ranges, each range is sorted and encoded
//! into its own file(s) by a `RecordBatchWriter` on its own task (so both cores work), and the
//! resulting `add` actions are committed together with one `txn` action per source position.

use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add, Transaction};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::DeltaTable;

use std::sync::Arc;

use arrow::array::{RecordBatch, UInt32Array};

use crate::dedup::ReadingKey;
use crate::lake::{writer_properties, SourcePosition};
use crate::schema::PARTITION_COLUMN;
use crate::StoreError;

/// Fewest rows worth a file of their own: smaller appends are encoded by one task.
pub const MIN_ROWS_PER_PART: usize = 100_000;

/// How many parallel slices to cut `rows` into on this machine.
pub fn parts_for(rows: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    (rows / MIN_ROWS_PER_PART).clamp(1, cores)
}

/// Writes the rows `kept` of `batch` (lake schema, date column included) as new data files of `table`,
/// sorted by `keys`. The rows are cut into [`parts_for`] ranges of keys; each range is sorted, gathered
/// and encoded into its own file(s) on its own blocking task, so both cores work. Returns the `add` actions in key
/// order.
pub(crate) async fn write_sorted_files(
    table: &DeltaTable,
    batch: RecordBatch,
    keys: Arc<Vec<ReadingKey>>,
    kept: Vec<u32>,
) -> Result<Vec<Add>, StoreError> {
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    let mut tasks = Vec::new();
    for mut rows in split_by_key_range(&keys, kept, parts_for(batch.num_rows())) {
        let mut writer =
            RecordBatchWriter::for_table(table)?.with_writer_properties(writer_properties()?);
        let (batch, keys) = (batch.clone(), keys.clone());
        // CPU-bound work goes to the blocking pool, so the runtime's workers stay free for the consumer
        // filling the next flush while this one encodes.
        let runtime = tokio::runtime::Handle::current();
        tasks.push(tokio::task::spawn_blocking(move || {
            rows.sort_unstable_by(|a, b| keys[*a as usize].cmp(&keys[*b as usize]));
            let sorted = arrow::compute::take_record_batch(&batch, &UInt32Array::from(rows))
                .map_err(|e| deltalake::DeltaTableError::Generic(e.to_string()))?;
            runtime.block_on(async move {
                writer.write(sorted).await?;
                writer.flush().await
            })
        }));
    }
    let mut adds = Vec::new();
    for task in tasks {
        let written = task
            .await
            .map_err(|e| StoreError::Schema(format!("data file task failed: {e}")))?;
        adds.extend(written?);
    }
    Ok(adds)
}

/// Splits row indices into `parts` groups of about equal size whose key ranges do not overlap
/// (boundaries taken from a sorted sample of the keys), in key order.
fn split_by_key_range(keys: &[ReadingKey], rows: Vec<u32>, parts: usize) -> Vec<Vec<u32>> {
    if parts <= 1 || rows.len() < parts {
        return vec![rows];
    }
    let step = (rows.len() / 1024).max(1);
    let mut sample: Vec<&ReadingKey> = rows
        .iter()
        .step_by(step)
        .map(|&r| &keys[r as usize])
        .collect();
    sample.sort_unstable();
    let pivots: Vec<&ReadingKey> = (1..parts)
        .map(|i| sample[sample.len() * i / parts])
        .collect();
    let mut groups = vec![Vec::with_capacity(rows.len() / parts + 1); parts];
    for row in rows {
        let key = &keys[row as usize];
        groups[pivots.partition_point(|pivot| *pivot <= key)].push(row);
    }
    groups
}

/// Commits `adds` with one `txn` action per position as the next version of `table` (conflicts with
/// concurrent writers are resolved as delta-rs does for appends); returns the committed version.
pub(crate) async fn commit_adds(
    table: &mut DeltaTable,
    adds: Vec<Add>,
    positions: &[SourcePosition],
) -> Result<i64, StoreError> {
    let properties = CommitProperties::default().with_application_transactions(
        positions
            .iter()
            .map(|p| Transaction::new(&p.source, p.position))
            .collect(),
    );
    let operation = DeltaOperation::Write {
        mode: SaveMode::Append,
        partition_by: Some(vec![PARTITION_COLUMN.to_string()]),
        predicate: None,
    };
    let finalized = CommitBuilder::from(properties)
        .with_actions(adds.into_iter().map(Action::Add).collect())
        .build(Some(table.snapshot()?), table.log_store(), operation)
        .await?;
    table.state = Some(finalized.snapshot());
    i64::try_from(finalized.version())
        .map_err(|_| StoreError::Schema("table version out of range".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedup::MeterKey;

    #[test]
    fn key_ranges_cover_every_row_once_and_do_not_overlap() {
        let keys: Vec<ReadingKey> = (0..10_000)
            .map(|i| {
                (
                    MeterKey::new(&format!("{:012}", (i * 7919) % 10_000)),
                    i64::from(i % 3),
                )
            })
            .collect();
        let rows: Vec<u32> = (0..10_000).collect();
        let groups = split_by_key_range(&keys, rows, 2);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].len() + groups[1].len(), 10_000);
        assert!(groups.iter().all(|g| g.len() > 3_000));
        let max_low = groups[0].iter().map(|&r| &keys[r as usize]).max().unwrap();
        let min_high = groups[1].iter().map(|&r| &keys[r as usize]).min().unwrap();
        assert!(max_low < min_high);
        assert_eq!(split_by_key_range(&keys, vec![5], 2), vec![vec![5]]);
    }
}
