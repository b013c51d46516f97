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
    /// Which attempt this is (1 for the first send; a retry after a refusal or silence counts up). A
    /// collector executes each (command id, attempt) once, however often Kafka delivers it.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
}

fn first_attempt() -> u32 {
    1
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

impl AckOutcome {
    /// Every outcome.
    pub const ALL: [AckOutcome; 5] = [
        Self::Executed,
        Self::Refused,
        Self::NoResponse,
        Self::UnknownMeter,
        Self::Expired,
    ];

    /// The wire and stored form (the JSON name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Executed => "executed",
            Self::Refused => "refused",
            Self::NoResponse => "no_response",
            Self::UnknownMeter => "unknown_meter",
            Self::Expired => "expired",
        }
    }

    /// Parses [`AckOutcome::as_str`]'s form.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == text)
    }
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
    /// The command's attempt this answers (echoed from the command).
    #[serde(default = "first_attempt")]
    pub attempt: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlt645::RelayAction;

    #[test]
    fn stored_forms_are_the_json_names() {
        for outcome in AckOutcome::ALL {
            let json = serde_json::to_value(outcome).unwrap();
            assert_eq!(json.as_str(), Some(outcome.as_str()));
            assert_eq!(AckOutcome::parse(outcome.as_str()), Some(outcome));
        }
        for action in RelayAction::ALL {
            let json = serde_json::to_value(action).unwrap();
            assert_eq!(json.as_str(), Some(action.as_str()));
            assert_eq!(RelayAction::parse(action.as_str()), Some(action));
        }
    }

    #[test]
    fn a_command_without_an_attempt_is_the_first() {
        let json = r#"{"command_id":"c","meter_id":"000000001001","collector_id":"col-1","action":"trip",
            "issued_at":"2026-11-24T02:00:00Z","valid_until":"2026-11-24T03:00:00Z","reason":"r"}"#;
        let command: CommandMessage = serde_json::from_str(json).unwrap();
        assert_eq!(command.attempt, 1);
    }
}
