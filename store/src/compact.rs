//! Compaction: Delta OPTIMIZE rewrites a partition's small files into large ones.
//!
//! Safe while the sink appends: OPTIMIZE only removes the files it rewrote, and appends only add files,
//! so Delta's conflict checker lets both commit. If another writer's commit does conflict (a concurrent
//! compaction of the same files), the table is reloaded and the compaction retried.

use std::num::NonZeroU64;

use deltalake::operations::optimize::OptimizeType;
use deltalake::DeltaTableError;

use crate::lake::writer_properties;
use crate::schema::col;
use crate::{Lake, StoreError};

/// How to compact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactOptions {
    /// Size the rewritten files aim for, in bytes.
    pub target_bytes: u64,
    /// Z-order the rewritten files by meter (clusters each meter's rows for meter predicates).
    pub zorder_by_meter: bool,
    /// Attempts before a repeated commit conflict is reported.
    pub max_attempts: u32,
}

impl Default for CompactOptions {
    fn default() -> Self {
        Self {
            target_bytes: 256 * 1024 * 1024,
            zorder_by_meter: false,
            max_attempts: 5,
        }
    }
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CompactReport {
    /// Small files rewritten (removed from the table).
    pub files_removed: u64,
    /// Large files written.
    pub files_added: u64,
    /// Partitions that were rewritten.
    pub partitions: u64,
    /// Table version after the compaction (`None` for an empty lake).
    pub version: Option<i64>,
    /// Commit attempts used.
    pub attempts: u32,
}

impl Lake {
    /// Compacts every partition that has more than one file into files of about `target_bytes`.
    pub async fn compact(&mut self, options: &CompactOptions) -> Result<CompactReport, StoreError> {
        if self.table.version().is_none() {
            return Ok(CompactReport::default());
        }
        let target =
            NonZeroU64::new(options.target_bytes.max(1024 * 1024)).unwrap_or(NonZeroU64::MIN);
        let mut attempts = 0;
        loop {
            attempts += 1;
            self.table.load().await?;
            let mut builder = self
                .table
                .clone()
                .optimize()
                .with_target_size(target)
                .with_writer_properties(writer_properties()?);
            if options.zorder_by_meter {
                builder = builder.with_type(OptimizeType::ZOrder(vec![col::METER_ID.to_string()]));
            }
            match builder.await {
                Ok((table, metrics)) => {
                    self.table = table;
                    return Ok(CompactReport {
                        files_removed: metrics.num_files_removed,
                        files_added: metrics.num_files_added,
                        partitions: metrics.partitions_optimized,
                        version: self.version(),
                        attempts,
                    });
                }
                Err(DeltaTableError::Transaction { source }) if attempts < options.max_attempts => {
                    tracing::warn!(%source, attempts, "compaction lost a commit race; retrying");
                }
                Err(err) => return Err(err.into()),
            }
        }
    }
}
