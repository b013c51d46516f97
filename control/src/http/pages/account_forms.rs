//! The cashier's forms on the account page: a payment and a refund. Each books through the same use
//! case as the API (exact decimal amounts, idempotent references, limits, audit) and returns to the
//! account page with a message; a refused form shows why on an error page that links back.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::account::Done;
use super::failed;
use super::form::{done, finish, FormFields};
use crate::app::payments::Adjustment;
use crate::http::auth::Caller;
use crate::http::HttpState;

/// `POST /accounts/{meter}/pay`: `amount` (yuan, text) and `reference` (the receipt number).
pub async fn pay(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(meter): Path<String>,
    body: Bytes,
) -> Response {
    let back = format!("/accounts/{meter}");
    let form = FormFields::parse(&body);
    let booked = async {
        let amount = form.required("amount", "the amount")?;
        let reference = form.required("reference", "the receipt number")?;
        s.control
            .pay(&meter, amount, reference, &caller.actor())
            .await
    };
    match booked.await {
        Ok(receipt) if receipt.replay => done(&back, Done::Replayed.marker()),
        Ok(_) => done(&back, Done::Paid.marker()),
        Err(err) => failed(&headers, err, &back),
    }
}

/// `POST /accounts/{meter}/refund`: `amount`, `reference`, `authorised_by` and `reason`.
pub async fn refund(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(meter): Path<String>,
    body: Bytes,
) -> Response {
    let back = format!("/accounts/{meter}");
    let form = FormFields::parse(&body);
    let booked = async {
        let request = Adjustment {
            amount: form.required("amount", "the amount")?.to_string(),
            reference: form
                .required("reference", "the receipt number")?
                .to_string(),
            authorised_by: form
                .required("authorised_by", "who authorised it")?
                .to_string(),
            reason: form.required("reason", "the reason")?.to_string(),
            corrects_seq: None,
            direction: None,
        };
        s.control.refund(&meter, &request, &caller.actor()).await
    };
    finish(booked.await, &headers, &back, Done::Refunded.marker())
}
