//! Producer and consumer construction from meterlake's Kafka settings.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;

use super::quiet::QuietContext;

/// meterlake's producers: librdkafka's complaints kept to a few lines ([`QuietContext`]).
pub type KafkaProducer = FutureProducer<QuietContext>;

/// meterlake's consumers: librdkafka's complaints kept to a few lines ([`QuietContext`]).
pub type KafkaConsumer = StreamConsumer<QuietContext>;

/// Connection settings shared by every client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSettings {
    /// Bootstrap servers, `host:port,...`.
    pub brokers: String,
    /// Extra librdkafka properties (security.protocol, sasl.*, ...).
    pub properties: BTreeMap<String, String>,
}

impl KafkaSettings {
    fn base(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }

    /// The base configuration plus `defaults`, each overridden by the user's own property of that name.
    /// Statistics come every second by default: the client's [`super::KafkaLink`] is made of them.
    fn with_defaults(&self, defaults: &[(&str, &str)]) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set(
            "statistics.interval.ms",
            super::link::STATISTICS_INTERVAL_MS,
        );
        for (key, value) in defaults {
            config.set(*key, *value);
        }
        config.set("bootstrap.servers", &self.brokers);
        for (key, value) in &self.properties {
            config.set(key, value);
        }
        config
    }

    /// Checks that the brokers answer a metadata request within `timeout`.
    pub fn check_reachable(&self, timeout: Duration) -> Result<(), KafkaError> {
        let probe: rdkafka::consumer::BaseConsumer<QuietContext> =
            self.base().create_with_context(QuietContext::default())?;
        probe.fetch_metadata(None, timeout).map(|_| ())
    }
}

/// An idempotent, zstd-compressing producer tuned for batches.
/// Every default can be overridden through `kafka.properties` except idempotence.
pub fn producer(settings: &KafkaSettings) -> Result<KafkaProducer, KafkaError> {
    producer_with_context(settings, QuietContext::default())
}

/// Like [`producer`], with a context the caller keeps a clone of (to watch its [`QuietContext::link`]).
pub fn producer_with_context(
    settings: &KafkaSettings,
    context: QuietContext,
) -> Result<KafkaProducer, KafkaError> {
    settings
        .with_defaults(&[
            ("compression.type", "zstd"),
            ("linger.ms", "20"),
            ("batch.size", "1000000"),
            ("message.timeout.ms", "30000"),
        ])
        .set("enable.idempotence", "true")
        .create_with_context(context)
}

/// A producer for the relay path (commands): a message waits at most 1 ms for a batch, not the readings
/// producer's 20 ms. Idempotent; defaults overridable through `kafka.properties`.
pub fn relay_producer(settings: &KafkaSettings) -> Result<KafkaProducer, KafkaError> {
    relay_producer_with_context(settings, QuietContext::default())
}

/// Like [`relay_producer`], with a context the caller keeps a clone of (to watch its link).
pub fn relay_producer_with_context(
    settings: &KafkaSettings,
    context: QuietContext,
) -> Result<KafkaProducer, KafkaError> {
    settings
        .with_defaults(&[("linger.ms", "1"), ("message.timeout.ms", "30000")])
        .set("enable.idempotence", "true")
        .create_with_context(context)
}

/// A consumer for the relay path (commands, acknowledgements): a fetch returns after at most 10 ms
/// without data, so a command is not held for the default 500 ms fetch wait by brokers that do not
/// answer a waiting fetch early, and a group join lost in a broker outage is retried after 23 s
/// rather than 5 minutes. Otherwise like [`consumer`].
pub fn relay_consumer(settings: &KafkaSettings, group: &str) -> Result<KafkaConsumer, KafkaError> {
    settings
        .with_defaults(&[
            ("auto.offset.reset", "earliest"),
            ("session.timeout.ms", "10000"),
            ("enable.partition.eof", "false"),
            ("fetch.wait.max.ms", "10"),
            // librdkafka waits this long (+3 s) for a JoinGroup answer: a join in flight when the
            // broker vanished without closing the connection otherwise hangs for 5 minutes. The relay
            // loops poll at least every second.
            ("max.poll.interval.ms", "20000"),
        ])
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create_with_context(QuietContext::default())
}

/// A consumer in `group` with auto-commit off (positions are committed by the caller).
pub fn consumer(settings: &KafkaSettings, group: &str) -> Result<KafkaConsumer, KafkaError> {
    consumer_with_context(settings, group, QuietContext::default())
}

/// Like [`consumer`], with a context that observes rebalances. Every default can be overridden
/// through `kafka.properties` except the group and auto-commit.
pub fn consumer_with_context<C: rdkafka::consumer::ConsumerContext + 'static>(
    settings: &KafkaSettings,
    group: &str,
    context: C,
) -> Result<StreamConsumer<C>, KafkaError> {
    settings
        .with_defaults(&[
            ("auto.offset.reset", "earliest"),
            ("session.timeout.ms", "10000"),
            ("enable.partition.eof", "false"),
        ])
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create_with_context(context)
}
