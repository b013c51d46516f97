//! `GET /accounts`: account search by meter number, the customer's phone or name, narrowed by prepaid
//! state, a page at a time.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::labels::Label;
use super::{failed, render, Frame};
use crate::app::search::Found;
use crate::domain::prepaid::PrepaidState;
use crate::http::auth::Caller;
use crate::http::HttpState;
use crate::ControlError;

/// Accounts listed per page.
const PAGE: i64 = 50;

/// The search form's fields.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SearchQuery {
    /// What was typed.
    #[serde(default)]
    q: String,
    /// A prepaid state's stored name, or empty.
    #[serde(default)]
    state: String,
    /// Paging: list meters after this one.
    #[serde(default)]
    after: String,
}

/// One listed account.
struct Row {
    meter_id: String,
    customer: String,
    state: &'static str,
    tripped: bool,
    relay: &'static str,
    balance: String,
}

/// A choice of the state filter.
struct StateChoice {
    value: &'static str,
    label: &'static str,
    selected: bool,
}

/// The search page.
#[derive(Template)]
#[template(path = "accounts.html")]
struct AccountsPage {
    frame: Frame,
    q: String,
    states: Vec<StateChoice>,
    rows: Vec<Row>,
    /// The link to the next page, when this one is full.
    next: Option<String>,
}

fn row(frame: &Frame, found: Found) -> Row {
    let a = found.account;
    Row {
        customer: found
            .customer_name
            .unwrap_or_else(|| frame.t.account.not_recorded.to_string()),
        state: a.state.label(frame.lang),
        tripped: a.state == PrepaidState::OverdraftTrip,
        relay: a.relay.label(frame.lang),
        balance: frame.lang.money(a.balance),
        meter_id: a.meter_id,
    }
}

fn next_link(q: &SearchQuery, last: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", &q.q)
        .append_pair("state", &q.state)
        .append_pair("after", last)
        .finish();
    format!("/accounts?{query}")
}

/// `GET /accounts?q=&state=&after=`.
pub async fn page(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Response {
    let frame = Frame::new(&s, &caller, &headers, "/accounts");
    let state = match q.state.as_str() {
        "" => None,
        name => match PrepaidState::parse(name) {
            Some(state) => Some(state),
            None => {
                let err = ControlError::Invalid(format!("no prepaid state {name:?}"));
                return failed(&headers, err, "/accounts");
            }
        },
    };
    let found = match s.control.search_accounts(&q.q, state, &q.after, PAGE).await {
        Ok(found) => found,
        Err(err) => return failed(&headers, err, "/accounts"),
    };
    let next = (found.len() as i64 == PAGE)
        .then(|| found.last().map(|f| next_link(&q, &f.account.meter_id)))
        .flatten();
    let states = PrepaidState::ALL
        .iter()
        .rev()
        .map(|st| StateChoice {
            value: st.as_str(),
            label: st.label(frame.lang),
            selected: Some(*st) == state,
        })
        .collect();
    let rows = found.into_iter().map(|f| row(&frame, f)).collect();
    let page = AccountsPage {
        frame,
        q: q.q,
        states,
        rows,
        next,
    };
    render(StatusCode::OK, &page)
}
