//! The whole loop in one process: simulated meters, a collector, Kafka, the sink, the lake, billing and
//! the control service. `meterlake demo` drives it on a compressed clock; the end-to-end tests drive it
//! step by step.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use analytics::LakeSession;
use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use control::app::audit::Actor;
use control::app::billing::PassReport;
use control::domain::access::Role;
use control::secrets::Password;
use control::Control;
use ingest::collector::{Collector, CollectorConfig, RoundStats};
use ingest::kafka::{EmbeddedKafka, KafkaSettings, Topics};
use ingest::keyring::KeyRing;
use ingest::sim::{Fleet, FleetConfig, GridConfig, SecurityMode, SimClock};
use ingest::sink::{Sink, SinkStats};
use ingest::spool::{Spool, SpoolConfig};
use rust_decimal::Decimal;
use store::{Lake, LakeLocation};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::Config;

/// What to run.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Configuration (lake, Kafka, control, collector, sink).
    pub config: Config,
    /// Simulated meters.
    pub meters: usize,
    /// Meters per simulated DTU.
    pub meters_per_bus: usize,
    /// `Some(w)`: every meter draws a constant `w` watts (for hand-computed tests).
    pub constant_watts: Option<f64>,
    /// Simulated start time (the first boundary).
    pub start: DateTime<Utc>,
    /// Opening balance of each meter by index.
    pub opening_balance: fn(usize) -> Decimal,
    /// Fleet seed.
    pub seed: u64,
    /// Faults injected into the simulated meters (labels in the registry's `faults.csv`).
    pub faults: ingest::sim::FaultConfig,
}

/// Opens query sessions at the lake's newest version with the meter registry: the control service's
/// billing scheduler and pages read through it.
pub fn session_opener(
    lake: store::LakeLocation,
    zone: chrono_tz::Tz,
    registry: std::path::PathBuf,
) -> control::SessionOpener {
    std::sync::Arc::new(move || {
        let (lake, registry) = (lake.clone(), registry.clone());
        Box::pin(async move {
            analytics::LakeSession::open_with_registry(&lake, zone, None, Some(&registry)).await
        })
    })
}

/// A staff user the pipeline makes for the demo and tests. `Debug` leaves the secrets out.
#[derive(Clone)]
pub struct DemoUser {
    /// Login name (`demo-<role>`).
    pub username: String,
    /// Role.
    pub role: Role,
    /// Password (random, printed by the demo).
    pub password: String,
    /// An API token.
    pub token: String,
}

impl std::fmt::Debug for DemoUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoUser")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Makes (or, on a kept database, re-keys) one user per staff role with a random password and a token.
async fn demo_staff(control: &Control) -> anyhow::Result<Vec<DemoUser>> {
    let actor = Actor::cli();
    let mut staff = Vec::new();
    // Every staff role (customers are bound to meters; the demo makes none).
    for role in control::domain::access::ROLES
        .into_iter()
        .filter(|role| *role != Role::Customer)
    {
        let username = format!("demo-{role}");
        let password = control::secrets::new_csrf();
        let secret = Password::new(password.clone());
        match control
            .add_user(&actor, &username, role, &secret, &[])
            .await
        {
            Ok(_) => {}
            Err(control::ControlError::Conflict(_)) => {
                control.reset_password(&actor, &username, &secret).await?;
            }
            Err(err) => return Err(err.into()),
        }
        let token = control
            .issue_token(&actor, &username, "demo", None)
            .await?
            .secret;
        staff.push(DemoUser {
            username,
            role,
            password,
            token,
        });
    }
    Ok(staff)
}

/// Serves the collector's and the sink's HTTP endpoints on loopback ports of their own, behind the
/// control service's users; returns (collector, sink) addresses.
async fn serve_service_http(
    collector: &Arc<Collector>,
    loops: &ingest::supervise::Supervisor,
    sink_stats: &Arc<SinkStats>,
    control: &Control,
    shutdown: &watch::Receiver<bool>,
    tasks: &mut Vec<JoinHandle<anyhow::Result<()>>>,
) -> anyhow::Result<(SocketAddr, SocketAddr)> {
    use crate::service_http::{collector_router, sink_router};
    use control::http::serve::serve_until_shutdown;
    let routers = [
        collector_router(
            crate::service_http::CollectorHttp {
                collector: collector.clone(),
                supervisor: loops.clone(),
                metrics: None,
            },
            control.clone(),
        ),
        sink_router(
            crate::service_http::SinkHttp {
                stats: sink_stats.clone(),
                // The pipeline's sink is one of its tasks: a failure ends the pipeline.
                supervisor: ingest::supervise::Supervisor::new(),
                metrics: None,
            },
            control.clone(),
        ),
    ];
    let mut addresses = Vec::new();
    for router in routers {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        addresses.push(listener.local_addr()?);
        let server = serve_until_shutdown(listener, router, None, shutdown.clone());
        tasks.push(tokio::spawn(async move { Ok(server.await??) }));
    }
    Ok((addresses[0], addresses[1]))
}

/// A running pipeline.
pub struct Pipeline {
    /// The simulation clock.
    pub clock: SimClock,
    /// The simulated fleet.
    pub fleet: Fleet,
    /// The control service's use cases.
    pub control: Control,
    /// Where the lake is.
    pub lake: LakeLocation,
    /// The utility's zone.
    pub zone: Tz,
    /// The meter registry directory (written from the fleet at start).
    pub registry: std::path::PathBuf,
    /// Kafka bootstrap servers in use.
    pub brokers: String,
    /// HTTP address of the control service.
    pub http: SocketAddr,
    /// HTTP address of the collector (health, metrics, on-demand reads).
    pub collector_http: SocketAddr,
    /// HTTP address of the sink (health, metrics).
    pub sink_http: SocketAddr,
    /// The demo's staff users (made at start with random passwords) and their API tokens.
    pub staff: Vec<DemoUser>,
    collector: Arc<Collector>,
    sink_stats: Arc<SinkStats>,
    shutdown: watch::Sender<bool>,
    control_service: control::Running,
    tasks: Vec<JoinHandle<anyhow::Result<()>>>,
    servers: Vec<JoinHandle<()>>,
    produced_rows: u64,
    _embedded: Option<EmbeddedKafka>,
}

impl Pipeline {
    /// Starts everything: broker (embedded unless configured), fleet servers, collector, sink, control.
    pub async fn start(options: PipelineOptions) -> anyhow::Result<Self> {
        let config = &options.config;
        let zone = store::partition::parse_zone(&config.lake.zone)?;
        let topics = Topics::with_prefix(&config.kafka.topic_prefix);
        let (embedded, brokers) = if config.kafka.brokers.trim().is_empty() {
            let embedded = EmbeddedKafka::start(1, &topics, config.kafka.partitions)
                .context("starting the embedded Kafka broker")?;
            let brokers = embedded.bootstrap_servers();
            (Some(embedded), brokers)
        } else {
            (None, config.kafka.brokers.clone())
        };
        let settings = KafkaSettings {
            brokers: brokers.clone(),
            properties: config.kafka.properties.clone(),
        };
        let probe = settings.clone();
        tokio::task::spawn_blocking(move || probe.check_reachable(Duration::from_secs(10)))
            .await?
            .with_context(|| {
                format!("cannot reach Kafka at {brokers:?} (check kafka.brokers / --brokers)")
            })?;

        let clock = SimClock::new(options.start);
        let fleet = Fleet::new(
            &FleetConfig {
                meters: options.meters,
                meters_per_bus: options.meters_per_bus,
                first_meter_number: 1001,
                seed: options.seed,
                constant_watts: options.constant_watts,
                security: SecurityMode::Lab,
                zone,
                bus_prefix: "dtu".into(),
                // The pipeline bills every meter it polls: no area supply meters on its buses yet.
                grid: GridConfig {
                    supply_meters: false,
                    ..GridConfig::default()
                },
                faults: options.faults.clone(),
                ..FleetConfig::default()
            },
            options.start,
        )?;
        let registry = std::path::PathBuf::from(&config.lake.registry);
        fleet
            .write_registry(&registry)
            .with_context(|| format!("writing the meter registry to {}", registry.display()))?;
        let mut tasks: Vec<JoinHandle<anyhow::Result<()>>> = Vec::new();
        let ingest::sim::server::ServedFleet { buses, servers } =
            ingest::sim::server::serve_fleet(&fleet, &clock, [127, 0, 0, 1].into()).await?;
        let collector_id = config.collector.id.clone();
        let spool = Spool::open(SpoolConfig::new(
            &config.collector.spool_dir,
            config.collector.spool_max_bytes()?,
        ))
        .with_context(|| format!("opening the spool in {}", config.collector.spool_dir))?;
        let kafka_context = ingest::kafka::QuietContext::default();
        let kafka_link = kafka_context.link().clone();
        let collector = Arc::new(
            Collector::new(
                CollectorConfig {
                    collector_id: collector_id.clone(),
                    buses: buses.clone(),
                    timeout: Duration::from_millis(config.collector.timeout_ms),
                    retries: config.collector.retries,
                    zone,
                    max_concurrent_buses: config.collector.max_concurrent_buses,
                    clock_check_every: config.collector.clock_check_every_rounds,
                    event_check_every: config.collector.event_check_every_rounds,
                    clock_threshold: Duration::from_secs(config.collector.clock_threshold_s),
                    command_keys: Some(
                        KeyRing::load_or_generate(
                            std::path::Path::new(&config.control.command_keys_dir),
                            &clock.now().format("%Y%m%d").to_string(),
                        )
                        .context("loading the relay-command keys")?,
                    ),
                },
                Arc::new(std::sync::Mutex::new(spool)),
                ingest::kafka::producer_with_context(&settings, kafka_context)?,
                topics.clone(),
                Arc::new(clock.clone()),
            )
            .watching_kafka(kafka_link),
        );

        let lake_location = LakeLocation::parse(&config.lake.location)?;
        let sink = Sink::new(
            config.sink.runtime(),
            &settings,
            topics.clone(),
            Lake::open(&lake_location, zone).await?,
            &lake_location,
        )
        .await?
        .with_clock(Arc::new(clock.clone()));
        let sink_stats = sink.stats();
        let (shutdown, shutdown_rx) = watch::channel(false);
        let rx = shutdown_rx.clone();
        tasks.push(tokio::spawn(async move { Ok(sink.run(rx).await?) }));
        let loops = ingest::supervise::Supervisor::new();
        for task in crate::collector_loops::spawn(&loops, &collector, &settings, &shutdown_rx) {
            tasks.push(tokio::spawn(async move { Ok(task.await?) }));
        }

        let control_service = control::start(
            control::Runtime {
                config: config.control.clone(),
                kafka: settings.clone(),
                topics: topics.clone(),
                zone,
                clock: Arc::new(clock.clone()),
                // The pages read the lake; the pipeline's owner drives billing passes on the simulated
                // clock (`billing_every_s` = 0 keeps the scheduler off).
                lake: Some(session_opener(
                    lake_location.clone(),
                    zone,
                    registry.clone(),
                )),
                metrics: None,
                // The demo and the tests listen on loopback only, in plaintext.
                tls: None,
                diagnosis: config.diagnosis.clone(),
                registry: Some(registry.clone()),
            },
            shutdown_rx.clone(),
        )
        .await
        .context("starting the control service")?;
        let control = control_service.control.clone();
        let http = control_service.http;
        for (index, meter) in buses.iter().flat_map(|b| b.meters.iter()).enumerate() {
            control
                .open_account(
                    control::app::accounts::NewAccount {
                        meter_id: meter.to_string(),
                        collector_id: collector_id.clone(),
                        plan: None,
                        opening_balance: (options.opening_balance)(index),
                        terms: Default::default(),
                    },
                    &Actor::cli(),
                )
                .await?;
        }
        let staff = demo_staff(&control).await?;
        let (collector_http, sink_http) = serve_service_http(
            &collector,
            &loops,
            &sink_stats,
            &control,
            &shutdown_rx,
            &mut tasks,
        )
        .await?;

        Ok(Self {
            clock,
            fleet,
            control,
            lake: lake_location,
            zone,
            registry,
            brokers,
            http,
            collector_http,
            sink_http,
            staff,
            collector,
            sink_stats,
            shutdown,
            control_service,
            tasks,
            servers,
            produced_rows: 0,
            _embedded: embedded,
        })
    }

    /// Moves the clock to `boundary` and runs one collection round.
    pub async fn collect(&mut self, boundary: DateTime<Utc>) -> anyhow::Result<RoundStats> {
        self.clock.set(boundary);
        let stats = self.collector.collect(boundary).await?;
        self.produced_rows += stats.rows;
        Ok(stats)
    }

    /// Takes the embedded broker down or brings it back (fault tests); an error with a real broker.
    pub fn set_kafka_up(&self, up: bool) -> anyhow::Result<()> {
        let Some(embedded) = &self._embedded else {
            bail!("the pipeline runs against a real broker");
        };
        embedded.set_broker_up(1, up)?;
        Ok(())
    }

    /// The API token of the demo user with `role` (admin, operator, cashier or auditor).
    pub fn token(&self, role: Role) -> &str {
        self.staff
            .iter()
            .find(|u| u.role == role)
            .map_or("", |u| u.token.as_str())
    }

    /// Rows produced to Kafka so far.
    pub fn produced_rows(&self) -> u64 {
        self.produced_rows
    }

    /// The sink's counters.
    pub fn sink_stats(&self) -> &SinkStats {
        &self.sink_stats
    }

    /// The collector's health document (spool, faults going on).
    pub async fn collector_health(
        &self,
    ) -> anyhow::Result<ingest::collector::health::CollectorHealth> {
        Ok(self.collector.health().await?)
    }

    /// Waits up to `timeout` for the collector's spool to drain; returns the records left.
    pub async fn wait_forwarded(&self, timeout: Duration) -> anyhow::Result<u64> {
        Ok(self.collector.wait_forwarded(timeout).await?)
    }

    /// Waits until the sink has committed every produced row.
    pub async fn wait_committed(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let committed = self.sink_stats.rows_committed.load(Ordering::Relaxed);
            if committed >= self.produced_rows {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!(
                    "sink committed {committed} of {} rows within {timeout:?}",
                    self.produced_rows
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens a query session at the lake's latest version.
    pub async fn session(&self) -> anyhow::Result<LakeSession> {
        Ok(
            LakeSession::open_with_registry(&self.lake, self.zone, None, Some(&self.registry))
                .await?,
        )
    }

    /// Waits for the lake to hold every produced row, then bills and enforces.
    pub async fn billing_pass(&self) -> anyhow::Result<PassReport> {
        self.wait_committed(Duration::from_secs(60)).await?;
        let session = self.session().await?;
        Ok(self.control.billing_pass(&session).await?)
    }

    /// Waits until no command awaits its acknowledgement (scheduled ones may still wait their turn).
    pub async fn wait_acks(&self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let pending = self.control.awaiting_ack().await?;
            if pending == 0 {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{pending} commands unacknowledged after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops every task; the sink commits what it holds first.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        for server in &self.servers {
            server.abort();
        }
        self.control_service.wait().await?;
        for task in self.tasks {
            match tokio::time::timeout(Duration::from_secs(10), task).await {
                Ok(result) => result??,
                Err(_) => tracing::warn!("a pipeline task did not stop within 10 s"),
            }
        }
        Ok(())
    }
}
