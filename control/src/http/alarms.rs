//! Alarm routes: the queue with filters (maintenance, operators, admins), acknowledge and clear by hand.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;

use super::auth::Caller;
use super::handlers::{body, to_json, Answer};
use super::{ApiError, HttpState};
use crate::store::alarms::AlarmFilter;
use crate::ControlError;

/// The body of a clear by hand.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClearRequest {
    /// Why the alarm is closed.
    pub note: String,
}

/// `GET /api/alarms?state=&all=&kind=&meter=&area=&severity=&since=&until=&limit=`.
pub async fn alarms(
    State(s): State<HttpState>,
    q: Result<Query<AlarmFilter>, QueryRejection>,
) -> Answer {
    let filter = q
        .map(|Query(f)| f)
        .map_err(|e| ApiError(ControlError::Invalid(e.body_text())))?;
    to_json(s.control.alarms(&filter).await?)
}

/// `POST /api/alarms/{id}/ack`.
pub async fn acknowledge(
    State(s): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    to_json(s.control.acknowledge_alarm(&id, &caller.actor()).await?)
}

/// `POST /api/alarms/{id}/clear` with `{"note": "…"}`.
pub async fn clear(
    State(s): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<ClearRequest>, JsonRejection>,
) -> Answer {
    let request = body(b)?;
    to_json(
        s.control
            .clear_alarm(&id, &request.note, &caller.actor())
            .await?,
    )
}
