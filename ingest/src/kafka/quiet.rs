//! Keeping librdkafka's complaints to a few lines while a broker is away.
//!
//! During an outage librdkafka reports every failed connection attempt, through its log and its
//! error callback, several times a second per client. [`QuietContext`] logs the first complaint of
//! a run at WARN and then at most one line every [`REPEAT_EVERY`], saying how many it held back;
//! every complaint is still counted in `meterlake_kafka_client_errors_total`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;

use super::link::KafkaLink;

/// How often a run of repeated complaints is logged at most.
pub const REPEAT_EVERY: Duration = Duration::from_secs(30);

/// Counts complaints and logs a few of them.
#[derive(Debug, Default)]
pub struct ComplaintLog {
    state: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    last_logged: Option<Instant>,
    held_back: u64,
}

impl ComplaintLog {
    /// Notes one complaint (`what` says which kind, `detail` what librdkafka said); true when it was
    /// logged, false when it was only counted.
    pub fn note(&self, what: &str, detail: &str) -> bool {
        self.note_at(Instant::now(), what, detail)
    }

    fn note_at(&self, now: Instant, what: &str, detail: &str) -> bool {
        metrics::counter!("meterlake_kafka_client_errors_total").increment(1);
        let mut held = match self.state.lock() {
            Ok(held) => held,
            Err(poisoned) => poisoned.into_inner(),
        };
        if held
            .last_logged
            .is_some_and(|at| now.saturating_duration_since(at) < REPEAT_EVERY)
        {
            held.held_back += 1;
            return false;
        }
        tracing::warn!(
            what,
            detail,
            held_back = held.held_back,
            "kafka client trouble (repeats within 30 s are counted, not logged)"
        );
        held.last_logged = Some(now);
        held.held_back = 0;
        true
    }
}

/// The context of meterlake's producers and consumers: librdkafka's errors and warnings go through
/// a [`ComplaintLog`], its notices to DEBUG and its debug lines to TRACE; its statistics tell the
/// client's [`KafkaLink`] which brokers are up, so an idle client still sees the cluster go away.
/// Clones share the log and the link.
#[derive(Debug, Default, Clone)]
pub struct QuietContext {
    complaints: Arc<ComplaintLog>,
    link: KafkaLink,
}

impl QuietContext {
    /// Notes a complaint of the client's user (an error a poll returned, say) in the same log.
    pub fn note(&self, what: &str, detail: &str) -> bool {
        self.complaints.note(what, detail)
    }

    /// Whether the client reaches its cluster (from librdkafka's statistics, every second).
    pub fn link(&self) -> &KafkaLink {
        &self.link
    }
}

impl ClientContext for QuietContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error
            | RDKafkaLogLevel::Warning => {
                self.complaints.note(facility, message);
            }
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::debug!(facility, message, "librdkafka");
            }
            RDKafkaLogLevel::Debug => tracing::trace!(facility, message, "librdkafka"),
        }
    }

    fn stats(&self, statistics: Statistics) {
        self.link.observe(&statistics);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.link.error(&format!("{error}: {reason}"));
        self.complaints.note(&error.to_string(), reason);
    }
}

impl ConsumerContext for QuietContext {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_complaints_is_logged_once_per_period_and_counted_throughout() {
        let log = ComplaintLog::default();
        let start = Instant::now();
        let logged: Vec<bool> = (0..100)
            .map(|k| log.note_at(start + Duration::from_millis(100 * k), "connect", "refused"))
            .collect();
        // 10 s of complaints every 100 ms: only the first is logged.
        assert_eq!(logged.iter().filter(|l| **l).count(), 1);
        assert!(logged[0]);
        // The next one after the period is logged and says how many were held back.
        assert!(log.note_at(start + REPEAT_EVERY, "connect", "refused"));
        assert_eq!(log.state.lock().unwrap().held_back, 0);
        assert!(!log.note_at(start + REPEAT_EVERY + Duration::from_secs(1), "x", "y"));
        assert_eq!(log.state.lock().unwrap().held_back, 1);
    }
}
