//! Writing an append's data files in parallel and committing them with their source positions.
//!
//! The first commit of a table goes through delta-rs' write operation, which creates the table. Later
//! appends skip its query plan: the sorted rows are cut into contiguous slices, each slice is encoded
//! into its own file(s) by a `RecordBatchWriter` on its own task (so both cores encode), and the
//! resulting `add` actions are committed together with one `txn` action per source position.

use deltalake::kernel::transaction::{CommitBuilder, CommitProperties};
use deltalake::kernel::{Action, Add, Transaction};
use deltalake::protocol::{DeltaOperation, SaveMode};
use deltalake::writer::{DeltaWriter, RecordBatchWriter};
use deltalake::DeltaTable;

use arrow::array::RecordBatch;

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

/// Encodes `batch` (lake schema, date column included) into new data files of `table`, in
/// [`parts_for`] contiguous slices written concurrently; returns their `add` actions in slice order.
pub(crate) async fn write_data_files(
    table: &DeltaTable,
    batch: RecordBatch,
) -> Result<Vec<Add>, StoreError> {
    let rows = batch.num_rows();
    if rows == 0 {
        return Ok(Vec::new());
    }
    let chunk = rows.div_ceil(parts_for(rows));
    let mut tasks = Vec::new();
    for start in (0..rows).step_by(chunk) {
        let slice = batch.slice(start, chunk.min(rows - start));
        let mut writer =
            RecordBatchWriter::for_table(table)?.with_writer_properties(writer_properties()?);
        tasks.push(tokio::spawn(async move {
            writer.write(slice).await?;
            writer.flush().await
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
