//! The prepaid state of an account, evaluated as the cost-control firmware does (FW-DF `Lib_Money`,
//! `../shared/docs/prepaid-and-tariffs.md` §2.4): predicates in a fixed order, first match wins, and the
//! sticky trip rule.

use rust_decimal::Decimal;

use super::terms::PrepaidTerms;

/// Where an account stands against its terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrepaidState {
    /// Above every alarm.
    NoAlarm,
    /// At or below alarm 1 (报警1): warn, relay closed.
    Alarm1,
    /// At or below alarm 2 (报警2): pre-trip warning.
    Alarm2,
    /// At or below zero, within the overdraft limit (过零).
    OverdraftZero,
    /// Past the overdraft limit (透支): the relay must be open. Sticky.
    OverdraftTrip,
}

impl PrepaidState {
    /// Every state, in predicate order.
    pub const ALL: [PrepaidState; 5] = [
        Self::OverdraftTrip,
        Self::OverdraftZero,
        Self::Alarm2,
        Self::Alarm1,
        Self::NoAlarm,
    ];

    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoAlarm => "no_alarm",
            Self::Alarm1 => "alarm1",
            Self::Alarm2 => "alarm2",
            Self::OverdraftZero => "overdraft_zero",
            Self::OverdraftTrip => "overdraft_trip",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the relay must be open in this state.
    pub fn requires_trip(self) -> bool {
        self == Self::OverdraftTrip
    }
}

/// What moved the balance or the terms; it decides whether a tripped account may re-arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// The account was opened or its wallet initialised: evaluated plainly.
    Opening,
    /// A payment or a correction in the customer's favour.
    Recharge,
    /// A billing charge or a correction against the customer.
    Deduction,
    /// Money paid back to the customer.
    Refund,
    /// Alarm 1 or alarm 2 changed (re-arms only above the close-allowed threshold, like a recharge).
    AlarmTerms,
    /// The overdraft limit changed: evaluated plainly.
    OverdraftTerms,
}

/// The firmware's predicates in order on `rem` (the balance truncated toward zero to fen); `None` when
/// inconsistent terms leave every predicate false.
fn classify(rem: Decimal, terms: &PrepaidTerms) -> Option<PrepaidState> {
    let zero = Decimal::ZERO;
    let (a1, a2, t) = (terms.alarm1, terms.alarm2, terms.overdraft_limit);
    let tripped = if t > zero {
        rem < zero && -rem >= t
    } else {
        rem <= zero
    };
    if tripped {
        return Some(PrepaidState::OverdraftTrip);
    }
    if t > zero && rem <= zero && -rem < t {
        return Some(PrepaidState::OverdraftZero);
    }
    if a2 > zero && zero < rem && rem <= a2 {
        return Some(PrepaidState::Alarm2);
    }
    if a1 > zero && ((a2 > zero && a1 > a2 && a2 < rem && rem <= a1) || (a2 == zero && rem <= a1)) {
        return Some(PrepaidState::Alarm1);
    }
    let above = if a1 > zero {
        rem > a1
    } else if a2 > zero {
        rem > a2
    } else {
        rem > zero
    };
    (rem >= zero && above).then_some(PrepaidState::NoAlarm)
}

/// The state after `change` left the account at `balance`, from `previous`.
///
/// While tripped, deductions and refunds never re-arm; a recharge or an alarm change re-arms only above
/// the close-allowed threshold; an overdraft-limit change or an opening evaluates plainly.
pub fn next_state(
    previous: PrepaidState,
    balance: Decimal,
    terms: &PrepaidTerms,
    change: Change,
) -> PrepaidState {
    let rem = balance.trunc_with_scale(2);
    if previous == PrepaidState::OverdraftTrip {
        match change {
            Change::Deduction | Change::Refund => return previous,
            Change::Recharge | Change::AlarmTerms if !terms.re_arms(rem) => return previous,
            _ => {}
        }
    }
    classify(rem, terms).unwrap_or(previous)
}

#[cfg(test)]
mod tests {
    use super::PrepaidState::*;
    use super::*;
    use crate::domain::terms::CloseAllowedRule;
    use rust_decimal_macros::dec;

    fn terms(a1: Decimal, a2: Decimal, t: Decimal, c: Decimal) -> PrepaidTerms {
        PrepaidTerms {
            alarm1: a1,
            alarm2: a2,
            overdraft_limit: t,
            close_allowed: c,
            hoarding_limit: dec!(1000),
            close_allowed_rule: CloseAllowedRule::Above,
        }
    }

    /// A worked trace through every predicate: charges down through each threshold, a recharge that
    /// stays below the close-allowed threshold (sticky), one above it, and charges again.
    #[test]
    fn worked_trace_through_every_threshold_and_the_sticky_trip() {
        let t = terms(dec!(20), dec!(10), dec!(5), dec!(2));
        let steps = [
            (dec!(50.00), Change::Opening, NoAlarm),
            (dec!(20.01), Change::Deduction, NoAlarm),
            (dec!(20.00), Change::Deduction, Alarm1), // inclusive
            (dec!(10.01), Change::Deduction, Alarm1),
            (dec!(10.00), Change::Deduction, Alarm2),
            (dec!(0.01), Change::Deduction, Alarm2),
            (dec!(0.00), Change::Deduction, OverdraftZero),
            (dec!(-4.99), Change::Deduction, OverdraftZero),
            (dec!(-4.999), Change::Deduction, OverdraftZero), // truncated to -4.99
            (dec!(-5.00), Change::Deduction, OverdraftTrip),
            (dec!(-6.00), Change::Deduction, OverdraftTrip),
            (dec!(1.00), Change::Recharge, OverdraftTrip), // below C: sticky
            (dec!(2.00), Change::Recharge, OverdraftTrip), // not above C
            (dec!(1.50), Change::Refund, OverdraftTrip),
            (dec!(2.01), Change::Recharge, Alarm2), // above C: re-armed, evaluated plainly
            (dec!(15.00), Change::Recharge, Alarm1),
            (dec!(25.00), Change::Recharge, NoAlarm),
            (dec!(-5.00), Change::Deduction, OverdraftTrip),
            (dec!(30.00), Change::Deduction, OverdraftTrip), // a deduction never re-arms
            (dec!(30.00), Change::OverdraftTerms, NoAlarm),  // a terms change re-evaluates
        ];
        let mut state = NoAlarm;
        for (i, (balance, change, expected)) in steps.into_iter().enumerate() {
            state = next_state(state, balance, &t, change);
            assert_eq!(state, expected, "step {i}: {balance} after {change:?}");
        }
    }

    #[test]
    fn zero_overdraft_limit_trips_at_zero_and_zero_alarms_are_disabled() {
        let t = terms(dec!(0), dec!(0), dec!(0), dec!(0));
        assert_eq!(
            next_state(NoAlarm, dec!(0.01), &t, Change::Deduction),
            NoAlarm
        );
        assert_eq!(
            next_state(NoAlarm, dec!(0.00), &t, Change::Deduction),
            OverdraftTrip
        );
        assert_eq!(
            next_state(OverdraftTrip, dec!(0.01), &t, Change::Recharge),
            NoAlarm
        );
        // Only alarm 1: every balance up to it is Alarm1.
        let only_a1 = terms(dec!(20), dec!(0), dec!(0), dec!(2));
        assert_eq!(
            next_state(NoAlarm, dec!(0.01), &only_a1, Change::Deduction),
            Alarm1
        );
        assert_eq!(
            next_state(NoAlarm, dec!(20.01), &only_a1, Change::Deduction),
            NoAlarm
        );
    }

    #[test]
    fn alarm_change_re_arms_only_above_the_threshold() {
        let t = terms(dec!(20), dec!(10), dec!(0), dec!(2));
        assert_eq!(
            next_state(OverdraftTrip, dec!(1.99), &t, Change::AlarmTerms),
            OverdraftTrip
        );
        assert_eq!(
            next_state(OverdraftTrip, dec!(5), &t, Change::AlarmTerms),
            Alarm2
        );
    }

    #[test]
    fn stored_form_round_trips() {
        for state in PrepaidState::ALL {
            assert_eq!(PrepaidState::parse(state.as_str()), Some(state));
        }
        assert_eq!(PrepaidState::parse("tripped"), None);
    }
}
