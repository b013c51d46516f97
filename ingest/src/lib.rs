//! Collection: the DL/T 645-2007 codec, the simulated meter fleet, collectors, Kafka and the lake sink.

pub mod clock;
pub mod collector;
pub mod command;
pub mod dlt645;
pub mod fail_point;
pub mod kafka;
pub mod keyring;
#[cfg(test)]
mod mutation;
pub mod reading;
pub mod sim;
pub mod sink;
pub mod spool;
pub mod supervise;
