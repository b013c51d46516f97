//! People's corrections of interval values (VEE edits): checked, stored with who and why, audited in
//! the same transaction; the next VEE run applies the newest edit of each interval.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;

use super::accounts::check_meter_id;
use super::audit::Actor;
use super::Control;
use crate::domain::audit::{AuditAction, Outcome};
use crate::store::interval_edits::{self, StoredEdit};
use crate::ControlError;

/// Largest value an edit may set, kWh (a supply meter's interval stays far below it).
const MAX_EDIT_KWH: i64 = 100_000;
/// Longest reason, characters.
const MAX_REASON: usize = 2_000;

/// An edit's value in micro-kWh, or why it cannot be one.
fn energy_e6(kwh: Decimal) -> Result<i64, ControlError> {
    if kwh.is_sign_negative() && !kwh.is_zero() {
        return Err(ControlError::Invalid(format!("{kwh} kWh is negative")));
    }
    if kwh > Decimal::from(MAX_EDIT_KWH) {
        return Err(ControlError::Invalid(format!(
            "{kwh} kWh is above {MAX_EDIT_KWH} kWh for one interval"
        )));
    }
    analytics::tariff::exact::kwh_to_e6(kwh).map_err(|e| ControlError::Invalid(e.to_string()))
}

impl Control {
    /// Someone sets the value of `meter_id`'s interval starting at `interval_start` to `kwh`, for
    /// `reason`. The raw reading is untouched; the edit is kept beside earlier ones.
    pub async fn edit_interval(
        &self,
        meter_id: &str,
        interval_start: DateTime<Utc>,
        kwh: Decimal,
        reason: &str,
        actor: &Actor,
    ) -> Result<StoredEdit, ControlError> {
        check_meter_id(meter_id)?;
        let start_us = interval_start.timestamp_micros();
        if start_us.rem_euclid(analytics::interval_rules::INTERVAL_US) != 0 {
            return Err(ControlError::Invalid(format!(
                "{interval_start} is not the start of a 15-minute interval"
            )));
        }
        let now = self.now();
        let interval_end =
            interval_start + chrono::Duration::microseconds(analytics::interval_rules::INTERVAL_US);
        if interval_end > now {
            return Err(ControlError::Invalid(format!(
                "the interval starting {interval_start} has not ended"
            )));
        }
        let energy = energy_e6(kwh)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ControlError::Invalid("an edit needs a reason".into()));
        }
        if reason.chars().count() > MAX_REASON {
            return Err(ControlError::Invalid(format!(
                "the reason is longer than {MAX_REASON} characters"
            )));
        }
        let edit = StoredEdit {
            id: uuid::Uuid::new_v4().to_string(),
            meter_id: meter_id.to_string(),
            interval_start,
            kwh: Decimal::new(energy, 6).normalize(),
            reason: reason.to_string(),
            edited_by: actor.name.clone(),
            edited_at: now,
        };
        let mut tx = self.db.begin().await?;
        let end = interval_start + chrono::Duration::microseconds(1);
        let before = interval_edits::list(&mut tx, Some(meter_id), interval_start, end)
            .await?
            .pop();
        interval_edits::insert(&mut tx, &edit, energy).await?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::IntervalEdited,
            &format!("interval:{meter_id}@{}", interval_start.to_rfc3339()),
            before.map(|b| json!({"kwh": b.kwh.to_string(), "by": b.edited_by})),
            Some(json!({"kwh": edit.kwh.to_string(), "reason": edit.reason, "edit": edit.id})),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(edit)
    }

    /// Edits of intervals starting in [`from`, `to`), of one meter or all, oldest first.
    pub async fn interval_edits(
        &self,
        meter_id: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredEdit>, ControlError> {
        if let Some(meter) = meter_id {
            check_meter_id(meter)?;
        }
        if to <= from {
            return Err(ControlError::Invalid(format!("{to} is not after {from}")));
        }
        interval_edits::list(&mut *self.db.conn().await?, meter_id, from, to).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_values_are_checked() {
        assert_eq!(energy_e6(Decimal::new(125, 2)).ok(), Some(1_250_000));
        assert_eq!(energy_e6(Decimal::ZERO).ok(), Some(0));
        assert!(energy_e6(Decimal::new(-1, 2)).is_err());
        assert!(energy_e6(Decimal::new(1, 7)).is_err());
        assert!(energy_e6(Decimal::from(100_001)).is_err());
        assert!(energy_e6(Decimal::MAX).is_err());
    }
}
