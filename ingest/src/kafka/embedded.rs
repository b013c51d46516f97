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

/// Held while a mock broker's listener is replaced, and by [`EmbeddedKafka::hold_sockets`].
static LISTENER_SWAP: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl EmbeddedKafka {
    /// Takes broker `id` (1-based) down or brings it back: an outage for tests and demos.
    ///
    /// Taking a broker down closes its listening socket and binds its port again at once (clients
    /// reconnect to the same address). A child process being started at that moment holds a copy of
    /// the socket until it executes its program, and the bind fails — an abort inside librdkafka. A
    /// process that starts children while brokers go down must start them under
    /// [`EmbeddedKafka::hold_sockets`].
    pub fn set_broker_up(&self, id: i32, up: bool) -> rdkafka::error::KafkaResult<()> {
        let _swap = Self::hold_sockets();
        if up {
            self.cluster.broker_up(id)
        } else {
            self.cluster.broker_down(id)
        }
    }

    /// Keeps every embedded broker's listener in place while held (see
    /// [`EmbeddedKafka::set_broker_up`]): hold it around `std::process::Command::spawn`.
    pub fn hold_sockets() -> std::sync::MutexGuard<'static, ()> {
        LISTENER_SWAP
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
