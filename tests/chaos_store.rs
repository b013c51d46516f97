//! The chaos suite, object-store side: `meterlake sink` writing the lake on S3 (a real S3-compatible
//! server, moto) through a relay that refuses a share of requests with `503 SlowDown` and loses the
//! answer of another share after the server did the work. After each trial the lake must hold every
//! produced (meter, boundary) exactly once — a Delta commit whose answer was lost is retried against
//! a version that exists, and must not be written twice.
//!
//! `METERLAKE_CHAOS_TRIALS` (default 2), `METERLAKE_CHAOS_REPORT` as in `tests/chaos.rs`.

mod chaos_support;
mod http_support;
mod moto_support;
mod sink_harness;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use chaos_support::flaky_store::FlakyStore;
use chaos_support::report::{self, FaultRow};
use moto_support::Moto;
use sink_harness::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn object_store_failing_a_share_of_requests() {
    // The test reads the server directly; the sink goes through the relay.
    let moto = Moto::for_this_process("lake");
    let store = FlakyStore::start(&moto.endpoint, report::seed() + 30).await;
    let child_env = vec![("AWS_ENDPOINT_URL".to_string(), store.endpoint())];
    let mut harness = Harness::with_lake(Some("s3://lake/chaos"), child_env);
    let mut row = FaultRow::new(
        "object store (S3) refusing 20 % of requests (503) and losing 5 % of answers after the work",
    );
    let sink = harness.spawn_sink(None);
    for _ in 0..report::trials(2) {
        store.set_shares(0.2, 0.05);
        harness.produce(20).await;
        let faulty = Instant::now();
        harness.wait_caught_up(Duration::from_secs(240)).await;
        row.recovered_in(faulty.elapsed());
        store.set_shares(0.0, 0.0);
        harness.assert_exact().await;
        let tally = harness.tally().await;
        assert_eq!((tally.wrong, tally.unexpected), (0, 0), "{tally:?}");
        row.settled(tally.produced, tally.lost, tally.duplicated);
    }
    let counts = store.counts();
    assert!(
        counts.refused.load(Ordering::Relaxed) > 0
            && counts.answers_lost.load(Ordering::Relaxed) > 0,
        "the relay injected no fault: {counts:?}"
    );
    eprintln!("object store relay: {counts:?}");
    sink.stop_gracefully();
    row.finish();
}
