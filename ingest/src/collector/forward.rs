//! Forwarding the spool to Kafka: records leave the spool in order, and only once Kafka has them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureRecord, Producer};

use crate::kafka::KafkaProducer;
use tokio::sync::{watch, Notify};

use crate::spool::{PeekedRecord, Spool, SpoolError, SpooledRecord};

/// A spool shared by the collection rounds (appending) and the forwarder (acknowledging).
pub type SharedSpool = Arc<Mutex<Spool>>;

/// Records sent to Kafka per batch.
const BATCH_RECORDS: usize = 512;
/// Longest pause between attempts while Kafka is away.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

/// Runs `f` on the spool on a blocking thread (appends and acknowledgements fsync).
pub async fn with_spool<T, F>(spool: &SharedSpool, f: F) -> Result<T, SpoolError>
where
    T: Send + 'static,
    F: FnOnce(&mut Spool) -> Result<T, SpoolError> + Send + 'static,
{
    let spool = spool.clone();
    tokio::task::spawn_blocking(move || {
        // A panic while holding the lock cannot leave the files inconsistent: every change is
        // written before the in-memory counters, so the state is usable.
        let mut guard = spool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let result = f(&mut guard);
        let (records, bytes) = (guard.records(), guard.bytes());
        metrics::gauge!("meterlake_collector_spool_records").set(records as f64);
        metrics::gauge!("meterlake_collector_spool_bytes").set(bytes as f64);
        result
    })
    .await
    .map_err(|e| SpoolError::Io {
        path: Default::default(),
        source: std::io::Error::other(e),
    })?
}

/// Moves spooled records to the readings topic.
pub struct Forwarder {
    spool: SharedSpool,
    producer: KafkaProducer,
    topic: String,
    wake: Arc<Notify>,
    /// Told whether Kafka takes the records (for health).
    faults: Option<Arc<super::faults::FaultBoard>>,
}

impl Forwarder {
    /// A forwarder of `spool` to `topic`; `wake` is notified after each append.
    pub fn new(
        spool: SharedSpool,
        producer: KafkaProducer,
        topic: String,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            spool,
            producer,
            topic,
            wake,
            faults: None,
        }
    }

    /// Reports each batch's outcome to `faults` (the collector's health).
    pub fn reporting_to(mut self, faults: Arc<super::faults::FaultBoard>) -> Self {
        self.faults = Some(faults);
        self
    }

    fn report(&self, error: Option<&str>) {
        if let Some(faults) = &self.faults {
            faults.forwarding(error);
        }
    }

    /// Sends the next batch; returns how many records Kafka acknowledged and left the spool.
    pub async fn forward_batch(&self) -> Result<ForwardOutcome, SpoolError> {
        let batch = with_spool(&self.spool, |s| s.peek_repairing(BATCH_RECORDS)).await?;
        if batch.is_empty() {
            return Ok(ForwardOutcome::Empty);
        }
        if let Some(faults) = &self.faults {
            faults.sending(true);
        }
        let results = futures::future::join_all(batch.iter().map(|p| self.send(&p.record))).await;
        if let Some(faults) = &self.faults {
            faults.sending(false);
        }
        let delivered = results.iter().take_while(|r| r.is_ok()).count();
        let error = results.into_iter().find_map(Result::err);
        if delivered > 0 {
            let acked: Vec<PeekedRecord> = batch[..delivered].to_vec();
            with_spool(&self.spool, move |s| s.acknowledge(&acked)).await?;
            metrics::counter!("meterlake_collector_forwarded_records_total")
                .increment(delivered as u64);
        }
        Ok(match error {
            None => {
                self.report(None);
                ForwardOutcome::Sent(delivered)
            }
            Some(err) => {
                self.report(Some(&err.to_string()));
                metrics::counter!("meterlake_collector_forward_errors_total").increment(1);
                ForwardOutcome::Failed {
                    delivered,
                    error: err.to_string(),
                }
            }
        })
    }

    async fn send(&self, record: &SpooledRecord) -> Result<(), rdkafka::error::KafkaError> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (key, value) in &record.headers {
            headers = headers.insert(Header {
                key,
                value: Some(value),
            });
        }
        self.producer
            .send(
                FutureRecord::to(&self.topic)
                    .key(&record.key)
                    .payload(&record.payload)
                    .headers(headers),
                Duration::from_secs(5),
            )
            .await
            .map(|_| ())
            .map_err(|(err, _)| err)
    }

    /// Forwards until `shutdown`; then keeps draining for at most `drain_timeout`, flushes the producer
    /// and returns. Whatever is left stays on disk for the next start.
    pub async fn run(
        self,
        mut shutdown: watch::Receiver<bool>,
        drain_timeout: Duration,
    ) -> Result<(), SpoolError> {
        let mut backoff = Duration::from_millis(100);
        let mut deadline = None;
        loop {
            if deadline.is_none() && *shutdown.borrow() {
                deadline = Some(tokio::time::Instant::now() + drain_timeout);
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                break;
            }
            match self.forward_batch().await? {
                ForwardOutcome::Sent(_) => backoff = Duration::from_millis(100),
                ForwardOutcome::Empty if deadline.is_some() => break,
                ForwardOutcome::Empty => {
                    tokio::select! {
                        _ = self.wake.notified() => {}
                        _ = shutdown.changed() => {}
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    }
                }
                ForwardOutcome::Failed { delivered, error } => {
                    tracing::warn!(%error, delivered, retry_in = ?backoff, "Kafka did not take spooled readings; they stay on disk");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => {}
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        let producer = self.producer.clone();
        let _ = tokio::task::spawn_blocking(move || producer.flush(Duration::from_secs(5))).await;
        Ok(())
    }
}

/// What one forwarding step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardOutcome {
    /// The spool was empty.
    Empty,
    /// This many records went to Kafka and left the spool.
    Sent(usize),
    /// Kafka refused or timed out; the first `delivered` records left the spool.
    Failed {
        /// Records delivered before the failure.
        delivered: usize,
        /// Kafka's error.
        error: String,
    },
}
