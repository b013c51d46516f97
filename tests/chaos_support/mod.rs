//! Shared parts of the chaos suite: the table rows, a disk that fills up, a DTU link that drops, an
//! object store that fails, a wall clock that steps, a spool byte that flips.

#![allow(dead_code)] // each chaos test crate uses part of it

pub mod flaky_link;
pub mod flaky_store;
pub mod pipeline;
pub mod report;
pub mod spool_bytes;
pub mod stepped_clock;
pub mod tmpfs;
