//! The HTTP API: accounts, money, commands, keep-power, alarms, health, metrics and the OpenAPI
//! document (`/api/openapi.json`), and the staff pages ([`pages`]). Errors map to status codes by
//! their kind, in one place.

mod alarms;
pub mod auth;
mod customers;
mod error;
mod handlers;
mod interval_edits;
pub mod pages;
mod security;
pub mod serve;
pub(crate) mod takings;
mod tickets;

use std::sync::Arc;

use axum::routing::{delete, get, post, put};
use axum::Router;
use ingest::supervise::Supervisor;

use crate::app::Control;
use crate::domain::access::Right;

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
    /// Session cookies carry `Secure` (the listener speaks TLS).
    pub secure_cookies: bool,
    /// The lake, for the usage charts of the pages (`None`: the pages show no usage).
    pub lake: Option<crate::SessionOpener>,
    /// The online payment provider customers pay through.
    pub provider: Arc<dyn crate::provider::PaymentProvider>,
    /// The simulated provider, when it is the one (its checkout page and callbacks are served here).
    pub simulated: Option<Arc<crate::provider::SimulatedProvider>>,
    /// Whether the command relay's producer reaches Kafka (`None`: the service runs without Kafka).
    pub kafka: Option<ingest::kafka::KafkaLink>,
    /// Where customers' registration codes go (the SMS provider's webhook; `None`: customers cannot
    /// register themselves).
    pub sms: Option<Arc<dyn crate::notify::Channel>>,
}

/// The OpenAPI 3 document describing every route.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every authenticated route as (method, path, the right it needs), as the router and the OpenAPI
/// document have them. The authorisation layer refuses any route missing here.
pub const ROUTES: auth::RouteTable = &[
    ("get", "/healthz", Right::Health),
    ("get", "/metrics", Right::Metrics),
    ("get", "/api/openapi.json", Right::Docs),
    ("get", "/api/me", Right::Docs),
    ("post", "/api/logout", Right::Docs),
    ("get", "/api/summary", Right::Summary),
    ("get", "/api/accounts", Right::ListAccounts),
    ("post", "/api/accounts", Right::OpenAccount),
    ("get", "/api/accounts/{meter}", Right::ReadAccount),
    ("put", "/api/accounts/{meter}/terms", Right::SetTerms),
    ("get", "/api/accounts/{meter}/ledger", Right::ReadAccount),
    ("get", "/api/accounts/{meter}/customer", Right::ReadAccount),
    ("put", "/api/accounts/{meter}/customer", Right::OpenAccount),
    ("get", "/api/customers/search", Right::ListAccounts),
    ("post", "/api/accounts/{meter}/payments", Right::Pay),
    ("post", "/api/accounts/{meter}/refunds", Right::Refund),
    ("post", "/api/accounts/{meter}/corrections", Right::Correct),
    ("get", "/api/accounts/{meter}/commands", Right::ReadAccount),
    (
        "post",
        "/api/accounts/{meter}/commands",
        Right::RemoteControl,
    ),
    (
        "get",
        "/api/accounts/{meter}/exemptions",
        Right::ReadAccount,
    ),
    ("post", "/api/accounts/{meter}/exemptions", Right::KeepPower),
    (
        "delete",
        "/api/accounts/{meter}/exemptions/{id}",
        Right::KeepPower,
    ),
    ("get", "/api/accounts/{meter}/notices", Right::ReadAccount),
    ("get", "/api/commands/{id}", Right::ReadCommands),
    ("post", "/api/commands/{id}/cancel", Right::RemoteControl),
    ("get", "/api/alarms", Right::ReadAlarms),
    ("post", "/api/alarms/{id}/ack", Right::HandleAlarms),
    ("post", "/api/alarms/{id}/clear", Right::HandleAlarms),
    ("get", "/api/meters/{meter}/events", Right::ReadAlarms),
    (
        "get",
        "/api/meters/{meter}/interval-edits",
        Right::ReadAccount,
    ),
    (
        "post",
        "/api/meters/{meter}/interval-edits",
        Right::EditIntervals,
    ),
    ("get", "/api/users", Right::ManageUsers),
    ("post", "/api/users", Right::ManageUsers),
    ("put", "/api/users/{name}", Right::ManageUsers),
    ("post", "/api/users/{name}/password", Right::ManageUsers),
    ("get", "/api/users/{name}/tokens", Right::ManageUsers),
    ("post", "/api/users/{name}/tokens", Right::ManageUsers),
    ("delete", "/api/tokens/{id}", Right::ManageUsers),
    ("get", "/api/audit", Right::ReadAudit),
    ("get", "/api/audit/verify", Right::ReadAudit),
    ("get", "/api/security/alarms", Right::ReadAudit),
    (
        "post",
        "/api/security/alarms/{id}/clear",
        Right::ManageUsers,
    ),
    ("get", "/api/takings", Right::ReadTakings),
    ("get", "/api/tickets", Right::HandleTickets),
    ("post", "/api/tickets", Right::HandleTickets),
];

/// The collector's HTTP routes (`meterlake collect`) and the rights they need: its health, its
/// metrics and on-demand reads of a meter on its buses.
pub const COLLECTOR_ROUTES: auth::RouteTable = &[
    ("get", "/healthz", Right::Health),
    ("get", "/metrics", Right::Metrics),
    ("get", "/api/meters/{meter}/read", Right::ReadMeters),
];

/// The sink's HTTP routes (`meterlake sink`) and the rights they need.
pub const SINK_ROUTES: auth::RouteTable = &[
    ("get", "/healthz", Right::Health),
    ("get", "/metrics", Right::Metrics),
];

/// Routes that answer without credentials: only logging in.
pub const PUBLIC_ROUTES: &[(&str, &str)] = &[("post", "/api/login")];

/// The router: every route but [`PUBLIC_ROUTES`] behind [`auth::authorize`].
pub fn router(state: HttpState) -> Router {
    use handlers as h;
    use security as s;
    let protected = Router::new()
        .route("/healthz", get(h::healthz))
        .route("/metrics", get(h::metrics))
        .route("/api/openapi.json", get(h::openapi))
        .route("/api/me", get(s::me))
        .route("/api/logout", post(s::logout))
        .route("/api/summary", get(h::summary))
        .route("/api/accounts", get(h::list_accounts).post(h::open_account))
        .route("/api/accounts/{meter}", get(h::get_account))
        .route("/api/accounts/{meter}/terms", put(h::set_terms))
        .route("/api/accounts/{meter}/ledger", get(h::ledger))
        .route(
            "/api/accounts/{meter}/customer",
            get(customers::get_customer).put(customers::set_customer),
        )
        .route("/api/customers/search", get(customers::search))
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
        .route("/api/alarms", get(alarms::alarms))
        .route("/api/alarms/{id}/ack", post(alarms::acknowledge))
        .route("/api/alarms/{id}/clear", post(alarms::clear))
        .route("/api/meters/{meter}/events", get(alarms::meter_events))
        .route(
            "/api/meters/{meter}/interval-edits",
            get(interval_edits::list).post(interval_edits::edit),
        )
        .route("/api/users", get(s::users).post(s::add_user))
        .route("/api/users/{name}", put(s::change_user))
        .route("/api/users/{name}/password", post(s::reset_password))
        .route(
            "/api/users/{name}/tokens",
            get(s::tokens).post(s::issue_token),
        )
        .route("/api/tokens/{id}", delete(s::revoke_token))
        .route("/api/audit", get(s::audit))
        .route("/api/audit/verify", get(s::verify_audit))
        .route("/api/security/alarms", get(s::security_alarms))
        .route(
            "/api/security/alarms/{id}/clear",
            post(s::clear_security_alarm),
        )
        .route("/api/takings", get(takings::takings))
        .route("/api/tickets", get(tickets::queue).post(tickets::take_down));
    let protected = auth::Guard::new(state.control.clone(), ROUTES).protect(protected);
    Router::new()
        .route("/api/login", post(s::login))
        .merge(protected)
        .merge(pages::router(&state))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_describes_exactly_the_routes() {
        let spec: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        let mut described: Vec<(String, String)> = spec["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, ops)| {
                ops.as_object()
                    .unwrap()
                    .keys()
                    .map(move |method| (method.clone(), path.clone()))
            })
            .collect();
        let mut routed: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p, _)| (m.to_string(), p.to_string()))
            .chain(
                PUBLIC_ROUTES
                    .iter()
                    .map(|(m, p)| (m.to_string(), p.to_string())),
            )
            .collect();
        described.sort();
        routed.sort();
        assert_eq!(described, routed);
    }
}
