//! Opening accounts, reading them, and changing their terms.

use rust_decimal::Decimal;

use serde_json::json;

use super::audit::Actor;
use super::Control;
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::money::to_fen;
use crate::domain::prepaid::{next_state, Change, PrepaidState};
use crate::domain::relay::RelayState;
use crate::store::accounts::{self, Account, TermsOverrides};
use crate::store::commands::{self, Command, CommandEventRow};
use crate::store::ledger::{self, Entry, EntryKind};
use crate::store::records::{self, Notice};
use crate::ControlError;

/// What opening an account needs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAccount {
    /// Meter address, 12 digits.
    pub meter_id: String,
    /// Collector that owns the meter's bus.
    pub collector_id: String,
    /// Tariff plan (default: the service's default plan).
    #[serde(default)]
    pub plan: Option<String>,
    /// Opening balance, yuan (may be negative for a transferred debt).
    #[serde(default)]
    pub opening_balance: Decimal,
    /// Per-account terms.
    #[serde(default)]
    pub terms: TermsOverrides,
}

/// A command with its transitions.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CommandHistory {
    /// The command.
    #[serde(flatten)]
    pub command: Command,
    /// Its transitions, in order.
    pub events: Vec<CommandEventRow>,
}

/// Checks a meter address: 12 decimal digits.
pub fn check_meter_id(meter_id: &str) -> Result<(), ControlError> {
    if meter_id.len() == 12 && meter_id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(ControlError::Invalid(format!(
            "meter address must be 12 decimal digits, not {meter_id:?}"
        )))
    }
}

impl Control {
    /// Opens an account (its opening balance is its first ledger entry). An account that exists is
    /// returned unchanged. The service's default plan applies when the request names none.
    pub async fn open_account(
        &self,
        request: NewAccount,
        actor: &Actor,
    ) -> Result<Account, ControlError> {
        check_meter_id(&request.meter_id)?;
        if request.collector_id.trim().is_empty() {
            return Err(ControlError::Invalid(
                "collector_id must not be empty".into(),
            ));
        }
        let plan = request
            .plan
            .unwrap_or_else(|| self.rules.default_plan.clone());
        if !self.rules.plans.contains_key(&plan) {
            return Err(ControlError::Invalid(format!(
                "unknown tariff plan {plan:?}"
            )));
        }
        to_fen(request.opening_balance)?;
        let now = self.now();
        let mut account = Account {
            meter_id: request.meter_id.clone(),
            collector_id: request.collector_id,
            plan,
            opened_at: now,
            balance: request.opening_balance,
            charged: Decimal::ZERO,
            entries: 1,
            state: PrepaidState::NoAlarm,
            relay: RelayState::Closed,
            relay_known_at: now,
            overrides: request.terms,
            warned_at: None,
            billed_from: now,
            billed_version: None,
            billing_error: None,
        };
        let terms = self.rules.terms_of(&account);
        terms.validate()?;
        account.state = next_state(
            PrepaidState::NoAlarm,
            account.balance,
            &terms,
            Change::Opening,
        );
        let mut tx = self.db.begin().await?;
        if !accounts::insert(&mut tx, &account).await? {
            let existing = accounts::get(&mut tx, &request.meter_id).await?;
            tx.commit().await?;
            return Ok(existing);
        }
        ledger::insert(
            &mut tx,
            &Entry {
                meter_id: account.meter_id.clone(),
                seq: 1,
                kind: EntryKind::Opening,
                amount: account.balance,
                balance_after: account.balance,
                reference: "opening".into(),
                corrects_seq: None,
                authorised_by: None,
                note: None,
                lake_version: None,
                at: now,
            },
        )
        .await?;
        self.state_changed(&mut tx, &account, PrepaidState::NoAlarm, now)
            .await?;
        self.enforce(&mut tx, &mut account, "opening", now).await?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::OpenAccount,
            &format!("account:{}", account.meter_id),
            None,
            Some(json!({ "plan": account.plan, "balance": account.balance, "collector_id": account.collector_id })),
            Outcome::Ok,
        )
        .await?;
        accounts::save(&mut tx, &account, now).await?;
        tx.commit().await?;
        Ok(account)
    }

    /// One account.
    pub async fn account(&self, meter_id: &str) -> Result<Account, ControlError> {
        accounts::get(&mut *self.db.conn().await?, meter_id).await
    }

    /// Accounts in meter order after `after`, at most `limit` (1–1000).
    pub async fn accounts(&self, after: &str, limit: i64) -> Result<Vec<Account>, ControlError> {
        accounts::page(&mut *self.db.conn().await?, after, limit.clamp(1, 1000)).await
    }

    /// An account's latest ledger entries, newest first.
    pub async fn ledger(&self, meter_id: &str, limit: i64) -> Result<Vec<Entry>, ControlError> {
        let mut conn = self.db.conn().await?;
        accounts::get(&mut conn, meter_id).await?;
        ledger::recent(&mut conn, meter_id, limit.clamp(1, 10_000)).await
    }

    /// An account's latest commands, newest first.
    pub async fn commands_of(
        &self,
        meter_id: &str,
        limit: i64,
    ) -> Result<Vec<Command>, ControlError> {
        let mut conn = self.db.conn().await?;
        accounts::get(&mut conn, meter_id).await?;
        commands::for_meter(&mut conn, meter_id, limit.clamp(1, 1000)).await
    }

    /// One command with its transitions.
    pub async fn command(&self, command_id: &str) -> Result<CommandHistory, ControlError> {
        let mut conn = self.db.conn().await?;
        let command = commands::get(&mut conn, command_id)
            .await?
            .ok_or_else(|| ControlError::NotFound(format!("no command {command_id}")))?;
        let events = commands::events(&mut conn, command_id).await?;
        Ok(CommandHistory { command, events })
    }

    /// Commands counted by action and state.
    pub async fn command_summary(&self) -> Result<Vec<(String, String, i64)>, ControlError> {
        commands::summary(&mut *self.db.conn().await?).await
    }

    /// Commands finished since the start of today (local), counted by action: trips and reconnects.
    pub async fn done_today(&self) -> Result<Vec<(String, i64)>, ControlError> {
        let zone = self.rules().zone;
        let today = self.now().with_timezone(&zone).date_naive();
        let midnight = analytics::local_days::span(zone, today, today)
            .map(|(start, _)| start)
            .unwrap_or_else(|_| self.now());
        commands::done_since(&mut *self.db.conn().await?, midnight).await
    }

    /// Accounts counted by prepaid state.
    pub async fn state_summary(&self) -> Result<Vec<(String, i64)>, ControlError> {
        accounts::count_by_state(&mut *self.db.conn().await?).await
    }

    /// A meter's notices, newest first.
    pub async fn notices(&self, meter_id: &str) -> Result<Vec<Notice>, ControlError> {
        records::notices(&mut *self.db.conn().await?, meter_id).await
    }

    /// Replaces an account's term overrides, re-evaluates its state (an alarm change re-arms a tripped
    /// account only above the close-allowed threshold; an overdraft change re-evaluates plainly) and
    /// enforces the result.
    pub async fn set_terms(
        &self,
        meter_id: &str,
        overrides: TermsOverrides,
        actor: &Actor,
    ) -> Result<Account, ControlError> {
        let by = actor.name.as_str();
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut account = accounts::lock(&mut tx, meter_id, now).await?;
        let before_terms = self.rules.terms_of(&account);
        let before_overrides = json!(account.overrides);
        account.overrides = overrides;
        let terms = self.rules.terms_of(&account);
        terms.validate()?;
        let change = if terms.overdraft_limit != before_terms.overdraft_limit {
            Change::OverdraftTerms
        } else {
            Change::AlarmTerms
        };
        let before = account.state;
        account.state = next_state(before, account.balance, &terms, change);
        records::insert_account_event(
            &mut tx,
            meter_id,
            "terms",
            &format!(
                "terms set by {by}: {}",
                serde_json::to_string(&overrides).unwrap_or_default()
            ),
            now,
        )
        .await?;
        self.state_changed(&mut tx, &account, before, now).await?;
        self.enforce(&mut tx, &mut account, by, now).await?;
        accounts::save(&mut tx, &account, now).await?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::SetTerms,
            &format!("account:{meter_id}"),
            Some(before_overrides),
            Some(json!(overrides)),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(account)
    }
}

impl Control {
    /// Every account whose balance is not the sum of its ledger entries (or whose entry count or last
    /// balance-after disagrees): empty when the ledger is sound.
    pub async fn check_ledger(&self) -> Result<Vec<crate::store::ledger::Mismatch>, ControlError> {
        ledger::mismatches(&mut *self.db.conn().await?).await
    }
}

impl Control {
    /// Commands sent and not yet acknowledged.
    pub async fn awaiting_ack(&self) -> Result<i64, ControlError> {
        commands::count_in(
            &mut *self.db.conn().await?,
            crate::domain::command::CommandState::Sent,
        )
        .await
    }
}
