//! The Kafka → lake sink: a consumer-group member that appends reading batches to the Delta table.
//!
//! Exactly-once rests on the lake, not on Kafka: every commit carries, per Kafka partition, the last offset
//! whose rows it contains (a Delta `txn` action through [`store::SourcePosition`]). Messages at or below the
//! committed position are skipped, so replays after a crash or rebalance never duplicate rows. Kafka's own
//! committed offsets are written after each lake commit only to resume quickly and for lag monitoring.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use store::{Lake, SourcePosition, StoreError};

use crate::kafka::message::{decode, CONTENT_TYPE, SCHEMA_VERSION_HEADER};
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
}

/// Counters of a running sink.
#[derive(Debug, Default)]
pub struct SinkStats {
    /// Rows committed to the lake.
    pub rows_committed: AtomicU64,
    /// Delta commits made.
    pub commits: AtomicU64,
    /// Messages sent to the dead-letter topic.
    pub dead_letters: AtomicU64,
    /// Messages skipped because the lake already holds them.
    pub duplicates_skipped: AtomicU64,
    /// Rows not written because the lake already held their (meter, boundary).
    pub duplicate_rows: AtomicU64,
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
}

/// The sink.
pub struct Sink {
    config: SinkConfig,
    consumer: StreamConsumer,
    dlq: FutureProducer,
    lake: Lake,
    topics: Topics,
    stats: Arc<SinkStats>,
    committed: HashMap<i32, i64>,
    pending: Vec<RecordBatch>,
    pending_rows: usize,
    pending_offsets: BTreeMap<i32, i64>,
    pending_since: Option<Instant>,
}

impl Sink {
    /// Joins the consumer group and subscribes to the readings topic.
    pub fn new(
        config: SinkConfig,
        settings: &KafkaSettings,
        topics: Topics,
        lake: Lake,
    ) -> Result<Self, SinkError> {
        let consumer = crate::kafka::consumer(settings, &config.group_id)?;
        consumer.subscribe(&[&topics.readings])?;
        Ok(Self {
            dlq: crate::kafka::producer(settings)?,
            config,
            consumer,
            lake,
            topics,
            stats: Arc::new(SinkStats::default()),
            committed: HashMap::new(),
            pending: Vec::new(),
            pending_rows: 0,
            pending_offsets: BTreeMap::new(),
            pending_since: None,
        })
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
        self.pending_rows >= self.config.flush_rows
            || self
                .pending_since
                .is_some_and(|t| t.elapsed() >= self.config.flush_interval)
    }

    /// Runs until `shutdown` turns true, then commits what is buffered and returns.
    pub async fn run(
        mut self,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), SinkError> {
        loop {
            let wait = self
                .pending_since
                .map(|t| self.config.flush_interval.saturating_sub(t.elapsed()))
                .unwrap_or(Duration::from_millis(200));
            tokio::select! {
                _ = shutdown.changed() => {
                    self.flush().await?;
                    return Ok(());
                }
                received = tokio::time::timeout(wait, self.consumer.recv()) => {
                    if let Ok(message) = received {
                        match message {
                            Ok(message) => {
                                let message = message.detach();
                                self.handle(message).await?;
                            }
                            Err(err) => tracing::warn!(%err, "sink consumer error"),
                        }
                    }
                }
            }
            if self.should_flush() {
                self.flush().await?;
            }
        }
    }

    async fn committed_position(&mut self, partition: i32) -> Result<i64, SinkError> {
        if let Some(position) = self.committed.get(&partition) {
            return Ok(*position);
        }
        let position = self
            .lake
            .source_position(&self.source_id(partition))
            .await?
            .unwrap_or(-1);
        self.committed.insert(partition, position);
        Ok(position)
    }

    async fn handle(&mut self, message: rdkafka::message::OwnedMessage) -> Result<(), SinkError> {
        let (partition, offset) = (message.partition(), message.offset());
        let done = self
            .pending_offsets
            .get(&partition)
            .copied()
            .unwrap_or(self.committed_position(partition).await?);
        if offset <= done {
            self.stats
                .duplicates_skipped
                .fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let header = |name: &str| {
            message.headers().and_then(|h| {
                h.iter()
                    .find(|x| x.key == name)
                    .and_then(|x| x.value)
                    .and_then(|v| std::str::from_utf8(v).ok().map(str::to_string))
            })
        };
        let content_type = header(CONTENT_TYPE);
        let version = header(SCHEMA_VERSION_HEADER);
        match decode(
            message.payload().unwrap_or_default(),
            content_type.as_deref(),
            version.as_deref(),
        ) {
            Ok(batches) => {
                self.pending_rows += batches.iter().map(RecordBatch::num_rows).sum::<usize>();
                self.pending.extend(batches);
            }
            Err(err) => self.dead_letter(&message, &err.to_string()).await?,
        }
        self.pending_offsets.insert(partition, offset);
        self.pending_since.get_or_insert_with(Instant::now);
        Ok(())
    }

    async fn dead_letter(
        &self,
        message: &rdkafka::message::OwnedMessage,
        error: &str,
    ) -> Result<(), SinkError> {
        tracing::warn!(
            partition = message.partition(),
            offset = message.offset(),
            error,
            "dead letter"
        );
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "dlq-error",
                value: Some(error),
            })
            .insert(Header {
                key: "dlq-source-partition",
                value: Some(&partition),
            })
            .insert(Header {
                key: "dlq-source-offset",
                value: Some(&offset),
            });
        let mut record = FutureRecord::to(&self.topics.readings_dlq)
            .payload(message.payload().unwrap_or_default())
            .headers(headers);
        if let Some(key) = message.key() {
            record = record.key(key);
        }
        self.dlq
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(err, _)| err)?;
        self.stats.dead_letters.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Commits buffered rows and their positions to the lake, then Kafka offsets for monitoring.
    async fn flush(&mut self) -> Result<(), SinkError> {
        if self.pending.is_empty() {
            // Only dead letters buffered: keep their offsets for the next data commit.
            self.pending_since = None;
            return Ok(());
        }
        let positions: Vec<SourcePosition> = self
            .pending_offsets
            .iter()
            .map(|(p, o)| SourcePosition {
                source: self.source_id(*p),
                position: *o,
            })
            .collect();
        let batches = std::mem::take(&mut self.pending);
        let report = match self.lake.append(batches, &positions).await {
            Ok(report) => report,
            Err(err) => {
                self.committed.clear();
                return Err(err.into());
            }
        };
        // Every consumed row is accounted for: written, or recognised as a copy of one in the lake.
        self.stats
            .rows_committed
            .fetch_add(self.pending_rows as u64, Ordering::Relaxed);
        self.stats
            .duplicate_rows
            .fetch_add(report.duplicates_dropped, Ordering::Relaxed);
        self.stats.commits.fetch_add(1, Ordering::Relaxed);
        let mut offsets = TopicPartitionList::new();
        for (partition, offset) in std::mem::take(&mut self.pending_offsets) {
            self.committed.insert(partition, offset);
            offsets.add_partition_offset(
                &self.topics.readings,
                partition,
                Offset::Offset(offset + 1),
            )?;
        }
        if let Err(err) = self.consumer.commit(&offsets, CommitMode::Async) {
            tracing::debug!(%err, "kafka offset commit (monitoring only) failed");
        }
        self.pending_rows = 0;
        self.pending_since = None;
        Ok(())
    }
}
