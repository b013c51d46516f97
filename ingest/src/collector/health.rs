//! What a collector reports on its health endpoint: the last round per bus and area, and the spool.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::{forward, BusConfig, Collector};
use crate::spool::SpoolError;

/// The last collection round of one bus.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BusHealth {
    /// Bus id.
    pub bus_id: String,
    /// Transformer area.
    pub area: String,
    /// Boundary of the last round, if any ran.
    pub last_boundary: Option<DateTime<Utc>>,
    /// Meters polled in that round.
    pub meters: u64,
    /// Meters that answered at least one identifier.
    pub answered: u64,
}

/// Collection success of one transformer area in the last round.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AreaHealth {
    /// Area id.
    pub area: String,
    /// Meters polled.
    pub meters: u64,
    /// Meters that answered.
    pub answered: u64,
    /// answered / meters (1.0 before the first round).
    pub success_rate: f64,
}

/// A damaged stretch of the spool, as health reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpoolDamage {
    /// Segment id.
    pub segment: u64,
    /// Offset in the segment as it was.
    pub offset: u64,
    /// Bytes moved aside.
    pub bytes: u64,
    /// Why the frame check failed.
    pub reason: String,
}

/// The health document.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CollectorHealth {
    /// `ok`, or `degraded` when the spool is over 80 % full or damaged bytes were moved aside when it
    /// opened.
    pub status: &'static str,
    /// Collector id.
    pub collector_id: String,
    /// Records waiting for Kafka.
    pub spool_records: u64,
    /// Bytes waiting for Kafka.
    pub spool_bytes: u64,
    /// The spool's bound.
    pub spool_max_bytes: u64,
    /// Damaged stretches found in the spool when it opened (moved to its `quarantine/` folder).
    pub spool_damage: Vec<SpoolDamage>,
    /// What is going wrong now.
    pub faults: Vec<super::faults::CollectorFault>,
    /// Since when Kafka has not taken the forwarder's records, and why.
    pub kafka_failing: Option<super::faults::Failing>,
    /// The producer's view of the cluster (brokers up, since when none is), when watched.
    pub kafka: Option<crate::kafka::link::LinkHealth>,
    /// Since when the spool refuses appends, and why.
    pub spool_failing: Option<super::faults::Failing>,
    /// Since when the wall clock is behind the last round's boundary (it stepped back), and by what.
    pub clock_failing: Option<super::faults::Failing>,
    /// Records the spool refused, held in memory.
    pub held_records: u64,
    /// Per area.
    pub areas: Vec<AreaHealth>,
    /// Per bus.
    pub buses: Vec<BusHealth>,
}

/// Last-round results of every bus, updated as buses finish.
#[derive(Debug)]
pub(crate) struct HealthBoard {
    buses: Mutex<BTreeMap<String, BusHealth>>,
}

impl HealthBoard {
    pub(crate) fn new(buses: &[BusConfig]) -> Self {
        let map = buses
            .iter()
            .map(|b| {
                let health = BusHealth {
                    bus_id: b.bus_id.clone(),
                    area: b.area.clone(),
                    last_boundary: None,
                    meters: 0,
                    answered: 0,
                };
                (b.bus_id.clone(), health)
            })
            .collect();
        Self {
            buses: Mutex::new(map),
        }
    }

    pub(crate) fn record_round(
        &self,
        bus_id: &str,
        boundary: DateTime<Utc>,
        meters: u64,
        silent: u64,
    ) {
        let mut buses = self.buses.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(bus) = buses.get_mut(bus_id) {
            bus.last_boundary = Some(boundary);
            bus.meters = meters;
            bus.answered = meters.saturating_sub(silent);
        }
    }

    fn snapshot(&self) -> Vec<BusHealth> {
        let buses = self.buses.lock().unwrap_or_else(|p| p.into_inner());
        buses.values().cloned().collect()
    }
}

/// Sums bus results per area.
pub fn areas(buses: &[BusHealth]) -> Vec<AreaHealth> {
    let mut by_area: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for bus in buses {
        let entry = by_area.entry(bus.area.as_str()).or_default();
        entry.0 += bus.meters;
        entry.1 += bus.answered;
    }
    by_area
        .into_iter()
        .map(|(area, (meters, answered))| AreaHealth {
            area: area.to_string(),
            meters,
            answered,
            success_rate: if meters == 0 {
                1.0
            } else {
                answered as f64 / meters as f64
            },
        })
        .collect()
}

impl Collector {
    /// The health document: last round per bus and area, spool depth.
    pub async fn health(&self) -> Result<CollectorHealth, SpoolError> {
        let (records, bytes, max, damage) = forward::with_spool(&self.spool, |s| {
            let damage: Vec<SpoolDamage> = s
                .damage()
                .iter()
                .map(|d| SpoolDamage {
                    segment: d.segment,
                    offset: d.offset,
                    bytes: d.len,
                    reason: d.reason.clone(),
                })
                .collect();
            Ok((s.records(), s.bytes(), s.max_bytes(), damage))
        })
        .await?;
        metrics::gauge!("meterlake_collector_spool_damaged_stretches").set(damage.len() as f64);
        let buses = self.health.snapshot();
        let now_failing = self.faults.snapshot();
        let (kafka_failing, spool_failing) = (now_failing.forwarding, now_failing.spooling);
        // The producer's statistics: an idle collector (nothing to forward) still sees Kafka go away.
        let kafka = self.kafka_link.as_ref().map(|link| link.health());
        let held_records = self.held.lock().await.len() as u64;
        use super::faults::CollectorFault as Fault;
        let faults: Vec<Fault> = [
            (
                kafka_failing.is_some() || kafka.as_ref().is_some_and(|k| k.down),
                Fault::KafkaUnreachable,
            ),
            (
                spool_failing.is_some() || held_records > 0,
                Fault::SpoolRefusing,
            ),
            (!damage.is_empty(), Fault::SpoolDamaged),
            (
                bytes.saturating_mul(5) > max.saturating_mul(4),
                Fault::SpoolNearlyFull,
            ),
            (now_failing.clock.is_some(), Fault::ClockBehindLastRound),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        Ok(CollectorHealth {
            status: if faults.is_empty() { "ok" } else { "degraded" },
            collector_id: self.config.collector_id.clone(),
            spool_records: records,
            spool_bytes: bytes,
            spool_max_bytes: max,
            spool_damage: damage,
            faults,
            kafka_failing,
            kafka,
            spool_failing,
            clock_failing: now_failing.clock,
            held_records,
            areas: areas(&buses),
            buses,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_success_rate_sums_its_buses() {
        let bus = |id: &str, area: &str, meters, answered| BusHealth {
            bus_id: id.into(),
            area: area.into(),
            last_boundary: None,
            meters,
            answered,
        };
        let result = areas(&[
            bus("a", "A1", 10, 9),
            bus("b", "A1", 10, 6),
            bus("c", "A2", 0, 0),
        ]);
        assert_eq!(result.len(), 2);
        assert_eq!((result[0].meters, result[0].answered), (20, 15));
        assert_eq!(result[0].success_rate, 0.75);
        assert_eq!(result[1].success_rate, 1.0);
    }
}
