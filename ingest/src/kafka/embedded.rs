//! The embedded Kafka-protocol broker: librdkafka's mock cluster on loopback TCP.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use super::Topics;

/// An in-process Kafka cluster speaking the real protocol; lives as long as this value.
pub struct EmbeddedKafka {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl EmbeddedKafka {
    /// Starts a cluster with `brokers` brokers and creates the topics with `partitions` partitions.
    pub fn start(
        brokers: i32,
        topics: &Topics,
        partitions: i32,
    ) -> rdkafka::error::KafkaResult<Self> {
        let cluster = MockCluster::new(brokers)?;
        for topic in topics.all() {
            cluster.create_topic(topic, partitions, 1)?;
        }
        Ok(Self { cluster })
    }

    /// The bootstrap servers to give clients.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }
}

impl EmbeddedKafka {
    /// Takes broker `id` (1-based) down or brings it back: an outage for tests and demos.
    pub fn set_broker_up(&self, id: i32, up: bool) -> rdkafka::error::KafkaResult<()> {
        if up {
            self.cluster.broker_up(id)
        } else {
            self.cluster.broker_down(id)
        }
    }
}
