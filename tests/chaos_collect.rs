//! The chaos suite, collection side: `meterlake collect` polling simulated DTUs every second through its
//! spool and Kafka, `meterlake sink` writing the lake; faults hit the collector, and after each trial
//! every (meter, boundary) the collector reported stored must be in the lake exactly once.
//!
//! `METERLAKE_CHAOS_TRIALS` (default 2), `METERLAKE_CHAOS_OUTAGE_S` and `METERLAKE_CHAOS_REPORT` as in
//! `tests/chaos.rs`.

mod chaos_support;
mod http_support;

use std::time::{Duration, Instant};

use chaos_support::pipeline::{Pipeline, Running};
use chaos_support::report::{self, FaultRow};
use chaos_support::tmpfs::Tmpfs;
use rand::{Rng, SeedableRng};

const METERS: usize = 6;

/// Adds a settled trial to the row.
fn count(row: &mut FaultRow, pipeline: &Pipeline, (lost, duplicated): (u64, u64)) {
    row.trials += 1;
    row.readings = pipeline.reported().len() as u64;
    row.lost = lost;
    row.duplicated = duplicated;
    assert_eq!(
        (lost, duplicated),
        (0, 0),
        "logs in {}",
        pipeline.logs_dir().display()
    );
}

/// Stops the collector and the sink, checks the lake once more (not a trial) and finishes the row.
async fn wind_down(pipeline: &Pipeline, collector: Running, sink: Running, mut row: FaultRow) {
    collector.stop();
    let settled = pipeline.settle_stopped(Duration::from_secs(120)).await;
    sink.stop();
    count(&mut row, pipeline, settled);
    row.trials -= 1;
    row.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_killed_with_sigkill_at_random_moments() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(report::seed() + 10);
    let mut pipeline = Pipeline::new(METERS).await;
    let mut row = FaultRow::new("kill -9 of the collector at a random moment, then restarted");
    let sink = pipeline.sink();
    for _ in 0..report::trials(2) {
        let collector = pipeline.collector();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(2000..4000))).await;
        collector.kill_hard();
        row.stopping += 1;
        // The process is gone: its /healthz does not answer (a scraper's `up == 0`).
        if pipeline.collector_health().await.is_none() {
            row.seen_in_health += 1;
        }
        let restarted = Instant::now();
        let collector = pipeline.collector();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        collector.stop();
        let settled = pipeline.settle_stopped(Duration::from_secs(120)).await;
        row.recovered_in(restarted.elapsed());
        count(&mut row, &pipeline, settled);
    }
    sink.stop();
    row.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_while_the_collector_polls() {
    let mut pipeline = Pipeline::new(METERS).await;
    let mut row = FaultRow::new("Kafka broker down while the collector polls and spools");
    let sink = pipeline.sink();
    let collector = pipeline.collector();
    for _ in 0..report::trials(2) {
        tokio::time::sleep(Duration::from_secs(2)).await;
        pipeline.broker_up(false);
        let down = Instant::now();
        row.stopping += 1;
        let mut seen = false;
        while down.elapsed() < report::outage(6, 5)
            || !seen && down.elapsed() < report::outage(6, 5) * 3
        {
            seen = seen
                || pipeline
                    .collector_shows(
                        "kafka_unreachable",
                        "meterlake_collector_forwarding_failing 1",
                    )
                    .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        row.seen_in_health += usize::from(seen);
        pipeline.broker_up(true);
        let back = Instant::now();
        let settled = pipeline.settle(Duration::from_secs(120)).await;
        row.recovered_in(back.elapsed());
        count(&mut row, &pipeline, settled);
    }
    wind_down(&pipeline, collector, sink, row).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_under_the_spool() {
    let mut pipeline = Pipeline::new(METERS).await;
    let disk = Tmpfs::mount(&pipeline.spool_dir(), 16);
    let mut row =
        FaultRow::new("disk full under the collector's spool (tmpfs filled to the last byte)");
    let sink = pipeline.sink();
    let collector = pipeline.collector();
    for _ in 0..report::trials(2) {
        tokio::time::sleep(Duration::from_secs(2)).await;
        disk.fill();
        let full = Instant::now();
        row.stopping += 1;
        let mut seen = false;
        while full.elapsed() < report::outage(6, 5)
            || !seen && full.elapsed() < report::outage(6, 5) * 3
        {
            seen = seen
                || pipeline
                    .collector_shows("spool_refusing", "meterlake_collector_spool_failing 1")
                    .await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        row.seen_in_health += usize::from(seen);
        disk.free();
        let freed = Instant::now();
        // The held rounds go to the spool with the next round.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let settled = pipeline.settle(Duration::from_secs(120)).await;
        row.recovered_in(freed.elapsed());
        count(&mut row, &pipeline, settled);
    }
    wind_down(&pipeline, collector, sink, row).await;
}
