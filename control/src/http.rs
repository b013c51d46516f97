//! The HTTP API: accounts and payments.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::{ledger, ControlError, ControlService};

/// A payment request body. `amount` is a string of yuan (e.g. `"50.00"`) so no float ever touches money.
#[derive(Debug, serde::Deserialize)]
pub struct PaymentRequest {
    /// Amount in yuan, at most two decimals.
    pub amount: String,
    /// The payer's unique reference (idempotency key).
    pub reference: String,
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let status = match &self {
            ControlError::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ControlError::UnknownAccount(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
        }
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

async fn list_accounts(
    State(service): State<ControlService>,
) -> Result<Json<Vec<ledger::Account>>, ControlError> {
    Ok(Json(ledger::accounts(service.pool()).await?))
}

async fn get_account(
    State(service): State<ControlService>,
    Path(meter): Path<String>,
) -> Result<Json<ledger::Account>, ControlError> {
    Ok(Json(ledger::account(service.pool(), &meter).await?))
}

async fn post_payment(
    State(service): State<ControlService>,
    Path(meter): Path<String>,
    body: Result<Json<PaymentRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ControlError> {
    let Json(body) = body.map_err(|e| ControlError::BadRequest(e.body_text()))?;
    let (payment, command) = service.pay(&meter, &body.amount, &body.reference).await?;
    Ok(Json(
        serde_json::json!({ "payment": payment, "command": command }),
    ))
}

/// The router: `GET /api/accounts`, `GET /api/accounts/{meter}`, `POST /api/accounts/{meter}/payments`,
/// `GET /healthz`.
pub fn router(service: ControlService) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/accounts", get(list_accounts))
        .route("/api/accounts/{meter}", get(get_account))
        .route("/api/accounts/{meter}/payments", post(post_payment))
        .with_state(service)
}
