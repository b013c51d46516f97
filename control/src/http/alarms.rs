//! Alarm routes: the queue with filters (maintenance, operators, admins), acknowledge and clear by hand.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;

use super::auth::Caller;
use super::handlers::{body, query, to_json, Answer, Window};
use super::HttpState;
use crate::store::alarms::AlarmFilter;

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
    to_json(s.control.alarms(&query(q)?).await?)
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

/// `GET /api/meters/{meter}/events?from=&to=&limit=`: the meter's event records (cover open,
/// power-down, programming, clock setting), oldest first (default: the last 31 days, 1000 records).
pub async fn meter_events(
    State(s): State<HttpState>,
    Path(meter): Path<String>,
    q: Result<Query<Window>, QueryRejection>,
) -> Answer {
    let window = query(q)?;
    let (from, to) = window.bounds(&s.control);
    to_json(
        s.control
            .meter_events(Some(&meter), from, to, window.limit.unwrap_or(1000))
            .await?,
    )
}
