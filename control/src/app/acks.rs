//! Applying a collector's acknowledgement to its command and the account.

use chrono::{DateTime, Utc};
use ingest::command::{AckMessage, AckOutcome};
use ingest::dlt645::RelayAction;

use super::Control;
use crate::domain::alarm::AlarmKind;
use crate::domain::command::{CommandEvent, CommandState};
use crate::domain::notice::{NoticeFacts, NoticeKind};
use crate::domain::relay::after_execution;
use crate::store::accounts::{self, Account};
use crate::store::commands::{self, switches, Command};
use crate::store::Conn;
use crate::ControlError;

/// What an acknowledgement did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckEffect {
    /// It moved its command to this state.
    Applied(CommandState),
    /// Unknown command, an earlier attempt's, or a duplicate: nothing changed.
    Ignored,
}

impl Control {
    /// Applies `ack`: matched by command id and attempt; stale and duplicate acknowledgements change
    /// nothing. An executed command whose relay read-back confirms it is verified and done; a refusal
    /// or silence is retried with backoff until the attempts run out, then the command fails and an
    /// alarm is raised; an expired command is re-planned.
    pub async fn apply_ack(&self, ack: &AckMessage) -> Result<AckEffect, ControlError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let Some(mut command) = commands::get(&mut tx, &ack.command_id).await? else {
            tracing::warn!(command = %ack.command_id, "acknowledgement of an unknown command ignored");
            return Ok(AckEffect::Ignored);
        };
        if command.state != CommandState::Sent
            || ack.attempt != command.attempts
            || ack.meter_id != command.meter_id
        {
            tracing::info!(command = %ack.command_id, state = command.state.as_str(), attempt = ack.attempt,
                "stale or duplicate acknowledgement ignored");
            return Ok(AckEffect::Ignored);
        }
        let mut account = accounts::lock(&mut tx, &command.meter_id, now).await?;
        command.acked_at = Some(ack.at);
        command.outcome = Some(ack.outcome);
        command.error.clone_from(&ack.error);
        command.relay_open = ack.relay_open;
        let note = match &ack.error {
            Some(error) => format!("{} by {}: {error}", ack.outcome.as_str(), ack.collector_id),
            None => format!("{} by {}", ack.outcome.as_str(), ack.collector_id),
        };
        let state = self
            .transition(
                &mut tx,
                &mut command,
                CommandEvent::Ack(ack.outcome),
                now,
                &note,
            )
            .await?;
        match state {
            CommandState::Acknowledged => {
                self.after_executed(
                    &mut tx,
                    &mut command,
                    &mut account,
                    ack.relay_open,
                    ack.at,
                    now,
                )
                .await?;
            }
            CommandState::Refused | CommandState::NoResponse => {
                self.retry_or_fail(&mut tx, &mut command, now).await?;
            }
            CommandState::Failed => {
                let detail = format!(
                    "{} of meter {} failed: {}",
                    command.action.as_str(),
                    command.meter_id,
                    ack.outcome.as_str()
                );
                self.raise_alarm(
                    &mut tx,
                    &command.meter_id,
                    AlarmKind::CommandFailed,
                    detail,
                    Some(&command.command_id),
                    now,
                )
                .await?;
            }
            _ => {}
        }
        let effect = AckEffect::Applied(command.state);
        self.enforce(&mut tx, &mut account, "acknowledgement", now)
            .await?;
        accounts::save(&mut tx, &account, now).await?;
        tx.commit().await?;
        metrics::counter!("meterlake_control_acks_total", "outcome" => ack.outcome.as_str())
            .increment(1);
        Ok(effect)
    }

    /// An executed command: verified by the relay read-back when there is one (then done, and the
    /// account's relay updated), failed when the read-back contradicts a trip, else left acknowledged
    /// until a reading confirms it.
    pub(crate) async fn after_executed(
        &self,
        conn: &mut Conn,
        command: &mut Command,
        account: &mut Account,
        relay_open: Option<bool>,
        observed_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), ControlError> {
        if !switches(command.action) {
            self.transition(conn, command, CommandEvent::Verify, now, "executed")
                .await?;
            self.transition(
                conn,
                command,
                CommandEvent::Complete,
                now,
                "no relay change expected",
            )
            .await?;
            return Ok(());
        }
        if let Some(relay) = after_execution(command.action, relay_open) {
            let note = format!("relay read back {}", relay.as_str());
            self.transition(conn, command, CommandEvent::Verify, now, &note)
                .await?;
            account.relay = relay;
            account.relay_known_at = observed_at;
            self.transition(
                conn,
                command,
                CommandEvent::Complete,
                now,
                "account relay updated",
            )
            .await?;
            let kind = match command.action {
                RelayAction::Trip => NoticeKind::TripDone,
                _ => NoticeKind::CloseAllowed,
            };
            let facts = NoticeFacts {
                balance: Some(account.balance),
                ..NoticeFacts::about(&account.meter_id)
            };
            self.notice(conn, kind, facts, now).await?;
        } else if command.action == RelayAction::Trip && relay_open == Some(false) {
            self.transition(
                conn,
                command,
                CommandEvent::GiveUp,
                now,
                "relay read back closed after a trip",
            )
            .await?;
            let detail = format!(
                "meter {} acknowledged a trip but its relay reads closed (relay fault, or keep-power at the meter)",
                command.meter_id
            );
            self.raise_alarm(
                conn,
                &command.meter_id,
                AlarmKind::RelayMismatch,
                detail,
                Some(&command.command_id),
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// After a refusal or silence: another attempt after a doubling backoff while attempts and the
    /// deadline allow, else the command fails with an alarm.
    async fn retry_or_fail(
        &self,
        conn: &mut Conn,
        command: &mut Command,
        now: DateTime<Utc>,
    ) -> Result<(), ControlError> {
        let backoff = self.rules.timing.retry_backoff
            * 2i32.saturating_pow(command.attempts.saturating_sub(1).min(16));
        let next = now + backoff;
        if command.attempts < command.max_attempts && next < command.deadline {
            command.not_before = next;
            let note = format!("retry at {}", next.to_rfc3339());
            self.transition(conn, command, CommandEvent::Retry, now, &note)
                .await?;
            return Ok(());
        }
        let why = format!(
            "{} attempts, last {}",
            command.attempts,
            command.outcome.map_or("none", AckOutcome::as_str)
        );
        self.transition(conn, command, CommandEvent::GiveUp, now, &why)
            .await?;
        let detail = format!(
            "{} of meter {} failed after {why}: {}",
            command.action.as_str(),
            command.meter_id,
            command.error.as_deref().unwrap_or("no error given")
        );
        self.raise_alarm(
            conn,
            &command.meter_id,
            AlarmKind::CommandFailed,
            detail,
            Some(&command.command_id),
            now,
        )
        .await
    }
}
