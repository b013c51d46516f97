//! Background work, each loop supervised ([`ingest::supervise`]): the acknowledgement consumer, the
//! outbox relay to Kafka, the sweeper (deadlines, scheduled commands, ended keep-power), the billing
//! scheduler and streaming diagnosis (alarms on readings).

pub mod acks;
pub mod billing;
pub mod diagnosis;
pub mod relay;
pub mod sweeper;
