//! Parsing money typed by people: exact decimals in yuan with at most two places (fen).

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::ControlError;

/// The largest single payment accepted, yuan.
pub const MAX_PAYMENT_YUAN: i64 = 1_000_000;

/// Parses a payment amount: a positive number of yuan with at most 2 decimals, at most [`MAX_PAYMENT_YUAN`].
pub fn parse_payment(text: &str) -> Result<Decimal, ControlError> {
    let bad = |why: &str| ControlError::BadRequest(format!("invalid amount {text:?}: {why}"));
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    if !trimmed
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-' || b == b'+')
    {
        return Err(bad("not a decimal number"));
    }
    let amount = Decimal::from_str(trimmed).map_err(|_| bad("not a decimal number"))?;
    if amount <= Decimal::ZERO {
        return Err(bad("must be positive"));
    }
    if amount.normalize().scale() > 2 {
        return Err(bad("more than two decimal places (fen)"));
    }
    if amount > Decimal::from(MAX_PAYMENT_YUAN) {
        return Err(bad("exceeds the single-payment limit"));
    }
    Ok(amount)
}

/// Reads a decimal stored as text in the database.
pub fn stored(text: &str) -> Result<Decimal, ControlError> {
    Decimal::from_str(text).map_err(|_| ControlError::Corrupt(format!("decimal {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bad_amounts_are_refused_with_a_reason() {
        for (text, why) in [
            ("", "empty"),
            ("abc", "not a decimal"),
            ("12a", "not a decimal"),
            ("-5", "positive"),
            ("0", "positive"),
            ("1.234", "two decimal"),
            ("1e3", "not a decimal"),
            ("1000000.01", "limit"),
            ("NaN", "not a decimal"),
        ] {
            let err = parse_payment(text).unwrap_err().to_string();
            assert!(err.contains(why), "{text:?}: {err}");
        }
        assert_eq!(parse_payment(" 50.50 ").unwrap(), Decimal::new(5050, 2));
        assert_eq!(parse_payment("1.10").unwrap(), Decimal::new(110, 2));
    }

    proptest! {
        #[test]
        fn every_fen_amount_round_trips(fen in 1i64..=100_000_000) {
            let amount = Decimal::new(fen, 2);
            prop_assert_eq!(parse_payment(&amount.to_string()).unwrap(), amount);
        }
    }
}
