//! What a billing charge is booked against: one local day, or the true-up that closes a month.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

/// The key of a booked charge. A key is charged once; a new price for it books only the difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChargeKey {
    /// The charge of one local day.
    Day(NaiveDate),
    /// The true-up of the billing period that starts on this local day (rounding: the period's charges
    /// then add up to its bill).
    TrueUp(NaiveDate),
}

/// A stored charge key that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid charge key {0:?}")]
pub struct BadChargeKey(pub String);

impl ChargeKey {
    /// The local day the key is dated by (a true-up by its period's first day).
    pub fn day(self) -> NaiveDate {
        match self {
            Self::Day(day) | Self::TrueUp(day) => day,
        }
    }
}

impl fmt::Display for ChargeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Day(day) => write!(f, "{day}"),
            Self::TrueUp(first) => write!(f, "{first}/true-up"),
        }
    }
}

impl FromStr for ChargeKey {
    type Err = BadChargeKey;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadChargeKey(text.to_string());
        let (date, true_up) = match text.strip_suffix("/true-up") {
            Some(date) => (date, true),
            None => (text, false),
        };
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
        Ok(if true_up {
            Self::TrueUp(date)
        } else {
            Self::Day(date)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_bad_ones_are_refused() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
        for key in [ChargeKey::Day(day), ChargeKey::TrueUp(day)] {
            assert_eq!(key.to_string().parse::<ChargeKey>(), Ok(key));
        }
        assert_eq!(ChargeKey::TrueUp(day).to_string(), "2026-11-03/true-up");
        for bad in ["", "2026-11-31", "2026-11-03/trueup", "x/true-up"] {
            assert!(bad.parse::<ChargeKey>().is_err(), "{bad}");
        }
    }
}
