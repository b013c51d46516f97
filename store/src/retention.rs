//! Retention: drop whole date partitions older than a cut-off, then VACUUM the files they left behind
//! once a grace period has passed (until then, `--as-of` can still read the dropped rows).

use chrono::{NaiveDate, TimeDelta};

use crate::schema::PARTITION_COLUMN;
use crate::{Lake, StoreError};

/// What dropping old partitions did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DropReport {
    /// Files removed from the table (still on storage until vacuumed).
    pub files_removed: u64,
    /// Rows those files held, when Delta reports it.
    pub rows_removed: Option<u64>,
    /// Table version after the drop.
    pub version: Option<i64>,
}

impl Lake {
    /// Removes every partition whose local date is before `before` (a metadata-only delete: whole
    /// files leave the table, nothing is rewritten).
    pub async fn drop_partitions_before(
        &mut self,
        before: NaiveDate,
    ) -> Result<DropReport, StoreError> {
        if self.table.version().is_none() {
            return Ok(DropReport::default());
        }
        self.table.load().await?;
        let predicate = format!("{PARTITION_COLUMN} < '{}'", before.format("%Y-%m-%d"));
        let (table, metrics) = self
            .table
            .clone()
            .delete()
            .with_predicate(predicate)
            .await?;
        self.table = table;
        Ok(DropReport {
            files_removed: metrics.num_removed_files as u64,
            rows_removed: metrics.num_deleted_rows.map(|n| n as u64),
            version: self.version(),
        })
    }

    /// Deletes from storage the files removed from the table more than `grace` ago; returns their paths.
    /// A zero grace is allowed (it ends time travel to before the removal at once).
    pub async fn vacuum(&mut self, grace: TimeDelta) -> Result<Vec<String>, StoreError> {
        if self.table.version().is_none() {
            return Ok(Vec::new());
        }
        self.table.load().await?;
        let (table, metrics) = self
            .table
            .clone()
            .vacuum()
            .with_retention_period(grace)
            .with_enforce_retention_duration(false)
            .with_dry_run(false)
            .await?;
        self.table = table;
        Ok(metrics.files_deleted)
    }
}
