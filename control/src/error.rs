//! Errors of the control service.

/// What went wrong, and whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The caller sent something invalid (a bad amount, an unknown meter); not retryable.
    #[error("{0}")]
    BadRequest(String),
    /// No such account.
    #[error("no account for meter {0}")]
    UnknownAccount(String),
    /// The accounts database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// Kafka failed.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// Billing failed.
    #[error("billing: {0}")]
    Analytics(#[from] analytics::AnalyticsError),
    /// A stored value is corrupt (internal).
    #[error("corrupt stored value: {0}")]
    Corrupt(String),
}
