//! `GET /takings?date=`: the day close — a local day's payments and refunds per taker, with totals.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::{failed, render, Frame};
use crate::domain::takings::TakerTotals;
use crate::http::auth::Caller;
use crate::http::takings::{date_or_today, DateQuery};
use crate::http::HttpState;

/// One taker's line, money written for the page.
struct TakingsRow {
    taker: String,
    payments: u64,
    paid: String,
    refunds: u64,
    refunded: String,
    net: String,
}

/// The day-close page.
#[derive(Template)]
#[template(path = "takings.html")]
struct TakingsPage {
    frame: Frame,
    date: String,
    rows: Vec<TakingsRow>,
    total: TakingsRow,
}

fn row(frame: &Frame, t: TakerTotals) -> TakingsRow {
    TakingsRow {
        paid: frame.lang.money(t.paid),
        refunded: frame.lang.money(t.refunded),
        net: frame.lang.money(t.net),
        taker: t.taker,
        payments: t.payments,
        refunds: t.refunds,
    }
}

/// `GET /takings?date=` (default: today).
pub async fn page(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    query: Result<Query<DateQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let frame = Frame::new(&s, &caller, &headers, "/takings");
    let asked = match query {
        Ok(Query(q)) => q.date,
        Err(err) => {
            let why = crate::ControlError::Invalid(format!("the date: {}", err.body_text()));
            return failed(&headers, why, "/takings");
        }
    };
    let date = date_or_today(&s, asked);
    let day = match s.control.takings(date).await {
        Ok(day) => day,
        Err(err) => return failed(&headers, err, "/"),
    };
    let rows = day.takers.into_iter().map(|t| row(&frame, t)).collect();
    let total = row(&frame, day.total);
    render(
        StatusCode::OK,
        &TakingsPage {
            date: date.to_string(),
            rows,
            total,
            frame,
        },
    )
}
