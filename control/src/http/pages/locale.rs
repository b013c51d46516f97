//! The pages' two languages (中文 by default, English on request) and how each writes money and
//! instants. The texts themselves are in [`super::texts`].

use chrono::{DateTime, Datelike, TimeZone, Timelike};
use rust_decimal::Decimal;

use super::texts::{self, Texts};

/// The cookie remembering the chosen language.
pub const LANG_COOKIE: &str = "meterlake_lang";

/// A page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Lang {
    /// Simplified Chinese (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language a code names (`zh`, `en`).
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "zh" => Some(Self::Zh),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The language from a request's cookie, else the default.
    pub fn of(headers: &axum::http::HeaderMap) -> Self {
        super::cookie(headers, LANG_COOKIE)
            .and_then(|code| Self::parse(&code))
            .unwrap_or_default()
    }

    /// The same language for a load report.
    pub fn report_language(self) -> analytics::report::labels::Language {
        match self {
            Self::Zh => analytics::report::labels::Language::Zh,
            Self::En => analytics::report::labels::Language::En,
        }
    }

    /// Its code, for `<html lang>` and the cookie.
    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh-CN",
            Self::En => "en",
        }
    }

    /// The other language's short code, for the switch.
    pub fn other_code(self) -> &'static str {
        match self {
            Self::Zh => "en",
            Self::En => "zh",
        }
    }

    /// The other language's name in itself, for the switch.
    pub fn other_name(self) -> &'static str {
        match self {
            Self::Zh => "English",
            Self::En => "中文",
        }
    }

    /// The texts.
    pub fn texts(self) -> &'static Texts {
        match self {
            Self::Zh => &texts::ZH,
            Self::En => &texts::EN,
        }
    }

    /// Picks the text of this language from a (中文, English) pair.
    pub fn pick(self, (zh, en): (&'static str, &'static str)) -> &'static str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }

    /// `amount` yuan as this language writes money: `¥1,234.50`.
    pub fn money(self, amount: Decimal) -> String {
        let rounded = amount.round_dp(2);
        let negative = rounded.is_sign_negative() && !rounded.is_zero();
        let text = format!("{:.2}", rounded.abs());
        let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
        let mut grouped = String::new();
        for (i, digit) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        let sign = if negative { "-" } else { "" };
        format!("{sign}¥{grouped}.{cents}")
    }

    /// An instant as this language writes it, in its own zone: `2026年12月5日 14:30` or
    /// `5 Dec 2026 14:30`.
    pub fn instant<Z: TimeZone>(self, at: &DateTime<Z>) -> String {
        const MONTHS: [&str; 12] = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let (y, m, d) = (at.year(), at.month(), at.day());
        let (hh, mm) = (at.hour(), at.minute());
        match self {
            Self::Zh => format!("{y}年{m}月{d}日 {hh:02}:{mm:02}"),
            Self::En => format!(
                "{d} {} {y} {hh:02}:{mm:02}",
                MONTHS[(m as usize).saturating_sub(1) % 12]
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn money_is_grouped_with_two_decimals_in_yuan() {
        assert_eq!(Lang::Zh.money(dec!(1234.5)), "¥1,234.50");
        assert_eq!(Lang::En.money(dec!(1234567.891)), "¥1,234,567.89");
        assert_eq!(Lang::Zh.money(dec!(-12.3)), "-¥12.30");
        assert_eq!(Lang::Zh.money(dec!(0)), "¥0.00");
        assert_eq!(Lang::Zh.money(dec!(-0.001)), "¥0.00");
        assert_eq!(Lang::En.money(dec!(999)), "¥999.00");
    }

    #[test]
    fn instants_are_written_as_each_language_writes_dates() {
        let at = chrono_tz::Asia::Shanghai
            .with_ymd_and_hms(2026, 12, 5, 9, 7, 0)
            .unwrap();
        assert_eq!(Lang::Zh.instant(&at), "2026年12月5日 09:07");
        assert_eq!(Lang::En.instant(&at), "5 Dec 2026 09:07");
    }

    #[test]
    fn only_the_two_languages_parse() {
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("zh"), Some(Lang::Zh));
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::default(), Lang::Zh);
    }
}
