//! The life of a relay command, as a state machine:
//!
//! ```text
//! requested ─▶ scheduled ─▶ sent ─▶ acknowledged ─▶ verified ─▶ done
//!                 ▲           │  ╲─▶ refused ──┐
//!                 │           │   ╲─▶ no_response ─┤ retry (attempts left) ─▶ scheduled
//!                 └───────────┼────────────────────┘ give up ─▶ failed
//!                             ╰─▶ verified (a reading confirms it although the ack was lost)
//! any live state ─▶ expired (deadline) | cancelled (no longer needed)
//! requested / scheduled ─▶ superseded (a newer command replaces it)
//! ```
//!
//! A command is *live* (holds its meter's single in-flight slot) until it reaches a terminal state.

use ingest::command::AckOutcome;

/// Where a command is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandState {
    /// Created, not yet planned.
    Requested,
    /// Waiting for its `not_before` (a warning lead, a trip window, a retry backoff).
    Scheduled,
    /// Handed to the outbox for Kafka; waiting for the collector's acknowledgement.
    Sent,
    /// The meter executed it; waiting for its relay state to confirm.
    Acknowledged,
    /// The meter refused it (0xDC); a retry follows while attempts remain.
    Refused,
    /// The meter did not answer; a retry follows while attempts remain.
    NoResponse,
    /// The meter's relay state confirmed the command.
    Verified,
    /// Finished: the account's relay state was updated.
    Done,
    /// Given up: attempts exhausted, the meter unknown, or its relay contradicts the command.
    Failed,
    /// Its deadline passed before it was confirmed.
    Expired,
    /// No longer needed (the account changed before it was sent).
    Cancelled,
    /// Replaced by a newer command for the same meter before it was sent.
    Superseded,
}

/// What happens to a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandEvent {
    /// Planned for later.
    Schedule,
    /// Written to the outbox for sending.
    Dispatch,
    /// The collector's acknowledgement arrived.
    Ack(AckOutcome),
    /// The meter's relay state matches the command.
    Verify,
    /// The account was updated from the verified state.
    Complete,
    /// Another attempt after a refusal or silence.
    Retry,
    /// No attempts left, or the meter's relay contradicts the command.
    GiveUp,
    /// The deadline passed.
    Expire,
    /// The command is no longer needed.
    Cancel,
    /// A newer command takes its place.
    Supersede,
}

/// A transition the state machine does not have (a stale or duplicate event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("command in state {from:?} cannot take {event:?}")]
pub struct InvalidTransition {
    /// The state.
    pub from: CommandState,
    /// The event refused.
    pub event: CommandEvent,
}

impl CommandState {
    /// Every state.
    pub const ALL: [CommandState; 12] = [
        Self::Requested,
        Self::Scheduled,
        Self::Sent,
        Self::Acknowledged,
        Self::Refused,
        Self::NoResponse,
        Self::Verified,
        Self::Done,
        Self::Failed,
        Self::Expired,
        Self::Cancelled,
        Self::Superseded,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Scheduled => "scheduled",
            Self::Sent => "sent",
            Self::Acknowledged => "acknowledged",
            Self::Refused => "refused",
            Self::NoResponse => "no_response",
            Self::Verified => "verified",
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Cancelled => "cancelled",
            Self::Superseded => "superseded",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the command's life is over (it no longer holds its meter's slot).
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Done | Self::Failed | Self::Expired | Self::Cancelled | Self::Superseded
        )
    }

    /// The state after `event`, or why it does not apply.
    pub fn on(self, event: CommandEvent) -> Result<CommandState, InvalidTransition> {
        use CommandEvent as E;
        use CommandState as S;
        let next = match (self, event) {
            (S::Requested, E::Schedule) | (S::Refused | S::NoResponse, E::Retry) => S::Scheduled,
            (S::Requested | S::Scheduled, E::Dispatch) => S::Sent,
            (S::Sent, E::Ack(outcome)) => match outcome {
                AckOutcome::Executed => S::Acknowledged,
                AckOutcome::Refused => S::Refused,
                AckOutcome::NoResponse => S::NoResponse,
                AckOutcome::Expired => S::Expired,
                AckOutcome::UnknownMeter | AckOutcome::Rejected => S::Failed,
            },
            (S::Sent | S::Acknowledged, E::Verify) => S::Verified,
            (S::Verified, E::Complete) => S::Done,
            (S::Refused | S::NoResponse | S::Acknowledged, E::GiveUp) => S::Failed,
            (s, E::Expire | E::Cancel) if !s.is_terminal() && s != S::Verified => {
                if event == E::Expire {
                    S::Expired
                } else {
                    S::Cancelled
                }
            }
            (S::Requested | S::Scheduled, E::Supersede) => S::Superseded,
            (from, event) => return Err(InvalidTransition { from, event }),
        };
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::CommandEvent as E;
    use super::CommandState as S;
    use super::*;

    #[test]
    fn the_happy_path_and_the_retry_loop() {
        let path = [
            E::Schedule,
            E::Dispatch,
            E::Ack(AckOutcome::NoResponse),
            E::Retry,
            E::Dispatch,
            E::Ack(AckOutcome::Executed),
            E::Verify,
            E::Complete,
        ];
        let mut state = S::Requested;
        for event in path {
            state = state.on(event).unwrap();
        }
        assert_eq!(state, S::Done);
        assert_eq!(S::Refused.on(E::GiveUp), Ok(S::Failed));
        assert_eq!(
            S::Sent.on(E::Verify),
            Ok(S::Verified),
            "a reading confirms a lost ack"
        );
    }

    #[test]
    fn stale_and_duplicate_acks_are_refused() {
        for state in [
            S::Scheduled,
            S::Acknowledged,
            S::Done,
            S::Expired,
            S::Failed,
        ] {
            assert!(state.on(E::Ack(AckOutcome::Executed)).is_err(), "{state:?}");
        }
        assert!(
            S::Sent.on(E::Supersede).is_err(),
            "a sent command cannot be taken back"
        );
        assert!(S::Done.on(E::Cancel).is_err());
        assert!(S::Done.on(E::Expire).is_err());
    }

    #[test]
    fn every_terminal_state_is_final_and_every_live_state_can_expire() {
        let events = [
            E::Schedule,
            E::Dispatch,
            E::Ack(AckOutcome::Executed),
            E::Verify,
            E::Complete,
            E::Retry,
            E::GiveUp,
            E::Expire,
            E::Cancel,
            E::Supersede,
        ];
        for state in CommandState::ALL {
            assert_eq!(CommandState::parse(state.as_str()), Some(state));
            if state.is_terminal() {
                assert!(events.iter().all(|e| state.on(*e).is_err()), "{state:?}");
            } else if state != S::Verified {
                assert_eq!(state.on(E::Expire), Ok(S::Expired));
            }
        }
    }
}
