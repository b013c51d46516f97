//! The HTTP API: accounts, money, commands, keep-power, alarms, health, metrics and the OpenAPI
//! document (`/api/openapi.json`). Errors map to status codes by their kind, in one place.

mod error;
mod handlers;

use std::sync::Arc;

use axum::routing::{delete, get, post, put};
use axum::Router;
use ingest::supervise::Supervisor;

use crate::app::Control;

pub use error::ApiError;

/// Renders the process's Prometheus metrics.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// What every handler shares.
#[derive(Clone)]
pub struct HttpState {
    /// The use cases.
    pub control: Control,
    /// The process's background loops.
    pub supervisor: Supervisor,
    /// Prometheus text, if a recorder is installed.
    pub metrics: Option<MetricsRender>,
}

/// The OpenAPI 3 document describing every route.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every route as (method, path), as the router and the OpenAPI document have them.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/api/openapi.json"),
    ("get", "/api/summary"),
    ("get", "/api/accounts"),
    ("post", "/api/accounts"),
    ("get", "/api/accounts/{meter}"),
    ("put", "/api/accounts/{meter}/terms"),
    ("get", "/api/accounts/{meter}/ledger"),
    ("post", "/api/accounts/{meter}/payments"),
    ("post", "/api/accounts/{meter}/refunds"),
    ("post", "/api/accounts/{meter}/corrections"),
    ("get", "/api/accounts/{meter}/commands"),
    ("post", "/api/accounts/{meter}/commands"),
    ("get", "/api/accounts/{meter}/exemptions"),
    ("post", "/api/accounts/{meter}/exemptions"),
    ("delete", "/api/accounts/{meter}/exemptions/{id}"),
    ("get", "/api/accounts/{meter}/notices"),
    ("get", "/api/commands/{id}"),
    ("post", "/api/commands/{id}/cancel"),
    ("get", "/api/alarms"),
];

/// The router.
pub fn router(state: HttpState) -> Router {
    use handlers as h;
    Router::new()
        .route("/healthz", get(h::healthz))
        .route("/metrics", get(h::metrics))
        .route("/api/openapi.json", get(h::openapi))
        .route("/api/summary", get(h::summary))
        .route("/api/accounts", get(h::list_accounts).post(h::open_account))
        .route("/api/accounts/{meter}", get(h::get_account))
        .route("/api/accounts/{meter}/terms", put(h::set_terms))
        .route("/api/accounts/{meter}/ledger", get(h::ledger))
        .route("/api/accounts/{meter}/payments", post(h::pay))
        .route("/api/accounts/{meter}/refunds", post(h::refund))
        .route("/api/accounts/{meter}/corrections", post(h::correct))
        .route(
            "/api/accounts/{meter}/commands",
            get(h::commands_of).post(h::request_command),
        )
        .route(
            "/api/accounts/{meter}/exemptions",
            get(h::exemptions).post(h::add_exemption),
        )
        .route(
            "/api/accounts/{meter}/exemptions/{id}",
            delete(h::revoke_exemption),
        )
        .route("/api/accounts/{meter}/notices", get(h::notices))
        .route("/api/commands/{id}", get(h::command))
        .route("/api/commands/{id}/cancel", post(h::cancel_command))
        .route("/api/alarms", get(h::alarms))
        .with_state(state)
}
