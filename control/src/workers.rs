//! Background work, each loop supervised ([`ingest::supervise`]): the acknowledgement consumer, the
//! outbox relay to Kafka, the sweeper (deadlines, scheduled commands, ended keep-power), the billing
//! scheduler, streaming diagnosis (alarms on readings) and the notifier.

pub mod acks;
pub mod billing;
pub mod diagnosis;
pub mod lake_export;
pub mod notifier;
pub mod relay;
pub mod sweeper;

use std::time::Duration;

use ingest::kafka::KafkaConsumer;
use ingest::supervise::LoopHandle;
use rdkafka::message::BorrowedMessage;
use tokio::sync::watch;

use crate::ControlError;

/// The consumer's next message, or `None` once `shutdown` turns; every quiet second counts as the
/// loop's success (it is alive, there is just nothing to do).
pub(crate) async fn next_message<'a>(
    consumer: &'a KafkaConsumer,
    shutdown: &mut watch::Receiver<bool>,
    handle: &LoopHandle,
) -> Result<Option<BorrowedMessage<'a>>, ControlError> {
    loop {
        tokio::select! {
            _ = shutdown.changed() => return Ok(None),
            m = tokio::time::timeout(Duration::from_secs(1), consumer.recv()) => match m {
                Err(_) => handle.success(),
                // librdkafka reports a broker going away on every poll and reconnects by itself:
                // keep the consumer (and its group membership) rather than restart the loop.
                Ok(Err(rdkafka::error::KafkaError::MessageConsumption(code))) => {
                    tracing::debug!(?code, "consumer error while the broker is away; retrying");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Ok(m) => return Ok(Some(m?)),
            },
        }
    }
}
