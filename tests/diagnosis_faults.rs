//! Every injected fault kind raises its alarm: a small simulated fleet with faults, collected over
//! DL/T 645/TCP and Kafka and judged by the streaming diagnosis (`benches/fault_fleet`).

#[path = "../benches/fault_fleet/mod.rs"]
mod fault_fleet;

use std::time::Duration;

use ingest::sim::FaultKind;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_kind_is_detected_on_a_small_fleet() {
    let scores = fault_fleet::run(
        fault_fleet::FaultRun {
            meters: 120,
            meters_per_bus: 6,
            // 18:00 in Shanghai: the faults fall in the night, when a PV meter's reverse energy counts.
            start: "2026-10-01T10:00:00Z".parse().unwrap(),
            rounds: 48,
            // Generous for a loaded CI machine; the late replies still miss both attempts.
            timeout: Duration::from_millis(300),
            late_reply_ms: 800,
            share: 0.08,
            seed: 11,
        },
        |_, _| {},
    )
    .await
    .unwrap();
    let table = format!(
        "{}\n{}",
        fault_fleet::table(&scores),
        scores.notes.join("\n")
    );
    for kind in FaultKind::ALL {
        let score = &scores.kinds[kind.name()];
        assert!(score.injected > 0, "no {kind} fault injected\n{table}");
        assert_eq!(score.detected, score.injected, "{kind} missed\n{table}");
        assert_eq!(score.false_alarms, 0, "{kind}: false alarms\n{table}");
    }
    assert!(scores.healthy_trips > 0);
    assert!(
        scores
            .other_alarms
            .values()
            .all(|(_, unexplained)| *unexplained == 0),
        "{table}"
    );
}
