//! What the text typed into an account search box asks for: a meter number or its beginning, a
//! phone number, or a customer's name. Counter staff type whichever the customer gives them.

/// The longest search text read, characters.
pub const MAX_SEARCH_CHARS: usize = 100;

/// A meter address has this many digits.
const METER_DIGITS: usize = 12;

/// A parsed search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SearchTerm {
    /// Nothing typed: every account.
    Everything,
    /// Digits (separators dropped): the start of a meter number, and a phone number when the count fits
    /// one (5 to 20 digits).
    Digits(String),
    /// Anything else: a customer's name, matched exactly once case and spacing are set aside.
    Name(String),
}

impl SearchTerm {
    /// Reads what was typed; text longer than [`MAX_SEARCH_CHARS`] or with control characters is an
    /// error.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(format!("a search is at most {MAX_SEARCH_CHARS} characters"));
        }
        if text.chars().any(char::is_control) {
            return Err("a search may not contain control characters".into());
        }
        if text.is_empty() {
            return Ok(Self::Everything);
        }
        let numeric = text
            .chars()
            .all(|c| c.is_ascii_digit() || " +-()".contains(c))
            && text.chars().any(|c| c.is_ascii_digit());
        if numeric {
            Ok(Self::Digits(
                text.chars().filter(char::is_ascii_digit).collect(),
            ))
        } else {
            Ok(Self::Name(text.to_string()))
        }
    }

    /// The meter-number prefix this term matches, if any.
    pub fn meter_prefix(&self) -> Option<&str> {
        match self {
            Self::Digits(digits) if digits.len() <= METER_DIGITS => Some(digits),
            _ => None,
        }
    }

    /// The phone number this term may be, if any.
    pub fn phone(&self) -> Option<&str> {
        match self {
            Self::Digits(digits) if (5..=20).contains(&digits.len()) => Some(digits),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_names_and_nothing_are_told_apart() {
        assert_eq!(SearchTerm::parse("  ").unwrap(), SearchTerm::Everything);
        let meter = SearchTerm::parse("0000 0000 0042").unwrap();
        assert_eq!(meter.meter_prefix(), Some("000000000042"));
        assert_eq!(meter.phone(), Some("000000000042"));
        let phone = SearchTerm::parse("+86 138-0013-8000").unwrap();
        assert_eq!(phone.phone(), Some("8613800138000"));
        assert_eq!(phone.meter_prefix(), None, "13 digits are no meter");
        let short = SearchTerm::parse("0012").unwrap();
        assert_eq!((short.meter_prefix(), short.phone()), (Some("0012"), None));
        assert_eq!(
            SearchTerm::parse(" 张伟 ").unwrap(),
            SearchTerm::Name("张伟".into())
        );
        assert_eq!(
            SearchTerm::parse("-").unwrap(),
            SearchTerm::Name("-".into()),
            "separators alone are no number"
        );
        assert!(SearchTerm::parse(&"x".repeat(101)).is_err());
        assert!(SearchTerm::parse("a\u{0}b").is_err());
    }
}
