//! What is going wrong in a collector now, for `/healthz` and metrics: Kafka not taking the
//! forwarder's records, and the spool refusing appends (disk full) while rounds wait in memory.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use crate::spool::SpooledRecord;

/// Most bytes of refused rounds held in memory; beyond it the oldest are dropped (and counted).
pub const MAX_HELD_BYTES: u64 = 256 << 20;

/// What can be wrong with a collector, as `/healthz` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CollectorFault {
    /// The forwarder's last batch was not taken by Kafka: readings wait in the spool.
    KafkaUnreachable,
    /// The last append to the spool failed (disk full): rounds wait in memory.
    SpoolRefusing,
    /// Damaged stretches of the spool were moved to its quarantine.
    SpoolDamaged,
    /// The spool is over 80 % of its bound.
    SpoolNearlyFull,
    /// The wall clock stepped back before the last round's boundary: no round runs until it passes it.
    ClockBehindLastRound,
}

impl CollectorFault {
    /// The name `/healthz` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::KafkaUnreachable => "kafka_unreachable",
            Self::SpoolRefusing => "spool_refusing",
            Self::SpoolDamaged => "spool_damaged",
            Self::SpoolNearlyFull => "spool_nearly_full",
            Self::ClockBehindLastRound => "clock_behind_last_round",
        }
    }

    /// Whether readings stop moving while it lasts (health answers 503).
    pub fn stops_work(self) -> bool {
        matches!(
            self,
            Self::KafkaUnreachable | Self::SpoolRefusing | Self::ClockBehindLastRound
        )
    }
}

/// A fault that is still going on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Failing {
    /// When it started.
    pub since: DateTime<Utc>,
    /// The latest error.
    pub error: String,
}

/// How long Kafka may take to acknowledge a batch before the collector counts it unreachable (it
/// normally answers in milliseconds; librdkafka keeps retrying until `message.timeout.ms`).
pub const STALL: chrono::TimeDelta = chrono::TimeDelta::seconds(3);

/// The collector's ongoing faults.
#[derive(Debug, Default)]
pub struct FaultBoard {
    forwarding: Mutex<Option<Failing>>,
    spooling: Mutex<Option<Failing>>,
    /// Since when the forwarder has been waiting for Kafka's acknowledgement of a batch.
    sending_since: Mutex<Option<DateTime<Utc>>>,
    clock: Mutex<Option<Failing>>,
}

/// The ongoing faults at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultSnapshot {
    /// Kafka not taking the forwarder's records.
    pub forwarding: Option<Failing>,
    /// The spool refusing appends.
    pub spooling: Option<Failing>,
    /// The wall clock behind the last round.
    pub clock: Option<Failing>,
}

fn set(slot: &Mutex<Option<Failing>>, error: Option<&str>, gauge: &'static str) {
    let mut slot = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match error {
        Some(error) => {
            let since = slot.as_ref().map_or_else(Utc::now, |f| f.since);
            *slot = Some(Failing {
                since,
                error: error.to_string(),
            });
        }
        None => *slot = None,
    }
    metrics::gauge!(gauge).set(if slot.is_some() { 1.0 } else { 0.0 });
}

impl FaultBoard {
    /// Kafka did not take a batch (`Some(error)`), or took one (`None`).
    pub fn forwarding(&self, error: Option<&str>) {
        set(
            &self.forwarding,
            error,
            "meterlake_collector_forwarding_failing",
        );
    }

    /// The forwarder starts waiting for a batch's acknowledgement (`true`) or has its answer.
    pub fn sending(&self, waiting: bool) {
        *self
            .sending_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = waiting.then(Utc::now);
    }

    /// The spool refused an append (`Some(error)`), or took one (`None`).
    pub fn spooling(&self, error: Option<&str>) {
        set(&self.spooling, error, "meterlake_collector_spool_failing");
    }

    /// The wall clock is behind the last round's boundary (`Some(why)`), or no longer.
    pub fn clock_behind(&self, why: Option<&str>) {
        set(&self.clock, why, "meterlake_collector_clock_behind");
    }

    /// Whether the wall clock is behind the last round's boundary now.
    pub fn is_clock_behind(&self) -> bool {
        self.clock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    /// The ongoing faults. A batch waiting longer than [`STALL`] for Kafka counts as a forwarding
    /// fault (and sets its gauge) before it times out.
    pub fn snapshot(&self) -> FaultSnapshot {
        let read = |slot: &Mutex<Option<Failing>>| {
            slot.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        };
        let waiting = *self
            .sending_since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stalled = waiting
            .filter(|since| Utc::now() - *since > STALL)
            .map(|since| Failing {
                since,
                error: format!(
                    "Kafka has not acknowledged the forwarder's records for {} s",
                    (Utc::now() - since).num_seconds()
                ),
            });
        let forwarding = read(&self.forwarding).or(stalled);
        metrics::gauge!("meterlake_collector_forwarding_failing").set(if forwarding.is_some() {
            1.0
        } else {
            0.0
        });
        FaultSnapshot {
            forwarding,
            spooling: read(&self.spooling),
            clock: read(&self.clock),
        }
    }
}

/// Rounds the spool refused, oldest first, waiting in memory for it to take them.
#[derive(Debug, Default)]
pub struct Held {
    records: VecDeque<SpooledRecord>,
    bytes: u64,
}

impl Held {
    /// Adds `records` after those held; drops the oldest beyond [`MAX_HELD_BYTES`].
    pub fn push(&mut self, records: Vec<SpooledRecord>) {
        for record in records {
            self.bytes += record.framed_len() as u64;
            self.records.push_back(record);
        }
        let mut dropped = 0u64;
        while self.bytes > MAX_HELD_BYTES {
            let Some(oldest) = self.records.pop_front() else {
                break;
            };
            self.bytes -= oldest.framed_len() as u64;
            dropped += 1;
        }
        if dropped > 0 {
            tracing::error!(
                dropped,
                "the spool has refused rounds for so long that memory is full: the oldest held rounds are dropped"
            );
            metrics::counter!("meterlake_collector_held_records_dropped_total").increment(dropped);
        }
        metrics::gauge!("meterlake_collector_held_records").set(self.records.len() as f64);
    }

    /// Takes every held record, oldest first.
    pub fn take(&mut self) -> Vec<SpooledRecord> {
        self.bytes = 0;
        metrics::gauge!("meterlake_collector_held_records").set(0.0);
        self.records.drain(..).collect()
    }

    /// Records held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// True when nothing is held.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(bytes: usize) -> SpooledRecord {
        SpooledRecord {
            key: "bus".to_string(),
            payload: vec![7; bytes],
            headers: Vec::new(),
        }
    }

    #[test]
    fn held_rounds_keep_their_order_and_the_oldest_go_first_when_memory_is_full() {
        let mut held = Held::default();
        held.push(vec![record(10), record(20)]);
        held.push(vec![record(30)]);
        assert_eq!(held.len(), 3);
        let sizes: Vec<usize> = held.take().iter().map(|r| r.payload.len()).collect();
        assert_eq!(sizes, [10, 20, 30]);
        assert!(held.is_empty());
        let big = (MAX_HELD_BYTES / 3) as usize;
        held.push(vec![record(big), record(big), record(big), record(5)]);
        let kept: Vec<usize> = held.take().iter().map(|r| r.payload.len()).collect();
        assert_eq!(kept, [big, big, 5], "the oldest was dropped");
    }

    #[test]
    fn fault_names_are_what_healthz_says() {
        for fault in [
            CollectorFault::KafkaUnreachable,
            CollectorFault::SpoolRefusing,
            CollectorFault::SpoolDamaged,
            CollectorFault::SpoolNearlyFull,
            CollectorFault::ClockBehindLastRound,
        ] {
            assert_eq!(serde_json::to_value(fault).unwrap(), fault.name());
        }
    }

    #[test]
    fn a_fault_keeps_its_start_until_it_clears() {
        let board = FaultBoard::default();
        let clear = FaultSnapshot::default();
        board.forwarding(Some("broker down"));
        let first = board.snapshot().forwarding;
        board.forwarding(Some("still down"));
        let now = board.snapshot();
        let (first, second) = (first.unwrap(), now.forwarding.unwrap());
        assert_eq!(first.since, second.since);
        assert_eq!(second.error, "still down");
        assert!(now.spooling.is_none());
        board.forwarding(None);
        assert_eq!(board.snapshot(), clear);
        // A batch waiting on Kafka counts only once it has waited longer than STALL.
        board.sending(true);
        assert_eq!(board.snapshot(), clear);
        *board.sending_since.lock().unwrap() = Some(Utc::now() - STALL - STALL);
        let stalled = board.snapshot().forwarding;
        assert!(stalled.unwrap().error.contains("not acknowledged"));
        board.sending(false);
        assert_eq!(board.snapshot(), clear);
        // The clock behind the last round, then past it again.
        board.clock_behind(Some("stepped back"));
        assert!(board.is_clock_behind() && board.snapshot().clock.is_some());
        board.clock_behind(None);
        assert_eq!(board.snapshot(), clear);
    }
}
