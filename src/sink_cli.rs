//! `meterlake sink`: one Kafka → lake sink process. Run several with the same group to spread the
//! readings topic's partitions; each serves `/metrics` (Prometheus) and `/healthz`.

use std::sync::atomic::Ordering;

use anyhow::{bail, Context};
use ingest::kafka::Topics;
use ingest::sink::Sink;
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
        "sink {} → {}: {}://{}/metrics  /healthz",
        config.sink.group_id,
        location.root(),
        config.tls.scheme(),
        listener.local_addr()?
    );
    let (shutdown, shutdown_rx) = watch::channel(false);
    let router = sink_router(
        SinkHttp {
            stats: stats.clone(),
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
