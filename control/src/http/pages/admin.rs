//! The auditor's and the administrator's pages: the audit trail (newest first, with the chain's
//! check) and users with their roles (add, change role, disable or enable, reset a password).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::form::{finish, FormFields};
use super::security_alarms::{self, SecurityRow};
use super::{failed, render, Frame};
use crate::domain::access::{Role, ROLES};
use crate::http::auth::Caller;
use crate::http::HttpState;
use crate::secrets::Password;
use crate::ControlError;

/// Audit records per page.
const AUDIT_PAGE: i64 = 100;

/// `?before=` of the audit page (a sequence number).
#[derive(Debug, Default, serde::Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// One audit record.
struct AuditRow {
    seq: i64,
    at: String,
    actor: String,
    origin: String,
    action: &'static str,
    object: String,
    outcome: String,
}

/// The audit page.
#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    /// Open security alarms, newest first.
    security: Vec<SecurityRow>,
    /// Whether the caller may clear them (administrators).
    may_clear: bool,
    rows: Vec<AuditRow>,
    intact: bool,
    broken: String,
    older: Option<i64>,
}

/// `GET /audit?before=`.
pub async fn audit(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Response {
    let frame = Frame::new(&s, &caller, &headers, "/audit");
    let read = async {
        let chain = s.control.verify_audit().await?;
        let head = chain.head.0;
        let before = q.before.unwrap_or(head + 1).clamp(1, head + 1);
        let after = (before - 1 - AUDIT_PAGE).max(0);
        let records = s.control.audit_records(after, before - 1 - after).await?;
        let security = security_alarms::open_rows(&s, &frame).await?;
        Ok::<_, ControlError>((chain, records, after, security))
    };
    let (chain, records, after, security) = match read.await {
        Ok(read) => read,
        Err(err) => return failed(&headers, err, "/"),
    };
    let rows = records
        .into_iter()
        .rev()
        .map(|r| AuditRow {
            seq: r.seq,
            at: frame.at(r.at),
            actor: r.entry.actor,
            origin: r.entry.origin,
            action: r.entry.action.as_str(),
            object: r.entry.object,
            outcome: format!("{:?}", r.entry.outcome).to_lowercase(),
        })
        .collect();
    let page = AuditPage {
        may_clear: security_alarms::may_clear(&caller),
        frame,
        security,
        rows,
        intact: chain.broken.is_none(),
        broken: chain
            .broken
            .map(|b| format!("#{}: {}", b.seq, b.why))
            .unwrap_or_default(),
        older: (after > 0).then_some(after + 1),
    };
    render(StatusCode::OK, &page)
}

/// One user.
struct UserRow {
    username: String,
    role: &'static str,
    disabled: bool,
    locked: bool,
}

/// The users page.
#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    frame: Frame,
    /// Open security alarms, newest first.
    security: Vec<SecurityRow>,
    /// Whether the caller may clear them.
    may_clear: bool,
    users: Vec<UserRow>,
    roles: Vec<&'static str>,
    saved: bool,
}

/// `?done=` after a form.
#[derive(Debug, Default, serde::Deserialize)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

/// `GET /users`.
pub async fn users(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Query(q): Query<DoneQuery>,
) -> Response {
    let frame = Frame::new(&s, &caller, &headers, "/users");
    let now = s.control.now();
    let read = async {
        let users = s.control.users().await?;
        Ok::<_, ControlError>((users, security_alarms::open_rows(&s, &frame).await?))
    };
    match read.await {
        Ok((users, security)) => {
            let users = users
                .into_iter()
                .map(|u| UserRow {
                    locked: u.locked_until.is_some_and(|until| until > now),
                    role: u.role.as_str(),
                    disabled: u.disabled,
                    username: u.username,
                })
                .collect();
            let roles = ROLES.iter().map(|r| r.as_str()).collect();
            render(
                StatusCode::OK,
                &UsersPage {
                    may_clear: security_alarms::may_clear(&caller),
                    frame,
                    security,
                    users,
                    roles,
                    saved: q.done == "saved",
                },
            )
        }
        Err(err) => failed(&headers, err, "/"),
    }
}

fn role_of(form: &FormFields) -> Result<Role, ControlError> {
    let name = form.required("role", "the role")?;
    ROLES
        .into_iter()
        .find(|r| r.as_str() == name)
        .ok_or_else(|| ControlError::Invalid(format!("no role {name:?}")))
}

/// `POST /users`: `username`, `role`, `password`, `meters` (customers).
pub async fn add_user(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = FormFields::parse(&body);
    let added = async {
        let role = role_of(&form)?;
        let meters: Vec<String> = form
            .text("meters")
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect();
        let password = Password::new(form.required("password", "the password")?.to_string());
        s.control
            .add_user(
                &caller.actor(),
                form.required("username", "the username")?,
                role,
                &password,
                &meters,
            )
            .await
    };
    finish(added.await, &headers, "/users", "saved")
}

/// `POST /users/{name}`: `role`, and `disabled` (`on` to disable); or `password` to reset it.
pub async fn change_user(
    State(s): State<HttpState>,
    caller: Caller,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let form = FormFields::parse(&body);
    let actor = caller.actor();
    let changed = async {
        if !form.text("password").is_empty() {
            let password = Password::new(form.text("password").to_string());
            return s.control.reset_password(&actor, &name, &password).await;
        }
        let role = role_of(&form)?;
        s.control.set_role(&actor, &name, role).await?;
        s.control
            .set_disabled(&actor, &name, form.text("disabled") == "on")
            .await
    };
    finish(changed.await, &headers, "/users", "saved")
}
