//! The route handlers: parse, call one use case, answer JSON.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::auth::Caller;
use super::{ApiError, HttpState, OPENAPI};
use crate::app::accounts::NewAccount;
use crate::app::exemptions::NewExemption;
use crate::app::payments::Adjustment;
use crate::app::remote::CommandRequest;
use crate::domain::health::{Observed, ServiceFault};
use crate::store::accounts::TermsOverrides;
use crate::ControlError;

pub(super) type Answer = Result<Json<Value>, ApiError>;

pub(super) fn body<T: DeserializeOwned>(
    body: Result<Json<T>, JsonRejection>,
) -> Result<T, ApiError> {
    body.map(|Json(b)| b)
        .map_err(|e| ApiError(ControlError::Invalid(e.body_text())))
}

pub(super) fn to_json<T: serde::Serialize>(value: T) -> Answer {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| ApiError(ControlError::Corrupt(e.to_string())))
}

/// `?after=&limit=` of list routes.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub(super) after: Option<String>,
    pub(super) limit: Option<i64>,
}

pub(super) fn page(query: Result<Query<Page>, QueryRejection>) -> Result<Page, ApiError> {
    self::query(query)
}

/// A query string, or a 422 that says what is wrong with it.
pub(super) fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(q)| q)
        .map_err(|e| ApiError(ControlError::Invalid(e.body_text())))
}

/// `?from=&to=` of the per-meter history routes (RFC 3339; default: the last 31 days).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// At or after.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Before (default: now).
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// At most this many rows, where the route limits them.
    pub limit: Option<i64>,
}

impl Window {
    /// The window's bounds, defaults filled in from the service's clock.
    pub(super) fn bounds(
        &self,
        control: &crate::Control,
    ) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
        let to = self.to.unwrap_or_else(|| control.now());
        (self.from.unwrap_or(to - chrono::Duration::days(31)), to)
    }
}

pub async fn healthz(State(s): State<HttpState>) -> impl IntoResponse {
    let loops = s.supervisor.health();
    let outbox = s.control.outbox_health().await;
    let database = s.control.database_write_health().await;
    let kafka_down = s.kafka.as_ref().is_some_and(|link| link.is_down());
    let faults = ServiceFault::current(Observed {
        kafka_refusing: kafka_down || matches!(&outbox, Ok(o) if o.refused_since.is_some()),
        database_readable: outbox.is_ok(),
        database_writable: database.is_ok(),
        loops_running: s.supervisor.healthy(),
    });
    let status = if faults.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let outbox = match outbox {
        Ok(outbox) => serde_json::to_value(outbox).unwrap_or_default(),
        Err(err) => json!({ "error": err.to_string() }),
    };
    (
        status,
        Json(json!({
            "status": if faults.is_empty() { "ok" } else { "degraded" },
            "faults": faults,
            "loops": loops,
            "outbox": outbox,
            "kafka": s.kafka.as_ref().map(|link| link.health()),
            "database": match database {
                Ok(()) => json!({ "writes": "ok" }),
                Err(err) => json!({ "writes": "refused", "error": err.to_string() }),
            },
        })),
    )
}

pub async fn metrics(State(s): State<HttpState>) -> impl IntoResponse {
    let text = s
        .metrics
        .as_ref()
        .map(|render| render())
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

pub async fn summary(State(s): State<HttpState>) -> Answer {
    let c = &s.control;
    let states = c.state_summary().await?;
    let commands = c.command_summary().await?;
    to_json(json!({
        "accounts_by_state": states.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
        "commands": commands.into_iter().map(|(action, state, n)| json!({"action": action, "state": state, "count": n})).collect::<Vec<_>>(),
        "open_alarms": c.open_alarm_counts().await?.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
    }))
}

pub async fn list_accounts(
    State(s): State<HttpState>,
    q: Result<Query<Page>, QueryRejection>,
) -> Answer {
    let p = page(q)?;
    to_json(
        s.control
            .accounts(p.after.as_deref().unwrap_or(""), p.limit.unwrap_or(100))
            .await?,
    )
}

pub async fn open_account(
    State(s): State<HttpState>,
    caller: Caller,
    b: Result<Json<NewAccount>, JsonRejection>,
) -> Answer {
    to_json(s.control.open_account(body(b)?, &caller.actor()).await?)
}

pub async fn get_account(State(s): State<HttpState>, Path(meter): Path<String>) -> Answer {
    let account = s.control.account(&meter).await?;
    let terms = s.control.rules().terms_of(&account);
    to_json(json!({ "account": account, "terms": terms }))
}

pub async fn set_terms(
    State(s): State<HttpState>,
    caller: Caller,
    Path(meter): Path<String>,
    b: Result<Json<TermsOverrides>, JsonRejection>,
) -> Answer {
    to_json(
        s.control
            .set_terms(&meter, body(b)?, &caller.actor())
            .await?,
    )
}

pub async fn ledger(
    State(s): State<HttpState>,
    Path(meter): Path<String>,
    q: Result<Query<Page>, QueryRejection>,
) -> Answer {
    let p = page(q)?;
    to_json(s.control.ledger(&meter, p.limit.unwrap_or(100)).await?)
}

/// A payment: `amount` is text in yuan (e.g. `"50.00"`) so no float ever touches money.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    amount: String,
    reference: String,
}

pub async fn pay(
    State(s): State<HttpState>,
    caller: Caller,
    Path(meter): Path<String>,
    b: Result<Json<PaymentBody>, JsonRejection>,
) -> Answer {
    let b = body(b)?;
    to_json(
        s.control
            .pay(&meter, &b.amount, &b.reference, &caller.actor())
            .await?,
    )
}

pub async fn refund(
    State(s): State<HttpState>,
    caller: Caller,
    Path(meter): Path<String>,
    b: Result<Json<Adjustment>, JsonRejection>,
) -> Answer {
    to_json(s.control.refund(&meter, &body(b)?, &caller.actor()).await?)
}

pub async fn correct(
    State(s): State<HttpState>,
    caller: Caller,
    Path(meter): Path<String>,
    b: Result<Json<Adjustment>, JsonRejection>,
) -> Answer {
    to_json(
        s.control
            .correct(&meter, &body(b)?, &caller.actor())
            .await?,
    )
}

pub async fn commands_of(
    State(s): State<HttpState>,
    Path(meter): Path<String>,
    q: Result<Query<Page>, QueryRejection>,
) -> Answer {
    let p = page(q)?;
    to_json(s.control.commands_of(&meter, p.limit.unwrap_or(50)).await?)
}

pub async fn request_command(
    State(s): State<HttpState>,
    caller: Caller,
    Path(meter): Path<String>,
    b: Result<Json<CommandRequest>, JsonRejection>,
) -> Answer {
    to_json(
        s.control
            .request_command(&meter, body(b)?, &caller.actor())
            .await?,
    )
}

pub async fn exemptions(State(s): State<HttpState>, Path(meter): Path<String>) -> Answer {
    to_json(s.control.exemptions(&meter).await?)
}

pub async fn add_exemption(
    State(s): State<HttpState>,
    caller: Caller,
    Path(meter): Path<String>,
    b: Result<Json<NewExemption>, JsonRejection>,
) -> Answer {
    to_json(
        s.control
            .add_exemption(&meter, body(b)?, &caller.actor())
            .await?,
    )
}

pub async fn revoke_exemption(
    State(s): State<HttpState>,
    caller: Caller,
    Path((meter, id)): Path<(String, String)>,
) -> Answer {
    s.control
        .revoke_exemption(&meter, &id, &caller.actor())
        .await?;
    to_json(json!({ "revoked": id }))
}

pub async fn notices(State(s): State<HttpState>, Path(meter): Path<String>) -> Answer {
    s.control.account(&meter).await?;
    to_json(s.control.notices(&meter).await?)
}

pub async fn command(State(s): State<HttpState>, Path(id): Path<String>) -> Answer {
    to_json(s.control.command(&id).await?)
}

pub async fn cancel_command(
    State(s): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    to_json(s.control.cancel_command(&id, &caller.actor()).await?)
}
