//! The collector's and the sink's HTTP endpoints answer only the control service's users with the right
//! role: every route in their route tables is tried with no credentials (401), a made-up token (401), a
//! role without the right (403, recorded in the audit trail) and a role with it (200). On-demand reads
//! refuse an over-long identifier list before touching the bus.

mod http_support;

use chrono::{DateTime, Utc};
use control::domain::access::{Role, ROLES};
use control::http::auth::RouteTable;
use control::http::{COLLECTOR_ROUTES, SINK_ROUTES};
use http_support::request;
use meterlake::{Config, Pipeline, PipelineOptions};
use rust_decimal_macros::dec;

const METER: &str = "000000001001";

/// (status, body) of one request that must be answered.
async fn status(port: u16, token: Option<&str>, method: &str, path: &str) -> (u16, String) {
    request(port, token, method, path, "")
        .await
        .expect("the service answers")
}

/// Tries every route of `routes` on `port`; returns how many requests were refused with 403.
async fn try_every_route(p: &Pipeline, port: u16, routes: RouteTable) -> usize {
    let mut forbidden = 0;
    for (method, path, right) in routes {
        let path = path.replace("{meter}", METER);
        let method = method.to_uppercase();
        let (code, body) = status(port, None, &method, &path).await;
        assert_eq!(code, 401, "{method} {path} without credentials: {body}");
        let (code, body) = status(port, Some("mlt_made-up-token"), &method, &path).await;
        assert_eq!(code, 401, "{method} {path} with a made-up token: {body}");
        for role in ROLES {
            if role == Role::Customer {
                continue; // the demo has no customer user; customers lack every right here
            }
            let (code, body) = status(port, Some(p.token(role)), &method, &path).await;
            if role.allows(*right) {
                assert_eq!(code, 200, "{method} {path} as {role}: {body}");
            } else {
                assert_eq!(code, 403, "{method} {path} as {role}: {body}");
                forbidden += 1;
            }
        }
    }
    forbidden
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_and_sink_routes_are_authorised_like_the_control_api() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.lake.location = dir.path().join("lake").display().to_string();
    config.control.database = format!("sqlite://{}/control.db", dir.path().display());
    config.control.listen = "127.0.0.1:0".into();
    config.collector.spool_dir = dir.path().join("spool").display().to_string();
    config.control.audit_keys_dir = dir.path().join("keys/audit").display().to_string();
    config.control.command_keys_dir = dir.path().join("keys/commands").display().to_string();
    let start: DateTime<Utc> = "2026-09-30T16:00:00Z".parse().unwrap();
    let mut p = Pipeline::start(PipelineOptions {
        config,
        meters: 2,
        meters_per_bus: 2,
        constant_watts: Some(1000.0),
        start,
        opening_balance: |_| dec!(100),
        seed: 1,
        faults: Default::default(),
    })
    .await
    .unwrap();
    p.collect(start).await.unwrap();
    let audit_before = p.control.audit_records(0, 100_000).await.unwrap().len();

    let refused = try_every_route(&p, p.collector_http.port(), COLLECTOR_ROUTES).await
        + try_every_route(&p, p.sink_http.port(), SINK_ROUTES).await;
    assert!(refused >= 5, "some roles lack some rights: {refused}");

    // Each refusal is in the audit trail, from the guarded services as from the control API.
    let audit_after = p.control.audit_records(0, 100_000).await.unwrap().len();
    assert_eq!(audit_after - audit_before, refused);

    // An on-demand read answers the meter's registers; a list over the limit is refused unread.
    let maintenance = p.token(Role::Maintenance).to_string();
    let port = p.collector_http.port();
    let body = http_support::get_ok(
        port,
        &maintenance,
        &format!("/api/meters/{METER}/read?di=00010000"),
    )
    .await;
    assert!(
        body.contains("\"di\":\"00010000\"") && body.contains("\"value\":\""),
        "{body}"
    );
    let many = vec!["00000000"; 17].join(",");
    let (code, body) = request(
        port,
        Some(&maintenance),
        "GET",
        &format!("/api/meters/{METER}/read?di={many}"),
        "",
    )
    .await
    .unwrap();
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("at most 16"), "{body}");
    let (code, _) = request(
        port,
        Some(&maintenance),
        "GET",
        "/api/meters/not-a-meter/read",
        "",
    )
    .await
    .unwrap();
    assert_eq!(code, 422);
    p.shutdown().await.unwrap();
}
