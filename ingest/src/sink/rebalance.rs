//! Observes consumer-group rebalances for the sink.
//!
//! librdkafka calls the context from inside the consumer's poll; the context only records which
//! partitions were assigned or revoked. The sink's loop drains the record after every poll and does the
//! work that needs the lake (dropping revoked partitions' buffers, reading positions, seeking). It also
//! passes librdkafka's statistics and errors to the sink's [`KafkaLink`] (for `/healthz`).

use std::sync::{Arc, Mutex};

use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::ClientContext;

use crate::kafka::link::KafkaLink;
use crate::kafka::QuietContext;

/// One change of the sink's assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RebalanceEvent {
    /// These partitions of the readings topic are now the sink's.
    Assigned(Vec<i32>),
    /// These partitions are no longer the sink's.
    Revoked(Vec<i32>),
}

/// Consumer context that queues rebalance events.
#[derive(Clone, Default)]
pub struct SinkContext {
    events: Arc<Mutex<Vec<RebalanceEvent>>>,
    /// Whether the cluster is reachable.
    pub link: KafkaLink,
    quiet: QuietContext,
}

impl SinkContext {
    /// A context reporting the cluster's reachability to `link`.
    pub fn watching(link: KafkaLink) -> Self {
        Self {
            events: Arc::default(),
            link,
            quiet: QuietContext::default(),
        }
    }

    /// Notes an error the consumer returned instead of a message, in the log of librdkafka's own
    /// complaints (an outage repeats it for every poll).
    pub fn consumer_error(&self, error: &rdkafka::error::KafkaError) {
        self.quiet.note("sink consumer error", &error.to_string());
    }

    /// Takes the events recorded since the last call, oldest first.
    pub fn drain(&self) -> Vec<RebalanceEvent> {
        match self.events.lock() {
            Ok(mut events) => std::mem::take(&mut *events),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }

    fn record(&self, event: RebalanceEvent) {
        tracing::info!(?event, "sink rebalance");
        match self.events.lock() {
            Ok(mut events) => events.push(event),
            Err(poisoned) => poisoned.into_inner().push(event),
        }
    }
}

impl ClientContext for SinkContext {
    fn stats(&self, statistics: rdkafka::Statistics) {
        self.link.observe(&statistics);
    }

    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, facility: &str, message: &str) {
        self.quiet.log(level, facility, message);
    }

    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        self.link.error(&format!("{error}: {reason}"));
        self.quiet.error(error, reason);
    }
}

impl ConsumerContext for SinkContext {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let partitions = |tpl: &rdkafka::TopicPartitionList| {
            tpl.elements().iter().map(|e| e.partition()).collect()
        };
        match rebalance {
            Rebalance::Assign(tpl) => self.record(RebalanceEvent::Assigned(partitions(tpl))),
            Rebalance::Revoke(tpl) => self.record(RebalanceEvent::Revoked(partitions(tpl))),
            Rebalance::Error(err) => tracing::warn!(%err, "sink rebalance error"),
        }
    }
}
