//! Server-rendered pages for staff (askama templates, compile-checked and auto-escaped; no page needs
//! JavaScript). They sit behind the same [`super::auth::Guard`] as the API, in its page mode: a
//! missing or expired session is sent to the login page, a refused right gets an HTML page, and an
//! unsafe request carries the session's CSRF token in the form's `csrf` field.

mod account;
mod account_forms;
mod accounts;
mod admin;
mod alarms;
mod bill_view;
mod checkout;
mod customer;
mod dashboard;
mod form;
mod labels;
mod locale;
mod login;
mod register;
mod remote;
mod reports;
mod security_alarms;
mod takings;
mod texts;
mod tickets;
mod usage_view;

use askama::Template;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub(crate) use super::auth::cookie;
use super::auth::{self, Caller};
use super::{ApiError, HttpState};
use crate::domain::access::{Right, Role};
use crate::ControlError;
pub(crate) use locale::Lang;

/// Every page behind a session, as (method, path, the right it needs).
pub const PAGE_ROUTES: auth::RouteTable = &[
    ("get", "/", Right::Summary),
    ("post", "/logout", Right::Docs),
    ("get", "/accounts", Right::ListAccounts),
    ("get", "/accounts/{meter}", Right::ReadAccount),
    ("post", "/accounts/{meter}/pay", Right::Pay),
    ("post", "/accounts/{meter}/refund", Right::Refund),
    ("post", "/accounts/{meter}/command", Right::RemoteControl),
    ("post", "/accounts/{meter}/keep-power", Right::KeepPower),
    (
        "post",
        "/accounts/{meter}/keep-power/{id}/revoke",
        Right::KeepPower,
    ),
    ("get", "/alarms", Right::ReadAlarms),
    ("post", "/alarms/{id}/ack", Right::HandleAlarms),
    ("post", "/alarms/{id}/clear", Right::HandleAlarms),
    ("get", "/my", Right::SelfService),
    ("get", "/my/{meter}", Right::SelfService),
    ("post", "/my/{meter}/pay", Right::SelfService),
    ("get", "/my/{meter}/notifications", Right::SelfService),
    ("post", "/my/{meter}/notifications", Right::SelfService),
    ("get", "/my/{meter}/tickets", Right::SelfService),
    ("post", "/my/{meter}/tickets", Right::SelfService),
    ("get", "/my/{meter}/tickets/{id}", Right::SelfService),
    ("post", "/my/{meter}/tickets/{id}", Right::SelfService),
    ("get", "/pay/sim/{id}", Right::SelfService),
    ("post", "/pay/sim/{id}", Right::SelfService),
    ("get", "/tickets", Right::HandleTickets),
    ("post", "/tickets", Right::HandleTickets),
    ("get", "/tickets/{id}", Right::HandleTickets),
    ("post", "/tickets/{id}/reply", Right::HandleTickets),
    ("get", "/reports", Right::Sql),
    ("get", "/reports/load", Right::Sql),
    ("get", "/reports/load.csv", Right::Sql),
    ("get", "/audit", Right::ReadAudit),
    ("post", "/security-alarms/{id}/clear", Right::ManageUsers),
    ("get", "/takings", Right::ReadTakings),
    ("get", "/users", Right::ManageUsers),
    ("post", "/users", Right::ManageUsers),
    ("post", "/users/{name}", Right::ManageUsers),
];

/// Pages that answer without a session: the login form, customers' self-registration, the language
/// switch and the payment provider's callback.
pub const PUBLIC_PAGES: &[(&str, &str)] = &[
    ("get", "/login"),
    ("post", "/login"),
    ("get", "/register"),
    ("post", "/register"),
    ("post", "/register/code"),
    ("get", "/lang/{code}"),
    ("post", "/pay/callback"),
];

/// The pages' router (merged into the service's).
pub fn router(state: &HttpState) -> Router<HttpState> {
    let protected = Router::new()
        .route("/", get(dashboard::page))
        .route("/logout", post(login::logout))
        .route("/accounts", get(accounts::page))
        .route("/accounts/{meter}", get(account::page))
        .route("/accounts/{meter}/pay", post(account_forms::pay))
        .route("/accounts/{meter}/refund", post(account_forms::refund))
        .route("/accounts/{meter}/command", post(remote::command))
        .route("/accounts/{meter}/keep-power", post(remote::keep_power))
        .route(
            "/accounts/{meter}/keep-power/{id}/revoke",
            post(remote::revoke_keep_power),
        )
        .route("/alarms", get(alarms::page))
        .route("/alarms/{id}/ack", post(alarms::acknowledge))
        .route("/alarms/{id}/clear", post(alarms::clear))
        .route("/my", get(customer::meters))
        .route("/my/{meter}", get(customer::page))
        .route("/my/{meter}/pay", post(customer::pay))
        .route(
            "/my/{meter}/notifications",
            get(customer::settings::page).post(customer::settings::save),
        )
        .route(
            "/my/{meter}/tickets",
            get(tickets::mine).post(tickets::open),
        )
        .route(
            "/my/{meter}/tickets/{id}",
            get(tickets::my_thread).post(tickets::my_reply),
        )
        .route("/pay/sim/{id}", get(checkout::page).post(checkout::decide))
        .route("/tickets", get(tickets::queue).post(tickets::take_down))
        .route("/tickets/{id}", get(tickets::staff_thread))
        .route("/tickets/{id}/reply", post(tickets::staff_reply))
        .route("/reports", get(reports::page))
        .route("/reports/load", get(reports::page))
        .route("/reports/load.csv", get(reports::csv))
        .route("/audit", get(admin::audit))
        .route("/security-alarms/{id}/clear", post(security_alarms::clear))
        .route("/takings", get(takings::page))
        .route("/users", get(admin::users).post(admin::add_user))
        .route("/users/{name}", post(admin::change_user));
    let protected = auth::Guard::pages(state.control.clone(), PAGE_ROUTES).protect(protected);
    Router::new()
        .route("/login", get(login::form).post(login::submit))
        .route("/register", get(register::form).post(register::ask))
        .route("/register/code", post(register::register))
        .route("/lang/{code}", get(login::switch_language))
        .route("/pay/callback", post(checkout::callback))
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
    pub t: &'static texts::Texts,
    /// The signed-in user.
    pub username: String,
    /// Their role, as named in the API.
    pub role: String,
    /// The session's CSRF token, echoed by every form.
    pub csrf: String,
    /// The current path (for the language switch to come back to).
    pub path: String,
    /// The pages the role may open, for the navigation bar.
    pub nav: Vec<NavLink>,
    /// The caller's role (for what a page offers).
    pub rights: Role,
    /// The utility's zone, in which instants are shown.
    pub zone: chrono_tz::Tz,
    /// The product's name in the header (the customers' pages have their own).
    pub product: &'static str,
}

/// One link of the navigation bar.
pub(crate) struct NavLink {
    /// Where.
    pub href: String,
    /// Its text.
    pub text: &'static str,
}

/// The navigation bar's pages and the rights they need.
fn nav_for(role: Role, t: &'static texts::Texts) -> Vec<NavLink> {
    [
        ("/", t.dashboard, Right::Summary),
        ("/accounts", t.account.accounts, Right::ListAccounts),
        ("/alarms", t.alarm.queue, Right::ReadAlarms),
        ("/tickets", t.my.customer_feedback, Right::HandleTickets),
        ("/reports", t.report.title, Right::Sql),
        ("/takings", t.report.takings, Right::ReadTakings),
        ("/audit", t.report.audit, Right::ReadAudit),
        ("/users", t.report.users, Right::ManageUsers),
    ]
    .into_iter()
    .filter(|(_, _, right)| role.allows(*right))
    .map(|(href, text, _)| NavLink {
        href: href.to_string(),
        text,
    })
    .collect()
}

impl Frame {
    /// The frame for `caller` on `path`, in the language `headers` ask for.
    pub fn new(s: &HttpState, caller: &Caller, headers: &HeaderMap, path: &str) -> Self {
        let lang = Lang::of(headers);
        let role = caller.principal.role;
        Self {
            lang,
            t: lang.texts(),
            username: caller.principal.username.clone(),
            role: role.to_string(),
            csrf: caller.principal.csrf.clone().unwrap_or_default(),
            path: path.to_string(),
            nav: nav_for(role, lang.texts()),
            rights: role,
            zone: s.control.rules().zone,
            product: if role == Role::Customer {
                lang.texts().product_customer
            } else {
                lang.texts().product
            },
        }
    }

    /// An instant as the page's language writes it, in the utility's zone.
    pub fn at(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        self.lang.instant(&at.with_timezone(&self.zone))
    }

    /// Whether the caller's role grants `right` (a page shows only the forms its caller may send).
    pub fn may(&self, right: Right) -> bool {
        self.rights.allows(right)
    }
}

/// The frame of a page shown without a session: its language.
pub(crate) struct PlainFrame {
    /// The page's language.
    pub lang: Lang,
    /// Its texts.
    pub t: &'static texts::Texts,
    /// The product's name in the header.
    pub product: &'static str,
}

impl PlainFrame {
    /// The frame in the language `headers` ask for.
    pub fn new(headers: &HeaderMap) -> Self {
        let lang = Lang::of(headers);
        Self {
            lang,
            t: lang.texts(),
            product: lang.texts().product,
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

/// The page of a failed request.
#[derive(Template)]
#[template(path = "error.html")]
struct Failure {
    frame: PlainFrame,
    message: String,
    back: String,
}

/// An error as a page, in the language `headers` ask for, with a link `back` (a local path).
pub(crate) fn failed(headers: &HeaderMap, err: ControlError, back: &str) -> Response {
    let error = ApiError(err);
    let (status, _) = error.status();
    let page = Failure {
        frame: PlainFrame::new(headers),
        message: error.public_message(),
        back: local_path(Some(back)),
    };
    render(status, &page)
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
