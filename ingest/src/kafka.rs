//! Kafka: topic names, message encodings, clients and the embedded broker.

pub mod client;
pub mod embedded;
pub mod link;
pub mod message;
pub mod quiet;
pub mod topics;

pub use client::{
    consumer, consumer_with_context, producer, producer_with_context, relay_consumer,
    relay_producer, relay_producer_with_context, KafkaConsumer, KafkaProducer, KafkaSettings,
};
pub use embedded::EmbeddedKafka;
pub use link::KafkaLink;
pub use quiet::QuietContext;
pub use topics::Topics;
