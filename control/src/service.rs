//! The control service as a process: its database, its background loops under one supervisor, and its
//! HTTP server. `meterlake control` and `meterlake demo` both start it with [`start`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use analytics::{AnalyticsError, LakeSession, TariffPlan};
use chrono_tz::Tz;
use futures::future::BoxFuture;
use ingest::clock::Clock;
use ingest::kafka::{KafkaSettings, Topics};
use ingest::keyring::KeyRing;
use ingest::supervise::Supervisor;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::{CommandTiming, Control, Rules, ServiceKeys};
use crate::http::{router, HttpState, MetricsRender};
use crate::store::Db;
use crate::{workers, Config, ControlError};

/// Opens a query session at the lake's newest version (billing passes read through it).
pub type SessionOpener =
    Arc<dyn Fn() -> BoxFuture<'static, Result<LakeSession, AnalyticsError>> + Send + Sync>;

/// Everything the service needs from its surroundings.
pub struct Runtime {
    /// The `[control]` section.
    pub config: Config,
    /// Kafka connection.
    pub kafka: KafkaSettings,
    /// Topic names.
    pub topics: Topics,
    /// The utility's zone.
    pub zone: Tz,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// The lake, for the billing scheduler (`None`: billing passes only on request).
    pub lake: Option<SessionOpener>,
    /// Prometheus text for `/metrics`, if the process installed a recorder.
    pub metrics: Option<MetricsRender>,
    /// TLS for the HTTP API (`None`: plaintext; session cookies then lack `Secure`).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The alarm rules on streaming readings (`[diagnosis]`).
    pub diagnosis: analytics::diagnosis::DiagnosisConfig,
    /// The meter registry directory (`meters.csv`: PV, replacements, area and bus of each meter).
    pub registry: Option<std::path::PathBuf>,
}

/// Every shipped tariff plan, by name.
pub fn shipped_plans() -> Result<BTreeMap<String, TariffPlan>, ControlError> {
    analytics::tariff::builtin_names()
        .map(|name| {
            analytics::tariff::builtin(name)
                .map(|plan| (name.to_string(), plan))
                .map_err(|e| ControlError::Invalid(e.to_string()))
        })
        .collect()
}

/// The rules `config` describes.
pub fn rules(config: &Config, topics: Topics, zone: Tz) -> Result<Rules, ControlError> {
    config.validate()?;
    let plans = shipped_plans()?;
    if !plans.contains_key(&config.plan) {
        return Err(ControlError::Invalid(format!(
            "control.plan {:?} is not a shipped plan ({})",
            config.plan,
            plans.keys().cloned().collect::<Vec<_>>().join(", ")
        )));
    }
    let seconds = |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000));
    Ok(Rules {
        default_terms: config.terms,
        plan_terms: config.plan_terms.clone(),
        calendar: config.calendar()?,
        zone,
        timing: CommandTiming {
            validity: seconds(config.command_validity_s),
            max_attempts: config.max_attempts,
            retry_backoff: seconds(config.retry_backoff_s),
            warning_lead: seconds(config.warning_lead_s),
        },
        plans,
        default_plan: config.plan.clone(),
        topics,
        cashier_refund_limit: config.cashier_refund_limit,
        notify_staff: !config.notify.staff_email.is_empty() && config.notify.has_email(),
        staff_digest: seconds(config.notify.staff_digest_s),
        bill_issue: config.bill_issue()?,
    })
}

/// The audit, command and personal-data keys from their directories, each generated there on first use (named by
/// today's date, so a later key sorts after it and takes over signing).
pub fn keys(config: &Config) -> Result<ServiceKeys, ControlError> {
    let first = chrono::Utc::now().format("%Y%m%d").to_string();
    let load = |dir: &str, what: &str| {
        KeyRing::load_or_generate(std::path::Path::new(dir), &first)
            .map_err(|e| ControlError::Invalid(format!("control.{what}: {e}")))
    };
    let pii = config.pii_keys_path();
    Ok(ServiceKeys {
        audit: load(&config.audit_keys_dir, "audit_keys_dir")?,
        commands: load(&config.command_keys_dir, "command_keys_dir")?,
        pii: crate::pii::PiiKeys::new(load(&pii.to_string_lossy(), "pii_keys_dir")?),
    })
}

/// The use cases over the configured database, without background loops or HTTP (for the CLI: a
/// payment written here is sent by the running service's outbox relay).
pub async fn open(
    config: &Config,
    topics: Topics,
    zone: Tz,
    clock: Arc<dyn Clock>,
) -> Result<Control, ControlError> {
    let rules = rules(config, topics, zone)?;
    let keys = keys(config)?;
    let db = Db::open(&config.database, config.max_connections.min(4)).await?;
    Ok(Control::new(db, rules, keys, clock))
}

/// A started service.
pub struct Running {
    /// The use cases (for the demo and tests that drive it).
    pub control: Control,
    /// The background loops.
    pub supervisor: Supervisor,
    /// Where the HTTP API listens.
    pub http: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
    server: JoinHandle<std::io::Result<()>>,
}

/// Opens the database, starts the loops (acknowledgements, outbox relay, sweeper, streaming diagnosis
/// unless disabled, and the billing scheduler when a lake is given and `billing_every_s` > 0) and the
/// HTTP server.
pub async fn start(
    runtime: Runtime,
    shutdown: watch::Receiver<bool>,
) -> Result<Running, ControlError> {
    let config = &runtime.config;
    let rules = rules(config, runtime.topics.clone(), runtime.zone)?;
    let keys = keys(config)?;
    let db = Db::open(&config.database, config.max_connections).await?;
    let control = Control::new(db, rules, keys, runtime.clock.clone());
    let supervisor = Supervisor::new();
    let mut tasks = Vec::new();
    let (c, k) = (control.clone(), runtime.kafka.clone());
    let rx = shutdown.clone();
    tasks.push(
        supervisor.spawn("ack_consumer", shutdown.clone(), move |handle| {
            workers::acks::run(c.clone(), k.clone(), handle, rx.clone())
        }),
    );
    let relay_context = ingest::kafka::QuietContext::default();
    let kafka_link = relay_context.link().clone();
    let producer = ingest::kafka::relay_producer_with_context(&runtime.kafka, relay_context)?;
    let (c, rx) = (control.clone(), shutdown.clone());
    tasks.push(
        supervisor.spawn("outbox_relay", shutdown.clone(), move |handle| {
            workers::relay::run(c.clone(), producer.clone(), handle, rx.clone())
        }),
    );
    let channels =
        crate::notify::Channels::from_config(&config.notify).map_err(ControlError::Invalid)?;
    let sms = channels.webhook.clone();
    let (c, rx, notify) = (control.clone(), shutdown.clone(), config.notify.clone());
    tasks.push(
        supervisor.spawn("notifier", shutdown.clone(), move |handle| {
            workers::notifier::run(
                c.clone(),
                channels.clone(),
                notify.clone(),
                handle,
                rx.clone(),
            )
        }),
    );
    let every = Duration::from_millis(config.sweep_every_ms);
    let (c, rx) = (control.clone(), shutdown.clone());
    tasks.push(
        supervisor.spawn("sweeper", shutdown.clone(), move |handle| {
            workers::sweeper::run(c.clone(), every, handle, rx.clone())
        }),
    );
    if let (Some(open), true) = (runtime.lake.clone(), config.billing_every_s > 0) {
        let every = Duration::from_secs(config.billing_every_s);
        let (c, rx) = (control.clone(), shutdown.clone());
        tasks.push(
            supervisor.spawn("billing", shutdown.clone(), move |handle| {
                workers::billing::run(c.clone(), open.clone(), every, handle, rx.clone())
            }),
        );
    }
    if let (Some(open), true) = (runtime.lake.clone(), config.lake_export_every_s > 0) {
        let every = Duration::from_secs(config.lake_export_every_s);
        let (c, rx) = (control.clone(), shutdown.clone());
        let areas = runtime.diagnosis.enabled.then(|| runtime.diagnosis.clone());
        tasks.push(
            supervisor.spawn("lake_export", shutdown.clone(), move |handle| {
                let areas = areas.clone();
                workers::lake_export::run(c.clone(), open.clone(), every, areas, handle, rx.clone())
            }),
        );
    }
    if runtime.diagnosis.enabled {
        runtime
            .diagnosis
            .validate()
            .map_err(|e| ControlError::Invalid(e.to_string()))?;
        let (c, k, rx) = (control.clone(), runtime.kafka.clone(), shutdown.clone());
        let (registry, rules) = (runtime.registry.clone(), runtime.diagnosis.clone());
        tasks.push(
            supervisor.spawn("diagnosis", shutdown.clone(), move |handle| {
                let (registry, rules) = (registry.clone(), rules.clone());
                workers::diagnosis::run(c.clone(), k.clone(), registry, rules, handle, rx.clone())
            }),
        );
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|e| {
            ControlError::Invalid(format!(
                "cannot listen on control.listen {}: {e}",
                config.listen
            ))
        })?;
    let http = listener
        .local_addr()
        .map_err(|e| ControlError::Invalid(format!("control.listen: {e}")))?;
    let simulated = Arc::new(crate::provider::SimulatedProvider::new(
        &config.payment_secret,
    ));
    let app = router(HttpState {
        control: control.clone(),
        supervisor: supervisor.clone(),
        metrics: runtime.metrics.clone(),
        secure_cookies: runtime.tls.is_some(),
        lake: runtime.lake.clone(),
        provider: simulated.clone(),
        simulated: Some(simulated),
        kafka: Some(kafka_link),
        sms,
    });
    let server =
        crate::http::serve::serve_until_shutdown(listener, app, runtime.tls.clone(), shutdown);
    tracing::info!(%http, tls = runtime.tls.is_some(), database = %crate::store::redact(&config.database), "control service started");
    Ok(Running {
        control,
        supervisor,
        http,
        tasks,
        server,
    })
}

impl Running {
    /// Waits for every loop and the server to finish (after shutdown was signalled), at most 10 s each.
    pub async fn wait(self) -> Result<(), ControlError> {
        for task in self.tasks {
            if tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .is_err()
            {
                tracing::warn!("a control loop did not stop within 10 s");
            }
        }
        match tokio::time::timeout(Duration::from_secs(10), self.server).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(err))) => tracing::error!(%err, "control HTTP server failed"),
            Ok(Err(err)) => tracing::error!(%err, "control HTTP server task failed"),
            Err(_) => tracing::warn!("control HTTP server did not stop within 10 s"),
        }
        self.control.db().close().await;
        Ok(())
    }
}

/// Runs the service until `shutdown` turns true.
pub async fn run(runtime: Runtime, shutdown: watch::Receiver<bool>) -> Result<(), ControlError> {
    start(runtime, shutdown).await?.wait().await
}
