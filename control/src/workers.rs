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

use ingest::supervise::LoopHandle;
use rdkafka::consumer::StreamConsumer;
use rdkafka::message::BorrowedMessage;
use tokio::sync::watch;

use crate::ControlError;

/// The consumer's next message, or `None` once `shutdown` turns; every quiet second counts as the
/// loop's success (it is alive, there is just nothing to do).
pub(crate) async fn next_message<'a>(
    consumer: &'a StreamConsumer,
    shutdown: &mut watch::Receiver<bool>,
    handle: &LoopHandle,
) -> Result<Option<BorrowedMessage<'a>>, ControlError> {
    loop {
        tokio::select! {
            _ = shutdown.changed() => return Ok(None),
            m = tokio::time::timeout(Duration::from_secs(1), consumer.recv()) => match m {
                Err(_) => handle.success(),
                Ok(m) => return Ok(Some(m?)),
            },
        }
    }
}
