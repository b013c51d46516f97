//! An account's prepaid terms: the firmware's money parameters (DL/T 645 DIs 04001001–04001005), kept
//! on the master station for remote cost control (远程费控).

use rust_decimal::Decimal;

/// How the close-allowed threshold compares after a trip: vendors differ (`>` or `≥`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseAllowedRule {
    /// Re-arm only when the balance is strictly above the threshold (FW-DF).
    Above,
    /// Re-arm when the balance reaches the threshold (FW-2).
    AtLeast,
}

/// The money limits of one account, yuan. A zero disables a limit, as on the meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrepaidTerms {
    /// Alarm 1 (报警金额1): at or below it the customer is warned; the relay stays closed.
    pub alarm1: Decimal,
    /// Alarm 2 (报警金额2): at or below it the customer gets the pre-trip warning.
    pub alarm2: Decimal,
    /// Overdraft limit (透支金额): the balance may go this far below zero before the trip.
    pub overdraft_limit: Decimal,
    /// Close-allowed threshold (合闸允许金额): after a trip, the balance must pass it to re-arm.
    pub close_allowed: Decimal,
    /// Hoarding limit (囤积金额): a payment that would take the balance above it is refused.
    pub hoarding_limit: Decimal,
    /// `>` or `≥` for the close-allowed threshold.
    pub close_allowed_rule: CloseAllowedRule,
}

impl Default for PrepaidTerms {
    /// Alarms at 20 and 10 yuan; the firmware's defaults for the rest (overdraft 10, close-allowed 2,
    /// hoarding 999,999.99).
    fn default() -> Self {
        Self {
            alarm1: Decimal::new(2000, 2),
            alarm2: Decimal::new(1000, 2),
            overdraft_limit: Decimal::new(1000, 2),
            close_allowed: Decimal::new(200, 2),
            hoarding_limit: Decimal::new(99_999_999, 2),
            close_allowed_rule: CloseAllowedRule::Above,
        }
    }
}

/// Terms that cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    /// A limit is negative or has fractions of a fen.
    #[error("{name} must be a non-negative amount in whole fen, not {value}")]
    BadLimit {
        /// Which limit.
        name: &'static str,
        /// Its value.
        value: Decimal,
    },
    /// Alarm 1 set below alarm 2 (the firmware's alarm-1 predicate then never holds).
    #[error("alarm1 ({alarm1}) must be 0 or above alarm2 ({alarm2})")]
    AlarmsOutOfOrder {
        /// Alarm 1.
        alarm1: Decimal,
        /// Alarm 2.
        alarm2: Decimal,
    },
}

impl PrepaidTerms {
    /// Checks every limit: non-negative, whole fen, alarm 1 above alarm 2 when both are set.
    pub fn validate(&self) -> Result<(), TermsError> {
        for (name, value) in [
            ("alarm1", self.alarm1),
            ("alarm2", self.alarm2),
            ("overdraft_limit", self.overdraft_limit),
            ("close_allowed", self.close_allowed),
            ("hoarding_limit", self.hoarding_limit),
        ] {
            if value < Decimal::ZERO || value.normalize().scale() > 2 {
                return Err(TermsError::BadLimit { name, value });
            }
        }
        if self.alarm1 > Decimal::ZERO && self.alarm2 > Decimal::ZERO && self.alarm1 <= self.alarm2
        {
            return Err(TermsError::AlarmsOutOfOrder {
                alarm1: self.alarm1,
                alarm2: self.alarm2,
            });
        }
        Ok(())
    }

    /// Whether a balance `rem` (already truncated to fen) re-arms an account after a trip.
    pub fn re_arms(&self, rem: Decimal) -> bool {
        match self.close_allowed_rule {
            CloseAllowedRule::Above => rem > self.close_allowed,
            CloseAllowedRule::AtLeast => rem >= self.close_allowed,
        }
    }

    /// Whether a payment of `purchase` onto `balance` would exceed the hoarding limit (0 = no limit).
    pub fn exceeds_hoarding(&self, balance: Decimal, purchase: Decimal) -> bool {
        self.hoarding_limit > Decimal::ZERO
            && balance
                .checked_add(purchase)
                .is_none_or(|after| after.trunc_with_scale(2) > self.hoarding_limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn terms_are_validated() {
        assert!(PrepaidTerms::default().validate().is_ok());
        let bad = PrepaidTerms {
            alarm1: dec!(5),
            alarm2: dec!(10),
            ..PrepaidTerms::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(TermsError::AlarmsOutOfOrder { .. })
        ));
        let negative = PrepaidTerms {
            overdraft_limit: dec!(-1),
            ..PrepaidTerms::default()
        };
        assert!(negative
            .validate()
            .unwrap_err()
            .to_string()
            .contains("overdraft_limit"));
        let fraction = PrepaidTerms {
            close_allowed: dec!(0.001),
            ..PrepaidTerms::default()
        };
        assert!(fraction.validate().is_err());
    }

    #[test]
    fn hoarding_limit_refuses_only_above_it_and_zero_disables_it() {
        let terms = PrepaidTerms {
            hoarding_limit: dec!(500),
            ..PrepaidTerms::default()
        };
        assert!(!terms.exceeds_hoarding(dec!(400), dec!(100)));
        assert!(terms.exceeds_hoarding(dec!(400), dec!(100.01)));
        assert!(!terms.exceeds_hoarding(dec!(-50), dec!(550)));
        let unlimited = PrepaidTerms {
            hoarding_limit: Decimal::ZERO,
            ..terms
        };
        assert!(!unlimited.exceeds_hoarding(dec!(400), dec!(1000000)));
    }

    #[test]
    fn close_allowed_rule_is_strict_or_inclusive() {
        let above = PrepaidTerms::default();
        assert!(!above.re_arms(dec!(2.00)));
        assert!(above.re_arms(dec!(2.01)));
        let at_least = PrepaidTerms {
            close_allowed_rule: CloseAllowedRule::AtLeast,
            ..above
        };
        assert!(at_least.re_arms(dec!(2.00)));
    }
}
