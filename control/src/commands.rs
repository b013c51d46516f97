//! The command lifecycle: issued (stored and sent on Kafka), then acknowledged by the collector.

use chrono::{DateTime, Duration, Utc};
use ingest::command::{AckMessage, AckOutcome, CommandMessage};
use ingest::dlt645::RelayAction;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sqlx::SqlitePool;

use crate::ledger::{self, Account};
use crate::policy::RelayTrack;
use crate::ControlError;

/// How long a command stays executable.
pub const COMMAND_VALIDITY: Duration = Duration::hours(1);

/// Stores a command for `account` and produces it to the commands topic, keyed by the collector id.
pub async fn issue(
    pool: &SqlitePool,
    producer: &FutureProducer,
    topic: &str,
    account: &Account,
    action: RelayAction,
    reason: String,
    now: DateTime<Utc>,
) -> Result<CommandMessage, ControlError> {
    let command = CommandMessage {
        command_id: uuid::Uuid::new_v4().to_string(),
        meter_id: account.meter_id.clone(),
        collector_id: account.collector_id.clone(),
        action,
        issued_at: now,
        valid_until: now + COMMAND_VALIDITY,
        reason,
    };
    let action_name = serde_json::to_value(action)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    sqlx::query(
        "INSERT INTO commands (command_id, meter_id, collector_id, action, reason, status, issued_at)
         VALUES (?, ?, ?, ?, ?, 'sent', ?)",
    )
    .bind(&command.command_id)
    .bind(&command.meter_id)
    .bind(&command.collector_id)
    .bind(action_name)
    .bind(&command.reason)
    .bind(now.to_rfc3339())
    .execute(pool)
    .await?;
    let sent = match action {
        RelayAction::Trip => RelayTrack::TripSent,
        _ => RelayTrack::CloseSent,
    };
    ledger::set_relay(pool, &command.meter_id, sent).await?;
    let payload = serde_json::to_vec(&command).map_err(|e| ControlError::Corrupt(e.to_string()))?;
    producer
        .send(
            FutureRecord::to(topic)
                .key(&command.collector_id)
                .payload(&payload),
            std::time::Duration::from_secs(30),
        )
        .await
        .map_err(|(err, _)| err)?;
    Ok(command)
}

/// Applies an acknowledgement: records the outcome and moves the tracked relay state.
pub async fn acknowledge(pool: &SqlitePool, ack: &AckMessage) -> Result<(), ControlError> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT meter_id, action FROM commands WHERE command_id = ?")
            .bind(&ack.command_id)
            .fetch_optional(pool)
            .await?;
    let Some((meter_id, action)) = row else {
        tracing::warn!(command = %ack.command_id, "acknowledgement for an unknown command");
        return Ok(());
    };
    let status = serde_json::to_value(ack.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    sqlx::query(
        "UPDATE commands SET status = ?, error = ?, relay_open = ?, acked_at = ? WHERE command_id = ?",
    )
    .bind(status)
    .bind(&ack.error)
    .bind(ack.relay_open)
    .bind(ack.at.to_rfc3339())
    .bind(&ack.command_id)
    .execute(pool)
    .await?;
    let executed = ack.outcome == AckOutcome::Executed;
    let next = match (action.as_str(), executed) {
        ("trip", true) => RelayTrack::Open,
        ("trip", false) => RelayTrack::Closed,
        ("close_allowed", true) => RelayTrack::CloseAllowed,
        ("close", true) => RelayTrack::Closed,
        (_, false) => RelayTrack::Open,
        _ => return Ok(()),
    };
    ledger::set_relay(pool, &meter_id, next).await
}

/// Counts of commands by action and status.
pub async fn summary(pool: &SqlitePool) -> Result<Vec<(String, String, i64)>, ControlError> {
    Ok(sqlx::query_as(
        "SELECT action, status, count(*) FROM commands GROUP BY action, status ORDER BY action, status",
    )
    .fetch_all(pool)
    .await?)
}
