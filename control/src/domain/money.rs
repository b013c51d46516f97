//! Money as people type it and as the database keeps it: exact yuan, stored as integer fen.

use std::str::FromStr;

use rust_decimal::Decimal;

/// The largest single payment or refund accepted, yuan.
pub const MAX_PAYMENT_YUAN: i64 = 1_000_000;

/// Why an amount was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The text is not an amount of yuan with at most two decimals.
    #[error("invalid amount {text:?}: {why}")]
    Invalid {
        /// What was typed.
        text: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// An amount outside the range the ledger keeps (|amount| < 2^63 fen).
    #[error("amount {0} is out of range")]
    OutOfRange(Decimal),
    /// An amount with fractions of a fen where only whole fen are allowed.
    #[error("amount {0} has fractions of a fen")]
    FractionalFen(Decimal),
}

/// Parses a positive amount of yuan typed by a person: at most 2 decimals, at most [`MAX_PAYMENT_YUAN`].
pub fn parse_amount(text: &str) -> Result<Decimal, MoneyError> {
    let bad = |why| MoneyError::Invalid {
        text: text.to_string(),
        why,
    };
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

/// Yuan → whole fen, refusing fractions of a fen and values beyond `i64`.
pub fn to_fen(yuan: Decimal) -> Result<i64, MoneyError> {
    let fen = yuan
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or(MoneyError::OutOfRange(yuan))?;
    if fen.fract() != Decimal::ZERO {
        return Err(MoneyError::FractionalFen(yuan));
    }
    i64::try_from(fen).map_err(|_| MoneyError::OutOfRange(yuan))
}

/// Whole fen → yuan (scale 2).
pub fn from_fen(fen: i64) -> Decimal {
    Decimal::new(fen, 2)
}

/// `a + b` in fen, refusing overflow.
pub fn add_fen(a: i64, b: i64) -> Result<i64, MoneyError> {
    a.checked_add(b)
        .ok_or_else(|| MoneyError::OutOfRange(from_fen(a) + from_fen(b)))
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
            let err = parse_amount(text).unwrap_err().to_string();
            assert!(err.contains(why), "{text:?}: {err}");
        }
        assert_eq!(parse_amount(" 50.50 ").unwrap(), Decimal::new(5050, 2));
        assert_eq!(parse_amount("1.10").unwrap(), Decimal::new(110, 2));
    }

    #[test]
    fn fen_conversion_refuses_fractions_and_overflow() {
        assert_eq!(to_fen(Decimal::new(-37, 2)).unwrap(), -37);
        assert_eq!(to_fen(Decimal::new(1234500, 4)).unwrap(), 12345);
        assert_eq!(
            to_fen(Decimal::new(1, 3)),
            Err(MoneyError::FractionalFen(Decimal::new(1, 3)))
        );
        assert!(matches!(
            to_fen(Decimal::from(i64::MAX)),
            Err(MoneyError::OutOfRange(_))
        ));
        assert!(add_fen(i64::MAX, 1).is_err());
    }

    proptest! {
        #[test]
        fn every_fen_amount_round_trips(fen in 1i64..=100_000_000) {
            let amount = from_fen(fen);
            prop_assert_eq!(parse_amount(&amount.to_string()).unwrap(), amount);
            prop_assert_eq!(to_fen(amount).unwrap(), fen);
        }

        #[test]
        fn fen_sums_are_exact(a in -1_000_000_000i64..1_000_000_000, b in -1_000_000_000i64..1_000_000_000) {
            prop_assert_eq!(from_fen(add_fen(a, b).unwrap()), from_fen(a) + from_fen(b));
        }
    }
}
