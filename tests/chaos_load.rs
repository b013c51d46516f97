//! The chaos suite under load: the sink consuming a backlog as fast as it can while the lake is
//! compacted over and over and 50 analysts query it through the PostgreSQL endpoint with the real
//! `psql`, and the sink killed (`kill -9`) and restarted in the middle of it. Every produced (meter,
//! boundary) must be in the lake exactly once, every query answered, and no client's count of rows
//! may ever go down.
//!
//! `METERLAKE_CHAOS_TRIALS` (default 1 here: each trial is a whole backlog), `METERLAKE_CHAOS_REPORT`
//! as in `tests/chaos.rs`.

mod chaos_support;
mod http_support;
mod sink_harness;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chaos_support::report::{self, FaultRow};
use ingest::kafka::EmbeddedKafka;
use sink_harness::Harness;

const PASSWORD: &str = "reads the lake 2026";
const CLIENTS: usize = 50;
const QUERIES: usize = 15;

/// `meterlake sql-server` on the harness's lake; killed on drop.
struct SqlServer {
    child: Child,
    port: u16,
}

impl SqlServer {
    fn start(harness: &Harness) -> Self {
        let mut command = harness.commands()(&["sql-server", "--listen", "127.0.0.1:0"]);
        // Room for every analyst (the default cap is 32 connections).
        command
            .env(
                "METERLAKE_SQL_SERVER__MAX_CONNECTIONS",
                (CLIENTS + 8).to_string(),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = EmbeddedKafka::spawn_child(&mut command).expect("sql-server");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("the server printed its port")
                .expect("line");
            if let Some(rest) = line.split("port=").nth(1) {
                let port = rest.split_whitespace().next().unwrap_or_default();
                break port.trim_matches('"').parse().expect("port");
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self { child, port }
    }
}

impl Drop for SqlServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One analyst: `psql` running [`QUERIES`] counts of the readings in one session, 0.3 s apart.
fn analyst(port: u16) -> Child {
    let mut psql = std::process::Command::new("psql");
    psql.arg(format!(
        "host=127.0.0.1 port={port} user=analyst dbname=meterlake"
    ))
    .args(["-At", "-v", "ON_ERROR_STOP=1", "-f", "-"])
    .env("PGPASSWORD", PASSWORD)
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child =
        EmbeddedKafka::spawn_child(&mut psql).expect("psql (scripts/test.sh installs it)");
    // Spread over the run: a pause after each query.
    let script = "SELECT count(*) FROM readings;\n\\! sleep 0.3\n".repeat(QUERIES);
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("queries written");
    child
}

/// Checks an analyst's session: every query answered, counts never going down.
fn check_analyst(client: Child) {
    let out = client.wait_with_output().expect("psql");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "a psql session failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let counts: Vec<u64> = stdout
        .lines()
        .map(|l| l.parse().expect("a count"))
        .collect();
    assert_eq!(counts.len(), QUERIES, "every query answered: {stdout}");
    assert!(
        counts.windows(2).all(|w| w[0] <= w[1]),
        "a client saw rows disappear: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_killed_at_full_rate_during_compaction_with_50_sql_clients() {
    let mut harness = Harness::new();
    harness.cli(
        &["user", "add", "analyst", "--role", "analyst"],
        &format!("{PASSWORD}\n"),
    );
    let mut row = FaultRow::new(
        "kill -9 of the sink draining a backlog while the lake is compacted and 50 psql clients query",
    );
    let server = SqlServer::start(&harness);
    for _ in 0..report::trials(1) {
        // A backlog: 300 rounds of 200 meters (60,000 readings, 2,400 messages), then the sink.
        harness.produce(300).await;
        let stop = Arc::new(AtomicBool::new(false));
        let compactions = Arc::new(AtomicU64::new(0));
        let compactor = {
            let (stop, compactions, meterlake) =
                (stop.clone(), compactions.clone(), harness.commands());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let mut command = meterlake(&["compact", "--target-mb", "1"]);
                    command.stdout(Stdio::null()).stderr(Stdio::null());
                    // A compaction may lose its commit to the sink's (a concurrent writer): it is
                    // simply run again.
                    let done = EmbeddedKafka::spawn_child(&mut command)
                        .and_then(|mut c| c.wait())
                        .is_ok_and(|status| status.success());
                    compactions.fetch_add(u64::from(done), Ordering::Relaxed);
                }
            })
        };
        let started = Instant::now();
        let victim = harness.spawn_sink(None);
        let clients: Vec<Child> = (0..CLIENTS).map(|_| analyst(server.port)).collect();
        let committed = harness.lake_commits();
        while harness.lake_commits() < committed + 3 {
            assert!(started.elapsed() < Duration::from_secs(120), "no commits");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let pid = victim.pid();
        victim.kill_hard();
        row.killed(pid);
        let restarted = Instant::now();
        let survivor = harness.spawn_sink(None);
        harness.wait_caught_up(Duration::from_secs(300)).await;
        row.recovered_in(restarted.elapsed());
        let drained = started.elapsed();
        for client in clients {
            check_analyst(client);
        }
        stop.store(true, Ordering::Relaxed);
        compactor.join().expect("compactor");
        survivor.stop_gracefully();
        harness.assert_exact().await;
        let tally = harness.tally().await;
        assert_eq!((tally.wrong, tally.unexpected), (0, 0), "{tally:?}");
        row.settled(tally.produced, tally.lost, tally.duplicated);
        eprintln!(
            "load: {} readings drained in {:.1} s with a kill -9; {} compactions; {CLIENTS} × {QUERIES} queries",
            tally.produced,
            drained.as_secs_f64(),
            compactions.load(Ordering::Relaxed)
        );
    }
    row.finish();
}
