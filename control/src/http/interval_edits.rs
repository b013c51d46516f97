//! VEE edit routes: a meter's interval edits (read) and a new edit with its reason (operators,
//! maintenance staff).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::auth::Caller;
use super::handlers::{body, query, to_json, Answer, Window};
use super::HttpState;

/// The body of an edit.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    /// The interval's start (RFC 3339, on the 15-minute grid).
    pub interval_start: DateTime<Utc>,
    /// The value, kWh (a decimal string or number, at most six decimals).
    pub kwh: Decimal,
    /// Why.
    pub reason: String,
}

/// `GET /api/meters/{meter}/interval-edits?from=&to=` (default: the last 31 days).
pub async fn list(
    State(s): State<HttpState>,
    Path(meter): Path<String>,
    q: Result<Query<Window>, QueryRejection>,
) -> Answer {
    let (from, to) = query(q)?.bounds(&s.control);
    to_json(s.control.interval_edits(Some(&meter), from, to).await?)
}

/// `POST /api/meters/{meter}/interval-edits` with `{"interval_start", "kwh", "reason"}`.
pub async fn edit(
    State(s): State<HttpState>,
    caller: Caller,
    Path(meter): Path<String>,
    b: Result<Json<EditRequest>, JsonRejection>,
) -> Answer {
    let request = body(b)?;
    to_json(
        s.control
            .edit_interval(
                &meter,
                request.interval_start,
                request.kwh,
                &request.reason,
                &caller.actor(),
            )
            .await?,
    )
}
