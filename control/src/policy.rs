//! Relay policy: from an account's balance and relay state to the command it needs, if any.

use ingest::dlt645::RelayAction;
use rust_decimal::Decimal;

/// The relay as the control service tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayTrack {
    /// Closed: power on.
    Closed,
    /// A trip was sent, no acknowledgement yet.
    TripSent,
    /// Open after an executed trip.
    Open,
    /// A close-allowed was sent, no acknowledgement yet.
    CloseSent,
    /// Close allowed: the customer may press the button.
    CloseAllowed,
}

impl RelayTrack {
    /// The database form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::TripSent => "trip_sent",
            Self::Open => "open",
            Self::CloseSent => "close_sent",
            Self::CloseAllowed => "close_allowed",
        }
    }

    /// Parses the database form.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "closed" => Self::Closed,
            "trip_sent" => Self::TripSent,
            "open" => Self::Open,
            "close_sent" => Self::CloseSent,
            "close_allowed" => Self::CloseAllowed,
            _ => return None,
        })
    }
}

/// The command an account needs: trip below zero, close-allowed once paid back to zero or above.
pub fn decide(balance: Decimal, relay: RelayTrack) -> Option<RelayAction> {
    match relay {
        RelayTrack::Closed | RelayTrack::CloseAllowed if balance < Decimal::ZERO => {
            Some(RelayAction::Trip)
        }
        RelayTrack::Open if balance >= Decimal::ZERO => Some(RelayAction::CloseAllowed),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trips_below_zero_and_allows_close_after_payment_but_never_twice() {
        let neg = Decimal::new(-1, 2);
        assert_eq!(decide(neg, RelayTrack::Closed), Some(RelayAction::Trip));
        assert_eq!(
            decide(neg, RelayTrack::CloseAllowed),
            Some(RelayAction::Trip)
        );
        assert_eq!(decide(neg, RelayTrack::TripSent), None);
        assert_eq!(decide(neg, RelayTrack::Open), None);
        assert_eq!(decide(Decimal::ZERO, RelayTrack::Closed), None);
        assert_eq!(
            decide(Decimal::ZERO, RelayTrack::Open),
            Some(RelayAction::CloseAllowed)
        );
        assert_eq!(decide(Decimal::ONE, RelayTrack::CloseSent), None);
        for t in ["closed", "trip_sent", "open", "close_sent", "close_allowed"] {
            assert_eq!(RelayTrack::parse(t).unwrap().as_str(), t);
        }
        assert_eq!(RelayTrack::parse("x"), None);
    }
}
