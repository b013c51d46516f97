//! The control service under faults, through the whole loop (HTTP/use cases, ledger, outbox, Kafka,
//! collector, DL/T 645, simulated meter): Kafka down while a customer pays.

use std::time::Duration;

use chrono::{DateTime, Utc};
use ingest::dlt645::Address;
use ingest::sim::RelayState;
use meterlake::{Config, Pipeline, PipelineOptions};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

const POOR: &str = "000000001001";

fn start() -> DateTime<Utc> {
    "2026-09-30T16:00:00Z".parse().unwrap()
}

fn relay(p: &Pipeline) -> RelayState {
    p.fleet
        .with_meter(POOR.parse::<Address>().unwrap(), |m| m.relay())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_made_while_kafka_is_down_reaches_the_meter_when_kafka_returns() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.lake.location = dir.path().join("lake").display().to_string();
    config.control.database = format!("sqlite://{}/control.db", dir.path().display());
    config.control.listen = "127.0.0.1:0".into();
    config.control.terms.overdraft_limit = Decimal::ZERO;
    config.control.trip_hours = "00:00-24:00".into();
    config.control.trip_on_weekends = true;
    config.control.warning_lead_s = 0;
    config.control.sweep_every_ms = 100;
    config.collector.spool_dir = dir.path().join("spool").display().to_string();
    config.control.audit_keys_dir = dir.path().join("keys/audit").display().to_string();
    config.control.command_keys_dir = dir.path().join("keys/commands").display().to_string();
    config.sink.flush_interval_ms = 100;
    let mut p = Pipeline::start(PipelineOptions {
        config,
        meters: 2,
        meters_per_bus: 2,
        constant_watts: Some(1000.0),
        start: start(),
        opening_balance: |i| if i == 0 { dec!(1.00) } else { dec!(100) },
        seed: 1,
        faults: Default::default(),
    })
    .await
    .unwrap();
    for i in 0..=16 {
        p.collect(start() + chrono::Duration::minutes(15 * i))
            .await
            .unwrap();
    }
    let report = p.billing_pass().await.unwrap();
    p.wait_acks(Duration::from_secs(30)).await.unwrap();
    assert_eq!(
        relay(&p),
        RelayState::Open,
        "tripped for arrears: {report:?} {:?} {:?}",
        p.control.account(POOR).await.unwrap(),
        p.control.commands_of(POOR, 5).await.unwrap()
    );

    p.set_kafka_up(false).unwrap();
    let receipt = p
        .control
        .pay(
            POOR,
            "10.00",
            "pay-outage",
            &control::app::audit::Actor::cli(),
        )
        .await
        .unwrap();
    assert_eq!(receipt.balance, dec!(9.77));
    let command_id = receipt
        .command_id
        .expect("close-allowed queued with the payment");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        relay(&p),
        RelayState::Open,
        "nothing reaches the meter while Kafka is down"
    );

    p.set_kafka_up(true).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    while relay(&p) != RelayState::OpenCloseAllowed {
        assert!(
            tokio::time::Instant::now() < deadline,
            "close-allowed did not reach the meter after Kafka returned"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    p.wait_acks(Duration::from_secs(90)).await.unwrap();
    let command = p.control.command(&command_id).await.unwrap();
    assert_eq!(
        command.command.state,
        control::domain::command::CommandState::Done,
        "{:?}",
        command.events
    );
    let frames = p
        .fleet
        .with_meter(POOR.parse().unwrap(), |m| m.trips_received())
        .unwrap();
    assert_eq!(frames, 1, "one trip, never repeated");
    assert!(p.control.check_ledger().await.unwrap().is_empty());
    p.shutdown().await.unwrap();
}
