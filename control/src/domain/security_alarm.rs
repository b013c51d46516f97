//! What a security alarm is about: patterns in what people do, not in what meters read.

/// The kinds of security alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityAlarmKind {
    /// Failed logins in a row reached the lockout.
    FailedLogins,
    /// One user asked for many manual trips within an hour.
    TripBurst,
    /// A refund above the cashier's limit was tried.
    RefundAboveLimit,
    /// A registration attempt's code was guessed at until its tries ran out.
    RegistrationGuessing,
}

/// Every kind.
pub const SECURITY_ALARM_KINDS: [SecurityAlarmKind; 4] = [
    SecurityAlarmKind::FailedLogins,
    SecurityAlarmKind::TripBurst,
    SecurityAlarmKind::RefundAboveLimit,
    SecurityAlarmKind::RegistrationGuessing,
];

impl SecurityAlarmKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FailedLogins => "failed_logins",
            Self::TripBurst => "trip_burst",
            Self::RefundAboveLimit => "refund_above_limit",
            Self::RegistrationGuessing => "registration_guessing",
        }
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Option<Self> {
        SECURITY_ALARM_KINDS
            .into_iter()
            .find(|k| k.as_str() == text)
    }

    /// Its names (中文, English).
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::FailedLogins => ("连续登录失败", "failed logins"),
            Self::TripBurst => ("短时大量拉闸", "burst of manual trips"),
            Self::RefundAboveLimit => ("超限退款", "refund above the limit"),
            Self::RegistrationGuessing => ("注册验证码被猜测", "registration code guessed at"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_and_has_names() {
        for kind in SECURITY_ALARM_KINDS {
            assert_eq!(SecurityAlarmKind::parse(kind.as_str()), Some(kind));
            let (zh, en) = kind.names();
            assert!(!zh.is_empty() && !en.is_empty());
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(SecurityAlarmKind::parse("TRIP_BURST"), None);
    }
}
