//! The mechanics of a command's life inside a transaction: create, transition (with its event row),
//! dispatch to the outbox.

use chrono::{DateTime, Utc};
use ingest::command::CommandMessage;
use ingest::dlt645::RelayAction;

use serde_json::json;

use super::audit::Actor;
use super::Control;
use crate::domain::alarm::AlarmKind;
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::command::{CommandEvent, CommandState};
use crate::store::accounts::Account;
use crate::store::alarms::{self, MeterAlarm};
use crate::store::commands::{self, Command};
use crate::store::outbox::{self, OutboxMessage};
use crate::store::Conn;
use crate::ControlError;

impl Control {
    /// A new command for `account`, not yet stored; its deadline is its validity after `not_before`.
    pub(crate) fn new_command(
        &self,
        account: &Account,
        action: RelayAction,
        reason: String,
        requested_by: &str,
        not_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Command {
        Command {
            command_id: uuid::Uuid::new_v4().to_string(),
            meter_id: account.meter_id.clone(),
            collector_id: account.collector_id.clone(),
            action,
            state: CommandState::Requested,
            reason,
            requested_by: requested_by.to_string(),
            created_at: now,
            not_before,
            deadline: not_before.max(now) + self.rules.timing.validity,
            attempts: 0,
            max_attempts: self.rules.timing.max_attempts.max(1),
            steps: 1,
            sent_at: None,
            acked_at: None,
            finished_at: None,
            outcome: None,
            error: None,
            relay_open: None,
        }
    }

    /// Stores a new command and then schedules it, or dispatches it if it may go now.
    pub(crate) async fn create_command(
        &self,
        conn: &mut Conn,
        mut command: Command,
        now: DateTime<Utc>,
    ) -> Result<Command, ControlError> {
        commands::insert(conn, &command, now).await?;
        commands::insert_event(
            conn,
            &command.command_id,
            1,
            None,
            CommandState::Requested,
            now,
            &command.reason,
        )
        .await?;
        let actor = Actor {
            name: command.requested_by.clone(),
            role: None,
            origin: "service".into(),
        };
        let after = json!({
            "command_id": command.command_id,
            "action": command.action.as_str(),
            "reason": command.reason,
            "not_before": command.not_before,
            "deadline": command.deadline,
        });
        let object = format!("account:{}", command.meter_id);
        self.audit(
            conn,
            &actor,
            AuditAction::CommandCreated,
            &object,
            None,
            Some(after),
            Outcome::Ok,
        )
        .await?;
        if command.not_before > now {
            let note = format!("waits until {}", command.not_before.to_rfc3339());
            self.transition(conn, &mut command, CommandEvent::Schedule, now, &note)
                .await?;
        } else {
            self.dispatch(conn, &mut command, now).await?;
        }
        Ok(command)
    }

    /// Applies `event` to `command`, storing the new state and an event row. Returns the new state.
    pub(crate) async fn transition(
        &self,
        conn: &mut Conn,
        command: &mut Command,
        event: CommandEvent,
        now: DateTime<Utc>,
        note: &str,
    ) -> Result<CommandState, ControlError> {
        let from = command.state;
        let to = from
            .on(event)
            .map_err(|e| ControlError::Conflict(e.to_string()))?;
        command.state = to;
        command.steps += 1;
        if to.is_terminal() {
            command.finished_at = Some(now);
            outbox::delete_for_command(conn, &command.command_id).await?;
            let after = json!({
                "state": to.as_str(),
                "action": command.action.as_str(),
                "meter_id": command.meter_id,
                "attempts": command.attempts,
                "note": note,
            });
            let object = format!("command:{}", command.command_id);
            let before = Some(json!({ "state": from.as_str() }));
            let outcome = if to == CommandState::Failed {
                Outcome::Failed
            } else {
                Outcome::Ok
            };
            self.audit(
                conn,
                &Actor::system(),
                AuditAction::CommandOutcome,
                &object,
                before,
                Some(after),
                outcome,
            )
            .await?;
        }
        commands::save(conn, command, now).await?;
        commands::insert_event(
            conn,
            &command.command_id,
            command.steps,
            Some(from),
            to,
            now,
            note,
        )
        .await?;
        Ok(to)
    }

    /// Moves a command to `sent` and writes its message to the outbox (one more attempt).
    pub(crate) async fn dispatch(
        &self,
        conn: &mut Conn,
        command: &mut Command,
        now: DateTime<Utc>,
    ) -> Result<(), ControlError> {
        command.attempts += 1;
        command.sent_at = Some(now);
        let note = format!("attempt {} of {}", command.attempts, command.max_attempts);
        self.transition(conn, command, CommandEvent::Dispatch, now, &note)
            .await?;
        let mut message = CommandMessage {
            command_id: command.command_id.clone(),
            meter_id: command.meter_id.clone(),
            collector_id: command.collector_id.clone(),
            action: command.action,
            issued_at: now,
            valid_until: command.deadline,
            reason: command.reason.clone(),
            attempt: command.attempts,
            key_id: String::new(),
            signature: String::new(),
        };
        message.sign(&self.keys.commands);
        let payload = serde_json::to_string(&message)
            .map_err(|e| ControlError::Corrupt(format!("command message: {e}")))?;
        outbox::insert(
            conn,
            &OutboxMessage {
                id: outbox::new_id(now),
                topic: self.rules.topics.commands.clone(),
                key: command.collector_id.clone(),
                payload,
                command_id: Some(command.command_id.clone()),
                deadline: command.deadline,
                created_at: now,
                next_attempt_at: now,
                attempts: 0,
                last_error: None,
            },
        )
        .await?;
        self.wake_outbox();
        Ok(())
    }

    /// Raises an alarm for staff about a command of `meter_id`.
    pub(crate) async fn raise_alarm(
        &self,
        conn: &mut Conn,
        meter_id: &str,
        kind: AlarmKind,
        detail: String,
        command_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), ControlError> {
        tracing::warn!(meter = meter_id, kind = kind.name(), %detail, "alarm raised");
        metrics::counter!("meterlake_alarms_raised_total", "kind" => kind.name()).increment(1);
        alarms::insert(
            conn,
            &MeterAlarm {
                command_id: command_id.map(str::to_string),
                ..MeterAlarm::raised(meter_id, kind, detail, (now, now, now))
            },
        )
        .await?;
        Ok(())
    }
}
