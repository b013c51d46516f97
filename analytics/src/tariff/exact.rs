//! Exact numbers: decimals read from plan files without passing through `f64`, energy as scaled
//! integers for the pricing loop, and the one rounding rule for money.

use std::fmt;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::de::{self, Deserializer, Visitor};

/// Decimal places of [`KwhE6`]: energy is counted in units of 10⁻⁶ kWh (1 mWh) inside the engine.
pub const KWH_SCALE: u32 = 6;

/// Energy in units of 10⁻⁶ kWh. Every kWh value with at most [`KWH_SCALE`] decimal places is
/// represented exactly, so integer sums in the pricing loop equal the [`Decimal`] sums.
pub type KwhE6 = i64;

/// The rounding of every bill total: half-up to the fen (0.01 yuan), i.e. a midpoint rounds away
/// from zero (`RoundingStrategy::MidpointAwayFromZero`). Line items keep full precision.
pub const FEN_ROUNDING: RoundingStrategy = RoundingStrategy::MidpointAwayFromZero;

/// Rounds an amount in yuan half-up to the fen ([`FEN_ROUNDING`]).
pub fn round_to_fen(amount: Decimal) -> Decimal {
    amount.round_dp_with_strategy(2, FEN_ROUNDING)
}

/// A kWh value cannot be represented in [`KwhE6`] units.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnergyError {
    /// More than [`KWH_SCALE`] significant decimal places.
    #[error("{0} kWh has more than 6 decimal places")]
    TooPrecise(Decimal),
    /// Beyond ±9.2 × 10¹² kWh.
    #[error("{0} kWh is out of range")]
    OutOfRange(Decimal),
}

/// Converts kWh to [`KwhE6`] units, exactly or not at all.
pub fn kwh_to_e6(kwh: Decimal) -> Result<KwhE6, EnergyError> {
    let mut value = kwh;
    if value.scale() > KWH_SCALE {
        value = value.normalize();
        if value.scale() > KWH_SCALE {
            return Err(EnergyError::TooPrecise(kwh));
        }
    }
    let factor = 10i128.pow(KWH_SCALE - value.scale());
    value
        .mantissa()
        .checked_mul(factor)
        .and_then(|units| i64::try_from(units).ok())
        .ok_or(EnergyError::OutOfRange(kwh))
}

/// Converts a scaled integer kWh value (`mantissa` × 10^−`scale`, as in an Arrow `Decimal128`
/// column) to [`KwhE6`] units, exactly or not at all.
pub fn scaled_to_e6(mantissa: i128, scale: u32) -> Result<KwhE6, EnergyError> {
    if scale <= KWH_SCALE {
        return mantissa
            .checked_mul(10i128.pow(KWH_SCALE - scale))
            .and_then(|units| i64::try_from(units).ok())
            .ok_or_else(|| EnergyError::OutOfRange(decimal_or_max(mantissa, scale)));
    }
    let divisor = 10i128.pow(scale - KWH_SCALE);
    if mantissa % divisor != 0 {
        return Err(EnergyError::TooPrecise(decimal_or_max(mantissa, scale)));
    }
    i64::try_from(mantissa / divisor)
        .map_err(|_| EnergyError::OutOfRange(decimal_or_max(mantissa, scale)))
}

fn decimal_or_max(mantissa: i128, scale: u32) -> Decimal {
    Decimal::try_from_i128_with_scale(mantissa, scale).unwrap_or(Decimal::MAX)
}

/// [`KwhE6`] units back to kWh.
pub fn e6_to_kwh(units: i128) -> Decimal {
    // |units| < 2⁹⁶ for every sum of i64 values the engine forms, so this never saturates.
    Decimal::try_from_i128_with_scale(units, KWH_SCALE).unwrap_or(Decimal::MAX)
}

/// A decimal number as written in a plan file: a string such as `"0.4883"` or a TOML integer.
/// TOML floats are refused, because they would pass through `f64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exact(pub Decimal);

impl<'de> serde::Deserialize<'de> for Exact {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ExactVisitor)
    }
}

struct ExactVisitor;

impl Visitor<'_> for ExactVisitor {
    type Value = Exact;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a decimal number written as a string, e.g. \"0.4883\"")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Exact, E> {
        text.trim()
            .parse::<Decimal>()
            .map(Exact)
            .map_err(|_| E::custom(format!("{text:?} is not a decimal number")))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Exact, E> {
        Ok(Exact(Decimal::from(value)))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Exact, E> {
        Ok(Exact(Decimal::from(value)))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Exact, E> {
        Err(E::custom(format!(
            "{value} is a TOML float; write decimals as strings (\"{value}\") so they stay exact"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn energy_converts_exactly_or_not_at_all() {
        assert_eq!(kwh_to_e6(dec!(1.25)), Ok(1_250_000));
        assert_eq!(kwh_to_e6(dec!(-0.000001)), Ok(-1));
        assert_eq!(kwh_to_e6(dec!(2.50000000)), Ok(2_500_000));
        assert!(matches!(
            kwh_to_e6(dec!(0.0000001)),
            Err(EnergyError::TooPrecise(_))
        ));
        assert_eq!(scaled_to_e6(125, 2), Ok(1_250_000));
        assert_eq!(scaled_to_e6(1_250_000_000, 9), Ok(1_250_000));
        assert!(scaled_to_e6(1, 9).is_err());
        assert_eq!(e6_to_kwh(1_250_000), dec!(1.25));
    }

    #[test]
    fn fen_rounding_is_half_up() {
        assert_eq!(round_to_fen(dec!(1.005)), dec!(1.01));
        assert_eq!(round_to_fen(dec!(1.0049999)), dec!(1.00));
        assert_eq!(round_to_fen(dec!(-1.005)), dec!(-1.01));
    }

    #[test]
    fn floats_are_refused() {
        #[derive(serde::Deserialize)]
        struct Doc {
            price: Exact,
        }
        let ok: Doc = toml::from_str("price = \"0.4883\"").unwrap();
        assert_eq!(ok.price.0, dec!(0.4883));
        let int: Doc = toml::from_str("price = 2760").unwrap();
        assert_eq!(int.price.0, dec!(2760));
        let err = toml::from_str::<Doc>("price = 0.4883").err().unwrap();
        assert!(
            err.to_string().contains("write decimals as strings"),
            "{err}"
        );
    }
}
