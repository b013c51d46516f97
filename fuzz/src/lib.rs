//! The DL/T 645 codec mounted from `ingest/src/dlt645.rs`, so fuzzing does not build the ingest crate
//! (rdkafka, deltalake).

#[path = "../../ingest/src/dlt645.rs"]
pub mod dlt645;
