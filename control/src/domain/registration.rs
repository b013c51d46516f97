//! Customers registering themselves (自助注册): a customer who knows their meter number and the phone
//! number the utility has on record asks for a code, the SMS provider sends it to that phone, and the
//! code (with a username and password of their choosing) makes a customer login for that meter. The
//! answers never say whether a meter and phone matched: a code is only ever in the phone's SMS.
//!
//! Pure limits and judgements; the use case (`crate::app::registration`) keeps the attempts.

use chrono::{DateTime, Duration, Utc};

/// Digits in a code.
pub const CODE_DIGITS: usize = 6;
/// How long a code may be used.
pub const CODE_VALID_MINUTES: i64 = 10;
/// Tries at a code (a wrong code, a taken username) before the attempt is spent.
pub const MAX_TRIES: i64 = 5;
/// Least time between two codes for one meter and phone.
pub const RESEND_SECONDS: i64 = 60;
/// Most codes for one meter and phone within an hour.
pub const MAX_CODES_PER_PAIR_HOUR: i64 = 5;
/// Most codes for one meter with any phone within an hour (asks with a wrong phone count against
/// their own meter and phone, so they cannot use up the customer's five).
pub const MAX_CODES_PER_METER_HOUR: i64 = 20;
/// Most codes asked from one network address within an hour.
pub const MAX_CODES_PER_ORIGIN_HOUR: i64 = 20;

/// Why a step of registering was refused, in words a customer can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationRefusal {
    /// The meter number is not 12 digits.
    #[error("the meter number has 12 digits")]
    MeterNumber,
    /// The phone number has too few or too many digits.
    #[error("the phone number has 7 to 15 digits")]
    PhoneNumber,
    /// A code was sent for this meter within the last minute.
    #[error("a code was sent less than a minute ago; wait for it or ask again in a minute")]
    TooSoon,
    /// Too many codes for this meter or from this address in the last hour.
    #[error("too many codes asked for in the last hour; try again later")]
    TooMany,
    /// The code is wrong (or nothing was sent for this attempt).
    #[error("the code is not right")]
    WrongCode,
    /// The attempt's time or tries are used up, or it was used.
    #[error("this code can no longer be used; ask for a new one")]
    Spent,
}

impl RegistrationRefusal {
    /// (中文, English) for the page.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::MeterNumber => ("电表号为 12 位数字。", "The meter number has 12 digits."),
            Self::PhoneNumber => (
                "手机号应为 7 到 15 位数字。",
                "The phone number has 7 to 15 digits.",
            ),
            Self::TooSoon => (
                "验证码刚刚发送过，请稍候查收，或一分钟后再试。",
                "A code was sent less than a minute ago: wait for it, or ask again in a minute.",
            ),
            Self::TooMany => (
                "一小时内获取验证码次数过多，请稍后再试。",
                "Too many codes were asked for in the last hour. Try again later.",
            ),
            Self::WrongCode => ("验证码不正确。", "The code is not right."),
            Self::Spent => (
                "验证码已失效，请重新获取。",
                "This code can no longer be used: ask for a new one.",
            ),
        }
    }
}

/// A meter number as typed: its digits when there are exactly 12 (spaces and dashes aside).
pub fn meter_number(text: &str) -> Result<String, RegistrationRefusal> {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() == 12 && digits.chars().all(|c| c.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(RegistrationRefusal::MeterNumber)
    }
}

/// Checks a phone number as typed has 7 to 15 digits (separators and a leading `+` aside).
pub fn phone_number(text: &str) -> Result<(), RegistrationRefusal> {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let only_phone_chars = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '+' | '(' | ')'));
    if only_phone_chars && (7..=15).contains(&digits) {
        Ok(())
    } else {
        Err(RegistrationRefusal::PhoneNumber)
    }
}

/// How many codes were asked for within the last hour: for the meter with the phone typed, for the
/// meter with any phone, and from the asking address; and when the last for the meter and phone was.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AskCounts {
    /// For this meter and phone.
    pub pair: i64,
    /// When the newest of those was.
    pub pair_last: Option<DateTime<Utc>>,
    /// For this meter, any phone.
    pub meter: i64,
    /// From this address.
    pub origin: i64,
}

/// Whether another code may be asked for at `now` with `counts` of the last hour.
pub fn may_send(now: DateTime<Utc>, counts: AskCounts) -> Result<(), RegistrationRefusal> {
    if counts.pair >= MAX_CODES_PER_PAIR_HOUR
        || counts.meter >= MAX_CODES_PER_METER_HOUR
        || counts.origin >= MAX_CODES_PER_ORIGIN_HOUR
    {
        return Err(RegistrationRefusal::TooMany);
    }
    if counts
        .pair_last
        .is_some_and(|at| now - at < Duration::seconds(RESEND_SECONDS))
    {
        return Err(RegistrationRefusal::TooSoon);
    }
    Ok(())
}

/// The phone numbers a phone typed may be on record as: as typed, and without China's country code
/// (`+86 138…`, `0086 138…` are on record as `138…`).
pub fn phone_variants(text: &str) -> Vec<String> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let mut variants = vec![text.to_string()];
    for prefix in ["0086", "86"] {
        if let Some(national) = digits.strip_prefix(prefix).filter(|n| n.len() == 11) {
            variants.push(national.to_string());
            break;
        }
    }
    variants
}

/// Whether an attempt made at `created_at`, tried `tries` times (this try included) and not used
/// may still take a code at `now`.
pub fn may_try(
    now: DateTime<Utc>,
    created_at: DateTime<Utc>,
    tries: i64,
    used: bool,
) -> Result<(), RegistrationRefusal> {
    let expired = now - created_at > Duration::minutes(CODE_VALID_MINUTES);
    if used || expired || tries > MAX_TRIES {
        Err(RegistrationRefusal::Spent)
    } else {
        Ok(())
    }
}

/// A code of [`CODE_DIGITS`] digits from a random number (leading zeros kept).
pub fn code_text(random: u32) -> String {
    format!("{:06}", random % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + seconds, 0).unwrap()
    }

    #[test]
    fn meter_and_phone_numbers_are_checked_as_typed() {
        assert_eq!(meter_number(" 0000-0000 1001 ").unwrap(), "000000001001");
        assert_eq!(
            meter_number("00000000100"),
            Err(RegistrationRefusal::MeterNumber)
        );
        assert_eq!(
            meter_number("00000000100x"),
            Err(RegistrationRefusal::MeterNumber)
        );
        assert!(phone_number("+86 138-0013-8000").is_ok());
        assert_eq!(phone_number("12345"), Err(RegistrationRefusal::PhoneNumber));
        assert_eq!(
            phone_number("138 0013 8000; DROP"),
            Err(RegistrationRefusal::PhoneNumber)
        );
    }

    #[test]
    fn codes_are_rationed_per_meter_and_phone_per_meter_and_per_address() {
        let counts = |pair, pair_last, meter, origin| AskCounts {
            pair,
            pair_last,
            meter,
            origin,
        };
        assert!(may_send(at(0), AskCounts::default()).is_ok());
        assert_eq!(
            may_send(at(59), counts(1, Some(at(0)), 1, 1)),
            Err(RegistrationRefusal::TooSoon)
        );
        assert!(may_send(at(60), counts(1, Some(at(0)), 1, 1)).is_ok());
        // Another phone's asks for the meter do not make this pair wait.
        assert!(may_send(at(10), counts(0, None, 4, 4)).is_ok());
        for full in [
            counts(MAX_CODES_PER_PAIR_HOUR, None, 5, 5),
            counts(0, None, MAX_CODES_PER_METER_HOUR, 0),
            counts(0, None, 0, MAX_CODES_PER_ORIGIN_HOUR),
        ] {
            assert_eq!(may_send(at(600), full), Err(RegistrationRefusal::TooMany));
        }
    }

    #[test]
    fn a_phone_with_the_country_code_is_also_tried_without_it() {
        assert_eq!(
            phone_variants("+86 138-0013-8000"),
            ["+86 138-0013-8000", "13800138000"]
        );
        assert_eq!(phone_variants("0086 13800138000")[1], "13800138000");
        assert_eq!(phone_variants("138 0013 8000"), ["138 0013 8000"]);
    }

    #[test]
    fn an_attempt_is_spent_by_time_tries_or_use() {
        assert!(may_try(at(600), at(0), 1, false).is_ok());
        assert_eq!(
            may_try(at(601), at(0), 1, false),
            Err(RegistrationRefusal::Spent)
        );
        assert!(may_try(at(10), at(0), MAX_TRIES, false).is_ok());
        assert_eq!(
            may_try(at(10), at(0), MAX_TRIES + 1, false),
            Err(RegistrationRefusal::Spent)
        );
        assert_eq!(
            may_try(at(10), at(0), 1, true),
            Err(RegistrationRefusal::Spent)
        );
    }

    #[test]
    fn codes_have_six_digits_with_leading_zeros() {
        assert_eq!(code_text(42), "000042");
        assert_eq!(code_text(4_000_123), "000123");
        assert_eq!(code_text(999_999).len(), CODE_DIGITS);
    }
}
