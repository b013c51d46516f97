//! Consumes the acknowledgements topic and applies each acknowledgement; offsets are committed after
//! the acknowledgement is applied (a redelivery is a duplicate, which changes nothing).

use ingest::command::AckMessage;
use ingest::kafka::KafkaSettings;
use ingest::supervise::LoopHandle;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::Message;
use tokio::sync::watch;

use crate::app::Control;
use crate::ControlError;

/// The control service's consumer group on the acknowledgements topic.
pub const GROUP: &str = "meterlake-control";

/// Runs until `shutdown`; returns an error (for the supervisor to restart it) when Kafka or the
/// database fails.
pub async fn run(
    control: Control,
    settings: KafkaSettings,
    handle: LoopHandle,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ControlError> {
    let consumer = ingest::kafka::relay_consumer(&settings, GROUP)?;
    consumer.subscribe(&[&control.rules().topics.acks])?;
    handle.success();
    loop {
        let Some(message) = super::next_message(&consumer, &mut shutdown, &handle).await? else {
            return Ok(());
        };
        match serde_json::from_slice::<AckMessage>(message.payload().unwrap_or_default()) {
            Ok(ack) => {
                control.apply_ack(&ack).await?;
            }
            Err(err) => tracing::error!(
                %err, partition = message.partition(), offset = message.offset(),
                "undecodable acknowledgement skipped"
            ),
        }
        consumer.commit_message(&message, CommitMode::Async)?;
        handle.success();
    }
}
