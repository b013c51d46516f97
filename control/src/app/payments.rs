//! Money in and out: payments (idempotent per reference, bound to meter and amount, under the hoarding
//! limit), refunds and corrections (each naming who authorised it).

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::json;

use super::audit::Actor;
use super::Control;
use crate::domain::access::Role;
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::money::{add_fen, from_fen, parse_amount, to_fen};
use crate::domain::notice::{NoticeFacts, NoticeKind};
use crate::domain::prepaid::{next_state, Change};
use crate::domain::security_alarm::SecurityAlarmKind;
use crate::store::accounts::{self, Account};
use crate::store::ledger::{self, Entry, EntryKind, PaymentReference};
use crate::store::{security_alarms, Conn};
use crate::ControlError;

/// The answer to a payment (the same for every replay of its reference).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PaymentReceipt {
    /// Meter.
    pub meter_id: String,
    /// The payer's reference.
    pub reference: String,
    /// Amount credited, yuan.
    pub amount: Decimal,
    /// Balance right after the payment, yuan.
    pub balance: Decimal,
    /// The ledger entry.
    pub seq: i64,
    /// The relay command the payment caused (close-allowed), if any.
    pub command_id: Option<String>,
    /// True when this reference had been applied before: nothing changed now.
    pub replay: bool,
}

/// A refund or correction request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    /// Amount, yuan: positive text; a correction carries its sign in `direction`.
    pub amount: String,
    /// Unique reference of this adjustment (idempotency key).
    pub reference: String,
    /// Who authorised it.
    pub authorised_by: String,
    /// Why.
    pub reason: String,
    /// A correction: the ledger entry it corrects.
    #[serde(default)]
    pub corrects_seq: Option<i64>,
    /// A correction: `credit` (to the customer) or `debit`.
    #[serde(default)]
    pub direction: Option<Direction>,
}

/// Which way a correction moves money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// In the customer's favour.
    Credit,
    /// Against the customer.
    Debit,
}

fn check_reference(reference: &str) -> Result<(), ControlError> {
    let trimmed = reference.trim();
    if trimmed.is_empty() || trimmed.len() > 128 || trimmed != reference {
        return Err(ControlError::Invalid(
            "reference must be 1–128 characters without surrounding spaces".into(),
        ));
    }
    if reference.chars().any(char::is_control) {
        return Err(ControlError::Invalid(
            "reference must not hold control characters".into(),
        ));
    }
    Ok(())
}

impl Control {
    /// Credits a payment typed as text. A reference already used for the same meter and amount returns
    /// the original receipt (`replay`); used for another meter or amount, it is a conflict. A payment
    /// that would take the balance above the hoarding limit is refused. The account's new state is
    /// enforced in the same transaction (a re-armed account gets its close-allowed command).
    pub async fn pay(
        &self,
        meter_id: &str,
        amount: &str,
        reference: &str,
        actor: &Actor,
    ) -> Result<PaymentReceipt, ControlError> {
        let amount = parse_amount(amount)?;
        check_reference(reference)?;
        // Two first uses of one reference at once: the loser's insert hits the primary key, and its
        // second round sees the winner's record.
        for _ in 0..2 {
            match self.pay_once(meter_id, amount, reference, actor).await {
                Err(ControlError::Database(sqlx::Error::Database(db)))
                    if db.is_unique_violation() =>
                {
                    continue
                }
                other => return other,
            }
        }
        self.pay_once(meter_id, amount, reference, actor).await
    }

    async fn pay_once(
        &self,
        meter_id: &str,
        amount: Decimal,
        reference: &str,
        actor: &Actor,
    ) -> Result<PaymentReceipt, ControlError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if let Some(seen) = ledger::payment_reference(&mut tx, reference).await? {
            tx.commit().await?;
            return replay(seen, meter_id, amount);
        }
        let mut account = accounts::lock(&mut tx, meter_id, now).await?;
        let terms = self.rules.terms_of(&account);
        if terms.exceeds_hoarding(account.balance, amount) {
            return Err(ControlError::Invalid(format!(
                "payment of {amount} yuan refused: the balance would be {} yuan, above the hoarding limit of {} yuan (购电超囤积)",
                account.balance + amount,
                terms.hoarding_limit
            )));
        }
        let before = account.state;
        let audit_before = balance_json(&account);
        let seq = self
            .book(
                &mut tx,
                &mut account,
                EntryKind::Payment,
                amount,
                reference,
                None,
                None,
                None,
                now,
            )
            .await?;
        account.state = next_state(before, account.balance, &terms, Change::Recharge);
        self.state_changed(&mut tx, &account, before, now).await?;
        let facts = NoticeFacts {
            balance: Some(account.balance),
            amount: Some(amount),
            ..NoticeFacts::about(meter_id)
        };
        self.notice(&mut tx, NoticeKind::PaymentReceived, facts, now)
            .await?;
        let command = self
            .enforce(&mut tx, &mut account, &actor.name, now)
            .await?;
        accounts::save(&mut tx, &account, now).await?;
        let mut audit_after = balance_json(&account);
        audit_after["amount"] = json!(amount);
        audit_after["reference"] = json!(reference);
        self.audit(
            &mut tx,
            actor,
            AuditAction::Payment,
            &format!("account:{meter_id}"),
            Some(audit_before),
            Some(audit_after),
            Outcome::Ok,
        )
        .await?;
        let record = PaymentReference {
            reference: reference.to_string(),
            meter_id: meter_id.to_string(),
            amount,
            seq,
            balance_after: account.balance,
            command_id: command.map(|c| c.command_id),
            at: now,
        };
        ledger::insert_payment_reference(&mut tx, &record).await?;
        tx.commit().await?;
        metrics::counter!("meterlake_control_payments_total").increment(1);
        Ok(receipt(record, false))
    }

    /// Pays money back to the customer (at most the balance). Idempotent per reference.
    /// A cashier may refund at most the configured limit; an attempt above it is refused, audited
    /// and raises a security alarm.
    pub async fn refund(
        &self,
        meter_id: &str,
        request: &Adjustment,
        actor: &Actor,
    ) -> Result<Entry, ControlError> {
        let amount = parse_amount(&request.amount)?;
        if actor.role == Some(Role::Cashier) && amount > self.rules.cashier_refund_limit {
            let object = format!("account:{meter_id}");
            let detail = format!(
                "{} tried to refund {amount} yuan; the cashier limit is {} yuan",
                actor.name, self.rules.cashier_refund_limit
            );
            let mut tx = self.db.begin().await?;
            let after = Some(json!({ "amount": amount, "reference": request.reference }));
            self.audit(
                &mut tx,
                actor,
                AuditAction::Refund,
                &object,
                None,
                after,
                Outcome::Refused,
            )
            .await?;
            security_alarms::insert(
                &mut tx,
                &object,
                SecurityAlarmKind::RefundAboveLimit,
                detail.clone(),
                self.now(),
            )
            .await?;
            tx.commit().await?;
            return Err(ControlError::Forbidden(detail));
        }
        self.adjust(
            meter_id,
            request,
            EntryKind::Refund,
            -amount,
            Change::Refund,
            actor,
        )
        .await
    }

    /// Corrects an earlier ledger entry by a credit or debit. Idempotent per reference.
    pub async fn correct(
        &self,
        meter_id: &str,
        request: &Adjustment,
        actor: &Actor,
    ) -> Result<Entry, ControlError> {
        let amount = parse_amount(&request.amount)?;
        let (signed, change) = match request.direction {
            Some(Direction::Credit) => (amount, Change::Recharge),
            Some(Direction::Debit) => (-amount, Change::Deduction),
            None => {
                return Err(ControlError::Invalid(
                    "a correction needs direction: credit or debit".into(),
                ))
            }
        };
        if request.corrects_seq.is_none() {
            return Err(ControlError::Invalid(
                "a correction must name the entry it corrects (corrects_seq)".into(),
            ));
        }
        self.adjust(
            meter_id,
            request,
            EntryKind::Correction,
            signed,
            change,
            actor,
        )
        .await
    }

    async fn adjust(
        &self,
        meter_id: &str,
        request: &Adjustment,
        kind: EntryKind,
        signed: Decimal,
        change: Change,
        actor: &Actor,
    ) -> Result<Entry, ControlError> {
        check_reference(&request.reference)?;
        for (name, value) in [
            ("authorised_by", &request.authorised_by),
            ("reason", &request.reason),
        ] {
            if value.trim().is_empty() {
                return Err(ControlError::Invalid(format!("{name} must not be empty")));
            }
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut account = accounts::lock(&mut tx, meter_id, now).await?;
        if let Some(seen) =
            ledger::by_reference(&mut tx, meter_id, kind, &request.reference).await?
        {
            if seen.amount != signed {
                return Err(ControlError::Conflict(format!(
                    "reference {:?} was used for a {} of {} yuan",
                    request.reference,
                    kind.as_str(),
                    seen.amount
                )));
            }
            tx.commit().await?;
            return Ok(seen);
        }
        if let Some(seq) = request.corrects_seq {
            ledger::get(&mut tx, meter_id, seq).await?;
        }
        if kind == EntryKind::Refund && -signed > account.balance {
            return Err(ControlError::Invalid(format!(
                "refund of {} yuan exceeds the balance of {} yuan",
                -signed, account.balance
            )));
        }
        let before = account.state;
        let audit_before = balance_json(&account);
        let note = Some(request.reason.as_str());
        let seq = self
            .book(
                &mut tx,
                &mut account,
                kind,
                signed,
                &request.reference,
                request.corrects_seq,
                Some((request.authorised_by.as_str(), note)),
                None,
                now,
            )
            .await?;
        let terms = self.rules.terms_of(&account);
        account.state = next_state(before, account.balance, &terms, change);
        self.state_changed(&mut tx, &account, before, now).await?;
        self.enforce(&mut tx, &mut account, &actor.name, now)
            .await?;
        accounts::save(&mut tx, &account, now).await?;
        let entry = ledger::get(&mut tx, meter_id, seq).await?;
        let mut audit_after = balance_json(&account);
        audit_after["entry"] = json!(entry);
        let action = match kind {
            EntryKind::Refund => AuditAction::Refund,
            _ => AuditAction::Correction,
        };
        self.audit(
            &mut tx,
            actor,
            action,
            &format!("account:{meter_id}"),
            Some(audit_before),
            Some(audit_after),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(entry)
    }

    /// Appends one ledger entry to a locked account and moves its balance; returns the entry's number.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn book(
        &self,
        conn: &mut Conn,
        account: &mut Account,
        kind: EntryKind,
        amount: Decimal,
        reference: &str,
        corrects_seq: Option<i64>,
        authorised: Option<(&str, Option<&str>)>,
        lake_version: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<i64, ControlError> {
        let entry = next_entry(
            account,
            kind,
            amount,
            reference,
            corrects_seq,
            authorised,
            lake_version,
            now,
        )?;
        ledger::insert(conn, &entry).await?;
        Ok(entry.seq)
    }
}

/// The account's next ledger entry, not yet written; moves the account's balance and entry count.
#[allow(clippy::too_many_arguments)]
pub(crate) fn next_entry(
    account: &mut Account,
    kind: EntryKind,
    amount: Decimal,
    reference: &str,
    corrects_seq: Option<i64>,
    authorised: Option<(&str, Option<&str>)>,
    lake_version: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Entry, ControlError> {
    let balance = from_fen(add_fen(to_fen(account.balance)?, to_fen(amount)?)?);
    let seq = account.entries + 1;
    account.balance = balance;
    account.entries = seq;
    Ok(Entry {
        meter_id: account.meter_id.clone(),
        seq,
        kind,
        amount,
        balance_after: balance,
        reference: reference.to_string(),
        corrects_seq,
        authorised_by: authorised.map(|(who, _)| who.to_string()),
        note: authorised.and_then(|(_, note)| note.map(str::to_string)),
        lake_version,
        at: now,
    })
}

/// An account's money and state as the audit trail records them.
fn balance_json(account: &Account) -> serde_json::Value {
    json!({ "balance": account.balance, "state": account.state, "entries": account.entries })
}

fn receipt(record: PaymentReference, replay: bool) -> PaymentReceipt {
    PaymentReceipt {
        meter_id: record.meter_id,
        reference: record.reference,
        amount: record.amount,
        balance: record.balance_after,
        seq: record.seq,
        command_id: record.command_id,
        replay,
    }
}

/// The answer to a reference seen before: the original receipt, or a conflict naming what differs.
fn replay(
    seen: PaymentReference,
    meter_id: &str,
    amount: Decimal,
) -> Result<PaymentReceipt, ControlError> {
    if seen.meter_id != meter_id {
        return Err(ControlError::Conflict(format!(
            "payment reference {:?} was already used for another meter",
            seen.reference
        )));
    }
    if seen.amount != amount {
        return Err(ControlError::Conflict(format!(
            "payment reference {:?} was already used for {} yuan, not {amount}",
            seen.reference, seen.amount
        )));
    }
    Ok(receipt(seen, true))
}
