//! The collector's spool under a Kafka outage and under `kill -9`: nothing lost, nothing duplicated.

mod http_support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Array, StringArray, TimestampMicrosecondArray};
use chrono::{DateTime, Utc};
use ingest::collector::{buses_file, BusConfig, Collector, CollectorConfig};
use ingest::kafka::{EmbeddedKafka, KafkaSettings, Topics};
use ingest::sim::{Fleet, FleetConfig, SimClock};
use ingest::spool::{Spool, SpoolConfig};
use rdkafka::consumer::Consumer;
use rdkafka::Message;

type Key = (String, i64);

/// The (meter, boundary) of every row of a reading batch.
fn keys_of(batch: &arrow::record_batch::RecordBatch) -> Vec<Key> {
    let column = |name: &str| batch.column_by_name(name).unwrap().as_any();
    let meters = column("meter_id").downcast_ref::<StringArray>().unwrap();
    let times = column("boundary_ts")
        .downcast_ref::<TimestampMicrosecondArray>()
        .unwrap();
    (0..meters.len())
        .map(|i| (meters.value(i).to_string(), times.value(i)))
        .collect()
}

fn settings(kafka: &EmbeddedKafka) -> KafkaSettings {
    KafkaSettings {
        brokers: kafka.bootstrap_servers(),
        properties: [("message.timeout.ms".to_string(), "3000".to_string())].into(),
    }
}

/// Starts a simulated fleet of `meters` meters (3 per DTU) and returns its buses as a collector sees them.
async fn fleet(meters: usize) -> (Fleet, Vec<BusConfig>) {
    let start: DateTime<Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
    let fleet = Fleet::new(
        &FleetConfig {
            meters,
            meters_per_bus: 3,
            first_meter_number: 5001,
            seed: 3,
            constant_watts: Some(800.0),
            security: ingest::sim::SecurityMode::Lab,
            zone: chrono_tz::Asia::Shanghai,
            bus_prefix: "spool".into(),
            grid: ingest::sim::grid::GridConfig {
                supply_meters: false,
                ..Default::default()
            },
            ..FleetConfig::default()
        },
        start,
    )
    .unwrap();
    let served =
        ingest::sim::server::serve_fleet(&fleet, &SimClock::new(start), [127, 0, 0, 1].into())
            .await
            .unwrap();
    (fleet, served.buses)
}

/// Every (meter, boundary) in the readings topic with how often it appears. Reads until `done` holds
/// and the topic has been quiet for a second, or 30 s pass.
async fn topic_rows(
    kafka: &EmbeddedKafka,
    done: impl Fn(&BTreeMap<Key, usize>) -> bool,
) -> BTreeMap<Key, usize> {
    let consumer: ingest::kafka::KafkaConsumer =
        ingest::kafka::consumer(&settings(kafka), &format!("check-{}", uuid::Uuid::new_v4()))
            .unwrap();
    consumer
        .subscribe(&[&Topics::with_prefix("").readings])
        .unwrap();
    let mut rows = BTreeMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let wait = if done(&rows) {
            left.min(Duration::from_secs(1))
        } else {
            left
        };
        let Ok(message) = tokio::time::timeout(wait, consumer.recv()).await else {
            break;
        };
        let message = message.unwrap();
        let batches =
            ingest::kafka::message::decode(message.payload().unwrap(), None, None).unwrap();
        for key in batches.iter().flat_map(keys_of) {
            *rows.entry(key).or_insert(0) += 1;
        }
    }
    rows
}

#[tokio::test]
async fn a_kafka_outage_spools_rounds_and_they_drain_in_full_when_it_returns() {
    let topics = Topics::with_prefix("");
    let kafka = EmbeddedKafka::start(1, &topics, 1).unwrap();
    let (_fleet, buses) = fleet(6).await;
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(SpoolConfig::new(dir.path(), 1 << 30)).unwrap();
    let collector = Arc::new(Collector::new(
        CollectorConfig {
            collector_id: "c-outage".into(),
            buses,
            timeout: Duration::from_millis(300),
            retries: 1,
            zone: chrono_tz::Asia::Shanghai,
            max_concurrent_buses: 16,
            clock_check_every: 0,
            event_check_every: 0,
            clock_threshold: Duration::from_secs(60),
            command_keys: None,
        },
        Arc::new(std::sync::Mutex::new(spool)),
        ingest::kafka::producer(&settings(&kafka)).unwrap(),
        topics.clone(),
        Arc::new(ingest::clock::SystemClock),
    ));
    let (shutdown, rx) = tokio::sync::watch::channel(false);
    let forwarder = tokio::spawn(collector.forwarder().run(rx, Duration::from_secs(5)));

    kafka.set_broker_up(1, false).unwrap();
    let first: DateTime<Utc> = "2026-10-01T00:15:00Z".parse().unwrap();
    for i in 0..3 {
        let stats = collector
            .collect(first + chrono::Duration::minutes(15 * i))
            .await
            .unwrap();
        assert_eq!((stats.rows, stats.no_response, stats.messages), (6, 0, 2));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        collector.spooled_records().await.unwrap(),
        6,
        "2 buses × 3 rounds wait on disk"
    );
    let health = collector.health().await.unwrap();
    assert_eq!(health.spool_records, 6);
    assert_eq!(health.areas[0].success_rate, 1.0);

    kafka.set_broker_up(1, true).unwrap();
    assert_eq!(
        collector
            .wait_forwarded(Duration::from_secs(60))
            .await
            .unwrap(),
        0
    );
    let rows = topic_rows(&kafka, |rows| rows.len() >= 18).await;
    assert_eq!(rows.len(), 18, "6 meters × 3 boundaries: {rows:?}");
    assert!(rows.values().all(|n| *n == 1), "no duplicates: {rows:?}");
    let _ = shutdown.send(true);
    forwarder.await.unwrap().unwrap();
}

/// Starts `meterlake collect`; its log (standard error: rounds reported done) goes to `log`.
fn spawn_collector(config: &std::path::Path, log: &std::path::Path) -> Child {
    let log = std::fs::File::create(log).unwrap();
    // The other test takes its broker down meanwhile: see `EmbeddedKafka::spawn_child`.
    EmbeddedKafka::spawn_child(
        Command::new(env!("CARGO_BIN_EXE_meterlake"))
            .args(["--config", config.to_str().unwrap(), "collect"])
            .env("METERLAKE_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log),
    )
    .unwrap()
}

/// The (meter, boundary) of every row a collector's log reports stored: each "collection round done"
/// line is logged only after its round was appended to the spool and synced.
fn reported_keys(log: &std::path::Path, meters: &[String]) -> BTreeSet<Key> {
    let text = std::fs::read_to_string(log).unwrap();
    let mut keys = BTreeSet::new();
    for line in text.lines().filter(|l| l.contains("collection round done")) {
        let boundary = line
            .split("boundary=")
            .nth(1)
            .and_then(|rest| rest.split(" rows=").next())
            .unwrap_or_else(|| panic!("no boundary in {line:?}"));
        let at: DateTime<Utc> = chrono::NaiveDateTime::parse_from_str(
            boundary.trim().trim_end_matches(" UTC"),
            "%Y-%m-%d %H:%M:%S",
        )
        .unwrap_or_else(|e| panic!("{boundary:?}: {e}"))
        .and_utc();
        assert!(line.contains(&format!("rows={}", meters.len())), "{line}");
        keys.extend(meters.iter().map(|m| (m.clone(), at.timestamp_micros())));
    }
    keys
}

/// Reads what a dead collector left in its spool.
fn spooled_keys(dir: &std::path::Path) -> BTreeSet<Key> {
    let spool = Spool::open(SpoolConfig::new(dir, 1 << 30)).unwrap();
    let mut keys = BTreeSet::new();
    for peeked in spool.peek(usize::MAX).unwrap() {
        let batches = ingest::kafka::message::decode(&peeked.record.payload, None, None).unwrap();
        keys.extend(batches.iter().flat_map(keys_of));
    }
    keys
}

#[tokio::test]
async fn kill_dash_nine_mid_spool_loses_nothing_and_duplicates_nothing() {
    let topics = Topics::with_prefix("");
    let kafka = EmbeddedKafka::start(1, &topics, 1).unwrap();
    let (_fleet, buses) = fleet(4).await;
    let dir = tempfile::tempdir().unwrap();
    let buses_path = dir.path().join("buses.toml");
    std::fs::write(&buses_path, buses_file::render(&buses)).unwrap();
    let spool_dir = dir.path().join("spool");
    let config_path = dir.path().join("meterlake.toml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(
        &config_path,
        format!(
            "[kafka]\nbrokers = \"{}\"\n[kafka.properties]\n\"message.timeout.ms\" = \"2000\"\n\
             [collector]\nid = \"c-kill\"\nspool_dir = \"{}\"\ninterval_s = 1\nlisten = \"127.0.0.1:{port}\"\n\
             buses_file = \"{}\"\ntimeout_ms = 300\n\
             [control]\ndatabase = \"sqlite://{dir}/control.db\"\naudit_keys_dir = \"{dir}/keys/audit\"\n\
             command_keys_dir = \"{dir}/keys/commands\"\n[tls]\nallow_plaintext = true\n",
            kafka.bootstrap_servers(),
            spool_dir.display(),
            buses_path.display(),
            dir = dir.path().display()
        ),
    )
    .unwrap();

    // Kafka is away: the collector spools a round every second; kill it without warning.
    kafka.set_broker_up(1, false).unwrap();
    let first_log = dir.path().join("collector-1.log");
    let mut child = spawn_collector(&config_path, &first_log);
    let meters: Vec<String> = buses
        .iter()
        .flat_map(|b| b.meters.iter().map(|m| m.to_string()))
        .collect();
    // Killed without warning once two rounds were reported stored, half-way into the third.
    let started = std::time::Instant::now();
    while reported_keys(&first_log, &meters).len() < 8
        && started.elapsed() < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // What the collector reported stored before it died is the reference, not what the spool holds.
    let reported = reported_keys(&first_log, &meters);
    assert!(
        reported.len() >= 8,
        "at least two rounds of 4 meters were reported stored: {}",
        reported.len()
    );
    let spooled = spooled_keys(&spool_dir);
    let lost: Vec<&Key> = reported.difference(&spooled).collect();
    assert!(
        lost.is_empty(),
        "reported stored, missing after kill -9: {lost:?}"
    );

    // Kafka is back: a new collector process drains what the dead one left.
    kafka.set_broker_up(1, true).unwrap();
    let mut child = spawn_collector(&config_path, &dir.path().join("collector-2.log"));
    let drained = topic_rows(&kafka, |rows| spooled.iter().all(|k| rows.contains_key(k))).await;
    // The running collector reports over HTTP: Prometheus metrics and its health.
    // Its HTTP API answers the control service's users only (maintenance may read health and metrics).
    let maintenance = http_support::user_with_token(&config_path, "fixer", "maintenance");
    let (status, _) = http_support::request(port, None, "GET", "/healthz", "")
        .await
        .unwrap();
    assert_eq!(status, 401);
    let metrics = http_support::get_ok(port, &maintenance, "/metrics").await;
    for name in [
        "meterlake_collector_meter_reads_total{",
        "meterlake_collector_forwarded_records_total",
        "meterlake_collector_spool_records",
        "meterlake_collector_request_seconds",
    ] {
        assert!(metrics.contains(name), "{name} missing from:\n{metrics}");
    }
    let health = http_support::get_ok(port, &maintenance, "/healthz").await;
    assert!(health.contains("\"collector_id\":\"c-kill\""), "{health}");
    assert!(health.contains("\"success_rate\":1.0"), "{health}");
    // Graceful shutdown: SIGTERM finishes the round in flight, flushes, and exits cleanly.
    let term =
        EmbeddedKafka::spawn_child(Command::new("kill").args(["-TERM", &child.id().to_string()]))
            .unwrap()
            .wait()
            .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "collector exit after SIGTERM: {status}");
    assert!(drained.len() >= spooled.len());
    let rows = topic_rows(&kafka, |rows| rows.len() >= drained.len()).await;
    let missing: Vec<_> = spooled.iter().filter(|k| !rows.contains_key(*k)).collect();
    assert!(missing.is_empty(), "lost after kill -9: {missing:?}");
    let duplicated: Vec<_> = rows.iter().filter(|(_, n)| **n > 1).collect();
    assert!(duplicated.is_empty(), "duplicated: {duplicated:?}");
}
