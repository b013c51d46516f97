//! Relay command and acknowledgement messages (`docs/contracts.md` §4).

use chrono::{DateTime, Utc};

use crate::dlt645::RelayAction;

/// A relay command travelling from the control service to the collector that owns the meter's bus.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CommandMessage {
    /// Unique id, echoed in the acknowledgement.
    pub command_id: String,
    /// Meter address, 12 digits.
    pub meter_id: String,
    /// Collector that owns the meter's bus (also the Kafka key).
    pub collector_id: String,
    /// What the meter should do.
    pub action: RelayAction,
    /// When the command was issued.
    pub issued_at: DateTime<Utc>,
    /// After this instant the command must not be executed.
    pub valid_until: DateTime<Utc>,
    /// Why (for the audit trail).
    pub reason: String,
}

/// How a command ended at the collector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckOutcome {
    /// The meter answered normally (0x9C).
    Executed,
    /// The meter refused (0xDC); see `error`.
    Refused,
    /// No answer after retries.
    NoResponse,
    /// No bus of this collector holds the meter.
    UnknownMeter,
    /// Valid-until passed before execution.
    Expired,
}

/// The collector's answer to a command.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AckMessage {
    /// The command's id.
    pub command_id: String,
    /// Meter address.
    pub meter_id: String,
    /// Collector id.
    pub collector_id: String,
    /// Outcome.
    pub outcome: AckOutcome,
    /// Decoded error of a refusal or failure.
    pub error: Option<String>,
    /// Relay state from status word 3 after the command (`None` if unread).
    pub relay_open: Option<bool>,
    /// When the collector finished.
    pub at: DateTime<Utc>,
}
