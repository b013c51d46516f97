//! Paying online: the simulated provider's checkout page (`/pay/sim/{order}`, where the customer pays
//! or cancels) and the provider callback endpoint (`POST /pay/callback`, authenticated by its
//! signature, not by a session). The checkout page hands its result to the same callback handling a
//! real provider's server would reach over HTTP.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;

use super::customer::customer_nav;
use super::form::FormFields;
use super::labels::Label;
use super::{failed, render, Frame};
use crate::app::online_payments::CallbackOutcome;
use crate::http::auth::Caller;
use crate::http::{ApiError, HttpState};
use crate::provider::{CallbackError, CallbackStatus, CALLBACK_SIGNATURE_HEADER};
use crate::store::payment_orders::{OrderState, PaymentOrder};
use crate::ControlError;

/// The checkout page.
#[derive(Template)]
#[template(path = "checkout.html")]
struct CheckoutPage {
    frame: Frame,
    order_id: String,
    meter_id: String,
    amount: String,
    state: &'static str,
    open: bool,
}

/// The order `id`, if it is on one of the caller's meters (another's is "not found").
async fn own_order(s: &HttpState, caller: &Caller, id: &str) -> Result<PaymentOrder, ControlError> {
    let order = s.control.payment_order(id).await?;
    if caller.principal.sees_meter(&order.meter_id) {
        Ok(order)
    } else {
        Err(ControlError::NotFound(format!("no payment order {id}")))
    }
}

/// `GET /pay/sim/{order}`.
pub async fn page(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let order = match own_order(&s, &caller, &id).await {
        Ok(order) => order,
        Err(err) => return failed(&headers, err, "/my"),
    };
    let mut frame = Frame::new(&s, &caller, &headers, &format!("/pay/sim/{id}"));
    customer_nav(&mut frame, &order.meter_id);
    let page = CheckoutPage {
        amount: frame.lang.money(order.amount),
        state: order.state.label(frame.lang),
        open: order.state == OrderState::Created,
        order_id: order.id,
        meter_id: order.meter_id,
        frame,
    };
    render(StatusCode::OK, &page)
}

/// `POST /pay/sim/{order}`: `action=pay` or `action=cancel`; the provider's signed callback follows,
/// and the customer returns to their page.
pub async fn decide(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let order = match own_order(&s, &caller, &id).await {
        Ok(order) => order,
        Err(err) => return failed(&headers, err, "/my"),
    };
    let back = format!("/my/{}", order.meter_id);
    let Some(simulated) = &s.simulated else {
        let err = ControlError::NotFound("the simulated provider is not in use".into());
        return failed(&headers, err, &back);
    };
    let status = match FormFields::parse(&body).text("action") {
        "pay" => CallbackStatus::Paid,
        _ => CallbackStatus::Failed,
    };
    let now = chrono::Utc::now().timestamp();
    let (callback_body, signature) = simulated.callback(&order.id, order.amount, status, now);
    match apply(&s, &signature, &callback_body).await {
        Ok(CallbackOutcome::Paid(_)) => Redirect::to(&format!("{back}?done=paid")).into_response(),
        Ok(CallbackOutcome::Failed) => {
            Redirect::to(&format!("{back}?done=cancelled")).into_response()
        }
        Err(err) => failed(&headers, err, &back),
    }
}

/// Checks a callback's signature and applies it.
async fn apply(
    s: &HttpState,
    signature: &str,
    body: &[u8],
) -> Result<CallbackOutcome, ControlError> {
    let now = chrono::Utc::now().timestamp();
    let callback = s
        .provider
        .verify_callback(signature, body, now)
        .map_err(|e| match e {
            CallbackError::Signature => ControlError::Unauthenticated(e.to_string()),
            CallbackError::Malformed(_) => ControlError::Invalid(e.to_string()),
        })?;
    s.control.online_payment_callback(&callback).await
}

/// `POST /pay/callback`: a provider's server reports an order paid or failed. Answers
/// `{"result": "paid", "balance": …, "replay": …}` or `{"result": "failed"}`; a bad signature is 401.
pub async fn callback(State(s): State<HttpState>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers
        .get(CALLBACK_SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let applied = apply(&s, signature, &body).await;
    let result = match &applied {
        Ok(CallbackOutcome::Paid(_)) => "paid",
        Ok(CallbackOutcome::Failed) => "failed",
        Err(ControlError::Unauthenticated(_)) => "bad_signature",
        Err(_) => "refused",
    };
    metrics::counter!("meterlake_control_payment_callbacks_total", "result" => result).increment(1);
    match applied {
        Ok(CallbackOutcome::Paid(receipt)) => Json(serde_json::json!({
            "result": "paid",
            "balance": receipt.balance,
            "replay": receipt.replay,
        }))
        .into_response(),
        Ok(CallbackOutcome::Failed) => {
            Json(serde_json::json!({"result": "failed"})).into_response()
        }
        Err(err) => ApiError(err).into_response(),
    }
}
