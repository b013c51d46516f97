//! Executing relay commands from Kafka on the right meter and acknowledging the outcome.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::producer::FutureRecord;
use rdkafka::Message;

use super::{poll, Collector, CollectorError};
use crate::command::{AckMessage, AckOutcome, CommandMessage};
use crate::dlt645::data_id::Value;
use crate::dlt645::frame::error_bits;
use crate::dlt645::relay::STATUS3_RELAY_OPEN;
use crate::dlt645::{Address, DataId};
use crate::kafka::KafkaSettings;

impl Collector {
    /// Executes a command once per (command id, attempt): a repeated delivery gets the first
    /// execution's acknowledgement again, and the meter sees one frame.
    /// A command whose signature does not verify under this collector's command keys (or any
    /// command, when it has none) is rejected without touching the bus.
    pub async fn execute_once(&self, command: &CommandMessage) -> AckMessage {
        let verified = match &self.config.command_keys {
            Some(keys) => command.verify(keys).map_err(|e| e.to_string()),
            None => Err("this collector has no command keys".to_string()),
        };
        if let Err(why) = verified {
            tracing::warn!(command = %command.command_id, meter = %command.meter_id, %why, "relay command rejected");
            metrics::counter!("meterlake_collector_commands_rejected_total").increment(1);
            return AckMessage {
                command_id: command.command_id.clone(),
                meter_id: command.meter_id.clone(),
                collector_id: self.config.collector_id.clone(),
                outcome: AckOutcome::Rejected,
                error: Some(format!("signature: {why}")),
                relay_open: None,
                at: self.clock.now(),
                attempt: command.attempt,
            };
        }
        let seen = {
            let executed = self.executed.lock().unwrap_or_else(|p| p.into_inner());
            executed.get(&command.command_id, command.attempt)
        };
        if let Some(ack) = seen {
            tracing::info!(command = %command.command_id, attempt = command.attempt, "redelivered command answered without executing");
            metrics::counter!("meterlake_collector_commands_redelivered_total").increment(1);
            return ack;
        }
        let ack = self.execute(command).await;
        let mut executed = self.executed.lock().unwrap_or_else(|p| p.into_inner());
        executed.remember(&ack);
        ack
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
            attempt: command.attempt,
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
        let frame =
            match bus
                .config
                .relay_security
                .relay_frame(address, command.action, valid_until)
            {
                Ok(frame) => frame,
                Err(why) => {
                    ack.outcome = AckOutcome::Refused;
                    ack.error = Some(format!("relay frame: {why}"));
                    return ack;
                }
            };
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
        let consumer = crate::kafka::relay_consumer(&settings, &group)?;
        consumer.subscribe(&[&self.topics.commands])?;
        // librdkafka repeats a broker error on every poll while the broker is away: the first of a run
        // is a warning, the rest are debug lines until a message arrives again.
        let mut failing = false;
        loop {
            let message = tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                message = consumer.recv() => message,
            };
            let message = match message {
                Ok(m) => {
                    failing = false;
                    m
                }
                Err(err) => {
                    if failing {
                        tracing::debug!(%err, "command consumer error (still)");
                    } else {
                        tracing::warn!(%err, "command consumer error");
                        failing = true;
                    }
                    // Errors come back at once while the broker is away: do not spin on them.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            if message.key() != Some(self.config.collector_id.as_bytes()) {
                continue;
            }
            match serde_json::from_slice::<CommandMessage>(message.payload().unwrap_or_default()) {
                Ok(command) => {
                    let ack = self.execute_once(&command).await;
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
