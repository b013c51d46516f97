//! The operator's forms on the account page: a remote-control command, sent only after a confirmation
//! step that says what the meter will do, and keep-power (保电) granted for a number of days or
//! revoked.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Duration;
use ingest::dlt645::relay::RelayAction;

use super::account::Done;
use super::form::{finish, FormFields};
use super::labels::{effect, Label};
use super::{failed, render, Frame};
use crate::app::exemptions::{NewExemption, MAX_EXEMPTION_DAYS};
use crate::app::remote::CommandRequest;
use crate::http::auth::Caller;
use crate::http::HttpState;
use crate::store::records::ExemptionKind;
use crate::ControlError;

/// The confirmation step of a remote-control command.
#[derive(Template)]
#[template(path = "confirm_command.html")]
struct ConfirmPage {
    frame: Frame,
    meter_id: String,
    action: &'static str,
    action_label: &'static str,
    effect: &'static str,
    reason: String,
}

/// The action and reason of a command form.
fn command_request(form: &FormFields) -> Result<CommandRequest, ControlError> {
    let name = form.required("action", "the action")?;
    let action = RelayAction::parse(name)
        .ok_or_else(|| ControlError::Invalid(format!("no remote-control action {name:?}")))?;
    let reason = form.required("reason", "the reason")?.to_string();
    Ok(CommandRequest { action, reason })
}

/// `POST /accounts/{meter}/command`: without `confirm=yes`, shows what will happen and asks; with it,
/// requests the command and returns to the account page, where its lifecycle shows.
pub async fn command(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(meter): Path<String>,
    body: Bytes,
) -> Response {
    let back = format!("/accounts/{meter}");
    let form = FormFields::parse(&body);
    let request = match command_request(&form) {
        Ok(request) => request,
        Err(err) => return failed(&headers, err, &back),
    };
    if form.text("confirm") != "yes" {
        if let Err(err) = s.control.account(&meter).await {
            return failed(&headers, err, "/accounts");
        }
        let frame = Frame::new(&s, &caller, &headers, &back);
        let page = ConfirmPage {
            action: request.action.as_str(),
            action_label: request.action.label(frame.lang),
            effect: frame.lang.pick(effect(request.action)),
            reason: request.reason,
            meter_id: meter,
            frame,
        };
        return render(StatusCode::OK, &page);
    }
    finish(
        s.control
            .request_command(&meter, request, &caller.actor())
            .await,
        &headers,
        &back,
        Done::Command.marker(),
    )
}

/// The exemption a keep-power form asks for.
fn exemption(
    form: &FormFields,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<NewExemption, ControlError> {
    let kind_name = form.required("kind", "the kind")?;
    let kind = ExemptionKind::parse(kind_name)
        .ok_or_else(|| ControlError::Invalid(format!("no keep-power kind {kind_name:?}")))?;
    let days_text = form.required("days", "the number of days")?;
    let days: i64 = days_text
        .parse()
        .ok()
        .filter(|d| (1..=MAX_EXEMPTION_DAYS).contains(d))
        .ok_or_else(|| {
            ControlError::Invalid(format!(
                "days {days_text:?}: a whole number from 1 to {MAX_EXEMPTION_DAYS}"
            ))
        })?;
    Ok(NewExemption {
        kind,
        reason: form.required("reason", "the reason")?.to_string(),
        ends_at: now + Duration::days(days),
    })
}

/// `POST /accounts/{meter}/keep-power`: `kind`, `reason` and `days`.
pub async fn keep_power(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(meter): Path<String>,
    body: Bytes,
) -> Response {
    let back = format!("/accounts/{meter}");
    let form = FormFields::parse(&body);
    let granted = async {
        let request = exemption(&form, s.control.now())?;
        s.control
            .add_exemption(&meter, request, &caller.actor())
            .await
    };
    finish(granted.await, &headers, &back, Done::KeepPower.marker())
}

/// `POST /accounts/{meter}/keep-power/{id}/revoke`.
pub async fn revoke_keep_power(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path((meter, id)): Path<(String, String)>,
) -> Response {
    let back = format!("/accounts/{meter}");
    finish(
        s.control
            .revoke_exemption(&meter, &id, &caller.actor())
            .await,
        &headers,
        &back,
        Done::Revoked.marker(),
    )
}
