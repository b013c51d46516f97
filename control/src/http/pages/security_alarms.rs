//! Open security alarms as the audit and users pages show them, and their closing by an
//! administrator (`POST /security-alarms/{id}/clear` with a `note`).

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::form::{finish, FormFields};
use super::Frame;
use crate::domain::access::Right;
use crate::http::auth::Caller;
use crate::http::HttpState;
use crate::ControlError;

/// Open security alarms shown.
const SHOWN: i64 = 100;

/// One open security alarm.
pub(crate) struct SecurityRow {
    /// Its id (the clear form's target).
    pub id: String,
    /// When raised, local.
    pub raised: String,
    /// Its kind, named in the page's language.
    pub kind: &'static str,
    /// What it is about (`user:alice`, `account:…`).
    pub subject: String,
    /// What was seen.
    pub detail: String,
}

/// The open security alarms, newest first, for a page in `frame`.
pub(crate) async fn open_rows(
    s: &HttpState,
    frame: &Frame,
) -> Result<Vec<SecurityRow>, ControlError> {
    let alarms = s.control.security_alarms(SHOWN).await?;
    Ok(alarms
        .into_iter()
        .map(|a| SecurityRow {
            raised: frame.at(a.raised_at),
            kind: frame.lang.pick(a.kind.names()),
            id: a.id,
            subject: a.subject,
            detail: a.detail,
        })
        .collect())
}

/// Whether `caller` may close security alarms.
pub(crate) fn may_clear(caller: &Caller) -> bool {
    caller.principal.role.allows(Right::ManageUsers)
}

/// `POST /security-alarms/{id}/clear`: `note` says what was found; back to the users page.
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
            .clear_security_alarm(&id, form.text("note"), &caller.actor())
            .await,
        &headers,
        "/users",
        "cleared",
    )
}
