//! Errors of the lake.

/// What went wrong in the lake.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The lake location could not be understood.
    #[error("invalid lake location {location:?}: {reason}")]
    Location {
        /// The location as given.
        location: String,
        /// Why it was refused.
        reason: String,
    },
    /// A batch does not have the reading schema.
    #[error("batch does not match the reading schema: {0}")]
    Schema(String),
    /// An unknown time zone name in configuration.
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    /// The Delta log or the object store failed.
    #[error("delta table error: {0}")]
    Delta(#[from] deltalake::DeltaTableError),
    /// Arrow could not build or convert a batch.
    #[error("arrow error: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A data file could not be read as Parquet.
    #[error("parquet error: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Local file system error while preparing a location.
    #[error("io error: {0}")]
    Io(#[from] std::io::Error),
}
