//! `GET /accounts/{meter}`: one account as staff see it — balance, state and relay, the balance's
//! history as a chart, the ledger, remote-control commands with their lifecycle, notices, alarms and
//! keep-power — with the forms the caller's role may send (payment, refund, remote control,
//! keep-power).

mod view;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::usage_view::UsageView;
use super::{failed, render, Frame};
use crate::domain::access::Right;
use crate::http::auth::Caller;
use crate::http::HttpState;
use crate::store::alarms::AlarmFilter;
use crate::ControlError;
use view::{
    alarm_rows, balance_chart, command_rows, customer_view, entry_rows, exemption_rows,
    notice_rows, AccountView, AlarmRow, CommandRow, CustomerView, DeliveryRow, EntryRow,
    ExemptionRow, NoticeRow,
};

pub(crate) use view::Done;

/// Ledger entries read for the balance chart (the table shows the newest of them).
const LEDGER_READ: i64 = 200;
/// Ledger entries listed.
const LEDGER_SHOWN: usize = 20;
/// Commands listed with their lifecycle.
const COMMANDS_SHOWN: i64 = 10;
/// Alarms listed.
const ALARMS_SHOWN: i64 = 20;
/// Notification deliveries listed.
const DELIVERIES_SHOWN: i64 = 20;

/// What came back from a form (`?done=`).
#[derive(Debug, Default, serde::Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// The account page.
#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    frame: Frame,
    account: AccountView,
    customer: CustomerView,
    /// The message of the form just sent, if any.
    done: Option<&'static str>,
    balance_chart: String,
    entries: Vec<EntryRow>,
    commands: Vec<CommandRow>,
    notices: Vec<NoticeRow>,
    deliveries: Vec<DeliveryRow>,
    alarms: Vec<AlarmRow>,
    exemptions: Vec<ExemptionRow>,
    /// A fresh payment reference: sending the form twice books the payment once.
    new_reference: String,
    may_pay: bool,
    may_refund: bool,
    may_control: bool,
    may_keep_power: bool,
    actions: Vec<view::Choice>,
    exemption_kinds: Vec<view::Choice>,
    /// Usage from the lake (`None`: no lake, or it could not be read: `usage_failed`).
    usage: Option<UsageView>,
    usage_failed: bool,
    /// Bills from the lake, newest first.
    bills: Vec<super::bill_view::BillView>,
}

/// Bills shown.
const BILLS_SHOWN: usize = 12;

/// Days of daily usage shown.
const USAGE_DAYS: i64 = 30;

/// The usage and bills, or whether the lake failed; a lake that cannot be read leaves the rest of
/// the page.
async fn from_lake(
    s: &HttpState,
    frame: &Frame,
    meter: &str,
) -> (Option<UsageView>, Vec<super::bill_view::BillView>, bool) {
    let Some(lake) = &s.lake else {
        return (None, Vec::new(), false);
    };
    let read = async {
        let usage = s.control.usage(lake, meter, USAGE_DAYS).await?;
        let bills = s.control.bills(lake, meter, BILLS_SHOWN).await?;
        Ok::<_, ControlError>((usage, bills))
    };
    match read.await {
        Ok((usage, bills)) => (
            Some(UsageView::new(frame, &usage)),
            super::bill_view::bill_views(frame, &bills),
            false,
        ),
        Err(err) => {
            tracing::warn!(meter, error = %err, "the account page could not read the lake");
            (None, Vec::new(), true)
        }
    }
}

async fn build(
    s: &HttpState,
    frame: Frame,
    meter: &str,
    done: Option<Done>,
) -> Result<AccountPage, ControlError> {
    let c = &s.control;
    let account = c.account(meter).await?;
    let customer = c.customer(meter).await?;
    let entries = c.ledger(meter, LEDGER_READ).await?;
    let mut commands = Vec::new();
    for command in c.commands_of(meter, COMMANDS_SHOWN).await? {
        commands.push(c.command(&command.command_id).await?);
    }
    let notices = c.notices(meter).await?;
    let alarms = c
        .alarms(&AlarmFilter {
            meter: Some(meter.to_string()),
            all: true,
            limit: Some(ALARMS_SHOWN),
            ..AlarmFilter::default()
        })
        .await?;
    let exemptions = c.exemptions(meter).await?;
    let deliveries = c.deliveries_of(meter, DELIVERIES_SHOWN).await?;
    let now = c.now();
    let (usage, bills, usage_failed) = from_lake(s, &frame, meter).await;
    Ok(AccountPage {
        account: AccountView::new(&frame, &account),
        customer: customer_view(&frame, customer),
        done: done.map(|d| d.message(frame.t.account)),
        balance_chart: balance_chart(&frame, &entries),
        entries: entry_rows(&frame, &entries[..entries.len().min(LEDGER_SHOWN)]),
        commands: command_rows(&frame, &commands),
        notices: notice_rows(&frame, &notices),
        deliveries: view::delivery_rows(&frame, &deliveries),
        alarms: alarm_rows(&frame, &alarms),
        exemptions: exemption_rows(&frame, &exemptions, now),
        new_reference: format!("web-{}", uuid::Uuid::new_v4().simple()),
        may_pay: frame.may(Right::Pay),
        may_refund: frame.may(Right::Refund),
        may_control: frame.may(Right::RemoteControl),
        may_keep_power: frame.may(Right::KeepPower),
        actions: view::action_choices(&frame),
        exemption_kinds: view::exemption_choices(&frame),
        usage,
        usage_failed,
        bills,
        frame,
    })
}

/// `GET /accounts/{meter}?done=`.
pub async fn page(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(meter): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let path = format!("/accounts/{meter}");
    let frame = Frame::new(&s, &caller, &headers, &path);
    match build(&s, frame, &meter, Done::parse(&q.done)).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(err) => failed(&headers, err, "/accounts"),
    }
}
