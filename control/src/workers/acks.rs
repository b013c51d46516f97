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

/// How long the consumer may stay silent while commands wait for their acknowledgement before it is
/// replaced by a fresh one (a group join lost in a broker outage can leave a consumer that never
/// fetches again; a fresh member joins cleanly).
const SILENCE: std::time::Duration = std::time::Duration::from_secs(30);

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
        let next = super::next_message(&consumer, &mut shutdown, &handle);
        let Ok(next) = tokio::time::timeout(SILENCE, next).await else {
            let waiting = control.awaiting_ack().await?;
            if waiting > 0 {
                metrics::counter!("meterlake_control_ack_consumer_renewals_total").increment(1);
                return Err(ControlError::Stalled(format!(
                    "no acknowledgement for {SILENCE:?} while {waiting} commands wait: \
                     rejoining with a fresh consumer"
                )));
            }
            continue;
        };
        let Some(message) = next? else {
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
