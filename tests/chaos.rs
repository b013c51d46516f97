//! The chaos suite, sink and lake side: faults tried against `meterlake sink` children writing a lake
//! from an embedded Kafka cluster, each trial checked against what was produced (every (meter,
//! boundary) once with its energy, every garbage message once as a dead letter). Each test is one row
//! of the table in `docs/reliability.md`.
//!
//! `METERLAKE_CHAOS_TRIALS` sets the trials per fault (default 2, the CI form; `scripts/chaos.sh` runs
//! 50), `METERLAKE_CHAOS_OUTAGE_S` the length of a broker outage (default 5 s, below the sinks' 6 s group session), and
//! `METERLAKE_CHAOS_REPORT` a file the rows are appended to as JSON lines.

mod chaos_support;
mod http_support;
mod sink_harness;

use std::time::{Duration, Instant};

use chaos_support::report::{self, FaultRow};
use chaos_support::tmpfs::Tmpfs;
use rand::{Rng, SeedableRng};
use sink_harness::{Harness, SinkChild, Tally};

/// Waits until `done` holds, checking every 50 ms; fails after `within` naming `what`.
async fn wait_until(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Adds a trial's tally to the row; fails on energies that differ or rows never produced.
fn count(row: &mut FaultRow, tally: Tally) {
    assert_eq!((tally.wrong, tally.unexpected), (0, 0), "{tally:?}");
    row.settled(tally.produced, tally.lost, tally.duplicated);
}

/// Whether the sink's `/healthz` answers 503 naming `fault`, and its `/metrics` show `metric`.
fn shows(sink: &SinkChild, fault: &str, metric: &str) -> bool {
    let health = sink.health().is_some_and(|(status, doc)| {
        status == 503
            && doc["faults"]
                .as_array()
                .is_some_and(|f| f.iter().any(|v| v == fault))
    });
    health
        && sink
            .metrics()
            .is_some_and(|m| m.lines().any(|l| l == metric))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sink_killed_with_sigkill_at_random_moments() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(report::seed());
    let mut harness = Harness::new();
    let mut row = FaultRow::new("kill -9 of the sink at a random moment after its first commit");
    for _ in 0..report::trials(2) {
        harness.produce(20).await;
        let commits = harness.lake_commits();
        let victim = harness.spawn_sink(None);
        wait_until("a first commit", Duration::from_secs(90), || {
            harness.lake_commits() > commits
        })
        .await;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..600))).await;
        let pid = victim.pid();
        victim.kill_hard();
        row.killed(pid);
        let restarted = Instant::now();
        let survivor = harness.spawn_sink(None);
        harness.wait_caught_up(Duration::from_secs(120)).await;
        row.recovered_in(restarted.elapsed());
        survivor.stop_gracefully();
        harness.assert_exact().await;
        count(&mut row, harness.tally().await);
    }
    row.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_while_the_sink_flushes() {
    let mut harness = Harness::new();
    let mut row = FaultRow::new("Kafka broker down while the sink consumes and commits");
    let sink = harness.spawn_sink(None);
    for _ in 0..report::trials(2) {
        // Enough rows that the outage falls while the sink is still fetching and committing them.
        harness.produce(100).await;
        let committed = sink.rows_committed().unwrap_or(0);
        wait_until("the sink consuming", Duration::from_secs(90), || {
            sink.rows_committed().unwrap_or(0) > committed
        })
        .await;
        harness.broker_up(false);
        // The outage lasts its length, and longer (up to three times) until health has shown it.
        let outage = report::outage(5, 5);
        row.watch(outage, outage * 3, || async {
            shows(&sink, "kafka_unreachable", "meterlake_kafka_brokers_up 0")
        })
        .await;
        harness.broker_up(true);
        let back = Instant::now();
        harness.wait_caught_up(Duration::from_secs(240)).await;
        row.recovered_in(back.elapsed());
        wait_until("/healthz ok again", Duration::from_secs(30), || {
            sink.health().is_some_and(|(status, _)| status == 200)
        })
        .await;
        harness.assert_exact().await;
        count(&mut row, harness.tally().await);
    }
    sink.stop_gracefully();
    row.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebalance_storm_of_three_sinks() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(report::seed() + 1);
    let mut harness = Harness::new();
    let mut row =
        FaultRow::new("rebalance storm: 3 sinks in one group, one leaving or killed per trial");
    let mut members: Vec<SinkChild> = (0..3).map(|_| harness.spawn_sink(None)).collect();
    for _ in 0..report::trials(2) {
        harness.produce(10).await;
        let leaving = members.remove(rng.gen_range(0..members.len()));
        if rng.gen_bool(0.5) {
            leaving.kill_hard();
        } else {
            leaving.stop_gracefully();
        }
        // Rows keep coming while the group settles; the member comes back at once.
        harness.produce(10).await;
        members.push(harness.spawn_sink(None));
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..1500))).await;
        harness.produce(5).await;
        let changed = Instant::now();
        harness.wait_caught_up(Duration::from_secs(120)).await;
        row.recovered_in(changed.elapsed());
        count(&mut row, harness.tally().await);
    }
    for member in members {
        member.stop_gracefully();
    }
    harness.assert_exact().await;
    row.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_under_the_lake() {
    let mut harness = Harness::new();
    let disk = Tmpfs::mount(&harness.lake_dir(), 256);
    let mut row = FaultRow::new("disk full under the lake (tmpfs filled to the last byte)");
    let sink = harness.spawn_sink(None);
    for _ in 0..report::trials(2) {
        harness.produce(10).await;
        harness.wait_caught_up(Duration::from_secs(120)).await;
        disk.fill();
        harness.produce(10).await;
        row.watch(Duration::ZERO, Duration::from_secs(60), || async {
            shows(&sink, "sink_restarting", "meterlake_sink_degraded 1")
        })
        .await;
        disk.free();
        let freed = Instant::now();
        harness.wait_caught_up(Duration::from_secs(120)).await;
        row.recovered_in(freed.elapsed());
        harness.assert_exact().await;
        count(&mut row, harness.tally().await);
    }
    sink.stop_gracefully();
    row.finish();
}

/// Writes the first share `keep` of `from`'s bytes to `to`.
///
/// The cut falls inside a line, never at a line's end: a prefix of whole JSON lines is itself a
/// well-formed (shorter) Delta commit, not a torn one (a long-form run once drew such a cut).
fn torn_copy(from: &std::path::Path, to: &std::path::Path, keep: f64) {
    let bytes = std::fs::read(from).expect("reading the original");
    let mut cut = (((bytes.len() as f64) * keep) as usize).clamp(1, bytes.len() - 1);
    while cut > 1 && (bytes[cut - 1] == b'\n' || bytes[cut] == b'\n') {
        cut -= 1;
    }
    std::fs::write(to, &bytes[..cut]).expect("writing the torn copy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_log_entries_and_truncated_parquet_files_left_by_crashes() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(report::seed() + 2);
    let mut harness = Harness::new();
    let mut row = FaultRow::new(
        "half-written Delta log entry and truncated Parquet file left by a crash, sink restarted",
    );
    for _ in 0..report::trials(2) {
        harness.produce(10).await;
        let sink = harness.spawn_sink(None);
        harness.wait_caught_up(Duration::from_secs(120)).await;
        sink.stop_gracefully();
        let lake = harness.lake_dir().join("readings");
        let log = lake.join("_delta_log");
        let newest = (0..)
            .map(|v| log.join(format!("{v:020}.json")))
            .take_while(|p| p.exists())
            .last()
            .expect("a commit");
        let version: u64 = newest
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse().ok())
            .expect("version");
        // A commit cut short: the next version holds the first part of a real entry.
        let torn = log.join(format!("{:020}.json", version + 1));
        torn_copy(&newest, &torn, rng.gen_range(0.05..0.95));
        // A data file cut short by a writer killed before its commit.
        let partition = std::fs::read_dir(&lake)
            .expect("lake dir")
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().starts_with("date="))
            .expect("a partition")
            .path();
        let data = std::fs::read_dir(&partition)
            .expect("partition")
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().ends_with(".parquet"))
            .expect("a data file")
            .path();
        torn_copy(
            &data,
            &partition.join(format!("part-00000-torn-{version}.parquet")),
            rng.gen_range(0.05..0.95),
        );
        harness.produce(10).await;
        let restarted = Instant::now();
        let sink = harness.spawn_sink(None);
        harness.wait_caught_up(Duration::from_secs(120)).await;
        row.recovered_in(restarted.elapsed());
        assert!(
            !torn.exists() || lake_version_file_is_whole(&torn),
            "the torn entry was not set aside"
        );
        assert!(
            sink.metrics()
                .is_some_and(|m| m.contains("meterlake_lake_torn_commits_total 1")),
            "the set-aside entry is counted"
        );
        sink.stop_gracefully();
        harness.assert_exact().await;
        count(&mut row, harness.tally().await);
    }
    row.finish();
}

/// Whether a log entry at this path is whole now (the sink may have committed the version again).
fn lake_version_file_is_whole(path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|b| store::torn_commit::is_whole_commit(&b))
}
