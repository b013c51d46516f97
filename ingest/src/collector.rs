//! Collectors: poll the meters of their buses at each boundary, spool the reading batches on local disk
//! and forward them to Kafka, and execute relay commands addressed to them.

pub mod bus_client;
pub mod buses_file;
pub mod commands;
pub mod events;
mod executed;
pub mod faults;
pub mod forward;
pub mod health;
pub mod limits;
pub mod on_demand;
pub mod poll;
pub mod relay_security;
pub mod schedule;
pub mod time_sync;
pub mod unfinished;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::kafka::KafkaProducer;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use tokio::sync::{Mutex, Notify};

pub use bus_client::{BusClient, BusEndpoint, BusError, SerialParity};
pub use forward::{ForwardOutcome, Forwarder, SharedSpool};
pub use health::{BusHealth, CollectorHealth};
pub use relay_security::{PlaintextLab, RelayAuth, RelaySecurity};

use crate::clock::Clock;
use crate::dlt645::Address;
use crate::dlt645::MeterEvent;
use crate::kafka::message::{
    encode_arrow, EventReading, ARROW_STREAM, CONTENT_TYPE, EVENTS_HEADER, LINK_HEADER,
    SCHEMA_VERSION_HEADER,
};
use crate::kafka::Topics;
use crate::keyring::KeyRing;
use crate::reading::{readings_to_batch, Quality};
use crate::spool::{SpoolError, SpooledRecord};

/// One bus a collector owns.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// Bus id (the Kafka key of its readings).
    pub bus_id: String,
    /// Transformer area (台区) the bus serves; a metrics label, may be empty.
    pub area: String,
    /// How to reach it.
    pub endpoint: BusEndpoint,
    /// Meters on the bus.
    pub meters: Vec<Address>,
    /// How relay frames for the bus's meters are built (their group's password and operator code, or
    /// an ESAM security module).
    pub relay_security: Arc<dyn RelaySecurity>,
}

/// Collector settings.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// Collector id (the Kafka key of its commands and acks).
    pub collector_id: String,
    /// Buses.
    pub buses: Vec<BusConfig>,
    /// Reply timeout per attempt.
    pub timeout: Duration,
    /// Retries after a timeout.
    pub retries: u32,
    /// Local zone of the meters' clocks (valid-until times are sent in it).
    pub zone: Tz,
    /// Buses polled at the same time (each holds one connection).
    pub max_concurrent_buses: usize,
    /// Check meter clocks every this many rounds (0: never); 96 rounds of 15 min is daily.
    pub clock_check_every: u64,
    /// Read the meters' event records every this many rounds (0: never; 96 is daily, and the first
    /// round after a start reads them too).
    pub event_check_every: u64,
    /// Broadcast a time sync when a meter is off by this much (at least 60 s, see [`time_sync`]).
    pub clock_threshold: Duration,
    /// Keys relay commands must be signed under (`None`: every command is rejected).
    pub command_keys: Option<KeyRing>,
}

/// Errors that stop a collection round or the command loop.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// Kafka refused or timed out.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// The spool refused the round's readings (full, or the disk failed).
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// A batch could not be built.
    #[error("building a reading batch: {0}")]
    Batch(String),
}

/// What one collection round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundStats {
    /// Rows produced.
    pub rows: u64,
    /// Rows whose meter did not answer.
    pub no_response: u64,
    /// Kafka records spooled for the readings topic.
    pub messages: u64,
    /// Buses skipped because shutdown had begun.
    pub skipped_buses: u64,
    /// Broadcast time syncs sent.
    pub time_syncs: u64,
    /// Meters whose clock is beyond what a broadcast may correct.
    pub clocks_beyond_window: u64,
    /// Event records read (on the rounds that read events).
    pub event_records: u64,
    /// Kafka records the spool refused, held in memory until it takes them (all rounds so far).
    pub held: u64,
}

struct Bus {
    config: BusConfig,
    client: Mutex<BusClient>,
    /// The event counts last seen per meter (see [`events::read_events`]).
    event_counts: Mutex<HashMap<Address, HashMap<MeterEvent, u32>>>,
    meter_outcomes: [metrics::Counter; 3],
    time_syncs: metrics::Counter,
}

/// A collector process's buses, its spool, its Kafka producer (for acknowledgements) and its clock.
pub struct Collector {
    config: CollectorConfig,
    buses: Vec<Bus>,
    spool: SharedSpool,
    wake: Arc<Notify>,
    producer: KafkaProducer,
    topics: Topics,
    clock: Arc<dyn Clock>,
    stopping: AtomicBool,
    rounds: AtomicU64,
    health: health::HealthBoard,
    executed: std::sync::Mutex<executed::ExecutedCommands>,
    /// Ongoing faults (Kafka, spool), for health.
    faults: Arc<faults::FaultBoard>,
    /// Rounds the spool refused, waiting in memory.
    held: Mutex<faults::Held>,
    /// The producer's view of the cluster, when the caller watches it ([`Collector::watching_kafka`]).
    kafka_link: Option<crate::kafka::KafkaLink>,
    /// Where the last whole round's boundary is recorded ([`unfinished`]).
    whole_round_file: std::path::PathBuf,
}

impl Collector {
    /// Shows `link` (the producer's, [`crate::kafka::QuietContext::link`]) in health: an idle
    /// collector, with nothing to forward, still reports Kafka unreachable.
    pub fn watching_kafka(mut self, link: crate::kafka::KafkaLink) -> Self {
        self.kafka_link = Some(link);
        self
    }

    /// A collector spooling readings to `spool`; acknowledgements go through `producer`.
    pub fn new(
        config: CollectorConfig,
        spool: SharedSpool,
        producer: KafkaProducer,
        topics: Topics,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let buses = config
            .buses
            .iter()
            .map(|b| Bus {
                client: Mutex::new(
                    BusClient::new(b.endpoint.clone(), config.timeout, config.retries)
                        .with_labels(&b.bus_id, &b.area),
                ),
                meter_outcomes: [Quality::Ok, Quality::Partial, Quality::NoResponse].map(|q| {
                    metrics::counter!(
                        "meterlake_collector_meter_reads_total",
                        "bus" => b.bus_id.clone(),
                        "area" => b.area.clone(),
                        "quality" => q.as_str()
                    )
                }),
                time_syncs: metrics::counter!(
                    "meterlake_collector_time_syncs_total",
                    "bus" => b.bus_id.clone(),
                    "area" => b.area.clone()
                ),
                event_counts: Mutex::new(HashMap::new()),
                config: b.clone(),
            })
            .collect();
        let spool_dir = spool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .dir()
            .to_path_buf();
        let journal = spool_dir.join(executed::JOURNAL_FILE);
        let executed = executed::ExecutedCommands::open(journal);
        Self {
            health: health::HealthBoard::new(&config.buses),
            config,
            buses,
            spool,
            wake: Arc::new(Notify::new()),
            producer,
            topics,
            clock,
            stopping: AtomicBool::new(false),
            rounds: AtomicU64::new(0),
            executed: std::sync::Mutex::new(executed),
            faults: Arc::default(),
            held: Mutex::new(faults::Held::default()),
            kafka_link: None,
            whole_round_file: spool_dir.join(unfinished::FILE),
        }
    }

    /// The collector id.
    pub fn id(&self) -> &str {
        &self.config.collector_id
    }

    /// A forwarder moving this collector's spool to the readings topic.
    pub fn forwarder(&self) -> Forwarder {
        Forwarder::new(
            self.spool.clone(),
            self.producer.clone(),
            self.topics.readings.clone(),
            self.wake.clone(),
        )
        .reporting_to(self.faults.clone())
    }

    /// Stops starting buses: rounds in progress finish the buses already being polled.
    pub fn begin_shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Records waiting in the spool.
    pub async fn spooled_records(&self) -> Result<u64, SpoolError> {
        forward::with_spool(&self.spool, |s| Ok(s.records())).await
    }

    /// Waits until the forwarder has emptied the spool, or `timeout` passes (returns what is left).
    pub async fn wait_forwarded(&self, timeout: Duration) -> Result<u64, SpoolError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = self.spooled_records().await?;
            if left == 0 || tokio::time::Instant::now() >= deadline {
                return Ok(left);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Polls every meter of every bus for `boundary` (buses in parallel), spools one record per bus
    /// (synced to disk in groups as buses finish) and wakes the forwarder.
    pub async fn collect(&self, boundary: DateTime<Utc>) -> Result<RoundStats, CollectorError> {
        let mut total = RoundStats::default();
        let round = self.rounds.fetch_add(1, Ordering::SeqCst);
        let check_clocks = self.config.clock_check_every > 0
            && round.is_multiple_of(self.config.clock_check_every);
        let check_events = self.config.event_check_every > 0
            && round.is_multiple_of(self.config.event_check_every);
        let permits = tokio::sync::Semaphore::new(self.config.max_concurrent_buses.max(1));
        let mut pending: FuturesUnordered<_> = self
            .buses
            .iter()
            .map(|bus| {
                let permits = &permits;
                async move {
                    let _permit = permits.acquire().await;
                    self.collect_bus(bus, boundary, (check_clocks, check_events))
                        .await
                }
            })
            .collect();
        while let Some(first) = pending.next().await {
            // Group commit: every bus that has finished by now shares one fsync.
            let mut chunk = vec![first];
            while chunk.len() < 1024 {
                match pending.next().now_or_never() {
                    Some(Some(result)) => chunk.push(result),
                    _ => break,
                }
            }
            let mut records = Vec::with_capacity(chunk.len());
            for result in chunk {
                match result? {
                    Some((record, stats)) => {
                        total.rows += stats.rows;
                        total.no_response += stats.no_response;
                        total.messages += 1;
                        total.time_syncs += stats.time_syncs;
                        total.clocks_beyond_window += stats.clocks_beyond_window;
                        total.event_records += stats.event_records;
                        records.push(record);
                    }
                    None => total.skipped_buses += 1,
                }
            }
            if !records.is_empty() {
                total.held = self.spool_or_hold(records).await;
            }
        }
        Ok(total)
    }

    /// Appends `records` to the spool after those an earlier refusal left in memory (oldest first).
    /// When the spool refuses (disk full, an I/O error, its bound reached) nothing of the append is
    /// kept on disk (see [`crate::spool::Spool::append`]), so every record stays held in memory, the
    /// fault shows on `/healthz`, and the next round tries again. Returns the records held.
    async fn spool_or_hold(&self, records: Vec<SpooledRecord>) -> u64 {
        let mut held = self.held.lock().await;
        held.push(records);
        let pending = held.take();
        let outcome = forward::with_spool(&self.spool, move |s| match s.append(&pending) {
            Ok(()) => Ok(None),
            Err(err) => Ok(Some((pending, err))),
        })
        .await;
        match outcome {
            Ok(None) => {
                self.faults.spooling(None);
                self.wake.notify_one();
            }
            Ok(Some((back, err))) => {
                metrics::counter!("meterlake_collector_spool_write_errors_total").increment(1);
                tracing::error!(%err, records = back.len(), "the spool refused readings: held in memory until it takes them");
                self.faults.spooling(Some(&err.to_string()));
                held.push(back);
            }
            Err(err) => {
                tracing::error!(%err, "the spool task failed: readings of this append are lost");
                self.faults.spooling(Some(&err.to_string()));
            }
        }
        held.len() as u64
    }

    async fn collect_bus(
        &self,
        bus: &Bus,
        boundary: DateTime<Utc>,
        (check_clocks, check_events): (bool, bool),
    ) -> Result<Option<(SpooledRecord, RoundStats)>, CollectorError> {
        if self.stopping.load(Ordering::SeqCst) {
            return Ok(None);
        }
        let mut rows = Vec::with_capacity(bus.config.meters.len());
        let mut clocks = time_sync::ClockCheck::default();
        let mut events: BTreeMap<String, Vec<EventReading>> = BTreeMap::new();
        let link;
        {
            let mut client = bus.client.lock().await;
            for address in &bus.config.meters {
                rows.push(
                    poll::poll_meter(
                        &mut client,
                        *address,
                        boundary,
                        &bus.config.bus_id,
                        &self.config.collector_id,
                        || self.clock.now(),
                    )
                    .await,
                );
            }
            if check_events {
                let mut counts = bus.event_counts.lock().await;
                for row in rows.iter().filter(|r| r.quality != Quality::NoResponse) {
                    let Ok(address) = row.meter_id.parse::<Address>() else {
                        continue;
                    };
                    let known = counts.entry(address).or_default();
                    let read =
                        events::read_events(&mut client, address, self.config.zone, known).await;
                    if !read.is_empty() {
                        events.insert(row.meter_id.clone(), read);
                    }
                }
            }
            link = client.take_link_counters();
            if check_clocks {
                clocks = time_sync::check_bus(
                    &mut client,
                    &bus.config.meters,
                    self.config.zone,
                    chrono::TimeDelta::from_std(self.config.clock_threshold)
                        .unwrap_or(chrono::TimeDelta::seconds(60)),
                    || self.clock.now(),
                )
                .await;
                bus.time_syncs.increment(u64::from(clocks.broadcast));
            }
        }
        let mut no_response = 0;
        for row in &rows {
            let index = match row.quality {
                Quality::Ok => 0,
                Quality::Partial => 1,
                _ => 2,
            };
            bus.meter_outcomes[index].increment(1);
            no_response += u64::from(index == 2);
        }
        self.health
            .record_round(&bus.config.bus_id, boundary, rows.len() as u64, no_response);
        let batch = readings_to_batch(&rows).map_err(|e| CollectorError::Batch(e.to_string()))?;
        let payload = encode_arrow(&batch).map_err(|e| CollectorError::Batch(e.to_string()))?;
        let mut headers = vec![
            (CONTENT_TYPE.to_string(), ARROW_STREAM.as_bytes().to_vec()),
            (SCHEMA_VERSION_HEADER.to_string(), b"1".to_vec()),
        ];
        if !link.is_empty() {
            let by_meter: std::collections::BTreeMap<String, _> = link
                .into_iter()
                .map(|(address, counters)| (address.to_string(), counters))
                .collect();
            let json =
                serde_json::to_vec(&by_meter).map_err(|e| CollectorError::Batch(e.to_string()))?;
            headers.push((LINK_HEADER.to_string(), json));
        }
        let event_records = events.values().map(|v| v.len() as u64).sum();
        if !events.is_empty() {
            let json =
                serde_json::to_vec(&events).map_err(|e| CollectorError::Batch(e.to_string()))?;
            headers.push((EVENTS_HEADER.to_string(), json));
        }
        let record = SpooledRecord {
            key: bus.config.bus_id.clone(),
            headers,
            payload,
        };
        Ok(Some((
            record,
            RoundStats {
                rows: rows.len() as u64,
                no_response,
                messages: 1,
                skipped_buses: 0,
                time_syncs: u64::from(clocks.broadcast),
                clocks_beyond_window: clocks.beyond_window,
                event_records,
                held: 0,
            },
        )))
    }
}
