//! The customer's self-service pages, laid out for a phone first: `/my` (their meters), `/my/{meter}`
//! (balance and prepaid state, paying online, daily and monthly usage charts, saving tips, bills with
//! the prices explained, payments and charges). A customer reaches only their own meters (the guard
//! answers 404 for another's).

pub(crate) mod settings;
mod view;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::bill_view::{bill_views, BillView};
use super::form::FormFields;
use super::labels::Label;
use super::{failed, render, Frame, NavLink};
use crate::domain::prepaid::PrepaidState;
use crate::http::auth::Caller;
use crate::http::HttpState;
use crate::ControlError;
use view::{advice, bill_rows, history_rows, price_table, BillRow, HistoryRow, PriceTable, Usage};

/// Days of daily usage shown.
const USAGE_DAYS: i64 = 30;
/// Issued monthly bills shown (a year's).
const BILLS_SHOWN: usize = 12;
/// Quick amounts offered on the pay form, yuan.
const QUICK_AMOUNTS: [u32; 4] = [50, 100, 200, 500];

/// The links of a customer's pages for `meter`.
pub(crate) fn customer_nav(frame: &mut Frame, meter: &str) {
    let t = frame.t.my;
    frame.nav = vec![
        NavLink {
            href: format!("/my/{meter}"),
            text: t.my_usage,
        },
        NavLink {
            href: format!("/my/{meter}/notifications"),
            text: t.notifications,
        },
        NavLink {
            href: format!("/my/{meter}/tickets"),
            text: t.feedback,
        },
    ];
}

/// The list of a customer's meters.
#[derive(Template)]
#[template(path = "my_meters.html")]
struct MetersPage {
    frame: Frame,
    meters: Vec<String>,
}

/// `GET /my`: the customer's meter, or the list when they have several.
pub async fn meters(State(s): State<HttpState>, caller: Caller, headers: HeaderMap) -> Response {
    let meters = caller.principal.meters.clone();
    if let [only] = meters.as_slice() {
        return Redirect::to(&format!("/my/{only}")).into_response();
    }
    let frame = Frame::new(&s, &caller, &headers, "/my");
    render(StatusCode::OK, &MetersPage { frame, meters })
}

/// `?done=` after paying or cancelling.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// The overview page.
#[derive(Template)]
#[template(path = "my.html")]
struct OverviewPage {
    frame: Frame,
    meter_id: String,
    balance: String,
    negative: bool,
    state: &'static str,
    tripped: bool,
    relay: &'static str,
    done: Option<&'static str>,
    quick: Vec<u32>,
    usage: Option<Usage>,
    advice: Vec<String>,
    issued: Vec<BillView>,
    bills: Vec<BillRow>,
    history: Vec<HistoryRow>,
    prices: Option<PriceTable>,
}

async fn overview(
    s: &HttpState,
    frame: Frame,
    meter: &str,
    done: &str,
) -> Result<OverviewPage, ControlError> {
    let c = &s.control;
    let account = c.account(meter).await?;
    let entries = c.ledger(meter, 500).await?;
    let (usage, issued) = match &s.lake {
        Some(lake) => {
            let read = async {
                let usage = c.usage(lake, meter, USAGE_DAYS).await?;
                // Only issued months: a period `meterlake bill` stored, or a run that did not get to
                // record its issue, is not a bill the customer was given.
                let issued: std::collections::BTreeSet<String> = c
                    .bill_issues(BILLS_SHOWN as i64 * 4)
                    .await?
                    .into_iter()
                    .map(|i| i.period)
                    .collect();
                let mut bills = c.bills(lake, meter, BILLS_SHOWN).await?;
                bills.retain(|b| issued.contains(&b.period));
                Ok::<_, ControlError>((usage, bills))
            };
            match read.await {
                Ok((usage, bills)) => (Some(usage), bill_views(&frame, &bills)),
                Err(err) => {
                    tracing::warn!(meter, error = %err, "the customer page could not read the lake");
                    (None, Vec::new())
                }
            }
        }
        None => (None, Vec::new()),
    };
    let t = frame.t.my;
    let done = match done {
        "paid" => Some(t.paid),
        "cancelled" => Some(t.pay_failed),
        _ => None,
    };
    Ok(OverviewPage {
        meter_id: account.meter_id.clone(),
        balance: frame.lang.money(account.balance),
        negative: account.balance.is_sign_negative() && !account.balance.is_zero(),
        state: account.state.label(frame.lang),
        tripped: account.state == PrepaidState::OverdraftTrip,
        relay: account.relay.label(frame.lang),
        done,
        quick: QUICK_AMOUNTS.to_vec(),
        advice: advice(&frame, usage.as_ref()),
        usage: usage.as_ref().map(|u| Usage::new(&frame, u)),
        issued,
        bills: bill_rows(&frame, &entries),
        history: history_rows(&frame, &entries),
        prices: price_table(&frame, c, &account.plan),
        frame,
    })
}

/// `GET /my/{meter}`.
pub async fn page(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(meter): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let path = format!("/my/{meter}");
    let mut frame = Frame::new(&s, &caller, &headers, &path);
    customer_nav(&mut frame, &meter);
    match overview(&s, frame, &meter, &q.done).await {
        Ok(page) => render(StatusCode::OK, &page),
        Err(err) => failed(&headers, err, "/my"),
    }
}

/// `POST /my/{meter}/pay`: `amount` (a quick amount) or `other` (typed); starts an order at the
/// provider and sends the customer to its checkout.
pub async fn pay(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(meter): Path<String>,
    body: Bytes,
) -> Response {
    let back = format!("/my/{meter}");
    let form = FormFields::parse(&body);
    let amount = match form.text("amount") {
        "" => form.text("other"),
        quick => quick,
    };
    if amount.is_empty() {
        let err = ControlError::Invalid("choose or type an amount".into());
        return failed(&headers, err, &back);
    }
    match s
        .control
        .start_online_payment(&meter, amount, s.provider.name(), &caller.actor())
        .await
    {
        Ok(order) => Redirect::to(&s.provider.checkout_url(&order)).into_response(),
        Err(err) => failed(&headers, err, &back),
    }
}
