//! The meter's reported relay state against the account's: readings confirm commands whose
//! acknowledgement was lost or carried no read-back, and a disagreement is corrected from the meter's
//! truth, with the reason recorded.

use std::collections::BTreeMap;

use analytics::relay_state::RelayReading;

use super::Control;
use crate::domain::command::{CommandEvent, CommandState};
use crate::domain::relay::after_execution;
use crate::store::accounts;
use crate::store::commands::{self, switches};
use crate::store::records;
use crate::ControlError;

/// What reconciliation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReconcileReport {
    /// Commands confirmed by a reading.
    pub verified: usize,
    /// Accounts whose relay state was corrected from the meter.
    pub corrected: usize,
}

impl Control {
    /// Applies the meters' latest relay readings.
    pub async fn reconcile(
        &self,
        readings: &BTreeMap<String, RelayReading>,
    ) -> Result<ReconcileReport, ControlError> {
        let mut report = ReconcileReport::default();
        let waiting = {
            let mut conn = self.db.conn().await?;
            commands::live_in(&mut conn, &[CommandState::Sent, CommandState::Acknowledged]).await?
        };
        let mut verified_meters = std::collections::BTreeSet::new();
        for command in waiting.into_iter().filter(|c| switches(c.action)) {
            let Some(reading) = readings.get(&command.meter_id) else {
                continue;
            };
            if command.sent_at.is_none_or(|sent| reading.read_at <= sent) {
                continue;
            }
            if self
                .verify_from_reading(&command.command_id, *reading)
                .await?
            {
                report.verified += 1;
                verified_meters.insert(command.meter_id.clone());
            }
        }
        let mut after = String::new();
        loop {
            let page = {
                let mut conn = self.db.conn().await?;
                accounts::page(&mut conn, &after, 1000).await?
            };
            let Some(last) = page.last() else { break };
            after.clone_from(&last.meter_id);
            for account in page {
                let Some(reading) = readings.get(&account.meter_id) else {
                    continue;
                };
                let disagrees = reading.read_at > account.relay_known_at
                    && account.relay.reconcile(reading.open).is_some();
                if disagrees
                    && !verified_meters.contains(&account.meter_id)
                    && self.correct_relay(&account.meter_id, *reading).await?
                {
                    report.corrected += 1;
                }
            }
        }
        Ok(report)
    }

    async fn verify_from_reading(
        &self,
        command_id: &str,
        reading: RelayReading,
    ) -> Result<bool, ControlError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let Some(mut command) = commands::get(&mut tx, command_id).await? else {
            return Ok(false);
        };
        if !matches!(
            command.state,
            CommandState::Sent | CommandState::Acknowledged
        ) {
            return Ok(false);
        }
        let Some(relay) = after_execution(command.action, Some(reading.open)) else {
            return Ok(false);
        };
        let mut account = accounts::lock(&mut tx, &command.meter_id, now).await?;
        let note = format!(
            "reading at {} shows relay {}",
            reading.read_at.to_rfc3339(),
            relay.as_str()
        );
        self.transition(&mut tx, &mut command, CommandEvent::Verify, now, &note)
            .await?;
        account.relay = relay;
        account.relay_known_at = reading.read_at;
        self.transition(
            &mut tx,
            &mut command,
            CommandEvent::Complete,
            now,
            "account relay updated",
        )
        .await?;
        self.enforce(&mut tx, &mut account, "reconciliation", now)
            .await?;
        accounts::save(&mut tx, &account, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Corrects an account whose relay state disagrees with a reading newer than what it knows.
    async fn correct_relay(
        &self,
        meter_id: &str,
        reading: RelayReading,
    ) -> Result<bool, ControlError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut account = match accounts::lock(&mut tx, meter_id, now).await {
            Ok(account) => account,
            Err(ControlError::NotFound(_)) => return Ok(false),
            Err(err) => return Err(err),
        };
        if reading.read_at <= account.relay_known_at {
            return Ok(false);
        }
        let Some(relay) = account.relay.reconcile(reading.open) else {
            return Ok(false);
        };
        let detail = format!(
            "meter reported relay {} at {} while the account had {}: the meter's state wins",
            if reading.open { "open" } else { "closed" },
            reading.read_at.to_rfc3339(),
            account.relay.as_str()
        );
        let kind =
            if account.relay == crate::domain::relay::RelayState::CloseAllowed && !reading.open {
                "closed_by_customer"
            } else {
                "relay_corrected"
            };
        records::insert_account_event(&mut tx, meter_id, kind, &detail, now).await?;
        account.relay = relay;
        account.relay_known_at = reading.read_at;
        self.enforce(&mut tx, &mut account, "reconciliation", now)
            .await?;
        accounts::save(&mut tx, &account, now).await?;
        tx.commit().await?;
        Ok(kind == "relay_corrected")
    }
}
