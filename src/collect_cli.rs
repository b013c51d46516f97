//! `meterlake collect`: one collector process. It polls its buses at every interval boundary, spools
//! the readings on disk, forwards them to Kafka, executes relay commands, answers on-demand reads, and
//! serves `/metrics` (Prometheus) and `/healthz`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use ingest::clock::SystemClock;
use ingest::collector::limits::raise_open_files_limit;
use ingest::collector::{buses_file, schedule, Collector, CollectorConfig};
use ingest::kafka::Topics;
use ingest::keyring::KeyRing;
use ingest::spool::{Spool, SpoolConfig};
use ingest::supervise::Supervisor;
use metrics_exporter_prometheus::PrometheusBuilder;
use tokio::sync::watch;

use meterlake::service_http::{collector_router, CollectorHttp};
use meterlake::Config;

use crate::service::prometheus_render;

/// Options of `meterlake collect`.
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// Buses file (default: `collector.buses_file`).
    #[arg(long)]
    buses: Option<PathBuf>,
    /// Kafka bootstrap servers (default: `kafka.brokers`).
    #[arg(long)]
    brokers: Option<String>,
    /// Run one round for the current interval's start, forward it, and exit.
    #[arg(long)]
    once: bool,
}

/// Runs the collector until Ctrl-C or SIGTERM (or after one round with `--once`).
pub async fn run(config: Config, args: CollectArgs) -> anyhow::Result<()> {
    let settings = config.kafka.settings_for(args.brokers, "collect")?;
    let buses_path = args
        .buses
        .unwrap_or_else(|| PathBuf::from(&config.collector.buses_file));
    let text = std::fs::read_to_string(&buses_path)
        .with_context(|| format!("reading the buses file {}", buses_path.display()))?;
    let buses = buses_file::parse(&text, &buses_path.display().to_string())?;
    let open_files = raise_open_files_limit(buses.len() as u64 * 2 + 512)
        .context("raising the open-files limit")?;
    let prometheus = PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let spool = Spool::open(SpoolConfig::new(
        &config.collector.spool_dir,
        config.collector.spool_max_bytes()?,
    ))
    .with_context(|| format!("opening the spool in {}", config.collector.spool_dir))?;
    let topics = Topics::with_prefix(&config.kafka.topic_prefix);
    let meters: usize = buses.iter().map(|b| b.meters.len()).sum();
    let bus_count = buses.len();
    let (spooled, spooled_bytes) = (spool.records(), spool.bytes());
    let kafka_context = ingest::kafka::QuietContext::default();
    let kafka_link = kafka_context.link().clone();
    let collector = Arc::new(
        Collector::new(
            CollectorConfig {
                collector_id: config.collector.id.clone(),
                buses,
                timeout: Duration::from_millis(config.collector.timeout_ms),
                retries: config.collector.retries,
                zone: store::partition::parse_zone(&config.lake.zone)?,
                max_concurrent_buses: config.collector.max_concurrent_buses,
                clock_check_every: config.collector.clock_check_every_rounds,
                event_check_every: config.collector.event_check_every_rounds,
                clock_threshold: Duration::from_secs(config.collector.clock_threshold_s),
                command_keys: command_keys(&config.collector.command_keys_dir)?,
            },
            Arc::new(std::sync::Mutex::new(spool)),
            ingest::kafka::producer_with_context(&settings, kafka_context)?,
            topics,
            Arc::new(SystemClock),
        )
        .watching_kafka(kafka_link),
    );
    let listener = tokio::net::TcpListener::bind(&config.collector.listen)
        .await
        .with_context(|| format!("binding {}", config.collector.listen))?;
    eprintln!(
        "collector {}: {bus_count} buses, {meters} meters, open-files limit {open_files}",
        collector.id()
    );
    eprintln!(
        "  spool {} ({spooled} records, {spooled_bytes} bytes waiting)",
        config.collector.spool_dir
    );
    eprintln!(
        "  {}://{}/metrics  /healthz",
        config.tls.scheme(),
        listener.local_addr()?
    );

    let (shutdown, shutdown_rx) = watch::channel(false);
    let supervisor = Supervisor::new();
    let loops = meterlake::collector_loops::spawn(&supervisor, &collector, &settings, &shutdown_rx);
    let router = collector_router(
        CollectorHttp {
            collector: collector.clone(),
            supervisor,
            metrics: Some(prometheus_render(prometheus)),
        },
        crate::service::user_store(&config).await?,
    );
    let http = crate::service::serve_http(
        &config,
        "the collector's HTTP API",
        listener,
        router,
        shutdown_rx.clone(),
    )?;

    let interval = Duration::from_secs(config.collector.interval_s.max(1));
    if args.once {
        let now = chrono::Utc::now();
        let boundary = schedule::next_boundary(now, interval)
            - chrono::TimeDelta::from_std(interval).unwrap_or_default();
        let stats = collector.collect(boundary).await?;
        eprintln!(
            "round {boundary}: {} rows ({} silent meters)",
            stats.rows, stats.no_response
        );
        let left = collector.wait_forwarded(Duration::from_secs(30)).await?;
        if left > 0 {
            eprintln!("{left} records stay in the spool (Kafka did not take them within 30 s)");
        }
    } else {
        let rounds = tokio::spawn(collector.clone().run_schedule(interval, shutdown_rx));
        crate::service::wait_for_signal().await;
        eprintln!("shutting down: finishing buses in flight, flushing the spool to Kafka");
        collector.begin_shutdown();
        let _ = shutdown.send(true);
        let _ = rounds.await;
    }
    let _ = shutdown.send(true);
    for task in loops {
        if tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .is_err()
        {
            tracing::warn!("a collector loop did not stop within 15 s");
        }
    }
    http.await??;
    let left = collector.spooled_records().await?;
    eprintln!("stopped; {left} records wait in the spool for the next start");
    Ok(())
}

/// The relay-command keys: a missing directory leaves the collector collecting but rejecting every
/// command (said loudly); a directory with a bad key is an error.
fn command_keys(dir: &str) -> anyhow::Result<Option<KeyRing>> {
    let path = std::path::Path::new(dir);
    if !path.is_dir() {
        tracing::warn!(
            dir,
            "no relay-command keys: every relay command will be rejected (copy the control service's keys here)"
        );
        return Ok(None);
    }
    Ok(Some(KeyRing::load(path, None).with_context(|| {
        format!("loading the relay-command keys from {dir}")
    })?))
}
