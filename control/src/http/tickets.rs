//! Feedback tickets for a call centre's or another system's use: `GET /api/tickets?status=&category=`
//! (the queue) and `POST /api/tickets` (a ticket taken down for a caller to the hotline or a visitor at
//! the counter). Staff with the right to handle tickets only.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::Json;

use super::auth::Caller;
use super::handlers::{body, query, to_json, Answer};
use super::{ApiError, HttpState};
use crate::app::tickets::TicketOpening;
use crate::domain::ticket::{TicketCategory, TicketChannel, TicketStatus};
use crate::ControlError;

/// `?status=&category=` of the queue.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// `open`, `answered` or `closed` (default: every status).
    pub status: Option<String>,
    /// `billing`, `outage`, `meter`, `payment` or `other` (default: every category).
    pub category: Option<String>,
}

/// A ticket taken down by staff.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TakenDown {
    /// The caller's meter.
    pub meter_id: String,
    /// What about.
    pub category: String,
    /// `hotline` or `counter`.
    pub channel: String,
    /// Subject line.
    pub subject: String,
    /// What the customer said.
    pub message: String,
}

/// `name` as one of `names`' values, or a 422 naming the choices.
fn one_of<T: Copy>(
    what: &str,
    name: &str,
    parse: fn(&str) -> Option<T>,
    all: &[T],
    as_str: fn(T) -> &'static str,
) -> Result<T, ApiError> {
    parse(name).ok_or_else(|| {
        let choices: Vec<&str> = all.iter().map(|v| as_str(*v)).collect();
        ApiError(ControlError::Invalid(format!(
            "{what} {name:?}: one of {}",
            choices.join(", ")
        )))
    })
}

/// The ticket category `name`.
pub(crate) fn category(name: &str) -> Result<TicketCategory, ApiError> {
    one_of(
        "category",
        name,
        TicketCategory::parse,
        &TicketCategory::ALL,
        TicketCategory::as_str,
    )
}

/// The ticket channel `name`.
pub(crate) fn channel(name: &str) -> Result<TicketChannel, ApiError> {
    one_of(
        "channel",
        name,
        TicketChannel::parse,
        &TicketChannel::ALL,
        TicketChannel::as_str,
    )
}

/// `GET /api/tickets?status=&category=`.
pub async fn queue(
    State(s): State<HttpState>,
    q: Result<Query<QueueQuery>, QueryRejection>,
) -> Answer {
    let q = query(q)?;
    let status = q
        .status
        .as_deref()
        .map(|name| {
            one_of(
                "status",
                name,
                TicketStatus::parse,
                &TicketStatus::ALL,
                TicketStatus::as_str,
            )
        })
        .transpose()?;
    let category = q.category.as_deref().map(category).transpose()?;
    to_json(s.control.tickets(status, category).await?)
}

/// `POST /api/tickets`.
pub async fn take_down(
    State(s): State<HttpState>,
    caller: Caller,
    b: Result<Json<TakenDown>, JsonRejection>,
) -> Answer {
    let t = body(b)?;
    let ticket = s
        .control
        .take_down_ticket(
            TicketOpening {
                meter_id: &t.meter_id,
                category: category(&t.category)?,
                subject: &t.subject,
                body: &t.message,
            },
            channel(&t.channel)?,
            &caller.actor(),
        )
        .await?;
    to_json(ticket)
}
