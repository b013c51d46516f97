//! Two `meterlake sink` processes in one consumer group share the readings topic; one is killed with
//! SIGKILL mid-stream and the other takes its partitions over; later the killed one comes back and the
//! group rebalances while rows are in flight. The lake stays exact throughout.

mod sink_harness;

use std::time::{Duration, Instant};

use sink_harness::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sinks_share_the_topic_and_a_sigkill_of_one_loses_nothing() {
    let mut harness = Harness::new();
    harness.produce(60).await;
    let first = harness.spawn_sink(None);
    let second = harness.spawn_sink(None);
    // Both members write: each owns some partitions.
    let deadline = Instant::now() + Duration::from_secs(90);
    while first.rows_committed().unwrap_or(0) == 0 || second.rows_committed().unwrap_or(0) == 0 {
        assert!(
            Instant::now() < deadline,
            "both sinks should commit rows: first {:?}, second {:?}",
            first.rows_committed(),
            second.rows_committed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill_hard();
    harness.produce(10).await;
    harness.wait_caught_up(Duration::from_secs(120)).await;
    harness.assert_exact().await;

    // The killed member returns while new rows stream in: partitions move between live members.
    let returning = harness.spawn_sink(None);
    harness.produce(30).await;
    harness.wait_caught_up(Duration::from_secs(120)).await;
    returning.stop_gracefully();
    second.stop_gracefully();
    harness.assert_exact().await;
}
