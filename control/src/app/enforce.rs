//! Enforcement: from an account's prepaid state and relay to the commands it needs, inside the
//! transaction that changed the account. One relay command per meter at a time; a pending command that
//! is no longer right is cancelled or superseded; a trip waits for its warning lead, keep-power
//! exemptions and the trip calendar.

use chrono::{DateTime, Utc};
use ingest::dlt645::RelayAction;

use super::Control;
use crate::domain::command::{CommandEvent, CommandState};
use crate::domain::notice::{NoticeFacts, NoticeKind};
use crate::domain::prepaid::PrepaidState;
use crate::domain::relay::{required_action, RelayState};
use crate::store::accounts::Account;
use crate::store::commands::{self, Command};
use crate::store::records;
use crate::store::Conn;
use crate::ControlError;

impl Control {
    /// Plans the commands `account` (locked in `conn`'s transaction) needs now. The caller saves the
    /// account afterwards (this may set or clear its warning time). Returns the relay command created.
    pub(crate) async fn enforce(
        &self,
        conn: &mut Conn,
        account: &mut Account,
        requested_by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Command>, ControlError> {
        let needed = required_action(account.state, account.relay);
        if let Some(mut current) = commands::in_flight(conn, &account.meter_id).await? {
            if Some(current.action) == needed {
                return Ok(None);
            }
            if !matches!(
                current.state,
                CommandState::Requested | CommandState::Scheduled
            ) {
                // Out on the wire: its acknowledgement or deadline decides, then enforcement runs again.
                return Ok(None);
            }
            let (event, note) = match needed {
                None => (
                    CommandEvent::Cancel,
                    format!(
                        "no longer needed: account {} with relay {}",
                        account.state.as_str(),
                        account.relay.as_str()
                    ),
                ),
                Some(action) => (
                    CommandEvent::Supersede,
                    format!("superseded by {}", action.as_str()),
                ),
            };
            self.transition(conn, &mut current, event, now, &note)
                .await?;
        }
        if !account.state.requires_trip() && account.warned_at.take().is_some() {
            // The arrears that caused the pre-trip warning are paid: release the meter's alarm.
            if account.relay == RelayState::Closed {
                self.warn(conn, account, RelayAction::AlarmOff, "arrears settled", now)
                    .await?;
            }
        }
        let Some(action) = needed else {
            return Ok(None);
        };
        if let Some(last) = commands::latest_of(conn, &account.meter_id, action).await? {
            if last.state == CommandState::Failed {
                // A meter that refused or ignored this command until the attempts ran out is not sent
                // it again on every pass: its alarm waits for staff, who retry by hand.
                return Ok(None);
            }
        }
        let mut not_before = now;
        let reason;
        if action == RelayAction::Trip {
            if let Some(exemption) = records::exemptions(conn, &account.meter_id)
                .await?
                .into_iter()
                .find(|e| e.active_at(now))
            {
                tracing::debug!(meter = %account.meter_id, until = %exemption.ends_at, "trip held by keep-power");
                return Ok(None);
            }
            let warned_at = match account.warned_at {
                Some(at) => at,
                None => {
                    self.warn(conn, account, RelayAction::AlarmOn, "pre-trip warning", now)
                        .await?;
                    let facts = NoticeFacts {
                        balance: Some(account.balance),
                        lead: Some(humanize(self.rules.timing.warning_lead)),
                        ..NoticeFacts::about(&account.meter_id)
                    };
                    self.notice(conn, NoticeKind::PreTripWarning, facts, now)
                        .await?;
                    account.warned_at = Some(now);
                    now
                }
            };
            let earliest = (warned_at + self.rules.timing.warning_lead).max(now);
            not_before = self.rules.calendar.next_allowed(earliest, self.rules.zone);
            reason = format!("balance {} past the overdraft limit", account.balance);
        } else {
            reason = format!(
                "balance {} re-armed (account {})",
                account.balance,
                account.state.as_str()
            );
        }
        let command = self.new_command(account, action, reason, requested_by, not_before, now);
        Ok(Some(self.create_command(conn, command, now).await?))
    }

    /// Sends a warning-type command (alarm on/off): it does not hold the meter's relay slot.
    async fn warn(
        &self,
        conn: &mut Conn,
        account: &Account,
        action: RelayAction,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), ControlError> {
        let command = self.new_command(account, action, reason.to_string(), "policy", now, now);
        self.create_command(conn, command, now).await?;
        Ok(())
    }

    /// Records a prepaid state change on the account and tells the customer when the balance runs low.
    pub(crate) async fn state_changed(
        &self,
        conn: &mut Conn,
        account: &Account,
        before: PrepaidState,
        now: DateTime<Utc>,
    ) -> Result<(), ControlError> {
        if before == account.state {
            return Ok(());
        }
        let detail = format!(
            "{} → {} at balance {}",
            before.as_str(),
            account.state.as_str(),
            account.balance
        );
        records::insert_account_event(conn, &account.meter_id, "prepaid_state", &detail, now)
            .await?;
        let crossed = match account.state {
            PrepaidState::Alarm1 => Some(NoticeKind::BalanceAlarm1),
            PrepaidState::Alarm2 => Some(NoticeKind::BalanceAlarm2),
            PrepaidState::OverdraftZero => Some(NoticeKind::BalanceOverdrawn),
            _ => None,
        };
        if let Some(kind) = crossed.filter(|_| rank(account.state) > rank(before)) {
            let facts = NoticeFacts {
                balance: Some(account.balance),
                ..NoticeFacts::about(&account.meter_id)
            };
            self.notice(conn, kind, facts, now).await?;
        }
        Ok(())
    }
}

/// How serious a state is (a notice goes out only when an account gets worse).
fn rank(state: PrepaidState) -> u8 {
    match state {
        PrepaidState::NoAlarm => 0,
        PrepaidState::Alarm1 => 1,
        PrepaidState::Alarm2 => 2,
        PrepaidState::OverdraftZero => 3,
        PrepaidState::OverdraftTrip => 4,
    }
}

/// A duration as people say it ("2 h", "30 min").
fn humanize(duration: chrono::Duration) -> String {
    let minutes = duration.num_minutes();
    if minutes >= 60 && minutes % 60 == 0 {
        format!("{} h", minutes / 60)
    } else {
        format!("{minutes} min")
    }
}
