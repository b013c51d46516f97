//! Shared parts of the chaos suite: the table rows and a disk that fills up.

#![allow(dead_code)] // each chaos test crate uses part of it

pub mod pipeline;
pub mod report;
pub mod tmpfs;
