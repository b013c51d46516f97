//! `GET /alarms`: the maintenance staff's alarm queue, newest first, with acknowledge and clear (a
//! clear needs a note). Staff who may only read alarms see the queue without the buttons.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::form::{finish, FormFields};
use super::labels::Label;
use super::{failed, render, Frame};
use crate::domain::access::Right;
use crate::domain::alarm::AlarmState;
use crate::http::auth::Caller;
use crate::http::HttpState;
use crate::store::alarms::{AlarmFilter, MeterAlarm};

/// Alarms listed.
const SHOWN: i64 = 200;

/// The queue's filter and the message of the form just sent.
#[derive(Debug, Default, serde::Deserialize)]
pub struct QueueQuery {
    /// `all` lists cleared alarms too.
    #[serde(default)]
    show: String,
    /// `acknowledged` or `cleared` after a form.
    #[serde(default)]
    done: String,
}

/// One alarm of the queue.
struct Row {
    id: String,
    raised: String,
    meter_id: String,
    kind: &'static str,
    severity: &'static str,
    severity_code: &'static str,
    state: &'static str,
    state_code: &'static str,
    detail: String,
    handled_by: String,
    may_acknowledge: bool,
    may_clear: bool,
}

/// The queue page.
#[derive(Template)]
#[template(path = "alarms.html")]
struct QueuePage {
    frame: Frame,
    rows: Vec<Row>,
    all: bool,
    done: Option<&'static str>,
}

fn row(frame: &Frame, handles: bool, a: MeterAlarm) -> Row {
    Row {
        raised: frame.at(a.raised_at),
        kind: a.kind.label(frame.lang),
        severity: a.severity.label(frame.lang),
        severity_code: a.severity.name(),
        state: a.state.label(frame.lang),
        state_code: a.state.name(),
        handled_by: a.cleared_by.or(a.acknowledged_by).unwrap_or_default(),
        may_acknowledge: handles && a.state == AlarmState::Raised,
        may_clear: handles && a.state != AlarmState::Cleared,
        detail: a.detail,
        meter_id: a.meter_id,
        id: a.id,
    }
}

/// `GET /alarms?show=all`.
pub async fn page(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> Response {
    let frame = Frame::new(&s, &caller, &headers, "/alarms");
    let all = q.show == "all";
    let filter = AlarmFilter {
        all,
        limit: Some(SHOWN),
        ..AlarmFilter::default()
    };
    let alarms = match s.control.alarms(&filter).await {
        Ok(alarms) => alarms,
        Err(err) => return failed(&headers, err, "/"),
    };
    let handles = frame.may(Right::HandleAlarms);
    let t = frame.t.alarm;
    let done = match q.done.as_str() {
        "acknowledged" => Some(t.flash_acknowledged),
        "cleared" => Some(t.flash_cleared),
        _ => None,
    };
    let rows = alarms
        .into_iter()
        .map(|a| row(&frame, handles, a))
        .collect();
    render(
        StatusCode::OK,
        &QueuePage {
            frame,
            rows,
            all,
            done,
        },
    )
}

/// `POST /alarms/{id}/ack`.
pub async fn acknowledge(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    finish(
        s.control.acknowledge_alarm(&id, &caller.actor()).await,
        &headers,
        "/alarms",
        "acknowledged",
    )
}

/// `POST /alarms/{id}/clear`: `note` says what was done.
pub async fn clear(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = FormFields::parse(&body);
    finish(
        s.control
            .clear_alarm(&id, form.text("note"), &caller.actor())
            .await,
        &headers,
        "/alarms",
        "cleared",
    )
}
