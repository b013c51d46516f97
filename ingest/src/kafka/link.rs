//! Whether a Kafka client can reach its cluster, for `/healthz` and metrics: librdkafka's statistics
//! (every second) say which brokers are up, its error callback says why not.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rdkafka::statistics::Statistics;

/// How often librdkafka reports statistics to a client watched by a [`KafkaLink`].
pub const STATISTICS_INTERVAL_MS: &str = "1000";

/// A client's view of the cluster, shared between its context (which updates it) and health routes.
#[derive(Debug, Clone, Default)]
pub struct KafkaLink {
    inner: Arc<LinkState>,
}

#[derive(Debug, Default)]
struct LinkState {
    /// Set once the first statistics arrived.
    seen: AtomicBool,
    brokers: AtomicU64,
    brokers_up: AtomicU64,
    /// Unix milliseconds when the last broker went down (0 while some are up).
    down_since_ms: AtomicI64,
    last_error: Mutex<Option<String>>,
}

/// What `/healthz` shows of a [`KafkaLink`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LinkHealth {
    /// Brokers the client knows (bootstrap and learned).
    pub brokers: u64,
    /// Of them, connected.
    pub brokers_up: u64,
    /// True when statistics came in and no broker is connected.
    pub down: bool,
    /// Since when no broker is connected (RFC 3339), while down.
    pub down_since: Option<String>,
    /// The last error librdkafka reported (kept after recovery, for the record).
    pub last_error: Option<String>,
}

impl KafkaLink {
    /// A link with nothing observed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes in one statistics report: counts the brokers in state `UP`. Bootstrap entries
    /// (`nodeid` −1) count only while no broker has been learned.
    pub fn observe(&self, statistics: &Statistics) {
        let learned: Vec<_> = statistics
            .brokers
            .values()
            .filter(|b| b.nodeid >= 0)
            .collect();
        let (brokers, up) = if learned.is_empty() {
            let all: Vec<_> = statistics.brokers.values().collect();
            (all.len(), all.iter().filter(|b| b.state == "UP").count())
        } else {
            (
                learned.len(),
                learned.iter().filter(|b| b.state == "UP").count(),
            )
        };
        self.record(brokers as u64, up as u64);
    }

    fn record(&self, brokers: u64, up: u64) {
        let state = &self.inner;
        state.brokers.store(brokers, Ordering::Relaxed);
        state.brokers_up.store(up, Ordering::Relaxed);
        if up == 0 {
            let now = chrono::Utc::now().timestamp_millis();
            let _ =
                state
                    .down_since_ms
                    .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        } else {
            state.down_since_ms.store(0, Ordering::Relaxed);
        }
        state.seen.store(true, Ordering::Relaxed);
        metrics::gauge!("meterlake_kafka_brokers_up").set(up as f64);
    }

    /// Takes in an error librdkafka reported.
    pub fn error(&self, error: &str) {
        metrics::counter!("meterlake_kafka_errors_total").increment(1);
        let mut last = self
            .inner
            .last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = Some(error.to_string());
    }

    /// True when statistics came in and no broker is connected.
    pub fn is_down(&self) -> bool {
        self.inner.seen.load(Ordering::Relaxed)
            && self.inner.brokers_up.load(Ordering::Relaxed) == 0
    }

    /// The link's state for `/healthz`.
    pub fn health(&self) -> LinkHealth {
        let state = &self.inner;
        let since = state.down_since_ms.load(Ordering::Relaxed);
        LinkHealth {
            brokers: state.brokers.load(Ordering::Relaxed),
            brokers_up: state.brokers_up.load(Ordering::Relaxed),
            down: self.is_down(),
            down_since: (self.is_down() && since > 0)
                .then(|| chrono::DateTime::from_timestamp_millis(since))
                .flatten()
                .map(|t| t.to_rfc3339()),
            last_error: state
                .last_error
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statistics(brokers: &[(i32, &str)]) -> Statistics {
        let mut statistics = Statistics::default();
        for (id, state) in brokers {
            statistics.brokers.insert(
                format!("b{id}"),
                rdkafka::statistics::Broker {
                    nodeid: *id,
                    state: (*state).to_string(),
                    ..Default::default()
                },
            );
        }
        statistics
    }

    #[test]
    fn the_link_is_down_only_while_no_learned_broker_is_up() {
        let link = KafkaLink::new();
        assert!(!link.is_down(), "nothing observed yet is not an outage");
        link.observe(&statistics(&[(-1, "DOWN"), (1, "UP"), (2, "DOWN")]));
        assert!(!link.is_down());
        assert_eq!(link.health().brokers, 2);
        link.observe(&statistics(&[(-1, "UP"), (1, "CONNECT"), (2, "DOWN")]));
        let health = link.health();
        assert!(health.down && health.down_since.is_some(), "{health:?}");
        link.error("1/1 brokers are down");
        link.observe(&statistics(&[(1, "UP"), (2, "UP")]));
        let health = link.health();
        assert!(!health.down && health.down_since.is_none());
        assert_eq!(health.brokers_up, 2);
        assert_eq!(health.last_error.as_deref(), Some("1/1 brokers are down"));
        // Before any broker is learned, the bootstrap entries decide.
        let fresh = KafkaLink::new();
        fresh.observe(&statistics(&[(-1, "TRY_CONNECT")]));
        assert!(fresh.is_down());
    }
}
