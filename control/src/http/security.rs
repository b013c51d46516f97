//! Identity routes: login and logout, who am I, users and tokens (admin), the audit trail and security
//! alarms (auditor).

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::auth::{origin_of, Caller, SESSION_COOKIE};
use super::handlers::{body, page, to_json, Answer, Page};
use super::{ApiError, HttpState};
use crate::domain::access::Role;
use crate::secrets::Password;
use crate::ControlError;

/// `POST /api/login` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    username: String,
    password: Password,
}

/// The `Set-Cookie` value of a new session (`Secure` when the listener speaks TLS).
pub(crate) fn session_cookie(secret: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        crate::app::users::SESSION_HOURS * 3600,
        if secure { "; Secure" } else { "" }
    )
}

/// Checks a username and password and opens a session: the secret comes back as an HttpOnly,
/// SameSite=Strict cookie, and the CSRF token in the body (echo it in `X-CSRF-Token` on every
/// unsafe request).
pub async fn login(State(s): State<HttpState>, request: Request) -> Result<Response, ApiError> {
    let origin = origin_of(&request);
    let secure = s.secure_cookies;
    let bytes = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|e| ApiError(ControlError::Invalid(format!("request body: {e}"))))?;
    let b: LoginBody = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError(ControlError::Invalid(format!("login body: {e}"))))?;
    let (principal, issued) = s.control.login(&b.username, &b.password, &origin).await?;
    let cookie = session_cookie(&issued.secret, secure);
    let answer = json!({
        "username": principal.username,
        "role": principal.role,
        "meters": principal.meters,
        "csrf_token": principal.csrf,
        "expires_at": issued.credential.expires_at,
    });
    Ok(([(header::SET_COOKIE, cookie)], Json(answer)).into_response())
}

/// Ends the caller's session or revokes the token used.
pub async fn logout(State(s): State<HttpState>, caller: Caller) -> Result<Response, ApiError> {
    s.control
        .revoke_credential(&caller.actor(), &caller.principal.credential_id)
        .await?;
    let clear = format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    Ok((
        [(header::SET_COOKIE, clear)],
        Json(json!({ "logged_out": true })),
    )
        .into_response())
}

/// Who the caller is.
pub async fn me(caller: Caller) -> Answer {
    to_json(json!({
        "username": caller.principal.username,
        "role": caller.principal.role,
        "meters": caller.principal.meters,
        "credential": caller.principal.kind,
    }))
}

/// Every user.
pub async fn users(State(s): State<HttpState>) -> Answer {
    to_json(s.control.users().await?)
}

/// `POST /api/users` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    username: String,
    role: Role,
    password: Password,
    #[serde(default)]
    meters: Vec<String>,
}

/// Adds a user.
pub async fn add_user(
    State(s): State<HttpState>,
    caller: Caller,
    b: Result<Json<NewUserBody>, JsonRejection>,
) -> Answer {
    let b = body(b)?;
    to_json(
        s.control
            .add_user(&caller.actor(), &b.username, b.role, &b.password, &b.meters)
            .await?,
    )
}

/// `PUT /api/users/{name}` body: a new role and/or the disabled flag.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    role: Option<Role>,
    disabled: Option<bool>,
}

/// Changes a user's role or disables/enables them.
pub async fn change_user(
    State(s): State<HttpState>,
    caller: Caller,
    Path(name): Path<String>,
    b: Result<Json<UserChange>, JsonRejection>,
) -> Answer {
    let b = body(b)?;
    let actor = caller.actor();
    if b.role.is_none() && b.disabled.is_none() {
        return Err(ApiError(ControlError::Invalid(
            "give role and/or disabled".into(),
        )));
    }
    let mut user = None;
    if let Some(role) = b.role {
        user = Some(s.control.set_role(&actor, &name, role).await?);
    }
    if let Some(disabled) = b.disabled {
        user = Some(s.control.set_disabled(&actor, &name, disabled).await?);
    }
    to_json(user)
}

/// `POST /api/users/{name}/password` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    password: Password,
}

/// Sets a user's password (their sessions and tokens are revoked).
pub async fn reset_password(
    State(s): State<HttpState>,
    caller: Caller,
    Path(name): Path<String>,
    b: Result<Json<PasswordBody>, JsonRejection>,
) -> Answer {
    let b = body(b)?;
    to_json(
        s.control
            .reset_password(&caller.actor(), &name, &b.password)
            .await?,
    )
}

/// A user's API tokens (never their secrets).
pub async fn tokens(State(s): State<HttpState>, Path(name): Path<String>) -> Answer {
    to_json(s.control.tokens_of(&name).await?)
}

/// `POST /api/users/{name}/tokens` body.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    label: String,
    days: Option<u32>,
}

/// Issues an API token; its secret is in this answer only.
pub async fn issue_token(
    State(s): State<HttpState>,
    caller: Caller,
    Path(name): Path<String>,
    b: Result<Json<TokenBody>, JsonRejection>,
) -> Answer {
    let b = body(b)?;
    let issued = s
        .control
        .issue_token(&caller.actor(), &name, &b.label, b.days)
        .await?;
    to_json(json!({ "token": issued.secret, "credential": issued.credential }))
}

/// Revokes a token or session by id.
pub async fn revoke_token(
    State(s): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    s.control.revoke_credential(&caller.actor(), &id).await?;
    to_json(json!({ "revoked": id }))
}

/// `?after=<seq>&limit=` over the audit trail, in chain order.
pub async fn audit(State(s): State<HttpState>, q: Result<Query<Page>, QueryRejection>) -> Answer {
    let p = page(q)?;
    let after = match p.after.as_deref() {
        None | Some("") => 0,
        Some(text) => text.parse::<i64>().map_err(|_| {
            ApiError(ControlError::Invalid(format!(
                "after must be a record number, not {text:?}"
            )))
        })?,
    };
    to_json(
        s.control
            .audit_records(after, p.limit.unwrap_or(100))
            .await?,
    )
}

/// Checks the whole chain.
pub async fn verify_audit(State(s): State<HttpState>) -> Answer {
    to_json(s.control.verify_audit().await?)
}

/// Open security alarms.
pub async fn security_alarms(
    State(s): State<HttpState>,
    q: Result<Query<Page>, QueryRejection>,
) -> Answer {
    let p = page(q)?;
    to_json(s.control.security_alarms(p.limit.unwrap_or(100)).await?)
}

/// `POST /api/security/alarms/{id}/clear` with `{"note": "…"}` (administrators).
pub async fn clear_security_alarm(
    State(s): State<HttpState>,
    caller: Caller,
    Path(id): Path<String>,
    b: Result<Json<super::alarms::ClearRequest>, JsonRejection>,
) -> Answer {
    let request = body(b)?;
    to_json(
        s.control
            .clear_security_alarm(&id, &request.note, &caller.actor())
            .await?,
    )
}
