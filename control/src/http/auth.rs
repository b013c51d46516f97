//! Every request passes here after routing: the route's right is looked up in the service's route
//! table ([`super::ROUTES`] for the control API; the collector's and sink's tables for theirs: one
//! [`Guard`] serves every HTTP service of the system; a route missing from its table is refused), the credential is checked (a bearer token, or a
//! session cookie whose unsafe requests must echo the session's CSRF token), the role must grant the
//! right, and a customer only reaches their own meters (another meter answers 404, as if it did not
//! exist). The principal is handed to the handler as a request extension.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, MatchedPath, RawPathParams, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::ROUTES;
use crate::app::users::Principal;
use crate::app::Control;
use crate::domain::access::Right;
use crate::store::users::CredentialKind;
use crate::ControlError;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "meterlake_session";
/// The header a session's unsafe requests carry their CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A service's routes as (method, path, the right it needs).
pub type RouteTable = &'static [(&'static str, &'static str, Right)];

/// Who a guard answers: programs (JSON refusals, the CSRF token in a header) or browsers on the
/// pages (a missing session goes to the login form, a refusal is a page, the CSRF token comes in the
/// form's `csrf` field or the header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// The JSON API.
    Api,
    /// The server-rendered pages.
    Pages,
}

/// The authorisation layer of one HTTP service: the user store's use cases and the service's routes.
#[derive(Clone)]
pub struct Guard {
    control: Control,
    routes: RouteTable,
    audience: Audience,
}

/// The largest form body whose CSRF field a page guard reads.
const FORM_LIMIT: usize = 256 * 1024;

impl Guard {
    /// A guard checking credentials with `control` against `routes`.
    pub fn new(control: Control, routes: RouteTable) -> Self {
        Self {
            control,
            routes,
            audience: Audience::Api,
        }
    }

    /// A guard for pages (see [`Audience::Pages`]).
    pub fn pages(control: Control, routes: RouteTable) -> Self {
        Self {
            control,
            routes,
            audience: Audience::Pages,
        }
    }

    /// Puts every route of `router` behind the guard (routes added later are not covered).
    pub fn protect<S: Clone + Send + Sync + 'static>(
        self,
        router: axum::Router<S>,
    ) -> axum::Router<S> {
        router.route_layer(axum::middleware::from_fn_with_state(self, authorize))
    }
}

/// The right a control API route needs, from [`ROUTES`].
pub fn right_of(method: &Method, path: &str) -> Option<Right> {
    right_in(ROUTES, method, path)
}

/// The right a route needs, from `routes`.
pub fn right_in(routes: RouteTable, method: &Method, path: &str) -> Option<Right> {
    routes
        .iter()
        .find(|(m, p, _)| m.eq_ignore_ascii_case(method.as_str()) && *p == path)
        .map(|(_, _, right)| *right)
}

/// The secret a request presents: `Authorization: Bearer …`, else the session cookie.
pub fn presented_secret(headers: &HeaderMap) -> Option<(String, CredentialKind)> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().ok()?;
        let token = text
            .strip_prefix("Bearer ")
            .or_else(|| text.strip_prefix("bearer "))?;
        return Some((token.trim().to_string(), CredentialKind::Token));
    }
    cookie(headers, SESSION_COOKIE).map(|value| (value, CredentialKind::Session))
}

/// The value of cookie `name` in a request's headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.to_string())
}

/// The client's address as the audit trail records it.
pub fn origin_of(request: &Request) -> String {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn refuse(status: StatusCode, kind: &str, message: &str) -> Response {
    let mut response = (
        status,
        Json(serde_json::json!({ "error": message, "kind": kind })),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer realm=\"meterlake\""),
        );
    }
    response
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Compares two strings in time that depends only on their lengths.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A browser without a valid session goes to the login form, which comes back here.
fn to_login(request: &Request) -> Response {
    let here = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let back = if *request.method() == Method::GET {
        here
    } else {
        "/"
    };
    let target = format!(
        "/login?next={}",
        url::form_urlencoded::byte_serialize(back.as_bytes()).collect::<String>()
    );
    axum::response::Redirect::to(&target).into_response()
}

/// The `csrf` field of a form body, and the request rebuilt around the body read.
async fn form_csrf(request: Request) -> Result<(Option<String>, Request), Response> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, FORM_LIMIT).await.map_err(|_| {
        refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid",
            "the form is too large",
        )
    })?;
    let token = url::form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == "csrf")
        .map(|(_, value)| value.into_owned());
    Ok((
        token,
        Request::from_parts(parts, axum::body::Body::from(bytes)),
    ))
}

/// The middleware.
pub async fn authorize(
    State(guard): State<Guard>,
    matched: Option<MatchedPath>,
    params: RawPathParams,
    mut request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let Some(right) = matched
        .as_ref()
        .and_then(|m| right_in(guard.routes, &method, m.as_str()))
    else {
        return refuse(StatusCode::FORBIDDEN, "forbidden", "no such right");
    };
    let pages = guard.audience == Audience::Pages;
    let Some((secret, presented_as)) = presented_secret(request.headers()) else {
        if pages {
            return to_login(&request);
        }
        return refuse(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "credentials required: an API token (Authorization: Bearer) or a session",
        );
    };
    let principal = match guard.control.authenticate(&secret).await {
        Ok(principal) if principal.kind == presented_as => principal,
        Ok(_) | Err(ControlError::Unauthenticated(_)) => {
            if pages {
                return to_login(&request);
            }
            return refuse(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "invalid or expired credentials",
            );
        }
        Err(err) => return super::ApiError(err).into_response(),
    };
    let origin = origin_of(&request);
    if principal.kind == CredentialKind::Session && is_unsafe(&method) {
        let header = request
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let echoed = match header {
            Some(token) => token,
            None if pages => {
                let (token, rebuilt) = match form_csrf(request).await {
                    Ok(found) => found,
                    Err(refusal) => return refusal,
                };
                request = rebuilt;
                token.unwrap_or_default()
            }
            None => String::new(),
        };
        let expected = principal.csrf.as_deref().unwrap_or_default();
        if expected.is_empty() || !same(&echoed, expected) {
            return refuse(
                StatusCode::FORBIDDEN,
                "forbidden",
                "a session's unsafe request must carry its CSRF token in X-CSRF-Token",
            );
        }
    }
    let what = format!(
        "{} {}",
        method,
        matched
            .as_ref()
            .map(MatchedPath::as_str)
            .unwrap_or_default()
    );
    if !principal.role.allows(right) {
        if let Err(err) = guard
            .control
            .access_denied(&principal, &origin, &what)
            .await
        {
            return super::ApiError(err).into_response();
        }
        if pages {
            return super::pages::forbidden(request.headers());
        }
        return refuse(
            StatusCode::FORBIDDEN,
            "forbidden",
            &format!("role {} may not {what}", principal.role),
        );
    }
    let foreign_meter = params
        .iter()
        .find(|(name, _)| *name == "meter")
        .map(|(_, meter)| meter.to_string())
        .filter(|meter| !principal.sees_meter(meter));
    if let Some(meter) = foreign_meter {
        let err = ControlError::no_account(&meter);
        if pages {
            return super::pages::failed(request.headers(), err, "/my");
        }
        return super::ApiError(err).into_response();
    }
    request.extensions_mut().insert(principal);
    request.extensions_mut().insert(Origin(origin));
    next.run(request).await
}

/// The client's address, for handlers that audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin(pub String);

/// The authenticated caller of a handler (put in place by [`authorize`]).
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who.
    pub principal: Principal,
    /// From where.
    pub origin: String,
}

impl Caller {
    /// The caller as the audit trail's actor.
    pub fn actor(&self) -> crate::app::audit::Actor {
        self.principal.actor(&self.origin)
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = super::ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| {
                super::ApiError(ControlError::Unauthenticated("credentials required".into()))
            })?;
        let origin = parts
            .extensions
            .get::<Origin>()
            .map(|o| o.0.clone())
            .unwrap_or_else(|| "unknown".into());
        Ok(Self { principal, origin })
    }
}
