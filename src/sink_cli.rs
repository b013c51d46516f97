//! `meterlake sink`: one Kafka → lake sink process. Run several with the same group to spread the
//! readings topic's partitions; each serves `/metrics` (Prometheus) and `/healthz`.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use anyhow::Context;
use ingest::kafka::Topics;
use ingest::sink::{Sink, SinkStats};
use ingest::supervise::Supervisor;
use metrics_exporter_prometheus::PrometheusBuilder;
use store::{Lake, LakeLocation};
use tokio::sync::watch;

use meterlake::service_http::{sink_router, SinkHttp};
use meterlake::Config;

use crate::service::prometheus_render;

/// Options of `meterlake sink`.
#[derive(Debug, clap::Args)]
pub struct SinkArgs {
    /// Kafka bootstrap servers (default: `kafka.brokers`).
    #[arg(long)]
    brokers: Option<String>,
}

/// Runs the sink until Ctrl-C or SIGTERM, then commits what it holds. The sink runs supervised: when a
/// commit fails (the lake's disk full, the object store refusing) it starts again from the lake's
/// positions after a backoff, and `/healthz` says so meanwhile.
pub async fn run(config: Config, args: SinkArgs) -> anyhow::Result<()> {
    let settings = config.kafka.settings_for(args.brokers, "sink")?;
    let prometheus = PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let zone = store::partition::parse_zone(&config.lake.zone)?;
    let location = LakeLocation::parse(&config.lake.location)?;
    // A lake that cannot be opened at all is a configuration error: stop here, not in a restart loop.
    Lake::open(&location, zone).await?;
    let stats = Arc::new(SinkStats::default());
    let listener = tokio::net::TcpListener::bind(&config.sink.listen)
        .await
        .with_context(|| format!("binding {}", config.sink.listen))?;
    eprintln!(
        "sink {} → {}: {}://{}/metrics  /healthz",
        config.sink.group_id,
        location.root(),
        config.tls.scheme(),
        listener.local_addr()?
    );
    let (shutdown, shutdown_rx) = watch::channel(false);
    let supervisor = Supervisor::new();
    let router = sink_router(
        SinkHttp {
            stats: stats.clone(),
            supervisor: supervisor.clone(),
            metrics: Some(prometheus_render(prometheus)),
        },
        crate::service::user_store(&config).await?,
    );
    let http = crate::service::serve_http(
        &config,
        "the sink's HTTP API",
        listener,
        router,
        shutdown_rx.clone(),
    )?;
    let runtime = config.sink.runtime();
    let topics = Topics::with_prefix(&config.kafka.topic_prefix);
    let counters = stats.clone();
    let stop = shutdown_rx.clone();
    let sink = supervisor.spawn("sink", shutdown_rx, move |handle| {
        let (runtime, settings, topics) = (runtime.clone(), settings.clone(), topics.clone());
        let (location, stats, stop) = (location.clone(), counters.clone(), stop.clone());
        async move {
            let lake = Lake::open(&location, zone).await?;
            Sink::counting_into(runtime, &settings, topics, lake, &location, stats)
                .await?
                .reporting_to(handle)
                .run(stop)
                .await
        }
    });
    crate::service::wait_for_signal().await;
    eprintln!("shutting down: committing buffered rows");
    let _ = shutdown.send(true);
    sink.await?;
    http.await??;
    eprintln!(
        "stopped: {} rows committed in {} commits",
        stats.rows_committed.load(Ordering::Relaxed),
        stats.commits.load(Ordering::Relaxed)
    );
    Ok(())
}
