//! `meterlake sink`: one Kafka → lake sink process. Run several with the same group to spread the
//! readings topic's partitions; each serves `/metrics` (Prometheus) and `/healthz`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::{bail, Context};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use ingest::kafka::Topics;
use ingest::sink::{Sink, SinkStats};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use store::{Lake, LakeLocation};
use tokio::sync::watch;

use meterlake::Config;

/// Options of `meterlake sink`.
#[derive(Debug, clap::Args)]
pub struct SinkArgs {
    /// Kafka bootstrap servers (default: `kafka.brokers`).
    #[arg(long)]
    brokers: Option<String>,
}

#[derive(Clone)]
struct AppState {
    stats: Arc<SinkStats>,
    prometheus: PrometheusHandle,
}

/// Runs the sink until Ctrl-C or SIGTERM, then commits what it holds.
pub async fn run(config: Config, args: SinkArgs) -> anyhow::Result<()> {
    let settings = config.kafka.settings_for(args.brokers, "sink")?;
    let prometheus = PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    let location = LakeLocation::parse(&config.lake.location)?;
    let sink = Sink::new(
        config.sink.runtime(),
        &settings,
        Topics::with_prefix(&config.kafka.topic_prefix),
        Lake::open(&location, zone).await?,
        &location,
    )
    .await?;
    let stats = sink.stats();
    let listener = tokio::net::TcpListener::bind(&config.sink.listen)
        .await
        .with_context(|| format!("binding {}", config.sink.listen))?;
    eprintln!(
        "sink {} → {}: http://{}/metrics  /healthz",
        config.sink.group_id,
        location.root(),
        listener.local_addr()?
    );
    let (shutdown, shutdown_rx) = watch::channel(false);
    let router = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(health))
        .with_state(AppState {
            stats: stats.clone(),
            prometheus,
        });
    let http = crate::service::serve_until_shutdown(listener, router, shutdown_rx.clone());
    let mut running = tokio::spawn(sink.run(shutdown_rx));
    tokio::select! {
        result = &mut running => {
            let _ = shutdown.send(true);
            result??;
            bail!("the sink stopped on its own");
        }
        _ = crate::service::wait_for_signal() => {}
    }
    eprintln!("shutting down: committing buffered rows");
    let _ = shutdown.send(true);
    running.await??;
    http.await??;
    eprintln!(
        "stopped: {} rows committed in {} commits",
        stats.rows_committed.load(Ordering::Relaxed),
        stats.commits.load(Ordering::Relaxed)
    );
    Ok(())
}

/// The counters as name/value pairs (for `/healthz` and `/metrics`).
fn counters(stats: &SinkStats) -> [(&'static str, u64); 7] {
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    [
        ("rows_committed", load(&stats.rows_committed)),
        ("commits", load(&stats.commits)),
        ("dead_letters", load(&stats.dead_letters)),
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

async fn metrics(State(state): State<AppState>) -> String {
    for (name, value) in counters(&state.stats) {
        if name == "partitions_assigned" {
            metrics::gauge!("meterlake_sink_partitions_assigned").set(value as f64);
        } else {
            metrics::counter!(format!("meterlake_sink_{name}_total")).absolute(value);
        }
    }
    state.prometheus.run_upkeep();
    state.prometheus.render()
}

async fn health(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(serde_json::Value::Object(
        counters(&state.stats)
            .into_iter()
            .map(|(name, value)| (name.to_string(), value.into()))
            .collect(),
    ))
}
