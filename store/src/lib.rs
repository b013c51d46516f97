//! The meterlake lake: a Delta table of Hive-partitioned Parquet reading files.
//!
//! `store` knows nothing of Kafka or DL/T 645. Writers hand it Arrow record batches of reading rows
//! together with opaque [`SourcePosition`]s; it commits both atomically in one Delta transaction, so a
//! writer that restarts can ask where it left off ([`Lake::source_position`]).

pub mod compact;
pub mod data_files;
pub mod dead_letters;
pub mod dedup;
pub mod derived;
pub mod error;
pub mod key_index;
pub mod lake;
mod landed;
mod listing_gap;
pub mod location;
pub mod partition;
pub mod prepared;
pub mod retention;
pub mod schema;
pub mod screen;
pub mod sorted_compact;
#[cfg(test)]
mod test_rows;
pub mod torn_commit;

pub use compact::{CompactOptions, CompactReport};
pub use dead_letters::{DeadLetter, DeadLetterTable};
pub use derived::DerivedTable;
pub use error::StoreError;
pub use lake::{AppendReport, Lake, SourcePosition};
pub use location::LakeLocation;
pub use prepared::PreparedRows;
pub use retention::DropReport;
pub use schema::{reading_schema, wire_schema, SCHEMA_VERSION};
