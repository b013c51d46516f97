//! Relay command and acknowledgement messages (`docs/contracts.md` §4).

use chrono::{DateTime, Utc};

use crate::dlt645::RelayAction;
use crate::keyring::{KeyError, KeyRing};

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
    /// The id of the key the command is signed under.
    #[serde(default)]
    pub key_id: String,
    /// HMAC-SHA256 (hex) over [`CommandMessage::signed_bytes`]; a collector executes nothing whose
    /// signature does not verify.
    #[serde(default)]
    pub signature: String,
}

impl CommandMessage {
    /// What the signature covers: every field that decides what a meter does, when, and which attempt
    /// it is, each length-prefixed.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(160);
        let issued = self.issued_at.timestamp_micros().to_string();
        let until = self.valid_until.timestamp_micros().to_string();
        let attempt = self.attempt.to_string();
        for field in [
            "meterlake-command-v1",
            self.command_id.as_str(),
            self.meter_id.as_str(),
            self.collector_id.as_str(),
            self.action.as_str(),
            issued.as_str(),
            until.as_str(),
            self.reason.as_str(),
            attempt.as_str(),
        ] {
            bytes.extend_from_slice(&(field.len() as u64).to_be_bytes());
            bytes.extend_from_slice(field.as_bytes());
        }
        bytes
    }

    /// Signs the command under the ring's active key.
    pub fn sign(&mut self, keys: &KeyRing) {
        let (key_id, signature) = keys.sign(&self.signed_bytes());
        self.key_id = key_id;
        self.signature = signature;
    }

    /// Checks the signature.
    pub fn verify(&self, keys: &KeyRing) -> Result<(), KeyError> {
        keys.verify(&self.key_id, &self.signed_bytes(), &self.signature)
    }
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
    /// The command's signature did not verify (forged, altered, or signed under a key this collector
    /// does not have); nothing was sent to the meter.
    Rejected,
}

impl AckOutcome {
    /// Every outcome.
    pub const ALL: [AckOutcome; 6] = [
        Self::Executed,
        Self::Refused,
        Self::NoResponse,
        Self::UnknownMeter,
        Self::Expired,
        Self::Rejected,
    ];

    /// The wire and stored form (the JSON name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Executed => "executed",
            Self::Refused => "refused",
            Self::NoResponse => "no_response",
            Self::UnknownMeter => "unknown_meter",
            Self::Expired => "expired",
            Self::Rejected => "rejected",
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
        assert!(command.signature.is_empty());
    }

    #[test]
    fn a_signed_command_verifies_and_any_changed_field_does_not() {
        let keys = KeyRing::single("k1", &[9; 32]).unwrap();
        let json = r#"{"command_id":"c","meter_id":"000000001001","collector_id":"col-1","action":"trip",
            "issued_at":"2026-11-24T02:00:00Z","valid_until":"2026-11-24T03:00:00Z","reason":"r"}"#;
        let mut command: CommandMessage = serde_json::from_str(json).unwrap();
        assert!(command.verify(&keys).is_err());
        command.sign(&keys);
        command.verify(&keys).unwrap();
        let wire: CommandMessage =
            serde_json::from_str(&serde_json::to_string(&command).unwrap()).unwrap();
        wire.verify(&keys).unwrap();
        let changes: [fn(&mut CommandMessage); 5] = [
            |c| c.meter_id = "000000001002".into(),
            |c| c.action = RelayAction::CloseAllowed,
            |c| c.valid_until += chrono::TimeDelta::hours(1),
            |c| c.attempt += 1,
            |c| c.collector_id = "col-2".into(),
        ];
        for change in changes {
            let mut forged = command.clone();
            change(&mut forged);
            assert!(forged.verify(&keys).is_err(), "{forged:?}");
        }
    }
}
