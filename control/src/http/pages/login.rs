//! Signing in and out with a form, and switching the language. The login form carries a one-time
//! token that must match a short-lived cookie set with the form (so another site cannot sign a
//! browser in to an account of its choosing); a successful login sets the same session cookie as
//! `POST /api/login` and goes on to the page asked for.

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::locale::{Lang, LANG_COOKIE};
use super::{cookie, local_path, render, PlainFrame};
use crate::domain::access::{Right, Role};
use crate::http::auth::{origin_of, Caller};
use crate::http::security::session_cookie;
use crate::http::{ApiError, HttpState};
use crate::secrets::Password;
use crate::ControlError;

/// The cookie holding the login form's one-time token.
const LOGIN_COOKIE: &str = "meterlake_login";

/// The login page.
#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    frame: PlainFrame,
    token: String,
    next: String,
    failed: bool,
    username: String,
}

/// `?next=` of the login form.
#[derive(Debug, serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

fn login_page(headers: &HeaderMap, next: &str, failed: Option<&str>) -> Response {
    let token = crate::secrets::new_csrf();
    let page = LoginPage {
        frame: PlainFrame::new(headers),
        token: token.clone(),
        next: local_path(Some(next)),
        failed: failed.is_some(),
        username: failed.unwrap_or_default().to_string(),
    };
    let status = if failed.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let mut response = render(status, &page);
    let cookie =
        format!("{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/login; Max-Age=900");
    if let Ok(value) = cookie.parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /login`: the form.
pub async fn form(headers: HeaderMap, Query(q): Query<NextQuery>) -> Response {
    login_page(&headers, q.next.as_deref().unwrap_or("/"), None)
}

/// The login form's fields.
struct LoginForm {
    username: String,
    password: Password,
    next: Option<String>,
    token: String,
}

impl LoginForm {
    /// The fields of a form body; `None` when one is missing.
    fn parse(body: &[u8]) -> Option<Self> {
        let mut fields: std::collections::HashMap<String, String> =
            url::form_urlencoded::parse(body).into_owned().collect();
        Some(Self {
            username: fields.remove("username")?,
            password: Password::new(fields.remove("password")?),
            next: fields.remove("next"),
            token: fields.remove("token")?,
        })
    }
}

/// The largest login form read.
const FORM_LIMIT: usize = 16 * 1024;

/// `POST /login`: checks the form's token against its cookie, then the password (with the same
/// lockout as the API); on success sets the session cookie and goes to `next`.
pub async fn submit(State(s): State<HttpState>, request: Request) -> Response {
    let origin = origin_of(&request);
    let headers = request.headers().clone();
    let form = match axum::body::to_bytes(request.into_body(), FORM_LIMIT).await {
        Ok(body) => LoginForm::parse(&body),
        Err(_) => None,
    };
    let Some(form) = form else {
        return login_page(&headers, "/", Some(""));
    };
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    let next = local_path(form.next.as_deref());
    if expected.is_empty() || !crate::http::auth::same(&expected, &form.token) {
        return login_page(&headers, &next, Some(&form.username));
    }
    match s
        .control
        .login(&form.username, &form.password, &origin)
        .await
    {
        Ok((principal, issued)) => {
            let next = if next == "/" {
                landing(principal.role).to_string()
            } else {
                next
            };
            let mut response = Redirect::to(&next).into_response();
            let set = session_cookie(&issued.secret, s.secure_cookies);
            if let Ok(value) = set.parse() {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            let spent =
                format!("{LOGIN_COOKIE}=; HttpOnly; SameSite=Strict; Path=/login; Max-Age=0");
            if let Ok(value) = spent.parse() {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(ControlError::Unauthenticated(_) | ControlError::Forbidden(_)) => {
            login_page(&headers, &next, Some(&form.username))
        }
        Err(err) => ApiError(err).into_response(),
    }
}

/// Where a role starts: the dashboard, or the first page it may open (a cashier's account search, a
/// customer's own page).
fn landing(role: Role) -> &'static str {
    [
        ("/", Right::Summary),
        ("/accounts", Right::ListAccounts),
        ("/my", Right::SelfService),
    ]
    .into_iter()
    .find(|(_, right)| role.allows(*right))
    .map_or("/", |(path, _)| path)
}

/// `POST /logout`: ends the session and returns to the login form.
pub async fn logout(State(s): State<HttpState>, caller: Caller) -> Response {
    if let Err(err) = s
        .control
        .revoke_credential(&caller.actor(), &caller.principal.credential_id)
        .await
    {
        return ApiError(err).into_response();
    }
    let mut response = Redirect::to("/login").into_response();
    let clear = format!(
        "{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        crate::http::auth::SESSION_COOKIE
    );
    if let Ok(value) = clear.parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// `GET /lang/{code}?next=`: remembers the language for a year and goes back.
pub async fn switch_language(Path(code): Path<String>, Query(q): Query<NextQuery>) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return (StatusCode::NOT_FOUND, "no such language").into_response();
    };
    let short = if lang == Lang::En { "en" } else { "zh" };
    let mut response = Redirect::to(&local_path(q.next.as_deref())).into_response();
    let set = format!("{LANG_COOKIE}={short}; SameSite=Lax; Path=/; Max-Age=31536000");
    if let Ok(value) = set.parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
