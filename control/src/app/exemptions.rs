//! Keep-power exemptions (保电): while one is active no trip is sent to the account's meter; a trip it
//! held is planned again when it ends.

use chrono::{DateTime, Duration, Utc};

use serde_json::json;

use super::audit::Actor;
use super::Control;
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::command::{CommandEvent, CommandState};
use crate::store::accounts;
use crate::store::commands;
use crate::store::records::{self, Exemption, ExemptionKind};
use crate::ControlError;

/// The longest exemption one request may grant.
pub const MAX_EXEMPTION_DAYS: i64 = 366;

/// A request for an exemption.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewExemption {
    /// Why it is needed.
    pub kind: ExemptionKind,
    /// What the operator recorded (the certificate, the ward, the event).
    pub reason: String,
    /// Until when (exclusive); at most a year ahead.
    pub ends_at: DateTime<Utc>,
}

impl Control {
    /// Grants an exemption from now until its end; a trip waiting for the account is cancelled (it is
    /// planned again when the exemption ends, if the account still owes).
    pub async fn add_exemption(
        &self,
        meter_id: &str,
        request: NewExemption,
        actor: &Actor,
    ) -> Result<Exemption, ControlError> {
        let now = self.now();
        if request.reason.trim().is_empty() {
            return Err(ControlError::Invalid("an exemption needs a reason".into()));
        }
        if request.ends_at <= now {
            return Err(ControlError::Invalid(format!(
                "ends_at {} is not in the future",
                request.ends_at.to_rfc3339()
            )));
        }
        if request.ends_at > now + Duration::days(MAX_EXEMPTION_DAYS) {
            return Err(ControlError::Invalid(format!(
                "an exemption may last at most {MAX_EXEMPTION_DAYS} days; renew it instead"
            )));
        }
        let mut tx = self.db.begin().await?;
        let account = accounts::lock(&mut tx, meter_id, now).await?;
        let exemption = Exemption {
            id: uuid::Uuid::new_v4().to_string(),
            meter_id: account.meter_id.clone(),
            kind: request.kind,
            reason: request.reason,
            starts_at: now,
            ends_at: request.ends_at,
            created_by: actor.name.clone(),
            created_at: now,
            revoked_at: None,
        };
        records::insert_exemption(&mut tx, &exemption).await?;
        if let Some(mut pending) = commands::in_flight(&mut tx, meter_id).await? {
            if pending.action == ingest::dlt645::RelayAction::Trip
                && matches!(
                    pending.state,
                    CommandState::Requested | CommandState::Scheduled
                )
            {
                self.transition(
                    &mut tx,
                    &mut pending,
                    CommandEvent::Cancel,
                    now,
                    "held by keep-power",
                )
                .await?;
            }
        }
        let detail = format!(
            "keep-power ({}) until {} by {}: {}",
            exemption.kind.as_str(),
            exemption.ends_at.to_rfc3339(),
            exemption.created_by,
            exemption.reason
        );
        records::insert_account_event(&mut tx, meter_id, "keep_power", &detail, now).await?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::KeepPowerGranted,
            &format!("account:{meter_id}"),
            None,
            Some(json!(exemption)),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(exemption)
    }

    /// Ends an exemption early and enforces the account.
    pub async fn revoke_exemption(
        &self,
        meter_id: &str,
        id: &str,
        actor: &Actor,
    ) -> Result<(), ControlError> {
        let by = actor.name.as_str();
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut account = accounts::lock(&mut tx, meter_id, now).await?;
        if !records::revoke_exemption(&mut tx, meter_id, id, now).await? {
            return Err(ControlError::NotFound(format!(
                "no active exemption {id} for meter {meter_id}"
            )));
        }
        records::insert_account_event(
            &mut tx,
            meter_id,
            "keep_power_ended",
            &format!("exemption {id} revoked by {by}"),
            now,
        )
        .await?;
        self.enforce(&mut tx, &mut account, by, now).await?;
        accounts::save(&mut tx, &account, now).await?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::KeepPowerRevoked,
            &format!("account:{meter_id}"),
            None,
            Some(json!({ "exemption_id": id })),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A meter's exemptions, newest first.
    pub async fn exemptions(&self, meter_id: &str) -> Result<Vec<Exemption>, ControlError> {
        let mut conn = self.db.conn().await?;
        accounts::get(&mut conn, meter_id).await?;
        records::exemptions(&mut conn, meter_id).await
    }
}
