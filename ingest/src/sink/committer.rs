//! The sink's writing half: it owns the lake tables and makes one flush's commits (dead letters, then
//! readings). A flush runs as a background task while the sink goes on consuming; the committer travels
//! into the task and back.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use store::{AppendReport, DeadLetter, DeadLetterTable, Lake, SourcePosition};

use super::{points, PartitionBuffer, SinkError, SinkStats};
use crate::fail_point;

/// Owner of the lake tables the sink writes.
pub struct Committer {
    /// The readings table.
    pub lake: Lake,
    /// The dead-letter table.
    pub dead_letters: DeadLetterTable,
}

/// One flush's content: every partition's share and the source id of each partition.
pub struct FlushJob {
    /// Per partition: its source id and its share.
    pub shares: BTreeMap<i32, (String, PartitionBuffer)>,
    /// Rows in the shares.
    pub rows: usize,
}

/// What a finished flush committed.
pub struct FlushDone {
    /// The last offset committed per partition.
    pub offsets: Vec<(i32, i64)>,
    /// Rows consumed by the flush (written, or recognised as copies).
    pub rows: usize,
    /// The readings commit.
    pub report: AppendReport,
}

impl Committer {
    /// The lake position of `source` in the newest version (−1 for none).
    pub async fn position(&mut self, source: &str) -> Result<i64, SinkError> {
        Ok(self.lake.source_position(source).await?.unwrap_or(-1))
    }

    /// Commits the job: dead letters the table does not hold yet, then the readings with every
    /// partition's position. Counts dead letters into `stats`.
    pub async fn commit(
        &mut self,
        job: FlushJob,
        stats: &Arc<SinkStats>,
    ) -> Result<FlushDone, SinkError> {
        let FlushJob { mut shares, rows } = job;
        self.commit_dead_letters(&mut shares, stats).await?;
        let positions: Vec<SourcePosition> = shares
            .values()
            .map(|(source, share)| SourcePosition {
                source: source.clone(),
                position: share.last_offset,
            })
            .collect();
        let offsets = shares
            .iter()
            .map(|(partition, (_, share))| (*partition, share.last_offset))
            .collect();
        let batches = shares
            .into_values()
            .flat_map(|(_, share)| share.batches)
            .collect();
        fail_point::pass(points::BEFORE_LAKE_COMMIT);
        let report = self.lake.append_prepared(batches, &positions).await?;
        fail_point::pass(points::AFTER_LAKE_COMMIT);
        Ok(FlushDone {
            offsets,
            rows,
            report,
        })
    }

    async fn commit_dead_letters(
        &mut self,
        shares: &mut BTreeMap<i32, (String, PartitionBuffer)>,
        stats: &Arc<SinkStats>,
    ) -> Result<(), SinkError> {
        let mut letters = Vec::new();
        let mut positions = Vec::new();
        for (source, share) in shares.values_mut() {
            if share.dead_letters.is_empty() {
                continue;
            }
            let recorded = self
                .dead_letters
                .source_position(source)
                .await?
                .unwrap_or(-1);
            let fresh: Vec<DeadLetter> = std::mem::take(&mut share.dead_letters)
                .into_iter()
                .filter(|letter| letter.position > recorded)
                .collect();
            if let Some(last) = fresh.last() {
                positions.push(SourcePosition {
                    source: source.clone(),
                    position: last.position,
                });
                letters.extend(fresh);
            }
        }
        if !letters.is_empty() {
            self.dead_letters.append(&letters, &positions).await?;
            stats
                .dead_letters
                .fetch_add(letters.len() as u64, Ordering::Relaxed);
            fail_point::pass(points::AFTER_DEAD_LETTER_COMMIT);
        }
        Ok(())
    }
}
