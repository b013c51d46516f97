//! Background work, each loop supervised ([`ingest::supervise`]): the acknowledgement consumer, the
//! outbox relay to Kafka, the sweeper (deadlines, scheduled commands, ended keep-power) and the billing
//! scheduler.

pub mod acks;
pub mod billing;
pub mod relay;
pub mod sweeper;
