//! The outbox relay: produces outbox rows to Kafka in order, deleting each once Kafka has it. A failed
//! send is retried with backoff until the message's deadline; a message past its deadline is dropped
//! (the sweeper expires its command and re-plans).

use std::time::Duration;

use chrono::{DateTime, Utc};
use ingest::kafka::KafkaProducer;
use ingest::supervise::LoopHandle;
use rdkafka::producer::FutureRecord;
use tokio::sync::watch;

use crate::app::Control;
use crate::store::outbox::{self, OutboxMessage};
use crate::ControlError;

/// Rows read per round.
const BATCH: i64 = 256;
/// How long one send may wait for Kafka.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest wait before retrying a message.
const MAX_RETRY: chrono::Duration = chrono::Duration::seconds(10);

/// Runs until `shutdown`.
pub async fn run(
    control: Control,
    producer: KafkaProducer,
    handle: LoopHandle,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ControlError> {
    let ready = control.outbox_ready();
    loop {
        let sent = relay_once(&control, &producer).await?;
        handle.success();
        if sent > 0 {
            continue;
        }
        tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            _ = ready.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// One round: produces the due rows; returns how many Kafka took.
pub async fn relay_once(
    control: &Control,
    producer: &KafkaProducer,
) -> Result<usize, ControlError> {
    let now = control.now();
    let due = outbox::due(&mut *control.db().conn().await?, now, BATCH).await?;
    let mut sent = 0;
    for message in due {
        if message.deadline < now {
            outbox::delete(&mut *control.db().conn().await?, &message.id).await?;
            tracing::warn!(command = ?message.command_id, "outbox message past its deadline dropped");
            continue;
        }
        match produce(producer, &message).await {
            Ok(()) => {
                outbox::delete(&mut *control.db().conn().await?, &message.id).await?;
                metrics::counter!("meterlake_control_outbox_sent_total").increment(1);
                sent += 1;
            }
            Err(err) => {
                let next = retry_at(now, message.attempts);
                tracing::warn!(%err, command = ?message.command_id, retry_at = %next, "outbox send failed");
                metrics::counter!("meterlake_control_outbox_failures_total").increment(1);
                outbox::delay(&mut *control.db().conn().await?, &message.id, next, &err).await?;
                // Kafka is away: later rows would fail too, and order matters per meter.
                break;
            }
        }
    }
    let waiting = outbox::count(&mut *control.db().conn().await?).await?;
    metrics::gauge!("meterlake_control_outbox_rows").set(waiting as f64);
    Ok(sent)
}

/// Produces one message, waiting at most [`SEND_TIMEOUT`] for Kafka's acknowledgement. A message
/// that Kafka takes after the wait is produced again on the retry; the collector executes each
/// (command, attempt) once.
async fn produce(producer: &KafkaProducer, message: &OutboxMessage) -> Result<(), String> {
    let send = producer.send(
        FutureRecord::to(&message.topic)
            .key(&message.key)
            .payload(&message.payload),
        SEND_TIMEOUT,
    );
    match tokio::time::timeout(SEND_TIMEOUT * 2, send).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err((err, _))) => Err(err.to_string()),
        Err(_) => Err(format!(
            "Kafka did not acknowledge within {:?}",
            SEND_TIMEOUT * 2
        )),
    }
}

/// When to try a message again after `attempts` failures: 0.5 s doubling, at most 10 s.
fn retry_at(now: DateTime<Utc>, attempts: u32) -> DateTime<Utc> {
    let wait = chrono::Duration::milliseconds(500) * 2i32.saturating_pow(attempts.min(10));
    now + wait.min(MAX_RETRY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_ten_seconds() {
        let now = Utc::now();
        assert_eq!(retry_at(now, 0) - now, chrono::Duration::milliseconds(500));
        assert_eq!(retry_at(now, 2) - now, chrono::Duration::seconds(2));
        assert_eq!(retry_at(now, 40) - now, chrono::Duration::seconds(10));
    }
}
