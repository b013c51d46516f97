//! The account page's parts as the template shows them: values turned into text in the page's
//! language, money in yuan, instants in the utility's zone.

use analytics::report::svg::{chart, ChartKind, Series};
use chrono::{DateTime, Utc};
use ingest::dlt645::relay::RelayAction;
use rust_decimal::prelude::ToPrimitive;

use super::super::labels::Label;
use super::super::locale::Lang;
use super::super::texts::AccountTexts;
use super::super::Frame;

use crate::app::accounts::CommandHistory;
use crate::app::customers::CustomerDetails;
use crate::domain::command::CommandState;
use crate::domain::notice::{wording, Language, NoticeFacts, NoticeKind};
use crate::domain::prepaid::PrepaidState;
use crate::pii::masked;
use crate::store::accounts::Account;
use crate::store::alarms::MeterAlarm;
use crate::store::deliveries::Delivery;
use crate::store::ledger::Entry;
use crate::store::records::{Exemption, ExemptionKind, Notice};

/// What a form did, named in the `done` marker of the redirect that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Done {
    /// A payment was booked.
    Paid,
    /// A payment's reference was already booked: nothing new.
    Replayed,
    /// A refund was booked.
    Refunded,
    /// A remote-control command was requested.
    Command,
    /// Keep-power was granted.
    KeepPower,
    /// Keep-power was revoked.
    Revoked,
}

impl Done {
    /// Every marker.
    const ALL: [Done; 6] = [
        Self::Paid,
        Self::Replayed,
        Self::Refunded,
        Self::Command,
        Self::KeepPower,
        Self::Revoked,
    ];

    /// The marker in the URL.
    pub fn marker(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Replayed => "replayed",
            Self::Refunded => "refunded",
            Self::Command => "command",
            Self::KeepPower => "keep-power",
            Self::Revoked => "revoked",
        }
    }

    /// The marker's meaning (anything else is ignored: the page never echoes it).
    pub fn parse(marker: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.marker() == marker)
    }

    /// The message shown.
    pub fn message(self, t: &'static AccountTexts) -> &'static str {
        match self {
            Self::Paid => t.flash_paid,
            Self::Replayed => t.flash_replayed,
            Self::Refunded => t.flash_refunded,
            Self::Command => t.flash_command,
            Self::KeepPower => t.flash_keep_power,
            Self::Revoked => t.flash_revoked,
        }
    }
}

/// The account's figures.
pub(crate) struct AccountView {
    pub meter_id: String,
    pub plan: String,
    pub balance: String,
    pub negative: bool,
    pub state: &'static str,
    pub state_code: &'static str,
    pub tripped: bool,
    pub relay: &'static str,
    pub relay_code: &'static str,
    pub relay_known_at: String,
    pub charged: String,
    pub billed_until: String,
    pub billing_error: Option<String>,
}

impl AccountView {
    /// The figures of `a`.
    pub fn new(frame: &Frame, a: &Account) -> Self {
        Self {
            meter_id: a.meter_id.clone(),
            plan: a.plan.clone(),
            balance: frame.lang.money(a.balance),
            negative: a.balance.is_sign_negative() && !a.balance.is_zero(),
            state: a.state.label(frame.lang),
            state_code: a.state.as_str(),
            tripped: a.state == PrepaidState::OverdraftTrip,
            relay: a.relay.label(frame.lang),
            relay_code: a.relay.as_str(),
            relay_known_at: frame.at(a.relay_known_at),
            charged: frame.lang.money(a.charged),
            billed_until: frame.at(a.billed_from),
            billing_error: a.billing_error.clone(),
        }
    }
}

/// The customer as staff see them: the name, the phone masked, the address.
pub(crate) struct CustomerView {
    pub name: String,
    pub phone: String,
    pub address: String,
}

/// The customer's view, "not recorded" for what is missing.
pub(crate) fn customer_view(frame: &Frame, details: Option<CustomerDetails>) -> CustomerView {
    let details = details.unwrap_or_default();
    let missing = || frame.t.account.not_recorded.to_string();
    CustomerView {
        name: details.name.unwrap_or_else(missing),
        phone: details
            .phone
            .map(|p| masked(&crate::pii::Field::Phone.normalise(&p)))
            .unwrap_or_else(missing),
        address: details.address.unwrap_or_else(missing),
    }
}

/// The balance after each of `entries` (newest first), oldest to newest, as a line chart in yuan.
pub(crate) fn balance_chart(frame: &Frame, entries: &[Entry]) -> String {
    let t = frame.t.account;
    let oldest_first: Vec<&Entry> = entries.iter().rev().collect();
    let labels: Vec<String> = oldest_first
        .iter()
        .map(|e| {
            let local = e.at.with_timezone(&frame.zone);
            local.format("%m-%d").to_string()
        })
        .collect();
    // Pixels only: the amounts shown as text stay exact.
    let values = oldest_first
        .iter()
        .map(|e| e.balance_after.to_f64())
        .collect();
    let series = [Series {
        name: t.balance,
        color: "#2f6fbd",
        values,
    }];
    let every = (labels.len() / 8).max(1);
    chart(
        ChartKind::Line,
        t.balance_history,
        t.yuan,
        &labels,
        &series,
        every,
    )
}

/// One ledger line.
pub(crate) struct EntryRow {
    pub at: String,
    pub kind: &'static str,
    pub amount: String,
    pub balance_after: String,
    pub reference: String,
}

/// The ledger lines.
pub(crate) fn entry_rows(frame: &Frame, entries: &[Entry]) -> Vec<EntryRow> {
    entries
        .iter()
        .map(|e| EntryRow {
            at: frame.at(e.at),
            kind: e.kind.label(frame.lang),
            amount: frame.lang.money(e.amount),
            balance_after: frame.lang.money(e.balance_after),
            reference: e.reference.clone(),
        })
        .collect()
}

/// One step of a command's lifecycle.
pub(crate) struct StepRow {
    pub at: String,
    pub state: &'static str,
    pub note: String,
}

/// One command with its steps.
pub(crate) struct CommandRow {
    pub id: String,
    pub created: String,
    pub action: &'static str,
    pub action_code: &'static str,
    pub state: &'static str,
    pub state_code: &'static str,
    pub finished: bool,
    pub requested_by: String,
    pub reason: String,
    pub attempts: String,
    pub steps: Vec<StepRow>,
}

/// The commands.
pub(crate) fn command_rows(frame: &Frame, commands: &[CommandHistory]) -> Vec<CommandRow> {
    commands
        .iter()
        .map(|h| {
            let c = &h.command;
            CommandRow {
                id: c.command_id.clone(),
                created: frame.at(c.created_at),
                action: c.action.label(frame.lang),
                action_code: c.action.as_str(),
                state: c.state.label(frame.lang),
                state_code: c.state.as_str(),
                finished: c.state.is_terminal(),
                requested_by: c.requested_by.clone(),
                reason: c.reason.clone(),
                attempts: format!("{}/{}", c.attempts, c.max_attempts),
                steps: h
                    .events
                    .iter()
                    .map(|e| StepRow {
                        at: frame.at(e.at),
                        state: CommandState::parse(&e.to_state)
                            .map_or("?", |s| s.label(frame.lang)),
                        note: e.note.clone(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// One notice, worded in the page's language.
pub(crate) struct NoticeRow {
    pub at: String,
    pub kind: String,
    pub body: String,
}

/// The notices (newest first, at most 20).
pub(crate) fn notice_rows(frame: &Frame, notices: &[Notice]) -> Vec<NoticeRow> {
    let lang = match frame.lang {
        Lang::Zh => Language::Zh,
        Lang::En => Language::En,
    };
    notices
        .iter()
        .take(20)
        .map(|n| {
            let kind = NoticeKind::parse(&n.kind);
            let facts = n
                .data
                .as_deref()
                .and_then(|d| serde_json::from_str::<NoticeFacts>(d).ok());
            let body = match (kind, facts) {
                (Some(kind), Some(facts)) => wording(kind, &facts, lang).text,
                _ => n.body.clone(),
            };
            NoticeRow {
                at: frame.at(n.created_at),
                kind: kind.map_or_else(|| n.kind.clone(), |k| k.label(frame.lang).to_string()),
                body,
            }
        })
        .collect()
}

/// One notification on its way, with its delivery state.
pub(crate) struct DeliveryRow {
    pub at: String,
    pub kind: &'static str,
    pub channel: &'static str,
    pub state: &'static str,
    pub state_code: &'static str,
    pub attempts: i64,
    pub error: String,
}

/// The deliveries.
pub(crate) fn delivery_rows(frame: &Frame, deliveries: &[Delivery]) -> Vec<DeliveryRow> {
    deliveries
        .iter()
        .map(|d| DeliveryRow {
            at: frame.at(d.created_at),
            kind: d.kind.label(frame.lang),
            channel: d.channel.label(frame.lang),
            state: d.state.label(frame.lang),
            state_code: d.state.as_str(),
            attempts: d.attempts,
            error: d.last_error.clone().unwrap_or_default(),
        })
        .collect()
}

/// One alarm.
pub(crate) struct AlarmRow {
    pub raised: String,
    pub kind: &'static str,
    pub severity: &'static str,
    pub state: &'static str,
    pub detail: String,
}

/// The alarms.
pub(crate) fn alarm_rows(frame: &Frame, alarms: &[MeterAlarm]) -> Vec<AlarmRow> {
    alarms
        .iter()
        .map(|a| AlarmRow {
            raised: frame.at(a.raised_at),
            kind: a.kind.label(frame.lang),
            severity: a.severity.label(frame.lang),
            state: a.state.label(frame.lang),
            detail: a.detail.clone(),
        })
        .collect()
}

/// One keep-power exemption.
pub(crate) struct ExemptionRow {
    pub id: String,
    pub kind: &'static str,
    pub reason: String,
    pub until: String,
    pub active: bool,
}

/// The exemptions; those still running can be revoked.
pub(crate) fn exemption_rows(
    frame: &Frame,
    exemptions: &[Exemption],
    now: DateTime<Utc>,
) -> Vec<ExemptionRow> {
    exemptions
        .iter()
        .map(|e| ExemptionRow {
            id: e.id.clone(),
            kind: e.kind.label(frame.lang),
            reason: e.reason.clone(),
            until: frame.at(e.revoked_at.unwrap_or(e.ends_at)),
            active: e.revoked_at.is_none() && e.starts_at <= now && now < e.ends_at,
        })
        .collect()
}

/// An option of a select.
pub(crate) struct Choice {
    pub value: &'static str,
    pub label: &'static str,
}

/// The remote-control actions an operator may choose.
pub(crate) fn action_choices(frame: &Frame) -> Vec<Choice> {
    RelayAction::ALL
        .iter()
        .map(|a| Choice {
            value: a.as_str(),
            label: a.label(frame.lang),
        })
        .collect()
}

/// The kinds of keep-power exemption.
pub(crate) fn exemption_choices(frame: &Frame) -> Vec<Choice> {
    [
        ExemptionKind::Medical,
        ExemptionKind::Critical,
        ExemptionKind::Other,
    ]
    .iter()
    .map(|k| Choice {
        value: k.as_str(),
        label: k.label(frame.lang),
    })
    .collect()
}
