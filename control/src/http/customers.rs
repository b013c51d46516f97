//! Customers' personal data over HTTP: read with the account (a customer: their own), recorded by staff
//! who open accounts, and found by exact phone or ID number.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde_json::json;

use super::auth::Caller;
use super::handlers::{body, to_json, Answer};
use super::{ApiError, HttpState};
use crate::app::customers::CustomerDetails;
use crate::ControlError;

/// `GET /api/accounts/{meter}/customer`
pub async fn get_customer(State(s): State<HttpState>, Path(meter): Path<String>) -> Answer {
    to_json(json!({ "meter_id": meter, "customer": s.control.customer(&meter).await? }))
}

/// `PUT /api/accounts/{meter}/customer`
pub async fn set_customer(
    State(s): State<HttpState>,
    caller: Caller,
    Path(meter): Path<String>,
    b: Result<Json<CustomerDetails>, JsonRejection>,
) -> Answer {
    let details = body(b)?;
    s.control
        .set_customer(&meter, &details, &caller.actor())
        .await?;
    to_json(json!({ "meter_id": meter, "customer": details }))
}

/// `?phone=` or `?id_number=`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    phone: Option<String>,
    id_number: Option<String>,
}

/// `GET /api/customers/search`
pub async fn search(
    State(s): State<HttpState>,
    q: Result<Query<Search>, QueryRejection>,
) -> Answer {
    let Query(q) = q.map_err(|e| ApiError(ControlError::Invalid(e.body_text())))?;
    let meters = s
        .control
        .find_customers(q.phone.as_deref(), q.id_number.as_deref())
        .await?;
    to_json(json!({ "meters": meters }))
}
