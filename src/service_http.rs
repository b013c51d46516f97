//! The HTTP endpoints of the collector (`meterlake collect`) and the sink (`meterlake sink`): health,
//! Prometheus metrics and the collector's on-demand reads. Every route sits behind the control
//! service's [`Guard`] with the route tables [`COLLECTOR_ROUTES`] and [`SINK_ROUTES`], so the same
//! users, tokens and roles reach them as reach the control API.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use control::http::auth::Guard;
use control::http::{MetricsRender, COLLECTOR_ROUTES, SINK_ROUTES};
use control::Control;
use ingest::collector::Collector;
use ingest::dlt645::{Address, DataId};
use ingest::sink::{SinkFault, SinkStats};
use ingest::supervise::Supervisor;

/// What the collector's handlers share.
#[derive(Clone)]
pub struct CollectorHttp {
    /// The collector.
    pub collector: Arc<Collector>,
    /// Its background loops.
    pub supervisor: Supervisor,
    /// Prometheus text, if a recorder is installed.
    pub metrics: Option<MetricsRender>,
}

/// The collector's router, every route behind `control`'s credentials.
pub fn collector_router(state: CollectorHttp, control: Control) -> Router {
    let routes = Router::new()
        .route("/metrics", get(collector_metrics))
        .route("/healthz", get(collector_health))
        .route("/api/meters/{meter}/read", get(read_meter));
    Guard::new(control, COLLECTOR_ROUTES)
        .protect(routes)
        .with_state(state)
}

fn render(metrics: Option<&MetricsRender>) -> String {
    metrics.map(|render| render()).unwrap_or_default()
}

async fn collector_metrics(State(state): State<CollectorHttp>) -> String {
    // Health sets the fault gauges that depend on time (a batch waiting on Kafka too long).
    let _ = state.collector.health().await;
    render(state.metrics.as_ref())
}

/// The collector's health document plus each background loop's state; 503 while a loop restarts or
/// readings stop moving (Kafka unreachable, the spool refusing appends).
async fn collector_health(State(state): State<CollectorHttp>) -> Response {
    match state.collector.health().await {
        Ok(health) => {
            let stopped = health.faults.iter().any(|f| f.stops_work());
            let mut document = serde_json::to_value(health).unwrap_or_default();
            document["loops"] = serde_json::to_value(state.supervisor.health()).unwrap_or_default();
            let status = if state.supervisor.healthy() && !stopped {
                StatusCode::OK
            } else {
                document["status"] = "degraded".into();
                StatusCode::SERVICE_UNAVAILABLE
            };
            (status, Json(document)).into_response()
        }
        Err(err) => (StatusCode::SERVICE_UNAVAILABLE, err.to_string()).into_response(),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadQuery {
    /// Comma-separated data identifiers; default: the scheduled set.
    di: Option<String>,
}

fn unprocessable(message: String) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(serde_json::json!({ "error": message, "kind": "invalid" })),
    )
        .into_response()
}

async fn read_meter(
    State(state): State<CollectorHttp>,
    Path(meter): Path<String>,
    Query(query): Query<ReadQuery>,
) -> Response {
    let address = match meter.parse::<Address>() {
        Ok(address) => address,
        Err(err) => return unprocessable(err.to_string()),
    };
    let dis = match &query.di {
        None => ingest::collector::poll::POLLED_IDS.to_vec(),
        Some(list) => match list
            .split(',')
            .map(str::parse::<DataId>)
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(dis) => dis,
            Err(err) => return unprocessable(err.to_string()),
        },
    };
    match state.collector.read_now(address, &dis).await {
        Ok(items) => Json(items).into_response(),
        Err(err @ ingest::collector::on_demand::OnDemandError::TooMany(_)) => {
            unprocessable(err.to_string())
        }
        Err(err) => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": err.to_string(), "kind": "not_found" })),
        )
            .into_response(),
    }
}

/// What the sink's handlers share.
#[derive(Clone)]
pub struct SinkHttp {
    /// The sink's counters.
    pub stats: Arc<SinkStats>,
    /// The loop running the sink (restarted after a failed commit).
    pub supervisor: Supervisor,
    /// Prometheus text, if a recorder is installed.
    pub metrics: Option<MetricsRender>,
}

/// The sink's router, every route behind `control`'s credentials.
pub fn sink_router(state: SinkHttp, control: Control) -> Router {
    let routes = Router::new()
        .route("/metrics", get(sink_metrics))
        .route("/healthz", get(sink_health));
    Guard::new(control, SINK_ROUTES)
        .protect(routes)
        .with_state(state)
}

/// The sink's counters as name/value pairs (for `/healthz` and `/metrics`).
fn counters(stats: &SinkStats) -> [(&'static str, u64); 8] {
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    [
        ("rows_committed", load(&stats.rows_committed)),
        ("commits", load(&stats.commits)),
        ("dead_letters", load(&stats.dead_letters)),
        ("rows_refused", load(&stats.rows_refused)),
        (
            "duplicate_messages_skipped",
            load(&stats.duplicates_skipped),
        ),
        ("duplicate_rows", load(&stats.duplicate_rows)),
        (
            "rows_dropped_on_rebalance",
            load(&stats.rows_dropped_on_rebalance),
        ),
        ("partitions_assigned", load(&stats.partitions_assigned)),
    ]
}

async fn sink_metrics(State(state): State<SinkHttp>) -> String {
    for (name, value) in counters(&state.stats) {
        if name == "partitions_assigned" {
            metrics::gauge!("meterlake_sink_partitions_assigned").set(value as f64);
        } else {
            metrics::counter!(format!("meterlake_sink_{name}_total")).absolute(value);
        }
    }
    let (_, faults) = sink_faults(&state);
    metrics::gauge!("meterlake_sink_degraded").set(if faults.is_empty() { 0.0 } else { 1.0 });
    let last = state.stats.last_commit_ms.load(Ordering::Relaxed);
    if last > 0 {
        metrics::gauge!("meterlake_sink_last_commit_timestamp_seconds").set(last as f64 / 1000.0);
    }
    render(state.metrics.as_ref())
}

/// The sink's health document and what is wrong now (empty when nothing is).
fn sink_faults(state: &SinkHttp) -> (serde_json::Value, Vec<SinkFault>) {
    let mut document = serde_json::Value::Object(
        counters(&state.stats)
            .into_iter()
            .map(|(name, value)| (name.to_string(), value.into()))
            .collect(),
    );
    let link = state.stats.link.health();
    let faults = SinkFault::current(link.down, state.supervisor.healthy());
    let last = state.stats.last_commit_ms.load(Ordering::Relaxed);
    document["last_commit_at"] = chrono::DateTime::from_timestamp_millis(last)
        .filter(|_| last > 0)
        .map(|t| t.to_rfc3339())
        .into();
    document["kafka"] = serde_json::to_value(link).unwrap_or_default();
    document["loops"] = serde_json::to_value(state.supervisor.health()).unwrap_or_default();
    document["faults"] = serde_json::to_value(&faults).unwrap_or_default();
    (document, faults)
}

/// The sink's counters, Kafka link and loop; 503 while Kafka is unreachable or the sink restarts.
async fn sink_health(State(state): State<SinkHttp>) -> Response {
    let (mut document, faults) = sink_faults(&state);
    let status = if faults.is_empty() {
        document["status"] = "ok".into();
        StatusCode::OK
    } else {
        document["status"] = "degraded".into();
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(document)).into_response()
}
