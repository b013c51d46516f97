//! Remote control by an operator: a relay command on request, and cancelling a command not yet sent.

use ingest::dlt645::RelayAction;

use serde_json::json;

use super::audit::Actor;
use super::Control;
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::command::{CommandEvent, CommandState};
use crate::domain::security_alarm::SecurityAlarmKind;
use crate::store::commands::{self, switches, Command};
use crate::store::records;
use crate::store::{accounts, security_alarms};
use crate::ControlError;

/// An operator's command request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandRequest {
    /// What the meter should do.
    pub action: RelayAction,
    /// Why (kept with the command).
    pub reason: String,
}

/// Manual trips by one user within an hour that raise a security alarm.
pub const TRIP_BURST: i64 = 20;

impl Control {
    /// Sends an operator's command now. A relay-switching command needs the meter's slot to be free; a
    /// trip is refused while keep-power protects the account.
    pub async fn request_command(
        &self,
        meter_id: &str,
        request: CommandRequest,
        actor: &Actor,
    ) -> Result<Command, ControlError> {
        if request.reason.trim().is_empty() {
            return Err(ControlError::Invalid("a command needs a reason".into()));
        }
        if matches!(
            request.action,
            RelayAction::PreTripAutoClose | RelayAction::PreTripCloseAllowed
        ) {
            return Err(ControlError::Invalid(
                "pre-trip commands need a duration the master station does not send; use trip"
                    .into(),
            ));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let account = accounts::lock(&mut tx, meter_id, now).await?;
        if request.action == RelayAction::Trip {
            if let Some(exemption) = records::exemptions(&mut tx, meter_id)
                .await?
                .into_iter()
                .find(|e| e.active_at(now))
            {
                return Err(ControlError::Invalid(format!(
                    "meter {meter_id} is under keep-power ({}) until {}",
                    exemption.kind.as_str(),
                    exemption.ends_at.to_rfc3339()
                )));
            }
        }
        if switches(request.action) {
            if let Some(current) = commands::in_flight(&mut tx, meter_id).await? {
                return Err(ControlError::Conflict(format!(
                    "meter {meter_id} already has command {} ({}, {}) in flight",
                    current.command_id,
                    current.action.as_str(),
                    current.state.as_str()
                )));
            }
        }
        let command = self.new_command(
            &account,
            request.action,
            request.reason,
            &actor.name,
            now,
            now,
        );
        let command = self.create_command(&mut tx, command, now).await?;
        if request.action == RelayAction::Trip {
            let since = now - chrono::Duration::hours(1);
            let trips =
                commands::count_requested_since(&mut tx, &actor.name, RelayAction::Trip, since)
                    .await?;
            if trips == TRIP_BURST {
                let detail = format!(
                    "{} asked for {trips} manual trips within an hour (origin {})",
                    actor.name, actor.origin
                );
                let subject = format!("user:{}", actor.name);
                let kind = SecurityAlarmKind::TripBurst;
                security_alarms::insert(&mut tx, &subject, kind, detail, now).await?;
            }
        }
        tx.commit().await?;
        Ok(command)
    }

    /// Cancels a command that has not been sent yet.
    pub async fn cancel_command(
        &self,
        command_id: &str,
        actor: &Actor,
    ) -> Result<Command, ControlError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut command = commands::get(&mut tx, command_id)
            .await?
            .ok_or_else(|| ControlError::NotFound(format!("no command {command_id}")))?;
        if !matches!(
            command.state,
            CommandState::Requested | CommandState::Scheduled
        ) {
            return Err(ControlError::Conflict(format!(
                "command {command_id} is {} and can no longer be cancelled",
                command.state.as_str()
            )));
        }
        self.transition(
            &mut tx,
            &mut command,
            CommandEvent::Cancel,
            now,
            &format!("cancelled by {}", actor.name),
        )
        .await?;
        let object = format!("command:{command_id}");
        let after =
            Some(json!({ "meter_id": command.meter_id, "action": command.action.as_str() }));
        self.audit(
            &mut tx,
            actor,
            AuditAction::CommandCancelled,
            &object,
            None,
            after,
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(command)
    }
}
