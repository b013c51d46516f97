//! The meter's relay as the master station knows it, and the command an account's state requires.

use ingest::dlt645::RelayAction;

use super::prepaid::PrepaidState;

/// The relay as last known (from an acknowledgement's read-back or a reading's status word 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayState {
    /// Closed: power on.
    Closed,
    /// Open after a trip.
    Open,
    /// Open, with close allowed: the customer closes it with the button (合闸允许).
    CloseAllowed,
}

impl RelayState {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::CloseAllowed => "close_allowed",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Closed, Self::Open, Self::CloseAllowed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// Whether the contacts are open (status word 3 bit 4).
    pub fn is_open(self) -> bool {
        self != Self::Closed
    }

    /// The state a meter's reported relay bit implies, given what was known: an open relay that was
    /// allowed to close stays close-allowed; a reported state that agrees changes nothing (`None`).
    pub fn reconcile(self, reported_open: bool) -> Option<RelayState> {
        match (self, reported_open) {
            (Self::Closed, false) | (Self::Open | Self::CloseAllowed, true) => None,
            (Self::Closed, true) => Some(Self::Open),
            (Self::Open | Self::CloseAllowed, false) => Some(Self::Closed),
        }
    }
}

/// The relay command an account needs: a trip when it must be open and the relay is not, a
/// close-allowed when it may be closed and the relay is open after a trip.
pub fn required_action(state: PrepaidState, relay: RelayState) -> Option<RelayAction> {
    match (state.requires_trip(), relay) {
        (true, RelayState::Closed | RelayState::CloseAllowed) => Some(RelayAction::Trip),
        (false, RelayState::Open) => Some(RelayAction::CloseAllowed),
        _ => None,
    }
}

/// The relay state after a command executed, given the relay bit read back (if any).
pub fn after_execution(action: RelayAction, read_back_open: Option<bool>) -> Option<RelayState> {
    match (action, read_back_open) {
        (RelayAction::Trip, Some(true)) => Some(RelayState::Open),
        (RelayAction::CloseAllowed, Some(true)) => Some(RelayState::CloseAllowed),
        (RelayAction::CloseAllowed | RelayAction::Close, Some(false)) => Some(RelayState::Closed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_only_when_owed_and_closed_and_allows_close_only_after_a_trip() {
        use PrepaidState::*;
        use RelayState::*;
        assert_eq!(
            required_action(OverdraftTrip, Closed),
            Some(RelayAction::Trip)
        );
        assert_eq!(
            required_action(OverdraftTrip, CloseAllowed),
            Some(RelayAction::Trip)
        );
        assert_eq!(required_action(OverdraftTrip, Open), None);
        for state in [NoAlarm, Alarm1, Alarm2, OverdraftZero] {
            assert_eq!(
                required_action(state, Open),
                Some(RelayAction::CloseAllowed)
            );
            assert_eq!(required_action(state, Closed), None);
            assert_eq!(required_action(state, CloseAllowed), None);
        }
    }

    #[test]
    fn the_meter_report_wins() {
        use RelayState::*;
        assert_eq!(Closed.reconcile(true), Some(Open));
        assert_eq!(CloseAllowed.reconcile(false), Some(Closed));
        assert_eq!(Open.reconcile(false), Some(Closed));
        assert_eq!(Open.reconcile(true), None);
        assert_eq!(CloseAllowed.reconcile(true), None);
        assert_eq!(Closed.reconcile(false), None);
        for s in [Closed, Open, CloseAllowed] {
            assert_eq!(RelayState::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn read_back_confirms_the_action() {
        assert_eq!(
            after_execution(RelayAction::Trip, Some(true)),
            Some(RelayState::Open)
        );
        assert_eq!(after_execution(RelayAction::Trip, Some(false)), None);
        assert_eq!(after_execution(RelayAction::Trip, None), None);
        assert_eq!(
            after_execution(RelayAction::CloseAllowed, Some(false)),
            Some(RelayState::Closed)
        );
    }
}
