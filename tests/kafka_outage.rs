//! Kafka clients after a broker outage longer than a consumer group's session timeout: the relay
//! consumer (commands, acknowledgements) must receive what is produced after the broker returns.

use std::time::{Duration, Instant};

use ingest::kafka::{EmbeddedKafka, KafkaSettings, Topics};
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use rdkafka::Message;

/// Client settings for `kafka` with a group session shorter than the outages.
fn settings(kafka: &EmbeddedKafka) -> KafkaSettings {
    KafkaSettings {
        brokers: kafka.bootstrap_servers(),
        properties: [
            ("session.timeout.ms".to_string(), "6000".to_string()),
            ("heartbeat.interval.ms".to_string(), "500".to_string()),
        ]
        .into(),
    }
}

/// The next message's text, or `None` after `within` (errors while the broker is away are skipped).
async fn receive(consumer: &ingest::kafka::KafkaConsumer, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match tokio::time::timeout(Duration::from_secs(1), consumer.recv()).await {
            Ok(Ok(m)) => {
                return Some(String::from_utf8_lossy(m.payload().unwrap_or_default()).into())
            }
            Ok(Err(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(_) => {}
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_consumer_receives_again_after_an_outage_longer_than_its_session() {
    let topics = Topics::with_prefix("");
    let kafka = EmbeddedKafka::start(1, &topics, 2).unwrap();
    let settings = settings(&kafka);
    let consumer = ingest::kafka::relay_consumer(&settings, "outage-group").unwrap();
    consumer.subscribe(&[&topics.acks]).unwrap();
    let producer = ingest::kafka::relay_producer(&settings).unwrap();
    let send = |text: &'static str| {
        let producer = producer.clone();
        let topic = topics.acks.clone();
        async move {
            producer
                .send(
                    FutureRecord::to(&topic).key("k").payload(text),
                    Duration::from_secs(10),
                )
                .await
                .map_err(|(e, _)| e)
                .unwrap();
        }
    };
    send("before").await;
    assert_eq!(
        receive(&consumer, Duration::from_secs(30)).await.as_deref(),
        Some("before")
    );
    kafka.set_broker_up(1, false).unwrap();
    let _ = receive(&consumer, Duration::from_secs(9)).await;
    kafka.set_broker_up(1, true).unwrap();
    let back = Instant::now();
    send("after").await;
    // Nothing was committed: "before" may come again (a redelivery), then "after".
    let mut got = Vec::new();
    while back.elapsed() < Duration::from_secs(60)
        && got.last().map(String::as_str) != Some("after")
    {
        if let Some(text) = receive(&consumer, Duration::from_secs(5)).await {
            got.push(text);
        }
    }
    assert_eq!(got.last().map(String::as_str), Some("after"));
}

/// The broker vanishes 0, 100, 300 and 700 ms after the consumer subscribed (its first join in flight).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_consumer_whose_first_join_meets_an_outage_receives_after_it() {
    for delay_ms in [0u64, 100, 300, 700] {
        let topics = Topics::with_prefix("");
        let kafka = EmbeddedKafka::start(1, &topics, 2).unwrap();
        let settings = settings(&kafka);
        let consumer = ingest::kafka::relay_consumer(&settings, "outage-group").unwrap();
        consumer.subscribe(&[&topics.acks]).unwrap();
        let _ = receive(&consumer, Duration::from_millis(delay_ms)).await;
        kafka.set_broker_up(1, false).unwrap();
        let _ = receive(&consumer, Duration::from_secs(8)).await;
        kafka.set_broker_up(1, true).unwrap();
        let back = Instant::now();
        let producer = ingest::kafka::relay_producer(&settings).unwrap();
        producer
            .send(
                FutureRecord::to(&topics.acks).key("k").payload("after"),
                Duration::from_secs(10),
            )
            .await
            .map_err(|(e, _)| e)
            .unwrap();
        let got = receive(&consumer, Duration::from_secs(30)).await;
        eprintln!(
            "delay {delay_ms} ms: {got:?} in {:?}; assignment {:?}",
            back.elapsed(),
            consumer.assignment().map(|a| a.count())
        );
    }
}
