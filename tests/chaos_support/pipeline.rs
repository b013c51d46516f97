//! A whole ingest path for chaos trials: simulated DTUs on loopback TCP, a `meterlake collect` child
//! polling them every second into its spool and Kafka, and a `meterlake sink` child writing the lake.
//! What the collector reported (its "collection round done" and "held" log lines, written only after a
//! round was synced to the spool or taken into memory) is checked against the lake.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ingest::collector::{buses_file, BusConfig, BusEndpoint};
use ingest::kafka::{EmbeddedKafka, Topics};
use ingest::sim::{Fleet, FleetConfig, SimClock};

use super::flaky_link::FlakyLink;
use super::stepped_clock::SteppedClock;
use super::tmpfs::Tmpfs;

/// A (meter, boundary in microseconds) pair.
pub type Key = (String, i64);

/// One round a collector's log reported.
struct RoundLine {
    boundary: DateTime<Utc>,
    done: DateTime<Utc>,
    rows: usize,
    /// Shutdown began during it: buses not yet begun were skipped.
    cut_short: bool,
}

/// The world of one collector chaos test.
pub struct Pipeline {
    kafka: EmbeddedKafka,
    _fleet: Fleet,
    buses: Vec<BusConfig>,
    links: Vec<FlakyLink>,
    database_disk: Option<Tmpfs>,
    clock_driver: tokio::task::JoinHandle<()>,
    /// When the simulated meters started counting (from zero).
    pub start: DateTime<Utc>,
    /// Their constant load.
    pub watts: f64,
    /// Scratch directory (config, logs, lake, spool).
    pub dir: tempfile::TempDir,
    config: PathBuf,
    /// The collector's HTTP port.
    pub collector_port: u16,
    /// The control service's HTTP port.
    pub control_port: u16,
    /// A maintenance user's token.
    pub token: String,
    logs: usize,
}

/// A running child process, killed when dropped.
pub struct Running {
    child: Child,
}

impl Running {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and wait up to 60 s for a clean exit.
    pub fn stop(mut self) {
        let term = EmbeddedKafka::spawn_child(
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]),
        )
        .and_then(|mut kill| kill.wait())
        .expect("kill -TERM");
        assert!(term.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "exit after SIGTERM: {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("no exit within 60 s of SIGTERM");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

/// What a pipeline's fleet looks like.
#[derive(Default)]
pub struct Setup {
    /// Simulated meters, 3 per DTU.
    pub meters: usize,
    /// Faults of the simulated meters (garbage, late replies, silence, …).
    pub faults: ingest::sim::FaultConfig,
    /// DTUs (by index) the collector reaches through a [`FlakyLink`] cutting this share of replies.
    pub flaky_links: Vec<(usize, f64)>,
    /// Every meter's constant load (600 W when 0).
    pub watts: f64,
    /// The accounts database on a tmpfs of this many MiB (see [`Pipeline::database_disk`]).
    pub database_megabytes: Option<u32>,
    /// Seconds between collection rounds (1 when 0).
    pub interval_s: u64,
}

impl Pipeline {
    /// A fleet of `meters` simulated meters (3 per DTU) and the children's configuration.
    pub async fn new(meters: usize) -> Self {
        Self::with(Setup {
            meters,
            ..Setup::default()
        })
        .await
    }

    /// A fleet as `setup` says and the children's configuration.
    pub async fn with(setup: Setup) -> Self {
        let meters = setup.meters;
        let interval_s = setup.interval_s.max(1);
        // Each simulated DTU holds a listener and a connection in this process.
        ingest::collector::limits::raise_open_files_limit(4 * meters as u64 + 1024)
            .expect("open-files limit");
        let watts = if setup.watts > 0.0 {
            setup.watts
        } else {
            600.0
        };
        let topics = Topics::with_prefix("");
        let kafka = EmbeddedKafka::start(1, &topics, 2).expect("embedded kafka");
        let start = Utc::now();
        let fleet = Fleet::new(
            &FleetConfig {
                meters,
                meters_per_bus: 3,
                first_meter_number: 7001,
                seed: 5,
                constant_watts: Some(watts),
                security: ingest::sim::SecurityMode::Lab,
                zone: chrono_tz::Asia::Shanghai,
                bus_prefix: "chaos".into(),
                grid: ingest::sim::grid::GridConfig {
                    supply_meters: false,
                    ..Default::default()
                },
                faults: setup.faults,
                ..FleetConfig::default()
            },
            start,
        )
        .expect("fleet");
        // The meters live in real time: their clock follows the wall clock.
        let clock = SimClock::new(start);
        let served = ingest::sim::server::serve_fleet(&fleet, &clock, [127, 0, 0, 1].into())
            .await
            .expect("serving the fleet");
        let clock_driver = tokio::spawn(async move {
            loop {
                clock.set(Utc::now());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let mut collector_buses = served.buses.clone();
        let mut links = Vec::new();
        for (index, cut_share) in setup.flaky_links {
            let bus = &mut collector_buses[index];
            let BusEndpoint::Tcp(dtu) = &bus.endpoint else {
                panic!("simulated DTUs are served on TCP");
            };
            let link =
                FlakyLink::start(dtu.parse().expect("DTU address"), cut_share, index as u64).await;
            bus.endpoint = BusEndpoint::Tcp(link.addr().to_string());
            links.push(link);
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let database_disk = setup
            .database_megabytes
            .map(|size| Tmpfs::mount(&dir.path().join("db"), size));
        std::fs::create_dir_all(dir.path().join("db")).expect("database directory");
        let buses_path = dir.path().join("buses.toml");
        std::fs::write(&buses_path, buses_file::render(&collector_buses)).expect("buses file");
        let collector_port = free_port();
        let control_port = free_port();
        let config = dir.path().join("meterlake.toml");
        std::fs::write(
            &config,
            format!(
                "[lake]\nlocation = \"{dir}/lake\"\nzone = \"Asia/Shanghai\"\n\
                 [kafka]\nbrokers = \"{brokers}\"\n[kafka.properties]\n\"message.timeout.ms\" = \"3000\"\n\
                 \"session.timeout.ms\" = \"10000\"\n\"heartbeat.interval.ms\" = \"500\"\n\
                 [collector]\nid = \"c-chaos\"\nspool_dir = \"{dir}/spool\"\ninterval_s = {interval_s}\n\
                 listen = \"127.0.0.1:{collector_port}\"\nbuses_file = \"{buses}\"\ntimeout_ms = 300\n\
                 command_keys_dir = \"{dir}/keys/commands\"\n\
                 [sink]\ngroup_id = \"chaos-sink\"\nflush_rows = 200\nflush_interval_ms = 100\n\
                 listen = \"127.0.0.1:0\"\n\
                 [control]\ndatabase = \"sqlite://{dir}/db/control.db\"\naudit_keys_dir = \"{dir}/keys/audit\"\n\
                 command_keys_dir = \"{dir}/keys/commands\"\nlisten = \"127.0.0.1:{control_port}\"\n\
                 trip_hours = \"00:00-24:00\"\ntrip_on_weekends = true\nwarning_lead_s = 0\n\
                 billing_every_s = 0\nsweep_every_ms = 100\n[tls]\nallow_plaintext = true\n",
                dir = dir.path().display(),
                brokers = kafka.bootstrap_servers(),
                buses = buses_path.display(),
            ),
        )
        .expect("config");
        let token = crate::http_support::user_with_token(&config, "watch", "maintenance");
        Self {
            kafka,
            _fleet: fleet,
            buses: served.buses,
            links,
            database_disk,
            clock_driver,
            start,
            watts,
            dir,
            config,
            collector_port,
            control_port,
            token,
            logs: 0,
        }
    }

    /// The disk under the accounts database, when [`Setup::database_megabytes`] asked for one.
    pub fn database_disk(&self) -> &Tmpfs {
        self.database_disk
            .as_ref()
            .expect("the pipeline was set up with a database disk")
    }

    /// Where the collector keeps its spool.
    pub fn spool_dir(&self) -> PathBuf {
        self.dir.path().join("spool")
    }

    /// Every meter of the fleet.
    pub fn meters(&self) -> Vec<String> {
        self.buses
            .iter()
            .flat_map(|b| b.meters.iter().map(|m| m.to_string()))
            .collect()
    }

    fn spawn(&mut self, command: &[&str]) -> Running {
        self.spawn_with(command, None)
    }

    fn spawn_with(&mut self, command: &[&str], clock: Option<&SteppedClock>) -> Running {
        self.logs += 1;
        let log = self
            .dir
            .path()
            .join(format!("{}-{}.log", command[0], self.logs));
        let file = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new(crate::http_support::meterlake_binary());
        for (name, _) in std::env::vars() {
            if name.starts_with("METERLAKE_") {
                child.env_remove(name);
            }
        }
        child
            .args(["--config", self.config.to_str().expect("utf-8")])
            .args(command)
            .env("METERLAKE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file);
        if let Some(clock) = clock {
            clock.apply(&mut child);
        }
        Running {
            child: EmbeddedKafka::spawn_child(&mut child).expect("spawning meterlake"),
        }
    }

    /// Starts `meterlake collect`.
    pub fn collector(&mut self) -> Running {
        self.spawn(&["collect"])
    }

    /// Starts `meterlake collect` with its wall clock read from `clock`.
    pub fn collector_on(&mut self, clock: &SteppedClock) -> Running {
        self.spawn_with(&["collect"], Some(clock))
    }

    /// Starts `meterlake sink`.
    pub fn sink(&mut self) -> Running {
        self.spawn(&["sink"])
    }

    /// Starts `meterlake control run` and waits until it answers.
    pub async fn control(&mut self) -> Running {
        let running = self.spawn(&["control", "run"]);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.control_request("GET", "/api/me", "").await.is_none() {
            assert!(Instant::now() < deadline, "meterlake control did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        running
    }

    /// One request to the control service as the maintenance user; (status, JSON body), `None` when it
    /// does not answer.
    pub async fn control_request(
        &self,
        method: &str,
        path: &str,
        body: &str,
    ) -> Option<(u16, serde_json::Value)> {
        self.control_request_as(&self.token, method, path, body)
            .await
    }

    /// One request to the control service with `token`.
    pub async fn control_request_as(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: &str,
    ) -> Option<(u16, serde_json::Value)> {
        let (status, body) =
            crate::http_support::request(self.control_port, Some(token), method, path, body)
                .await?;
        Some((status, serde_json::from_str(&body).unwrap_or_default()))
    }

    /// Makes a user with `role` and returns an API token of theirs.
    pub fn user(&self, name: &str, role: &str) -> String {
        crate::http_support::user_with_token(&self.config, name, role)
    }

    /// Runs `meterlake control check` (the ledger against the balances); true when it is sound.
    pub fn ledger_sound(&self) -> bool {
        crate::http_support::cli(&self.config, &["control", "check"], "").contains("ledger sound")
    }

    /// The balance of `meter`'s account as committed in the accounts database, read by a
    /// connection of this test (a service holding work in an unfinished transaction sees more).
    pub async fn committed_balance(&self, meter: &str) -> rust_decimal::Decimal {
        use sqlx::Connection;
        let path = self.dir.path().join("db/control.db");
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true);
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()));
        let (fen,): (i64,) = sqlx::query_as("SELECT balance_fen FROM accounts WHERE meter_id = ?")
            .bind(meter)
            .fetch_one(&mut conn)
            .await
            .expect("the account's committed balance");
        let _ = conn.close().await;
        rust_decimal::Decimal::new(fen, 2)
    }

    /// How many trips the simulated meter `meter` has executed.
    pub fn trips_received(&self, meter: &str) -> u32 {
        self._fleet
            .with_meter(meter.parse().expect("meter address"), |m| {
                m.trips_received()
            })
            .expect("a meter of the fleet")
    }

    /// Payloads of every message in `topic` (read by a fresh consumer group from the beginning).
    pub async fn topic_payloads(&self, topic: &str) -> Vec<String> {
        use rdkafka::consumer::Consumer;
        use rdkafka::Message;
        let settings = ingest::kafka::KafkaSettings {
            brokers: self.kafka.bootstrap_servers(),
            properties: Default::default(),
        };
        let consumer =
            ingest::kafka::consumer(&settings, &format!("probe-{}", uuid::Uuid::new_v4()))
                .expect("probe consumer");
        consumer.subscribe(&[topic]).expect("subscribe");
        let mut payloads = Vec::new();
        while let Ok(Ok(message)) =
            tokio::time::timeout(Duration::from_secs(5), consumer.recv()).await
        {
            payloads
                .push(String::from_utf8_lossy(message.payload().unwrap_or_default()).to_string());
        }
        payloads
    }

    /// Takes the broker down or brings it back.
    pub fn broker_up(&self, up: bool) {
        self.kafka.set_broker_up(1, up).expect("broker up/down");
    }

    /// Whether the control service's `/healthz` answers 503 naming `fault` and `/metrics` shows
    /// `metric`.
    pub async fn control_shows(&self, fault: &str, metric: &str) -> bool {
        let health = self
            .control_request("GET", "/healthz", "")
            .await
            .is_some_and(|(status, doc)| {
                status == 503
                    && doc["faults"]
                        .as_array()
                        .is_some_and(|f| f.iter().any(|v| v == fault))
            });
        let metrics = crate::http_support::request(
            self.control_port,
            Some(&self.token),
            "GET",
            "/metrics",
            "",
        )
        .await
        .is_some_and(|(_, body)| body.lines().any(|l| l == metric));
        health && metrics
    }

    /// Every whole round the collectors reported stored so far (all their logs): its boundary and when
    /// the round was done.
    pub fn rounds(&self) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.round_lines()
            .into_iter()
            .filter(|r| !r.cut_short)
            .map(|r| (r.boundary, r.done))
            .collect()
    }

    /// Every round a shutdown cut short (buses not yet begun were skipped): its boundary and how
    /// many rows it stored. Which meters those were the log does not say.
    pub fn cut_short_rounds(&self) -> Vec<(DateTime<Utc>, usize)> {
        self.round_lines()
            .into_iter()
            .filter(|r| r.cut_short)
            .map(|r| (r.boundary, r.rows))
            .collect()
    }

    /// How many readings the collectors reported stored: every meter of each whole round, and the
    /// rows of each round cut short whose boundary no whole round has.
    pub fn produced(&self) -> u64 {
        let whole: BTreeSet<DateTime<Utc>> = self.rounds().into_iter().map(|r| r.0).collect();
        let short: usize = self
            .cut_short_rounds()
            .into_iter()
            .filter(|(boundary, _)| !whole.contains(boundary))
            .map(|(_, rows)| rows)
            .sum();
        (whole.len() * self.meters().len() + short) as u64
    }

    fn round_lines(&self) -> Vec<RoundLine> {
        let meters = self.meters().len();
        let mut rounds = Vec::new();
        for n in 1..=self.logs {
            let Ok(text) =
                std::fs::read_to_string(self.dir.path().join(format!("collect-{n}.log")))
            else {
                continue;
            };
            for line in text.lines().filter(|l| {
                l.contains("collection round done") || l.contains("collection round held")
            }) {
                let field = |name: &str| -> Option<usize> {
                    line.split(&format!(" {name}="))
                        .nth(1)?
                        .split_whitespace()
                        .next()?
                        .parse()
                        .ok()
                };
                let rows = field("rows").unwrap_or_else(|| panic!("no rows in {line:?}"));
                let cut_short = field("skipped_buses").is_some_and(|skipped| skipped > 0);
                assert!(
                    cut_short || rows == meters,
                    "a round without every meter: {line}"
                );
                let done = line
                    .split_whitespace()
                    .next()
                    .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                    .unwrap_or_else(|| panic!("no time in {line:?}"));
                rounds.push(RoundLine {
                    boundary: boundary_of(line),
                    done: done.with_timezone(&Utc),
                    rows,
                    cut_short,
                });
            }
        }
        rounds
    }

    /// Every (meter, boundary) the collectors reported stored so far (all their logs).
    pub fn reported(&self) -> BTreeSet<Key> {
        let meters = self.meters();
        self.rounds()
            .into_iter()
            .flat_map(|(at, _)| {
                meters
                    .iter()
                    .map(move |m| (m.clone(), at.timestamp_micros()))
            })
            .collect()
    }

    /// The collector's `/healthz` (status and document), `None` when it does not answer.
    pub async fn collector_health(&self) -> Option<(u16, serde_json::Value)> {
        let (status, body) = crate::http_support::request(
            self.collector_port,
            Some(&self.token),
            "GET",
            "/healthz",
            "",
        )
        .await?;
        Some((status, serde_json::from_str(&body).ok()?))
    }

    /// The collector's `/metrics`, `None` when it does not answer.
    pub async fn collector_metrics(&self) -> Option<String> {
        crate::http_support::request(
            self.collector_port,
            Some(&self.token),
            "GET",
            "/metrics",
            "",
        )
        .await
        .map(|(_, body)| body)
    }

    /// Whether the collector's `/healthz` answers 503 naming `fault` and `/metrics` shows `metric`.
    pub async fn collector_shows(&self, fault: &str, metric: &str) -> bool {
        let health = self.collector_health().await.is_some_and(|(status, doc)| {
            status == 503
                && doc["faults"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|v| v == fault))
        });
        health
            && self
                .collector_metrics()
                .await
                .is_some_and(|m| m.lines().any(|l| l == metric))
    }

    /// Rows of `sql` over the lake (none while the lake cannot be opened or read yet).
    async fn lake_query(&self, sql: &str) -> Vec<arrow::record_batch::RecordBatch> {
        let location =
            store::LakeLocation::parse(self.dir.path().join("lake").to_str().expect("utf-8"))
                .expect("lake location");
        match analytics::LakeSession::open(&location, chrono_tz::Asia::Shanghai, None).await {
            Ok(session) => session.query(sql).await.unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    /// How often each (meter, boundary) is in the lake.
    pub async fn lake(&self) -> BTreeMap<Key, u64> {
        let batches = self
            .lake_query(
                "SELECT meter_id, CAST(to_unixtime(boundary_ts) AS BIGINT) AS t FROM readings",
            )
            .await;
        let mut seen = BTreeMap::new();
        for batch in &batches {
            let meters = analytics::columns::strings(batch, 0).expect("meters");
            let times =
                analytics::columns::typed::<arrow::array::Int64Array>(batch, 1).expect("times");
            for i in 0..batch.num_rows() {
                *seen
                    .entry((meters.value(i).to_string(), times.value(i) * 1_000_000))
                    .or_insert(0) += 1;
            }
        }
        seen
    }

    /// The forward energy register (hundredths of a kWh) of every row in the lake, `None` where the
    /// meter gave none.
    pub async fn lake_energy(&self) -> BTreeMap<Key, Option<i64>> {
        let batches = self
            .lake_query(
                "SELECT meter_id, CAST(to_unixtime(boundary_ts) AS BIGINT) AS t, \
                 CAST(energy_fwd_total_kwh * 100 AS BIGINT) AS e FROM readings",
            )
            .await;
        let mut energy = BTreeMap::new();
        for batch in &batches {
            let meters = analytics::columns::strings(batch, 0).expect("meters");
            let times =
                analytics::columns::typed::<arrow::array::Int64Array>(batch, 1).expect("times");
            let values =
                analytics::columns::typed::<arrow::array::Int64Array>(batch, 2).expect("energy");
            for i in 0..batch.num_rows() {
                let value = arrow::array::Array::is_valid(values, i).then(|| values.value(i));
                energy.insert(
                    (meters.value(i).to_string(), times.value(i) * 1_000_000),
                    value,
                );
            }
        }
        energy
    }

    /// What every meter's forward register holds at `at`, in hundredths of a kWh (fractional).
    pub fn true_register(&self, at: DateTime<Utc>) -> f64 {
        let seconds = (at - self.start).num_milliseconds() as f64 / 1000.0;
        self.watts * seconds / 3.6e6 * 100.0
    }

    /// Replies cut by the flaky links so far.
    pub fn link_cuts(&self) -> u64 {
        self.links.iter().map(FlakyLink::cuts).sum()
    }

    /// Waits until the lake holds every reported (meter, boundary); returns (lost, duplicated) then,
    /// or after `within` what is still missing.
    pub async fn settle(&self, within: Duration) -> (u64, u64) {
        self.settle_counting(within, false, &BTreeSet::new()).await
    }

    /// As [`Pipeline::settle`], `excused` (readings known gone and reported, a quarantined spool
    /// record's) not counted as lost.
    pub async fn settle_except(&self, within: Duration, excused: &BTreeSet<Key>) -> (u64, u64) {
        self.settle_counting(within, false, excused).await
    }

    /// As [`Pipeline::settle`] with no collector running: rounds a stopped collector left in its spool
    /// (its drain at shutdown is bounded) are on disk for the next start, not lost.
    pub async fn settle_stopped(&self, within: Duration) -> (u64, u64) {
        self.settle_counting(within, true, &BTreeSet::new()).await
    }

    async fn settle_counting(
        &self,
        within: Duration,
        spool_too: bool,
        excused: &BTreeSet<Key>,
    ) -> (u64, u64) {
        let deadline = Instant::now() + within;
        loop {
            let reported = self.reported();
            let lake = self.lake().await;
            // Rounds a stopped collector left in its spool go out with the next start.
            let waiting = if spool_too {
                self.spooled()
            } else {
                BTreeSet::new()
            };
            let missing: Vec<&Key> = reported
                .iter()
                .filter(|k| !lake.contains_key(*k) && !excused.contains(*k))
                .filter(|k| !waiting.contains(*k))
                .collect();
            // A round cut short by a shutdown stored `rows` readings of its boundary, of meters the
            // log does not name: that many must be there.
            let cut_short = self.cut_short_rounds();
            let mut short = 0;
            for (boundary, rows) in cut_short {
                let at = boundary.timestamp_micros();
                let present: BTreeSet<&String> = lake
                    .keys()
                    .chain(waiting.iter())
                    .filter(|k| k.1 == at)
                    .map(|k| &k.0)
                    .collect();
                short += rows.saturating_sub(present.len()) as u64;
            }
            let lost = missing.len() as u64 + short;
            let duplicated = lake.values().map(|n| n - 1).sum();
            if lost == 0 || Instant::now() >= deadline {
                return (lost, duplicated);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The (meter, boundary) of every reading waiting in the spool (no collector may be running).
    fn spooled(&self) -> BTreeSet<Key> {
        let spool =
            ingest::spool::Spool::open(ingest::spool::SpoolConfig::new(self.spool_dir(), 1 << 30))
                .expect("opening the spool");
        spool
            .peek(usize::MAX)
            .expect("reading the spool")
            .iter()
            .flat_map(|peeked| super::spool_bytes::keys_of(&peeked.record.payload))
            .collect()
    }

    /// The children's logs, for a failing test's message.
    pub fn logs(&self) -> String {
        (1..=self.logs)
            .filter_map(|n| {
                ["collect", "sink", "control"].iter().find_map(|c| {
                    let path = self.dir.path().join(format!("{c}-{n}.log"));
                    std::fs::read_to_string(&path)
                        .ok()
                        .map(|t| format!("== {}\n{t}", path.display()))
                })
            })
            .collect()
    }

    /// The directory of a log file, for a failing test's message.
    pub fn logs_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Waits up to `within` until the collectors reported `rounds` more rounds than `before`
    /// (a count of [`Pipeline::reported`] keys).
    pub async fn wait_rounds(&self, before: usize, rounds: usize, within: Duration) {
        let wanted = before + rounds * self.buses.iter().map(|b| b.meters.len()).sum::<usize>();
        let deadline = Instant::now() + within;
        while self.reported().len() < wanted {
            assert!(
                Instant::now() < deadline,
                "{rounds} rounds not reported within {within:?}; logs in {}",
                self.logs_dir().display()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

impl Drop for Pipeline {
    /// A failed test keeps its scratch directory (logs, lake, spool) for a look; every test does
    /// with `METERLAKE_CHAOS_KEEP` set.
    fn drop(&mut self) {
        self.clock_driver.abort();
        if std::thread::panicking() || std::env::var_os("METERLAKE_CHAOS_KEEP").is_some() {
            self.dir.disable_cleanup(true);
            if self.database_disk.is_some() {
                // The database's tmpfs goes with the pipeline: keep a copy beside it.
                keep_copy(
                    &self.dir.path().join("db"),
                    &self.dir.path().join("db-kept"),
                );
            }
        }
    }
}

/// Copies the files of `from` (not the disk's filler) into `to`.
fn keep_copy(from: &Path, to: &Path) {
    let _ = std::fs::create_dir_all(to);
    for entry in std::fs::read_dir(from).into_iter().flatten().flatten() {
        if entry.file_name() != "filler.bin" {
            let _ = std::fs::copy(entry.path(), to.join(entry.file_name()));
        }
    }
}

/// The boundary of a collector log line (`boundary=2026-12-05 23:30:01 UTC rows=…`).
fn boundary_of(line: &str) -> DateTime<Utc> {
    let text = line
        .split("boundary=")
        .nth(1)
        .and_then(|rest| rest.split(" rows=").next())
        .unwrap_or_else(|| panic!("no boundary in {line:?}"));
    chrono::NaiveDateTime::parse_from_str(text.trim().trim_end_matches(" UTC"), "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
        .and_utc()
}
