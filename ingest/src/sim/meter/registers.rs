//! The energy registers of a meter, kept in joules and shown truncated to 0.01 kWh.

use rust_decimal::Decimal;

/// Joules per 0.01 kWh, the register resolution.
const JOULES_PER_CENTI_KWH: i64 = 36_000;

/// Forward, reverse and forward-per-TOU-period energy, in joules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Registers {
    /// Forward active energy (00010000).
    pub forward: i64,
    /// Reverse active energy (00020000).
    pub reverse: i64,
    /// Forward active energy per TOU register, sharp/peak/flat/valley (00010100..00010400).
    pub tariff: [i64; 4],
}

impl Registers {
    /// Adds a step's energy: positive joules run forward into `tariff`, negative ones reverse; with `theft`
    /// positive joules run into the reverse register instead.
    pub fn accumulate(&mut self, joules: i64, tariff: usize, theft: bool) {
        if joules >= 0 && !theft {
            self.forward += joules;
            if let Some(register) = self.tariff.get_mut(tariff) {
                *register += joules;
            }
        } else {
            self.reverse += joules.abs();
        }
    }

    /// Joules as the meter shows them: kWh truncated to 0.01.
    pub fn kwh(joules: i64) -> Decimal {
        Decimal::new(joules / JOULES_PER_CENTI_KWH, 2)
    }

    /// Combined active energy (00000000) as shown: forward − reverse, each truncated first.
    pub fn combined_kwh(&self) -> Decimal {
        Self::kwh(self.forward) - Self::kwh(self.reverse)
    }
}
