//! The periodic sweep: commands past their deadline expire and are re-planned; scheduled commands whose
//! time has come are checked once more against the account and sent, deferred, or cancelled; accounts
//! whose keep-power ended are enforced again.

use chrono::{DateTime, Utc};
use ingest::dlt645::RelayAction;

use super::Control;
use crate::domain::command::{CommandEvent, CommandState};
use crate::domain::relay::required_action;
use crate::store::accounts;
use crate::store::commands::{self, Command};
use crate::store::records;
use crate::ControlError;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Commands that expired.
    pub expired: usize,
    /// Scheduled commands sent.
    pub dispatched: usize,
    /// Scheduled commands moved later (trip calendar).
    pub deferred: usize,
    /// Scheduled commands cancelled (no longer needed, or held by keep-power).
    pub cancelled: usize,
    /// Accounts enforced again after their keep-power ended.
    pub released: usize,
}

const BATCH: i64 = 500;
const LAST_SWEEP: &str = "last_sweep";

impl Control {
    /// One sweep at the clock's now.
    pub async fn sweep(&self) -> Result<SweepReport, ControlError> {
        let now = self.now();
        let mut report = SweepReport::default();
        let overdue = commands::overdue(&mut *self.db.conn().await?, now, BATCH).await?;
        for command in overdue {
            if self.expire(&command.command_id, now).await? {
                report.expired += 1;
            }
        }
        let due = commands::due(
            &mut *self.db.conn().await?,
            CommandState::Scheduled,
            now,
            BATCH,
        )
        .await?;
        for command in due {
            match self.send_scheduled(command, now).await? {
                Scheduled::Sent => report.dispatched += 1,
                Scheduled::Deferred => report.deferred += 1,
                Scheduled::Cancelled => report.cancelled += 1,
            }
        }
        report.released = self.release_ended_exemptions(now).await?;
        Ok(report)
    }

    async fn expire(&self, command_id: &str, now: DateTime<Utc>) -> Result<bool, ControlError> {
        let mut tx = self.db.begin().await?;
        let Some(mut command) = commands::get(&mut tx, command_id).await? else {
            return Ok(false);
        };
        if command.state.is_terminal()
            || command.state == CommandState::Verified
            || command.deadline >= now
        {
            return Ok(false);
        }
        let mut account = accounts::lock(&mut tx, &command.meter_id, now).await?;
        let note = format!("deadline {} passed", command.deadline.to_rfc3339());
        self.transition(&mut tx, &mut command, CommandEvent::Expire, now, &note)
            .await?;
        self.enforce(&mut tx, &mut account, "expiry", now).await?;
        accounts::save(&mut tx, &account, now).await?;
        tx.commit().await?;
        metrics::counter!("meterlake_control_commands_expired_total").increment(1);
        Ok(true)
    }

    async fn send_scheduled(
        &self,
        command: Command,
        now: DateTime<Utc>,
    ) -> Result<Scheduled, ControlError> {
        let mut tx = self.db.begin().await?;
        let mut account = accounts::lock(&mut tx, &command.meter_id, now).await?;
        let Some(mut command) = commands::get(&mut tx, &command.command_id).await? else {
            return Ok(Scheduled::Cancelled);
        };
        if command.state != CommandState::Scheduled {
            return Ok(Scheduled::Deferred);
        }
        let still_needed = required_action(account.state, account.relay) == Some(command.action);
        let held = command.action == RelayAction::Trip
            && records::exemptions(&mut tx, &command.meter_id)
                .await?
                .iter()
                .any(|e| e.active_at(now));
        let outcome = if !still_needed || held {
            let note = if held {
                "held by keep-power".to_string()
            } else {
                format!(
                    "no longer needed: account {} with relay {}",
                    account.state.as_str(),
                    account.relay.as_str()
                )
            };
            self.transition(&mut tx, &mut command, CommandEvent::Cancel, now, &note)
                .await?;
            if !held {
                self.enforce(&mut tx, &mut account, "sweep", now).await?;
            }
            Scheduled::Cancelled
        } else if command.action == RelayAction::Trip
            && !self.rules.calendar.allows(now, self.rules.zone)
        {
            command.not_before = self.rules.calendar.next_allowed(now, self.rules.zone);
            command.deadline = command.not_before + self.rules.timing.validity;
            commands::save(&mut tx, &command, now).await?;
            Scheduled::Deferred
        } else {
            self.dispatch(&mut tx, &mut command, now).await?;
            Scheduled::Sent
        };
        accounts::save(&mut tx, &account, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Enforces the accounts whose keep-power ended since the last sweep.
    async fn release_ended_exemptions(&self, now: DateTime<Utc>) -> Result<usize, ControlError> {
        let mut conn = self.db.conn().await?;
        let since = records::state_value(&mut conn, LAST_SWEEP)
            .await?
            .and_then(|v| v.parse::<i64>().ok())
            .and_then(DateTime::from_timestamp_micros)
            .unwrap_or(now);
        let meters = records::exemptions_ended(&mut conn, since, now).await?;
        records::set_state_value(&mut conn, LAST_SWEEP, &now.timestamp_micros().to_string())
            .await?;
        drop(conn);
        for meter in &meters {
            let mut tx = self.db.begin().await?;
            let mut account = accounts::lock(&mut tx, meter, now).await?;
            self.enforce(&mut tx, &mut account, "keep-power ended", now)
                .await?;
            accounts::save(&mut tx, &account, now).await?;
            tx.commit().await?;
        }
        Ok(meters.len())
    }
}

enum Scheduled {
    Sent,
    Deferred,
    Cancelled,
}
