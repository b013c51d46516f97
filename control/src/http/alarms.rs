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

/// The window of `GET /api/meters/{meter}/events` (default: the last 31 days).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventWindow {
    /// Events at or after (RFC 3339).
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Events before (RFC 3339).
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many (1..=100000, default 1000).
    pub limit: Option<i64>,
}

/// `GET /api/meters/{meter}/events?from=&to=&limit=`: the meter's event records (cover open,
/// power-down, programming, clock setting), oldest first.
pub async fn meter_events(
    State(s): State<HttpState>,
    Path(meter): Path<String>,
    q: Result<Query<EventWindow>, QueryRejection>,
) -> Answer {
    let window = q
        .map(|Query(w)| w)
        .map_err(|e| ApiError(ControlError::Invalid(e.body_text())))?;
    let to = window.to.unwrap_or_else(|| s.control.now());
    let from = window.from.unwrap_or(to - chrono::Duration::days(31));
    to_json(
        s.control
            .meter_events(Some(&meter), from, to, window.limit.unwrap_or(1000))
            .await?,
    )
}
