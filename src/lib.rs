//! The `meterlake` binary's library: configuration and the wiring of ingest, store, analytics and control.

pub mod allocator;
pub mod collector_loops;
pub mod config;
pub mod day_range;
pub mod model_report;
pub mod pipeline;
pub mod service_http;
pub mod sql_text;
pub mod table_output;

pub use config::Config;
pub use pipeline::{Pipeline, PipelineOptions};
