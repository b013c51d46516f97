//! Collectors: poll the meters of their buses at each boundary, produce reading batches to Kafka, and
//! execute relay commands addressed to them.

pub mod bus_client;
pub mod poll;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures::future::join_all;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::Message;
use tokio::sync::Mutex;

pub use bus_client::{BusClient, BusEndpoint, BusError};

use crate::clock::Clock;
use crate::command::{AckMessage, AckOutcome, CommandMessage};
use crate::dlt645::data_id::Value;
use crate::dlt645::frame::error_bits;
use crate::dlt645::relay::STATUS3_RELAY_OPEN;
use crate::dlt645::{Address, DataId, RelayCommand};
use crate::kafka::message::{encode_arrow, ARROW_STREAM, CONTENT_TYPE, SCHEMA_VERSION_HEADER};
use crate::kafka::{KafkaSettings, Topics};
use crate::reading::{readings_to_batch, Quality};

/// One bus a collector owns.
#[derive(Debug, Clone)]
pub struct BusConfig {
    /// Bus id (the Kafka key of its readings).
    pub bus_id: String,
    /// How to reach it.
    pub endpoint: BusEndpoint,
    /// Meters on the bus.
    pub meters: Vec<Address>,
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
}

/// Errors that stop a collection round or the command loop.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// Kafka refused or timed out.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
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
    /// Kafka messages produced.
    pub messages: u64,
}

struct Bus {
    config: BusConfig,
    client: Mutex<BusClient>,
}

/// A collector process's buses, its Kafka producer and its clock.
pub struct Collector {
    config: CollectorConfig,
    buses: Vec<Bus>,
    producer: FutureProducer,
    topics: Topics,
    clock: Arc<dyn Clock>,
}

impl Collector {
    /// A collector producing through `producer`.
    pub fn new(
        config: CollectorConfig,
        producer: FutureProducer,
        topics: Topics,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let buses = config
            .buses
            .iter()
            .map(|b| Bus {
                client: Mutex::new(BusClient::new(
                    b.endpoint.clone(),
                    config.timeout,
                    config.retries,
                )),
                config: b.clone(),
            })
            .collect();
        Self {
            config,
            buses,
            producer,
            topics,
            clock,
        }
    }

    /// The collector id.
    pub fn id(&self) -> &str {
        &self.config.collector_id
    }

    /// Polls every meter of every bus for `boundary` (buses in parallel) and produces one message per bus.
    pub async fn collect(&self, boundary: DateTime<Utc>) -> Result<RoundStats, CollectorError> {
        let results = join_all(self.buses.iter().map(|bus| self.collect_bus(bus, boundary))).await;
        let mut total = RoundStats::default();
        for result in results {
            let stats = result?;
            total.rows += stats.rows;
            total.no_response += stats.no_response;
            total.messages += stats.messages;
        }
        Ok(total)
    }

    async fn collect_bus(
        &self,
        bus: &Bus,
        boundary: DateTime<Utc>,
    ) -> Result<RoundStats, CollectorError> {
        let mut rows = Vec::with_capacity(bus.config.meters.len());
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
        }
        let no_response = rows
            .iter()
            .filter(|r| r.quality == Quality::NoResponse)
            .count() as u64;
        let batch = readings_to_batch(&rows).map_err(|e| CollectorError::Batch(e.to_string()))?;
        let value = encode_arrow(&batch).map_err(|e| CollectorError::Batch(e.to_string()))?;
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: CONTENT_TYPE,
                value: Some(ARROW_STREAM),
            })
            .insert(Header {
                key: SCHEMA_VERSION_HEADER,
                value: Some("1"),
            });
        self.producer
            .send(
                FutureRecord::to(&self.topics.readings)
                    .key(&bus.config.bus_id)
                    .payload(&value)
                    .headers(headers),
                Duration::from_secs(30),
            )
            .await
            .map_err(|(err, _)| err)?;
        Ok(RoundStats {
            rows: rows.len() as u64,
            no_response,
            messages: 1,
        })
    }

    /// Executes a relay command on the bus that holds the meter and reports the outcome.
    pub async fn execute(&self, command: &CommandMessage) -> AckMessage {
        let mut ack = AckMessage {
            command_id: command.command_id.clone(),
            meter_id: command.meter_id.clone(),
            collector_id: self.config.collector_id.clone(),
            outcome: AckOutcome::UnknownMeter,
            error: None,
            relay_open: None,
            at: self.clock.now(),
        };
        let Ok(address) = command.meter_id.parse::<Address>() else {
            ack.error = Some(format!("invalid meter address {:?}", command.meter_id));
            return ack;
        };
        let Some(bus) = self
            .buses
            .iter()
            .find(|b| b.config.meters.contains(&address))
        else {
            return ack;
        };
        if self.clock.now() > command.valid_until {
            ack.outcome = AckOutcome::Expired;
            return ack;
        }
        let valid_until = command
            .valid_until
            .with_timezone(&self.config.zone)
            .naive_local();
        let frame = RelayCommand::plaintext(command.action, valid_until).to_frame(address);
        let mut client = bus.client.lock().await;
        match client.transact(&frame).await {
            Ok(reply) => match reply.error_word() {
                None => ack.outcome = AckOutcome::Executed,
                Some(err) => {
                    ack.outcome = AckOutcome::Refused;
                    ack.error = Some(format!("ERR {err:#04x}: {}", error_bits(err).join(", ")));
                }
            },
            Err(err) => {
                ack.outcome = AckOutcome::NoResponse;
                ack.error = Some(err.to_string());
            }
        }
        if let Some(Value::Bits(word)) =
            poll::read_value(&mut client, address, DataId::STATUS_WORD_3).await
        {
            ack.relay_open = Some(word & STATUS3_RELAY_OPEN != 0);
        }
        ack.at = self.clock.now();
        ack
    }

    /// Consumes the commands topic (own consumer group), executes commands keyed with this collector's id,
    /// and produces acknowledgements, until `shutdown` turns true.
    pub async fn run_commands(
        self: Arc<Self>,
        settings: KafkaSettings,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), CollectorError> {
        let group = format!("meterlake-collector-{}", self.config.collector_id);
        let consumer = crate::kafka::consumer(&settings, &group)?;
        consumer.subscribe(&[&self.topics.commands])?;
        loop {
            let message = tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                message = consumer.recv() => message,
            };
            let message = match message {
                Ok(m) => m,
                Err(err) => {
                    tracing::warn!(%err, "command consumer error");
                    continue;
                }
            };
            if message.key() != Some(self.config.collector_id.as_bytes()) {
                continue;
            }
            match serde_json::from_slice::<CommandMessage>(message.payload().unwrap_or_default()) {
                Ok(command) => {
                    let ack = self.execute(&command).await;
                    tracing::info!(meter = %ack.meter_id, action = ?command.action, outcome = ?ack.outcome, "relay command");
                    let payload = serde_json::to_vec(&ack).unwrap_or_default();
                    self.producer
                        .send(
                            FutureRecord::to(&self.topics.acks)
                                .key(&self.config.collector_id)
                                .payload(&payload),
                            Duration::from_secs(30),
                        )
                        .await
                        .map_err(|(err, _)| err)?;
                }
                Err(err) => tracing::error!(
                    %err, partition = message.partition(), offset = message.offset(),
                    "undecodable command message skipped"
                ),
            }
            consumer.commit_message(&message, CommitMode::Async)?;
        }
    }
}
