//! Feedback tickets (用户反馈): what a customer may write about, where a ticket stands, and the limits
//! on what they write.

/// What a ticket is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketCategory {
    /// A question or complaint about a bill or a charge.
    Billing,
    /// No power, the meter or the relay.
    Outage,
    /// The meter itself (display, readings, seal).
    Meter,
    /// A payment not credited, or an online payment problem.
    Payment,
    /// Anything else.
    Other,
}

impl TicketCategory {
    /// Every category.
    pub const ALL: [TicketCategory; 5] = [
        Self::Billing,
        Self::Outage,
        Self::Meter,
        Self::Payment,
        Self::Other,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Billing => "billing",
            Self::Outage => "outage",
            Self::Meter => "meter",
            Self::Payment => "payment",
            Self::Other => "other",
        }
    }

    /// The category of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// How a ticket came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketChannel {
    /// The customer wrote it on their self-service page (网上营业厅).
    Online,
    /// Staff took it down from a call to the service hotline (客服热线).
    Hotline,
    /// Staff took it down at a service hall's counter (营业厅柜台).
    Counter,
}

impl TicketChannel {
    /// Every channel.
    pub const ALL: [TicketChannel; 3] = [Self::Online, Self::Hotline, Self::Counter];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Hotline => "hotline",
            Self::Counter => "counter",
        }
    }

    /// The channel of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// Whether staff open tickets by it for a caller or a visitor (every channel but online).
    pub fn taken_by_staff(self) -> bool {
        self != Self::Online
    }
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// Waiting for staff.
    Open,
    /// Staff replied; waiting for the customer (a customer's message opens it again).
    Answered,
    /// Done.
    Closed,
}

impl TicketStatus {
    /// Every status.
    pub const ALL: [TicketStatus; 3] = [Self::Open, Self::Answered, Self::Closed];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Answered => "answered",
            Self::Closed => "closed",
        }
    }

    /// The status of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The status after a message: staff answer, a customer reopens; closing is explicit.
    pub fn after_message(self, from_staff: bool, close: bool) -> Result<Self, String> {
        match (self, from_staff, close) {
            (Self::Closed, false, _) => Err("the ticket is closed; open a new one".into()),
            (_, true, true) => Ok(Self::Closed),
            (_, true, false) => Ok(Self::Answered),
            (_, false, _) => Ok(Self::Open),
        }
    }
}

/// The longest subject, characters.
pub const MAX_SUBJECT: usize = 120;
/// The longest message, characters.
pub const MAX_MESSAGE: usize = 4000;

/// Checks a text a person typed: not blank, at most `max` characters, no control characters other
/// than line breaks and tabs.
pub fn check_text(what: &str, text: &str, max: usize) -> Result<(), String> {
    if text.trim().is_empty() {
        return Err(format!("{what} is empty"));
    }
    if text.chars().count() > max {
        return Err(format!("{what} is longer than {max} characters"));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(format!("{what} contains control characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staff_answer_customers_reopen_and_closed_stays_closed() {
        use TicketStatus::*;
        assert_eq!(Open.after_message(true, false), Ok(Answered));
        assert_eq!(Answered.after_message(false, false), Ok(Open));
        assert_eq!(Answered.after_message(true, true), Ok(Closed));
        assert!(Closed.after_message(false, false).is_err());
        assert_eq!(Closed.after_message(true, false), Ok(Answered));
        for c in TicketCategory::ALL {
            assert_eq!(TicketCategory::parse(c.as_str()), Some(c));
        }
        assert!(check_text("the subject", "  ", 10).is_err());
        assert!(check_text("the subject", "ab\u{7}", 10).is_err());
        assert!(check_text("the message", "line 1\nline 2", 100).is_ok());
        assert!(check_text("the subject", &"字".repeat(11), 10).is_err());
    }
}
