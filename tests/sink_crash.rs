//! The sink's exactly-once promise under crashes: a `meterlake sink` child aborted at each named failure
//! point of the commit path, and killed with SIGKILL at random moments, then restarted. After every
//! restart the lake holds each produced (meter, boundary) once with its energy, and each garbage message
//! once in the dead-letter table.
//!
//! `METERLAKE_SOAK_TRIALS` sets the number of random-kill trials (default 3; `scripts/soak.sh` runs 50).

mod sink_harness;

use std::time::{Duration, Instant};

use ingest::sink::points;
use rand::{Rng, SeedableRng};
use sink_harness::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_each_failure_point_then_a_restart_leaves_the_lake_exact() {
    let mut harness = Harness::new();
    for point in [
        format!("{}:1", points::AFTER_DEAD_LETTER_COMMIT),
        format!("{}:3", points::BEFORE_LAKE_COMMIT),
        format!("{}:3", points::AFTER_LAKE_COMMIT),
        format!("{}:3", points::AFTER_KAFKA_COMMIT),
    ] {
        harness.produce(12).await;
        let mut doomed = harness.spawn_sink(Some(&point));
        let status = doomed
            .wait_exit(Duration::from_secs(90))
            .unwrap_or_else(|| panic!("the sink never reached {point}"));
        assert!(!status.success(), "{point}: the sink should have aborted");
        let sink = harness.spawn_sink(None);
        harness.wait_caught_up(Duration::from_secs(120)).await;
        sink.stop_gracefully();
        harness.assert_exact().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_sigkills_of_the_sink_never_lose_or_duplicate_a_reading() {
    let trials: usize = std::env::var("METERLAKE_SOAK_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("METERLAKE_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(645);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut harness = Harness::new();
    let started = Instant::now();
    for trial in 1..=trials {
        harness.produce(20).await;
        let commits_before = harness.lake_commits();
        let victim = harness.spawn_sink(None);
        let deadline = Instant::now() + Duration::from_secs(90);
        while harness.lake_commits() <= commits_before {
            assert!(
                Instant::now() < deadline,
                "trial {trial}: no commit in 90 s"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let delay = Duration::from_millis(rng.gen_range(0..600));
        tokio::time::sleep(delay).await;
        victim.kill_hard();
        let commits_at_kill = harness.lake_commits() - commits_before;
        let survivor = harness.spawn_sink(None);
        harness.wait_caught_up(Duration::from_secs(120)).await;
        survivor.stop_gracefully();
        harness.assert_exact().await;
        eprintln!(
            "soak trial {trial}/{trials}: killed {delay:?} after the first commit ({commits_at_kill} commits in), \
             lake exact with {} messages produced so far ({:.1} s elapsed)",
            harness.messages,
            started.elapsed().as_secs_f64()
        );
    }
}
