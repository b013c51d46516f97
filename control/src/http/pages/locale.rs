//! The pages' two languages (中文 by default, English on request) and how each writes money and
//! instants. Every text a page shows is a field of [`Texts`], so a template naming a text that does not
//! exist does not compile.

use chrono::{DateTime, Datelike, TimeZone, Timelike};
use rust_decimal::Decimal;

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
            Self::Zh => &ZH,
            Self::En => &EN,
        }
    }

    /// `amount` yuan as this language writes money: `¥1,234.50`.
    #[allow(
        dead_code,
        reason = "the account and payment pages come next; tested below"
    )]
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

/// Every text of the pages, in one language; each field is named for where it appears.
#[derive(Debug)]
pub(crate) struct Texts {
    /// The product's name in the header.
    pub(crate) product: &'static str,
    pub(crate) login_title: &'static str,
    pub(crate) username: &'static str,
    pub(crate) password: &'static str,
    pub(crate) sign_in: &'static str,
    pub(crate) sign_out: &'static str,
    pub(crate) login_failed: &'static str,
    pub(crate) dashboard: &'static str,
    pub(crate) accounts_total: &'static str,
    pub(crate) tripped: &'static str,
    pub(crate) open_alarms: &'static str,
    pub(crate) commands_in_flight: &'static str,
    pub(crate) accounts_by_state: &'static str,
    pub(crate) alarms_by_kind: &'static str,
    pub(crate) commands_by_state: &'static str,
    pub(crate) accounts_unit: &'static str,
    pub(crate) alarms_unit: &'static str,
    pub(crate) action: &'static str,
    pub(crate) state: &'static str,
    pub(crate) count: &'static str,
    pub(crate) nothing_yet: &'static str,
    pub(crate) forbidden_title: &'static str,
    pub(crate) forbidden_body: &'static str,
    pub(crate) signed_in_as: &'static str,
    pub(crate) updated: &'static str,
}

/// 中文.
pub(crate) static ZH: Texts = Texts {
    product: "单相费控智能电能表 · 运营平台",
    login_title: "登录",
    username: "用户名",
    password: "密码",
    sign_in: "登录",
    sign_out: "退出",
    login_failed: "用户名或密码不正确，或账户已锁定。",
    dashboard: "总览",
    accounts_total: "账户总数",
    tripped: "欠费跳闸",
    open_alarms: "未关闭告警",
    commands_in_flight: "执行中的命令",
    accounts_by_state: "各预付费状态的账户",
    alarms_by_kind: "未关闭告警（按类型）",
    commands_by_state: "远程控制命令",
    accounts_unit: "户",
    alarms_unit: "条",
    action: "操作",
    state: "状态",
    count: "数量",
    nothing_yet: "暂无数据",
    forbidden_title: "无权访问",
    forbidden_body: "您的角色不能访问此页面。",
    signed_in_as: "当前用户",
    updated: "数据时间",
};

/// English.
pub(crate) static EN: Texts = Texts {
    product: "Prepaid smart meters · operations",
    login_title: "Sign in",
    username: "Username",
    password: "Password",
    sign_in: "Sign in",
    sign_out: "Sign out",
    login_failed: "Wrong username or password, or the account is locked.",
    dashboard: "Dashboard",
    accounts_total: "Accounts",
    tripped: "Tripped for arrears",
    open_alarms: "Open alarms",
    commands_in_flight: "Commands in flight",
    accounts_by_state: "Accounts by prepaid state",
    alarms_by_kind: "Open alarms by kind",
    commands_by_state: "Remote-control commands",
    accounts_unit: "accounts",
    alarms_unit: "alarms",
    action: "Action",
    state: "State",
    count: "Count",
    nothing_yet: "Nothing yet",
    forbidden_title: "Not allowed",
    forbidden_body: "Your role may not open this page.",
    signed_in_as: "Signed in as",
    updated: "As of",
};

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
