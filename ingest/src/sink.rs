//! The Kafka → lake sink: a consumer-group member that appends reading batches to the Delta table.
//!
//! Exactly-once rests on the lake, not on Kafka: every commit carries, per Kafka partition, the last offset
//! whose rows it contains (a Delta `txn` action through [`store::SourcePosition`]). On every assignment the
//! sink reads those positions from the log and seeks past them; messages at or below a committed position are
//! skipped, so replays after a crash or rebalance never duplicate rows. Before each commit it re-reads the
//! positions of the partitions it is about to advance and drops any share another writer got ahead on; a
//! writer that commits in between loses Delta's conflict check on the shared `txn` app id. Messages that do
//! not decode, and rows that screening refuses (a boundary in the future, a register out of range), go to the
//! lake's `dead_letters` table, with positions of their own. Kafka's committed offsets
//! are written after each lake commit only to resume quickly and for lag monitoring. The whole argument is
//! in `docs/sink-protocol.md`.

mod buffer;
mod committer;
mod faults;
mod rebalance;
mod screening;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::OwnedMessage;
use rdkafka::{Message, Offset, TopicPartitionList};
use store::{DeadLetter, DeadLetterTable, Lake, LakeLocation, PreparedRows, StoreError};
use tokio::task::JoinHandle;

pub use buffer::{Buffers, PartitionBuffer};
pub use committer::{Committer, FlushDone, FlushJob};
pub use faults::SinkFault;
pub use rebalance::{RebalanceEvent, SinkContext};

use crate::clock::{Clock, SystemClock};
use crate::fail_point;
use crate::kafka::message::decode_message;
use crate::kafka::{KafkaSettings, Topics};

/// When the sink commits.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    /// Consumer group (also the prefix of the lake's source ids).
    pub group_id: String,
    /// Commit when this many rows are buffered.
    pub flush_rows: usize,
    /// Commit at least this often while rows are buffered (the latency bound).
    pub flush_interval: Duration,
    /// How far past the sink's clock a reading's boundary may lie before the row is refused (clock
    /// skew between collectors and the sink).
    pub future_tolerance: Duration,
}

/// Counters of a running sink.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Rows consumed and committed: written to the lake, or recognised as copies of rows it holds.
    pub rows_committed: AtomicU64,
    /// Delta commits of readings made.
    pub commits: AtomicU64,
    /// Messages recorded in the dead-letter table.
    pub dead_letters: AtomicU64,
    /// Rows refused by screening (their messages' other rows went on).
    pub rows_refused: AtomicU64,
    /// Messages skipped because the lake already holds them.
    pub duplicates_skipped: AtomicU64,
    /// Rows not written because the lake already held their (meter, boundary).
    pub duplicate_rows: AtomicU64,
    /// Uncommitted rows dropped on a rebalance or because another writer got ahead (they are re-read).
    pub rows_dropped_on_rebalance: AtomicU64,
    /// Partitions of the readings topic currently assigned to this sink.
    pub partitions_assigned: AtomicU64,
    /// Unix milliseconds of the last readings commit (0 before the first).
    pub last_commit_ms: std::sync::atomic::AtomicI64,
    /// Whether the Kafka cluster is reachable.
    pub link: crate::kafka::KafkaLink,
}

/// Errors that stop the sink.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// Kafka failed.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The lake failed.
    #[error("lake: {0}")]
    Store(#[from] StoreError),
    /// A background flush panicked or was cancelled.
    #[error("flush task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// The lake tables are neither here nor with a flush in flight (a failed flush took them).
    #[error("the lake tables were lost with a failed flush")]
    TablesLost,
}

/// Failure points of the commit path (see [`crate::fail_point`]).
pub mod points {
    /// After the dead letters' commit, before the readings' commit.
    pub const AFTER_DEAD_LETTER_COMMIT: &str = "sink.after_dead_letter_commit";
    /// Before the readings' Delta commit.
    pub const BEFORE_LAKE_COMMIT: &str = "sink.before_lake_commit";
    /// After the readings' Delta commit, before Kafka's offsets are committed.
    pub const AFTER_LAKE_COMMIT: &str = "sink.after_lake_commit";
    /// After Kafka's offsets are committed.
    pub const AFTER_KAFKA_COMMIT: &str = "sink.after_kafka_commit";
}

/// The end of the flush in flight (never, if there is none).
async fn flush_end(
    in_flight: &mut Option<FlushTask>,
) -> Result<FlushOutcome, tokio::task::JoinError> {
    match in_flight {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}

/// Rows of `batches` that did not make it into `kept`.
fn refusal_rows(batches: &[arrow::array::RecordBatch], kept: &[PreparedRows]) -> u64 {
    let total: usize = batches
        .iter()
        .map(arrow::array::RecordBatch::num_rows)
        .sum();
    let kept: usize = kept.iter().map(PreparedRows::num_rows).sum();
    (total - kept.min(total)) as u64
}

/// What a background flush hands back: the lake tables and the outcome of its commit.
type FlushOutcome = (Committer, Result<FlushDone, SinkError>);
/// A background flush.
type FlushTask = JoinHandle<FlushOutcome>;

/// The sink.
pub struct Sink {
    config: SinkConfig,
    consumer: StreamConsumer<SinkContext>,
    context: SinkContext,
    /// The lake's time zone, for preparing rows as they arrive.
    zone: chrono_tz::Tz,
    /// The clock future boundaries are judged by.
    clock: Arc<dyn Clock>,
    /// The lake tables, unless a flush has them in the background (`in_flight`).
    committer: Option<Committer>,
    in_flight: Option<FlushTask>,
    topics: Topics,
    stats: Arc<SinkStats>,
    /// Per assigned partition: the last offset the lake holds (−1 for none).
    committed: HashMap<i32, i64>,
    /// A table version at which every position in `committed` was known to match the lake: a fence that
    /// finds the table still there skips reading the positions again.
    verified_version: Option<i64>,
    buffers: Buffers,
    pending_since: Option<Instant>,
    /// Told of every finished commit (a supervised sink's progress).
    progress: Option<crate::supervise::LoopHandle>,
}

impl Sink {
    /// Joins the consumer group and subscribes to the readings topic.
    pub async fn new(
        config: SinkConfig,
        settings: &KafkaSettings,
        topics: Topics,
        lake: Lake,
        location: &LakeLocation,
    ) -> Result<Self, SinkError> {
        Self::counting_into(config, settings, topics, lake, location, Arc::default()).await
    }

    /// As [`Sink::new`], counting into `stats` (a restarted sink goes on with its predecessor's
    /// counters, and `/healthz` keeps reading the same ones).
    pub async fn counting_into(
        config: SinkConfig,
        settings: &KafkaSettings,
        topics: Topics,
        lake: Lake,
        location: &LakeLocation,
        stats: Arc<SinkStats>,
    ) -> Result<Self, SinkError> {
        let context = SinkContext::watching(stats.link.clone());
        // A new member starts from the lake's positions: nothing assigned yet.
        stats.partitions_assigned.store(0, Ordering::Relaxed);
        let consumer =
            crate::kafka::consumer_with_context(settings, &config.group_id, context.clone())?;
        consumer.subscribe(&[&topics.readings])?;
        Ok(Self {
            zone: lake.zone(),
            clock: Arc::new(SystemClock),
            committer: Some(Committer {
                lake,
                dead_letters: DeadLetterTable::open(location).await?,
            }),
            in_flight: None,
            config,
            consumer,
            context,
            topics,
            stats,
            committed: HashMap::new(),
            verified_version: None,
            buffers: Buffers::default(),
            pending_since: None,
            progress: None,
        })
    }

    /// Reports each finished commit to `handle` (the loop supervising this sink).
    pub fn reporting_to(mut self, handle: crate::supervise::LoopHandle) -> Self {
        self.progress = Some(handle);
        self
    }

    /// Judges future boundaries by `clock` instead of the system clock (a simulated fleet's clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The sink's counters (shared; they keep counting while the sink runs).
    pub fn stats(&self) -> Arc<SinkStats> {
        self.stats.clone()
    }

    fn source_id(&self, partition: i32) -> String {
        format!(
            "{}-{}-{partition}",
            self.config.group_id, self.topics.readings
        )
    }

    /// True when buffered rows must be committed now.
    fn should_flush(&self) -> bool {
        self.buffers.rows() >= self.config.flush_rows
            || self
                .pending_since
                .is_some_and(|t| t.elapsed() >= self.config.flush_interval)
    }

    /// True while a flush is in flight and the buffer can still take rows: consuming goes on rather than
    /// waiting for it (the buffer holds at most twice `flush_rows`).
    fn flush_would_wait(&self) -> bool {
        self.in_flight.is_some() && self.buffers.rows() < 2 * self.config.flush_rows
    }

    /// Runs until `shutdown` turns true, then commits what is buffered and returns.
    pub async fn run(
        mut self,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), SinkError> {
        loop {
            // While a flush is in flight its end wakes the loop; otherwise the latency bound does.
            let wait = match self.pending_since {
                Some(since) if self.in_flight.is_none() => {
                    self.config.flush_interval.saturating_sub(since.elapsed())
                }
                _ => Duration::from_millis(200),
            };
            let in_flight = self.in_flight.is_some();
            tokio::select! {
                _ = shutdown.changed() => {
                    self.apply_rebalances().await?;
                    self.flush().await?;
                    self.committer().await?;
                    return Ok(());
                }
                finished = flush_end(&mut self.in_flight), if in_flight => {
                    self.in_flight = None;
                    let (committer, result) = finished?;
                    self.committer = Some(committer);
                    self.complete(result?)?;
                }
                received = tokio::time::timeout(wait, self.consumer.recv()) => {
                    if let Ok(message) = received {
                        match message {
                            Ok(message) => {
                                let message = message.detach();
                                self.handle(message).await?;
                            }
                            Err(err) => self.consumer.context().consumer_error(&err),
                        }
                    }
                }
            }
            self.apply_rebalances().await?;
            if self.should_flush() && !self.flush_would_wait() {
                self.flush().await?;
            }
        }
    }

    /// The lake tables, after the flush in flight (if any) has finished and been accounted for.
    async fn committer(&mut self) -> Result<&mut Committer, SinkError> {
        if let Some(task) = self.in_flight.take() {
            let (committer, result) = task.await?;
            self.committer = Some(committer);
            self.complete(result?)?;
        }
        self.committer.as_mut().ok_or(SinkError::TablesLost)
    }

    /// Accounts for a finished flush and commits its offsets to Kafka (for monitoring).
    fn complete(&mut self, done: FlushDone) -> Result<(), SinkError> {
        // Our commit directly after the verified version leaves every position known.
        if self
            .verified_version
            .is_some_and(|v| v + 1 == done.report.version)
        {
            self.verified_version = Some(done.report.version);
        } else {
            self.verified_version = None;
        }
        self.stats
            .rows_committed
            .fetch_add(done.rows as u64, Ordering::Relaxed);
        self.stats
            .duplicate_rows
            .fetch_add(done.report.duplicates_dropped, Ordering::Relaxed);
        self.stats.commits.fetch_add(1, Ordering::Relaxed);
        self.stats
            .last_commit_ms
            .store(chrono::Utc::now().timestamp_millis(), Ordering::Relaxed);
        if let Some(progress) = &self.progress {
            progress.success();
        }
        let mut offsets = TopicPartitionList::new();
        for (partition, offset) in done.offsets {
            offsets.add_partition_offset(
                &self.topics.readings,
                partition,
                Offset::Offset(offset + 1),
            )?;
        }
        if let Err(err) = self.consumer.commit(&offsets, CommitMode::Async) {
            tracing::debug!(%err, "kafka offset commit (monitoring only) failed");
        }
        fail_point::pass(points::AFTER_KAFKA_COMMIT);
        Ok(())
    }

    /// Applies the assignment changes the consumer reported since the last call.
    async fn apply_rebalances(&mut self) -> Result<(), SinkError> {
        let events = self.context.drain();
        if !events.is_empty() {
            // A flush in flight finishes first: its commit is made under the old assignment.
            self.committer().await?;
        }
        for event in events {
            match event {
                RebalanceEvent::Revoked(partitions) => {
                    let count = partitions.len() as u64;
                    let _ = self.stats.partitions_assigned.fetch_update(
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                        |n| Some(n.saturating_sub(count)),
                    );
                    for partition in partitions {
                        self.forget(partition);
                    }
                }
                RebalanceEvent::Assigned(partitions) => {
                    self.verified_version = None;
                    self.stats
                        .partitions_assigned
                        .fetch_add(partitions.len() as u64, Ordering::Relaxed);
                    self.committer().await?.lake.refresh().await?;
                    for partition in partitions {
                        self.forget(partition);
                        let position = self.lake_position(partition).await?;
                        self.committed.insert(partition, position);
                        self.seek_past(partition, position);
                    }
                }
            }
        }
        if self.buffers.is_empty() {
            self.pending_since = None;
        }
        Ok(())
    }

    /// Drops what is known about `partition`: its uncommitted share and its cached position.
    fn forget(&mut self, partition: i32) {
        let dropped = self.buffers.drop_partition(partition);
        self.stats
            .rows_dropped_on_rebalance
            .fetch_add(dropped as u64, Ordering::Relaxed);
        self.committed.remove(&partition);
    }

    /// Moves the consumer of `partition` to the first offset after `position`. A failed seek is only
    /// slower: Kafka's committed offset never passes the lake's position, and older messages are skipped.
    fn seek_past(&self, partition: i32, position: i64) {
        let offset = if position < 0 {
            Offset::Beginning
        } else {
            Offset::Offset(position + 1)
        };
        if let Err(err) = self.consumer.seek(
            &self.topics.readings,
            partition,
            offset,
            Duration::from_secs(5),
        ) {
            tracing::debug!(%err, partition, "seek after assignment failed; skipping instead");
        }
    }

    async fn lake_position(&mut self, partition: i32) -> Result<i64, SinkError> {
        let source = self.source_id(partition);
        self.committer().await?.position(&source).await
    }

    async fn committed_position(&mut self, partition: i32) -> Result<i64, SinkError> {
        if let Some(position) = self.committed.get(&partition) {
            return Ok(*position);
        }
        self.committer().await?.lake.refresh().await?;
        let position = self.lake_position(partition).await?;
        self.committed.insert(partition, position);
        Ok(position)
    }

    async fn handle(&mut self, message: OwnedMessage) -> Result<(), SinkError> {
        let (partition, offset) = (message.partition(), message.offset());
        let done = match self.buffers.last_offset(partition) {
            Some(offset) => offset,
            None => self.committed_position(partition).await?,
        };
        if offset <= done {
            self.stats
                .duplicates_skipped
                .fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        match decode_message(&message) {
            Ok(batches) => {
                let latest = screening::latest_boundary(
                    self.clock.now(),
                    message.timestamp().to_millis(),
                    self.config.future_tolerance,
                );
                match screening::screen_message(&batches, latest, self.zone) {
                    Ok(screened) => {
                        if let Some(refusal) = screened.refusal {
                            self.stats.rows_refused.fetch_add(
                                refusal_rows(&batches, &screened.rows),
                                Ordering::Relaxed,
                            );
                            self.dead_letter(partition, offset, &message, refusal);
                        }
                        self.buffers.add_batches(partition, offset, screened.rows);
                    }
                    Err(err) => self.dead_letter(partition, offset, &message, err.to_string()),
                }
            }
            Err(err) => self.dead_letter(partition, offset, &message, err.to_string()),
        }
        self.pending_since.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// Buffers a message that cannot go into the lake as a dead letter.
    fn dead_letter(&mut self, partition: i32, offset: i64, message: &OwnedMessage, err: String) {
        tracing::warn!(partition, offset, error = %err, "dead letter");
        let letter = DeadLetter {
            source: self.source_id(partition),
            position: offset,
            key: message.key().map(<[u8]>::to_vec),
            payload: message.payload().map(<[u8]>::to_vec),
            error: err,
            recorded_at: chrono::Utc::now(),
        };
        self.buffers.add_dead_letter(partition, offset, letter);
    }

    /// Drops the share of every partition whose lake position moved since it was read: another writer
    /// owned the partition meanwhile. The consumer is sent back to re-read after that writer's position.
    async fn fence(&mut self) -> Result<(), SinkError> {
        let lake = &mut self.committer().await?.lake;
        lake.refresh().await?;
        let version = lake.version();
        if version.is_some() && version == self.verified_version {
            // Nobody committed since the positions were last known: nothing to read.
            return Ok(());
        }
        for partition in self.buffers.partitions() {
            let expected = self.committed.get(&partition).copied().unwrap_or(-1);
            let actual = self.lake_position(partition).await?;
            if actual != expected {
                tracing::warn!(
                    partition,
                    expected,
                    actual,
                    "another writer advanced this partition; re-reading it"
                );
                self.forget(partition);
                self.committed.insert(partition, actual);
                self.consumer.seek(
                    &self.topics.readings,
                    partition,
                    Offset::Offset(actual + 1),
                    Duration::from_secs(5),
                )?;
            }
        }
        self.verified_version = version;
        Ok(())
    }

    /// Starts committing buffered rows and their positions to the lake in the background, after the
    /// previous flush finished. Kafka offsets follow when it completes.
    async fn flush(&mut self) -> Result<(), SinkError> {
        self.pending_since = None;
        if self.buffers.is_empty() {
            return Ok(());
        }
        let fence_started = Instant::now();
        self.fence().await?;
        tracing::debug!(took = ?fence_started.elapsed(), "sink fence");
        let rows = self.buffers.rows();
        let shares: std::collections::BTreeMap<i32, (String, PartitionBuffer)> = self
            .buffers
            .take()
            .into_iter()
            .map(|(partition, share)| (partition, (self.source_id(partition), share)))
            .collect();
        if shares.is_empty() {
            return Ok(());
        }
        // If the commit fails the sink stops, so the positions can be taken as committed now.
        for (partition, (_, share)) in &shares {
            self.committed.insert(*partition, share.last_offset);
        }
        let mut committer = self.committer.take().ok_or_else(|| SinkError::TablesLost)?;
        let stats = self.stats.clone();
        self.in_flight = Some(tokio::spawn(async move {
            let result = committer.commit(FlushJob { shares, rows }, &stats).await;
            (committer, result)
        }));
        Ok(())
    }
}
