//! Server-rendered pages for staff (askama templates, compile-checked and auto-escaped; no page needs
//! JavaScript). They sit behind the same [`super::auth::Guard`] as the API, in its page mode: a
//! missing or expired session is sent to the login page, a refused right gets an HTML page, and an
//! unsafe request carries the session's CSRF token in the form's `csrf` field.

mod dashboard;
mod locale;
mod login;

use askama::Template;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub(crate) use super::auth::cookie;
use super::auth::{self, Caller};
use super::HttpState;
use crate::domain::access::Right;
pub(crate) use locale::Lang;

/// Every page behind a session, as (method, path, the right it needs).
pub const PAGE_ROUTES: auth::RouteTable = &[
    ("get", "/", Right::Summary),
    ("post", "/logout", Right::Docs),
];

/// Pages that answer without a session: the login form and the language switch.
pub const PUBLIC_PAGES: &[(&str, &str)] = &[
    ("get", "/login"),
    ("post", "/login"),
    ("get", "/lang/{code}"),
];

/// The pages' router (merged into the service's).
pub fn router(state: &HttpState) -> Router<HttpState> {
    let protected = Router::new()
        .route("/", get(dashboard::page))
        .route("/logout", post(login::logout));
    let protected = auth::Guard::pages(state.control.clone(), PAGE_ROUTES).protect(protected);
    Router::new()
        .route("/login", get(login::form).post(login::submit))
        .route("/lang/{code}", get(login::switch_language))
        .merge(protected)
}

/// A path inside the service to go to after a step, or `/` (never another site: `//host` and
/// absolute URLs are refused).
pub(crate) fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

/// What every staff page's frame shows: language, who is signed in, the CSRF token for its forms.
pub(crate) struct Frame {
    /// The page's language.
    pub lang: Lang,
    /// Its texts.
    pub t: &'static locale::Texts,
    /// The signed-in user.
    pub username: String,
    /// Their role, as named in the API.
    pub role: String,
    /// The session's CSRF token, echoed by every form.
    pub csrf: String,
    /// The current path (for the language switch to come back to).
    pub path: String,
}

impl Frame {
    /// The frame for `caller` on `path`, in the language `headers` ask for.
    pub fn new(caller: &Caller, headers: &HeaderMap, path: &str) -> Self {
        let lang = Lang::of(headers);
        Self {
            lang,
            t: lang.texts(),
            username: caller.principal.username.clone(),
            role: caller.principal.role.to_string(),
            csrf: caller.principal.csrf.clone().unwrap_or_default(),
            path: path.to_string(),
        }
    }
}

/// The frame of a page shown without a session: its language.
pub(crate) struct PlainFrame {
    /// The page's language.
    pub lang: Lang,
    /// Its texts.
    pub t: &'static locale::Texts,
}

impl PlainFrame {
    /// The frame in the language `headers` ask for.
    pub fn new(headers: &HeaderMap) -> Self {
        let lang = Lang::of(headers);
        Self {
            lang,
            t: lang.texts(),
        }
    }
}

/// The page a refused right gets.
#[derive(Template)]
#[template(path = "forbidden.html")]
struct Forbidden {
    frame: PlainFrame,
}

/// A 403 page in the language `headers` ask for.
pub(crate) fn forbidden(headers: &HeaderMap) -> Response {
    let frame = PlainFrame::new(headers);
    render(StatusCode::FORBIDDEN, &Forbidden { frame })
}

/// A rendered template with `status`; a template that fails to render is a logged 500.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, [(header::CACHE_CONTROL, "no-store")], Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "a page failed to render");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(local_path(Some("/accounts?q=1")), "/accounts?q=1");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(Some("/a\r\nSet-Cookie: x=1")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "a=1; meterlake_lang=en; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, "meterlake_lang").as_deref(), Some("en"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
