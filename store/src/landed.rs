//! Telling whether a commit refused as another writer's was this process's own.
//!
//! When the object store does the work but its answer is lost (a `500` after the write, a dropped
//! connection), the client retries the conditional put of the log entry, finds it there and delta-rs
//! takes the entry for a concurrent writer's: it names our own source positions, so the commit is
//! refused as a concurrent transaction. Reading the sources' positions back tells what happened: when
//! the lake holds every one of them, the rows are committed (by this process, or by a writer that
//! committed the same positions and so the same rows) and the writer can go on instead of failing.

use deltalake::kernel::transaction::{CommitConflictError, TransactionError};
use deltalake::{DeltaTable, DeltaTableError};

use crate::lake::{load_latest, transaction_version, SourcePosition};
use crate::StoreError;

/// Whether `err` is delta-rs refusing a commit because a newer one names the same source (a `txn`
/// application id this commit also sets).
pub(crate) fn is_same_source_conflict(err: &StoreError) -> bool {
    matches!(
        err,
        StoreError::Delta(DeltaTableError::Transaction {
            source: TransactionError::CommitConflict(CommitConflictError::ConcurrentTransaction)
        })
    )
}

/// Loads the newest version of `table` and tells whether it holds every one of `positions` (each
/// source's committed position at or past the one given). `false` for no positions.
pub(crate) async fn positions_landed(
    table: &mut DeltaTable,
    positions: &[SourcePosition],
) -> Result<bool, StoreError> {
    load_latest(table).await?;
    if positions.is_empty() {
        return Ok(false);
    }
    for wanted in positions {
        match transaction_version(table, &wanted.source).await? {
            Some(committed) if committed >= wanted.position => {}
            _ => return Ok(false),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests;
