//! Errors of analytics.

/// What went wrong in a query, a plan or a bill.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The lake failed.
    #[error("lake: {0}")]
    Store(#[from] store::StoreError),
    /// DataFusion rejected or failed the query.
    #[error("query: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// A tariff plan is invalid.
    #[error("tariff plan {0}")]
    Plan(#[from] crate::tariff::PlanError),
    /// A bill could not be priced.
    #[error("pricing: {0}")]
    Pricing(#[from] crate::tariff::PricingError),
    /// Arrow failed while reading a result.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// A lake data file could not be read by billing's direct scan.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// A registry file (`meters.csv`, `areas.csv`) could not be read.
    #[error("registry {file}: {reason}")]
    Registry {
        /// The file.
        file: String,
        /// What was wrong.
        reason: String,
    },
    /// A query result had an unexpected shape.
    #[error("unexpected result: {0}")]
    Shape(String),
    /// A VEE parameter is out of range.
    #[error(transparent)]
    Vee(#[from] crate::vee::InvalidVeeConfig),
}
