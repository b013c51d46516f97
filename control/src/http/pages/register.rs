//! Customers registering themselves (`/register`): meter and phone number → a code by SMS → the code
//! with a username and password → a customer login for that meter, signed in. Each form carries a
//! token matching a short-lived cookie (as the login form does; another site cannot post them), and
//! the pages say the same whether or not the numbers matched the records.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::{cookie, render, PlainFrame};
use crate::http::auth::{origin_of, same};
use crate::http::security::session_cookie;
use crate::http::{ApiError, HttpState};
use crate::secrets::Password;
use crate::ControlError;

/// The cookie holding the forms' token.
const REGISTER_COOKIE: &str = "meterlake_register";
/// The largest form read.
const FORM_LIMIT: usize = 16 * 1024;

/// The first form: meter and phone number.
#[derive(Template)]
#[template(path = "register.html")]
struct AskPage {
    frame: PlainFrame,
    token: String,
    open: bool,
    problem: Option<String>,
    meter: String,
}

/// The second form: the code, a username and a password.
#[derive(Template)]
#[template(path = "register_code.html")]
struct CodePage {
    frame: PlainFrame,
    token: String,
    attempt: String,
    problem: Option<String>,
    username: String,
}

/// `page` with `status` and a fresh token in its cookie (`Secure` when the service speaks TLS).
fn with_token(status: StatusCode, page: &impl Template, token: &str, secure: bool) -> Response {
    let mut response = render(status, page);
    let set = format!(
        "{REGISTER_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/register; Max-Age=1800{}",
        if secure { "; Secure" } else { "" }
    );
    if let Ok(value) = set.parse() {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn ask_page(
    s: &HttpState,
    headers: &HeaderMap,
    status: StatusCode,
    problem: Option<String>,
    meter: &str,
) -> Response {
    let token = crate::secrets::new_csrf();
    let page = AskPage {
        frame: PlainFrame::new(headers),
        token: token.clone(),
        open: s.sms.is_some(),
        problem,
        meter: meter.to_string(),
    };
    with_token(status, &page, &token, s.secure_cookies)
}

fn code_page(
    s: &HttpState,
    headers: &HeaderMap,
    status: StatusCode,
    attempt: &str,
    problem: Option<String>,
    username: &str,
) -> Response {
    let token = crate::secrets::new_csrf();
    let page = CodePage {
        frame: PlainFrame::new(headers),
        token: token.clone(),
        attempt: attempt.to_string(),
        problem,
        username: username.to_string(),
    };
    with_token(status, &page, &token, s.secure_cookies)
}

/// A form's fields when its token matches the cookie; `None` otherwise (or when unreadable).
async fn form_fields(request: Request) -> (HeaderMap, String, Option<HashMap<String, String>>) {
    let origin = origin_of(&request);
    let headers = request.headers().clone();
    let Ok(body) = axum::body::to_bytes(request.into_body(), FORM_LIMIT).await else {
        return (headers, origin, None);
    };
    let fields: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let expected = cookie(&headers, REGISTER_COOKIE).unwrap_or_default();
    let token = fields.get("token").map(String::as_str).unwrap_or_default();
    let valid = !expected.is_empty() && same(&expected, token);
    (headers, origin, valid.then_some(fields))
}

/// The words of a refused step in the page's language, or `None` for a failure of the service.
fn problem_words(headers: &HeaderMap, err: &ControlError) -> Option<String> {
    let lang = PlainFrame::new(headers).lang;
    match err {
        ControlError::Registration(refusal) => Some(lang.pick(refusal.names()).to_string()),
        ControlError::Invalid(_) | ControlError::Conflict(_) => Some(err.to_string()),
        _ => None,
    }
}

/// `GET /register`.
pub async fn form(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    ask_page(&s, &headers, StatusCode::OK, None, "")
}

/// `POST /register`: records the ask and shows the code form (the same page whether or not a code
/// was sent).
pub async fn ask(State(s): State<HttpState>, request: Request) -> Response {
    let (headers, origin, fields) = form_fields(request).await;
    let Some(sms) = s.sms.clone() else {
        return ask_page(&s, &headers, StatusCode::NOT_FOUND, None, "");
    };
    let Some(fields) = fields else {
        return ask_page(&s, &headers, StatusCode::FORBIDDEN, None, "");
    };
    let meter = fields.get("meter").cloned().unwrap_or_default();
    let phone = fields.get("phone").cloned().unwrap_or_default();
    let lang = match PlainFrame::new(&headers).lang {
        super::Lang::Zh => crate::domain::notice::Language::Zh,
        super::Lang::En => crate::domain::notice::Language::En,
    };
    match s
        .control
        .ask_registration_code(&meter, &phone, &origin, lang, &sms)
        .await
    {
        Ok(attempt) => code_page(&s, &headers, StatusCode::OK, &attempt, None, ""),
        Err(err) => match problem_words(&headers, &err) {
            Some(words) => ask_page(
                &s,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(words),
                &meter,
            ),
            None => ApiError(err).into_response(),
        },
    }
}

/// `POST /register/code`: the code, username and password; on success signs the new customer in
/// and goes to their page.
pub async fn register(State(s): State<HttpState>, request: Request) -> Response {
    let (headers, origin, fields) = form_fields(request).await;
    if s.sms.is_none() {
        return ask_page(&s, &headers, StatusCode::NOT_FOUND, None, "");
    }
    let Some(fields) = fields else {
        return ask_page(&s, &headers, StatusCode::FORBIDDEN, None, "");
    };
    let field = |name: &str| fields.get(name).cloned().unwrap_or_default();
    let (attempt, username) = (field("attempt"), field("username"));
    if field("password") != field("password2") {
        let words = PlainFrame::new(&headers).t.register.passwords_differ;
        return code_page(
            &s,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            &attempt,
            Some(words.to_string()),
            &username,
        );
    }
    let password = Password::new(field("password"));
    match s
        .control
        .register_with_code(&attempt, &field("code"), &username, &password, &origin)
        .await
    {
        Ok((_, issued)) => {
            let mut response = Redirect::to("/my").into_response();
            for set in [
                session_cookie(&issued.secret, s.secure_cookies),
                format!("{REGISTER_COOKIE}=; HttpOnly; SameSite=Strict; Path=/register; Max-Age=0"),
            ] {
                if let Ok(value) = set.parse() {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            response
        }
        Err(err) => match problem_words(&headers, &err) {
            Some(words) => code_page(
                &s,
                &headers,
                StatusCode::UNPROCESSABLE_ENTITY,
                &attempt,
                Some(words),
                &username,
            ),
            None => ApiError(err).into_response(),
        },
    }
}
