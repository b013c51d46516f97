//! What the sink has consumed but not yet committed, kept per Kafka partition so a revoked partition's
//! share can be dropped alone.

use std::collections::BTreeMap;

use store::{DeadLetter, PreparedRows};

/// One partition's uncommitted share.
#[derive(Debug, Default)]
pub struct PartitionBuffer {
    /// Decoded reading rows, prepared for the lake.
    pub batches: Vec<PreparedRows>,
    /// Rows in `batches`.
    pub rows: usize,
    /// Messages that did not decode.
    pub dead_letters: Vec<DeadLetter>,
    /// The last offset consumed (its rows or dead letter are in this buffer).
    pub last_offset: i64,
}

/// Uncommitted shares of every partition.
#[derive(Debug, Default)]
pub struct Buffers {
    partitions: BTreeMap<i32, PartitionBuffer>,
    rows: usize,
}

impl Buffers {
    /// The last offset buffered for `partition`, if any.
    pub fn last_offset(&self, partition: i32) -> Option<i64> {
        self.partitions.get(&partition).map(|b| b.last_offset)
    }

    /// Adds a decoded message.
    pub fn add_batches(&mut self, partition: i32, offset: i64, batches: Vec<PreparedRows>) {
        let rows: usize = batches.iter().map(PreparedRows::num_rows).sum();
        let buffer = self.partitions.entry(partition).or_default();
        buffer.batches.extend(batches);
        buffer.rows += rows;
        buffer.last_offset = offset;
        self.rows += rows;
    }

    /// Adds a message that did not decode.
    pub fn add_dead_letter(&mut self, partition: i32, offset: i64, letter: DeadLetter) {
        let buffer = self.partitions.entry(partition).or_default();
        buffer.dead_letters.push(letter);
        buffer.last_offset = offset;
    }

    /// Drops a partition's share (it was revoked, or another writer got ahead); returns its rows.
    pub fn drop_partition(&mut self, partition: i32) -> usize {
        let rows = self.partitions.remove(&partition).map_or(0, |b| b.rows);
        self.rows -= rows;
        rows
    }

    /// Rows buffered over all partitions.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// True when no message is buffered.
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    /// Partitions with buffered messages.
    pub fn partitions(&self) -> Vec<i32> {
        self.partitions.keys().copied().collect()
    }

    /// Takes everything, leaving the buffers empty.
    pub fn take(&mut self) -> BTreeMap<i32, PartitionBuffer> {
        self.rows = 0;
        std::mem::take(&mut self.partitions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(rows: usize) -> PreparedRows {
        let boundary = chrono::DateTime::from_timestamp(1_790_000_100, 0).unwrap();
        let readings: Vec<crate::reading::Reading> = (0..rows)
            .map(|m| crate::reading::Reading::empty(format!("{m:012}"), boundary, "bus", "c"))
            .collect();
        let batch = crate::reading::readings_to_batch(&readings).unwrap();
        PreparedRows::new(&batch, chrono_tz::Asia::Shanghai).unwrap()
    }

    #[test]
    fn dropping_a_partition_keeps_the_others() {
        let mut buffers = Buffers::default();
        buffers.add_batches(0, 10, vec![batch(3)]);
        buffers.add_batches(1, 4, vec![batch(5), batch(2)]);
        buffers.add_batches(0, 11, vec![batch(1)]);
        assert_eq!(buffers.rows(), 11);
        assert_eq!(buffers.last_offset(0), Some(11));
        assert_eq!(buffers.drop_partition(1), 7);
        assert_eq!(buffers.rows(), 4);
        assert_eq!(buffers.partitions(), vec![0]);
        let taken = buffers.take();
        assert_eq!(taken[&0].rows, 4);
        assert!(buffers.is_empty());
        assert_eq!(buffers.rows(), 0);
    }
}
