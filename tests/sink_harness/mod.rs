//! A harness for sink crash tests: an embedded Kafka cluster, a lake in a temporary directory, a
//! producer of reading messages whose exact contents are remembered, and `meterlake sink` child processes
//! that can be killed.

#![allow(dead_code)] // each test crate uses part of the harness

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use ingest::kafka::message::{encode_arrow, ARROW_STREAM, CONTENT_TYPE};
use ingest::kafka::{EmbeddedKafka, KafkaSettings, Topics};
use ingest::reading::{readings_to_batch, Quality, Reading};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::FutureRecord;
use rust_decimal::Decimal;
use store::{DeadLetterTable, Lake, LakeLocation};

/// Zone of the test lake.
pub const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;
/// Partitions of the readings topic.
pub const PARTITIONS: i32 = 4;
/// The sink group the children join.
pub const GROUP: &str = "crash-sink";
const BUSES: usize = 8;
const METERS_PER_MESSAGE: usize = 25;

/// The world of one crash test.
pub struct Harness {
    kafka: EmbeddedKafka,
    topics: Topics,
    producer: ingest::kafka::KafkaProducer,
    _dir: tempfile::TempDir,
    config: PathBuf,
    /// Environment the children get on top of the test's.
    child_env: Vec<(String, String)>,
    /// A maintenance user's API token (the sink's `/healthz` needs one).
    token: String,
    /// Where the lake is.
    pub location: LakeLocation,
    /// Every distinct (meter, boundary) produced, with its energy in hundredths of a kWh.
    expected: BTreeMap<(String, i64), i64>,
    /// Garbage messages produced.
    pub garbage: usize,
    /// Messages produced.
    pub messages: usize,
    next_boundary: DateTime<Utc>,
}

impl Harness {
    /// Starts the cluster and writes the children's configuration, the lake in a temporary directory.
    pub fn new() -> Self {
        Self::with_lake(None, Vec::new())
    }

    /// As [`Harness::new`] with the lake at `location` (an `s3://` URL, say) and `child_env` set for
    /// the children (the test process reads the lake with its own environment).
    pub fn with_lake(location: Option<&str>, child_env: Vec<(String, String)>) -> Self {
        let topics = Topics::with_prefix("");
        let kafka = EmbeddedKafka::start(1, &topics, PARTITIONS).expect("embedded kafka");
        let dir = tempfile::tempdir().expect("temp dir");
        let lake_dir = dir.path().join("lake");
        let lake_dir = location.map_or_else(
            || lake_dir.to_str().expect("utf-8 path").to_string(),
            str::to_string,
        );
        let location = LakeLocation::parse(&lake_dir).expect("lake");
        let config = dir.path().join("sink.toml");
        std::fs::write(
            &config,
            format!(
                r#"[lake]
location = "{}"
zone = "Asia/Shanghai"
[kafka]
brokers = "{}"
[kafka.properties]
"session.timeout.ms" = "6000"
"heartbeat.interval.ms" = "500"
[sink]
group_id = "{GROUP}"
flush_rows = 400
flush_interval_ms = 100
listen = "127.0.0.1:0"
[control]
database = "sqlite://{dir}/control.db"
audit_keys_dir = "{dir}/keys/audit"
command_keys_dir = "{dir}/keys/commands"
[tls]
allow_plaintext = true
"#,
                lake_dir,
                kafka.bootstrap_servers(),
                dir = dir.path().display()
            ),
        )
        .expect("config file");
        let token = maintenance_token(&config, &child_env);
        let producer = ingest::kafka::producer(&KafkaSettings {
            brokers: kafka.bootstrap_servers(),
            properties: Default::default(),
        })
        .expect("producer");
        Self {
            kafka,
            topics,
            producer,
            _dir: dir,
            config,
            child_env,
            token,
            location,
            expected: BTreeMap::new(),
            garbage: 0,
            messages: 0,
            next_boundary: first_boundary(),
        }
    }

    /// Produces `rounds` collection rounds: every bus sends one message per round with its meters at a
    /// new boundary (rounds cross local midnight, so two date partitions fill). Every fifth message is sent
    /// twice (a collector retry); one garbage message goes to a bus's partition at the start.
    pub async fn produce(&mut self, rounds: usize) {
        self.send("bus-0", b"\xffnot arrow".to_vec(), None).await;
        self.garbage += 1;
        for _ in 0..rounds {
            let boundary = self.next_boundary;
            assert!(
                boundary < Utc::now(),
                "the harness ran out of past: round {boundary} would be refused as future-dated"
            );
            self.next_boundary += TimeDelta::minutes(15);
            for bus in 0..BUSES {
                let bus_id = format!("bus-{bus}");
                let rows: Vec<Reading> = (0..METERS_PER_MESSAGE)
                    .map(|m| {
                        let meter = format!("{:012}", 100_000 + bus * 1000 + m);
                        let hundredths = boundary.timestamp() / 900 % 100_000 + m as i64;
                        let mut r = Reading::empty(meter.clone(), boundary, &bus_id, "c-1");
                        r.energy_fwd_total_kwh = Some(Decimal::new(hundredths, 2));
                        r.quality = Quality::Ok;
                        self.expected
                            .insert((meter, boundary.timestamp_micros()), hundredths);
                        r
                    })
                    .collect();
                let payload =
                    encode_arrow(&readings_to_batch(&rows).expect("batch")).expect("arrow ipc");
                let copies = if self.messages.is_multiple_of(5) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let headers = OwnedHeaders::new().insert(Header {
                        key: CONTENT_TYPE,
                        value: Some(ARROW_STREAM),
                    });
                    self.send(&bus_id, payload.clone(), Some(headers)).await;
                }
            }
        }
    }

    async fn send(&mut self, key: &str, payload: Vec<u8>, headers: Option<OwnedHeaders>) {
        let mut record = FutureRecord::to(&self.topics.readings)
            .key(key)
            .payload(&payload);
        if let Some(headers) = headers {
            record = record.headers(headers);
        }
        self.producer
            .send(record, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .expect("produce");
        self.messages += 1;
    }

    /// Runs `meterlake <args>` on the children's configuration with `stdin`; its standard output.
    pub fn cli(&self, args: &[&str], stdin: &str) -> String {
        meterlake(&self.config, &self.child_env, args, stdin)
    }

    /// Makes `meterlake` commands on the children's configuration and environment (for other
    /// threads), not yet started.
    pub fn commands(&self) -> impl Fn(&[&str]) -> Command + Send + 'static {
        let (config, child_env) = (self.config.clone(), self.child_env.clone());
        move |args| {
            let mut command = Command::new(binary());
            without_test_settings(&mut command);
            command
                .envs(child_env.iter().cloned())
                .arg("--config")
                .arg(&config)
                .args(args);
            command
        }
    }

    /// Starts a `meterlake sink` child, with a fail point armed if given.
    pub fn spawn_sink(&self, fail_point: Option<&str>) -> SinkChild {
        let mut command = Command::new(binary());
        command
            .arg("--config")
            .arg(&self.config)
            .arg("sink")
            .env_remove("METERLAKE_LOG")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        without_test_settings(&mut command);
        command.envs(self.child_env.iter().cloned());
        if let Some(point) = fail_point {
            command.env("METERLAKE_FAIL_POINT", point);
        }
        // Brokers may be taken down meanwhile: see `EmbeddedKafka::spawn_child`.
        let mut child = EmbeddedKafka::spawn_child(&mut command).expect("spawning meterlake sink");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let pid = child.id();
        // Echo the child's stderr (for failures) and pick up the address it serves /healthz on.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = line.split("http://").nth(1) {
                    let addr = addr.split('/').next().unwrap_or_default().to_string();
                    let _ = tx.send(addr);
                }
                eprintln!("[sink {pid}] {line}");
            }
        });
        SinkChild {
            child,
            addr: rx.recv_timeout(Duration::from_secs(30)).ok(),
            token: self.token.clone(),
        }
    }

    /// Takes the (only) broker down or brings it back.
    pub fn broker_up(&self, up: bool) {
        self.kafka.set_broker_up(1, up).expect("broker up/down");
    }

    /// The lake's directory.
    pub fn lake_dir(&self) -> PathBuf {
        self.location.local_dir().expect("local lake")
    }

    /// Distinct (meter, boundary) produced so far.
    pub fn produced(&self) -> u64 {
        self.expected.len() as u64
    }

    /// What the lake holds against what was produced.
    pub async fn tally(&self) -> Tally {
        let session = analytics::LakeSession::open(&self.location, ZONE, None)
            .await
            .expect("session");
        let batches = session
            .query(
                "SELECT meter_id, CAST(to_unixtime(boundary_ts) AS BIGINT) AS t, \
                 CAST(energy_fwd_total_kwh * 100 AS BIGINT) AS e FROM readings",
            )
            .await
            .expect("rows query");
        let mut seen: BTreeMap<(String, i64), (i64, u64)> = BTreeMap::new();
        for batch in &batches {
            let meters = analytics::columns::strings(batch, 0).expect("meters");
            let times = analytics::columns::typed::<arrow::array::Int64Array>(batch, 1).expect("t");
            let energy =
                analytics::columns::typed::<arrow::array::Int64Array>(batch, 2).expect("e");
            for i in 0..batch.num_rows() {
                let entry = seen
                    .entry((meters.value(i).to_string(), times.value(i) * 1_000_000))
                    .or_insert((energy.value(i), 0));
                entry.1 += 1;
            }
        }
        let mut tally = Tally {
            produced: self.produced(),
            ..Tally::default()
        };
        for (key, energy) in &self.expected {
            match seen.get(key) {
                None => tally.lost += 1,
                Some((e, copies)) => {
                    tally.duplicated += copies - 1;
                    if e != energy {
                        tally.wrong += 1;
                    }
                }
            }
        }
        tally.unexpected = seen
            .keys()
            .filter(|k| !self.expected.contains_key(*k))
            .count() as u64;
        tally
    }

    /// Number of commits in the readings table's log so far.
    pub fn lake_commits(&self) -> usize {
        let log = self
            .location
            .local_dir()
            .expect("local lake")
            .join("readings/_delta_log");
        std::fs::read_dir(log)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Waits until the lake's positions reach the end of every partition of the readings topic.
    pub async fn wait_caught_up(&self, within: Duration) {
        let probe: BaseConsumer = rdkafka::ClientConfig::new()
            .set("bootstrap.servers", self.kafka.bootstrap_servers())
            .create()
            .expect("probe consumer");
        let deadline = Instant::now() + within;
        loop {
            let mut behind = Vec::new();
            let lake = Lake::open(&self.location, ZONE).await.expect("lake");
            for partition in 0..PARTITIONS {
                let (_, high) = probe
                    .fetch_watermarks(&self.topics.readings, partition, Duration::from_secs(5))
                    .expect("watermarks");
                let source = format!("{GROUP}-{}-{partition}", self.topics.readings);
                let position = lake.source_position(&source).await.expect("position");
                if high > 0 && position.unwrap_or(-1) < high - 1 {
                    behind.push((partition, position, high));
                }
            }
            if behind.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the sink did not catch up within {within:?}: {behind:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Checks the lake holds every produced (meter, boundary) once with its energy, and every garbage
    /// message once in the dead-letter table.
    pub async fn assert_exact(&self) {
        let session = analytics::LakeSession::open(&self.location, ZONE, None)
            .await
            .expect("session");
        let batches = session
            .query(
                "SELECT count(*) AS n, \
                 count(DISTINCT meter_id || '@' || CAST(boundary_ts AS VARCHAR)) AS d, \
                 CAST(sum(energy_fwd_total_kwh) * 100 AS BIGINT) AS s FROM readings",
            )
            .await
            .expect("count query");
        let value = |i| {
            analytics::columns::typed::<arrow::array::Int64Array>(&batches[0], i)
                .expect("bigint")
                .value(0)
        };
        let expected_sum: i64 = self.expected.values().sum();
        assert_eq!(value(0) as usize, self.expected.len(), "row count");
        assert_eq!(value(1), value(0), "a (meter, boundary) appears twice");
        assert_eq!(value(2), expected_sum, "energy sum");
        let letters = DeadLetterTable::open(&self.location)
            .await
            .expect("dead letters")
            .read_all()
            .await
            .expect("read dead letters");
        assert_eq!(letters.len(), self.garbage, "dead letters: {letters:?}");
    }
}

/// The lake against what was produced.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    /// Distinct (meter, boundary) produced.
    pub produced: u64,
    /// Produced and not in the lake.
    pub lost: u64,
    /// Extra copies in the lake.
    pub duplicated: u64,
    /// In the lake with another energy than produced.
    pub wrong: u64,
    /// In the lake and never produced.
    pub unexpected: u64,
}

/// A `meterlake sink` child process.
pub struct SinkChild {
    child: Child,
    addr: Option<String>,
    token: String,
}

/// Keeps the test's own `METERLAKE_*` variables (trial counts, report files) from a child, which would
/// read them as configuration.
fn without_test_settings(command: &mut Command) {
    for (name, _) in std::env::vars() {
        if name.starts_with("METERLAKE_") {
            command.env_remove(name);
        }
    }
}

/// The `meterlake` binary every child runs: `METERLAKE_SOAK_BIN` (the copy a long run keeps, so
/// rebuilds during it cannot disturb it) or the one cargo built.
fn binary() -> String {
    std::env::var("METERLAKE_SOAK_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_meterlake").to_string())
}

/// Runs `meterlake --config <config> <args>` with `stdin` and the children's environment; its
/// standard output (panics unless it succeeds).
fn meterlake(
    config: &std::path::Path,
    child_env: &[(String, String)],
    args: &[&str],
    stdin: &str,
) -> String {
    let mut command = Command::new(binary());
    without_test_settings(&mut command);
    command
        .envs(child_env.iter().cloned())
        .arg("--config")
        .arg(config)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = EmbeddedKafka::spawn_child(&mut command).expect("meterlake");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("stdin written");
    let out = child.wait_with_output().expect("meterlake");
    assert!(
        out.status.success(),
        "meterlake {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Makes a maintenance user in the children's user store and returns an API token of theirs.
fn maintenance_token(config: &std::path::Path, child_env: &[(String, String)]) -> String {
    meterlake(
        config,
        child_env,
        &["user", "add", "watch", "--role", "maintenance"],
        "watching the sink\n",
    );
    meterlake(
        config,
        child_env,
        &["user", "token", "watch", "--label", "harness"],
        "",
    )
}

impl SinkChild {
    /// Rows the child reports committed on `/healthz` (`None` when it does not answer).
    pub fn rows_committed(&self) -> Option<u64> {
        self.health()?.1.get("rows_committed")?.as_u64()
    }

    /// `GET path` with the harness's token: (status, body), `None` when the child does not answer.
    fn get(&self, path: &str) -> Option<(u16, String)> {
        let addr = self.addr.as_deref()?;
        let mut stream = TcpStream::connect(addr).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            self.token
        )
        .ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let status = response.split(' ').nth(1)?.parse().ok()?;
        Some((status, response.split("\r\n\r\n").nth(1)?.to_string()))
    }

    /// The child's `/healthz`: status code and document (`None` when it does not answer).
    pub fn health(&self) -> Option<(u16, serde_json::Value)> {
        let (status, body) = self.get("/healthz")?;
        Some((status, serde_json::from_str(&body).ok()?))
    }

    /// The child's `/metrics` text (`None` when it does not answer).
    pub fn metrics(&self) -> Option<String> {
        self.get("/metrics").map(|(_, body)| body)
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `within` for the child to exit by itself; returns its status.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Stops the child with SIGTERM (it commits and leaves the group) and waits for a clean exit.
    pub fn stop_gracefully(mut self) {
        let _ = EmbeddedKafka::spawn_child(
            Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string()),
        )
        .and_then(|mut kill| kill.wait());
        match self.wait_exit(Duration::from_secs(30)) {
            Some(status) => assert!(status.success(), "sink exited with {status}"),
            None => {
                let _ = self.child.kill();
                panic!("the sink did not stop within 30 s of SIGTERM");
            }
        }
    }

    /// Kills the child with SIGKILL and reaps it.
    pub fn kill_hard(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SinkChild {
    /// A failing test must not leave sinks running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The first round's boundary: 15:45 UTC (23:45 in Shanghai, so rounds soon cross local midnight)
/// three years ago. A long run's rounds must stay in the past — the sink refuses boundaries in the
/// future as dead letters — and they add up: a broker trial's 100 rounds take 25 hours of
/// boundaries, a load trial's 300 take 75 (50 trials: 156 days). A fixed start date, then one 120
/// days back, each ran out in a long run (the 33rd broker trial, the 39th load trial).
fn first_boundary() -> DateTime<Utc> {
    let day = (Utc::now() - TimeDelta::days(3 * 365)).date_naive();
    day.and_hms_opt(15, 45, 0)
        .expect("a valid time of day")
        .and_utc()
}
