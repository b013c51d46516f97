//! What the system tells people and in which words: the kinds of notice (a balance crossing an alarm
//! threshold, the pre-trip warning, a trip, reconnection allowed, a payment, an alarm for maintenance
//! staff, a reply to a feedback ticket), the facts each carries, and their texts per channel and
//! language. Amounts are exact decimals, written in yuan with two decimals.

use rust_decimal::Decimal;

/// A language a notice is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// 中文 (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Language {
    /// The stored code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }

    /// The language of a stored code.
    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "zh" => Some(Self::Zh),
            "en" => Some(Self::En),
            _ => None,
        }
    }
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The balance fell to alarm 1 (报警1).
    BalanceAlarm1,
    /// The balance fell to alarm 2 (报警2).
    BalanceAlarm2,
    /// The balance fell below zero, into the overdraft.
    BalanceOverdrawn,
    /// Past the overdraft limit: power will be cut after the warning lead.
    PreTripWarning,
    /// The relay opened for arrears.
    TripDone,
    /// The customer may close the relay again.
    CloseAllowed,
    /// A payment was booked.
    PaymentReceived,
    /// An alarm was raised on a meter (for maintenance staff).
    AlarmRaised,
    /// Staff replied to a feedback ticket.
    TicketReplied,
    /// The month's bill was issued.
    BillIssued,
}

impl NoticeKind {
    /// Every kind.
    pub const ALL: [NoticeKind; 10] = [
        Self::BalanceAlarm1,
        Self::BalanceAlarm2,
        Self::BalanceOverdrawn,
        Self::PreTripWarning,
        Self::TripDone,
        Self::CloseAllowed,
        Self::PaymentReceived,
        Self::AlarmRaised,
        Self::TicketReplied,
        Self::BillIssued,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BalanceAlarm1 => "balance_alarm1",
            Self::BalanceAlarm2 => "balance_alarm2",
            Self::BalanceOverdrawn => "balance_overdrawn",
            Self::PreTripWarning => "pre_trip_warning",
            Self::TripDone => "trip_done",
            Self::CloseAllowed => "close_allowed",
            Self::PaymentReceived => "payment_received",
            Self::AlarmRaised => "alarm_raised",
            Self::TicketReplied => "ticket_replied",
            Self::BillIssued => "bill_issued",
        }
    }

    /// The kind of a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether it is one of the balance thresholds: sent at most once per crossing, re-armed by a
    /// payment.
    pub fn is_threshold(self) -> bool {
        matches!(
            self,
            Self::BalanceAlarm1 | Self::BalanceAlarm2 | Self::BalanceOverdrawn
        )
    }
}

/// The facts a notice's text is written from (each kind uses some).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NoticeFacts {
    /// The meter.
    pub meter_id: String,
    /// The balance after the event, yuan.
    pub balance: Option<Decimal>,
    /// An amount paid, yuan.
    pub amount: Option<Decimal>,
    /// How long until the trip (pre-trip warning), in words.
    pub lead: Option<String>,
    /// What the alarm or ticket is about.
    pub subject: Option<String>,
    /// The alarm's detail or the staff's reply.
    pub detail: Option<String>,
    /// The month billed (`YYYY-MM`).
    pub period: Option<String>,
    /// Energy billed, kWh.
    pub kwh: Option<Decimal>,
}

impl NoticeFacts {
    /// Facts about `meter_id`, the rest empty.
    pub fn about(meter_id: &str) -> Self {
        Self {
            meter_id: meter_id.to_string(),
            ..Self::default()
        }
    }
}

/// A notice in words: a subject line and a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    /// The subject (e-mail subject, push title).
    pub subject: String,
    /// The text.
    pub text: String,
}

fn yuan(amount: Option<Decimal>) -> String {
    format!("{:.2}", amount.unwrap_or_default().round_dp(2))
}

/// The words of a notice of `kind` with `facts` in `lang`.
pub fn wording(kind: NoticeKind, facts: &NoticeFacts, lang: Language) -> Wording {
    let meter = &facts.meter_id;
    let balance = yuan(facts.balance);
    let amount = yuan(facts.amount);
    let lead = facts.lead.clone().unwrap_or_default();
    let subject = facts.subject.clone().unwrap_or_default();
    let detail = facts.detail.clone().unwrap_or_default();
    let period = facts.period.clone().unwrap_or_default();
    let kwh = format!("{:.2}", facts.kwh.unwrap_or_default().round_dp(2));
    let (s, t) = match (kind, lang) {
        (NoticeKind::BalanceAlarm1, Language::Zh) => ("余额不足提醒".to_string(), format!("电表 {meter} 余额 {balance} 元，已低于一级告警值，请及时缴费。")),
        (NoticeKind::BalanceAlarm1, Language::En) => ("Your balance is low".to_string(), format!("Meter {meter}: the balance is {balance} yuan, below the first alarm level. Please top up.")),
        (NoticeKind::BalanceAlarm2, Language::Zh) => ("余额即将用尽".to_string(), format!("电表 {meter} 余额 {balance} 元，已低于二级告警值，请尽快缴费以免停电。")),
        (NoticeKind::BalanceAlarm2, Language::En) => ("Your balance is nearly used up".to_string(), format!("Meter {meter}: the balance is {balance} yuan, below the second alarm level. Pay soon to avoid a power cut.")),
        (NoticeKind::BalanceOverdrawn, Language::Zh) => ("已透支".to_string(), format!("电表 {meter} 余额 {balance} 元，已进入透支，请尽快缴费。")),
        (NoticeKind::BalanceOverdrawn, Language::En) => ("Your account is overdrawn".to_string(), format!("Meter {meter}: the balance is {balance} yuan, in overdraft. Please pay soon.")),
        (NoticeKind::PreTripWarning, Language::Zh) => ("停电预警".to_string(), format!("电表 {meter} 余额 {balance} 元，已超过透支限额，将于 {lead} 后停电，请及时缴费。")),
        (NoticeKind::PreTripWarning, Language::En) => ("Power will be cut".to_string(), format!("Meter {meter}: the balance is {balance} yuan, past the overdraft limit. Power will be cut in {lead} unless you pay.")),
        (NoticeKind::TripDone, Language::Zh) => ("已停电".to_string(), format!("电表 {meter} 因欠费已停电，余额 {balance} 元。缴费后即可恢复供电。")),
        (NoticeKind::TripDone, Language::En) => ("Power cut for arrears".to_string(), format!("Meter {meter}: power was cut for arrears; the balance is {balance} yuan. Pay to restore it.")),
        (NoticeKind::CloseAllowed, Language::Zh) => ("可以恢复供电".to_string(), format!("电表 {meter} 已允许合闸，请按电表上的按钮恢复供电。")),
        (NoticeKind::CloseAllowed, Language::En) => ("Power may be restored".to_string(), format!("Meter {meter}: press the button on your meter to restore power.")),
        (NoticeKind::PaymentReceived, Language::Zh) => ("缴费成功".to_string(), format!("电表 {meter} 已收到缴费 {amount} 元，余额 {balance} 元。")),
        (NoticeKind::PaymentReceived, Language::En) => ("Payment received".to_string(), format!("Meter {meter}: payment of {amount} yuan received; the balance is {balance} yuan.")),
        (NoticeKind::AlarmRaised, Language::Zh) => (format!("告警：{subject}"), format!("电表 {meter}：{subject}。{detail}")),
        (NoticeKind::AlarmRaised, Language::En) => (format!("Alarm: {subject}"), format!("Meter {meter}: {subject}. {detail}")),
        (NoticeKind::TicketReplied, Language::Zh) => (format!("您的反馈已回复：{subject}"), format!("关于“{subject}”的回复：{detail}")),
        (NoticeKind::TicketReplied, Language::En) => (format!("Reply to your feedback: {subject}"), format!("About \"{subject}\": {detail}")),
        (NoticeKind::BillIssued, Language::Zh) => (format!("{period} 电费账单"), format!("电表 {meter} {period} 用电 {kwh} 千瓦时，电费 {amount} 元（已从预付余额中按日扣除），当前余额 {balance} 元。明细请登录网上营业厅查看。")),
        (NoticeKind::BillIssued, Language::En) => (format!("Your bill for {period}"), format!("Meter {meter}: {kwh} kWh used in {period}, {amount} yuan (taken from the prepaid balance day by day); the balance is {balance} yuan. See the online service hall for the details.")),
    };
    Wording {
        subject: s,
        text: t,
    }
}

/// The body of the e-mail form of a notice: a greeting, the text, and a footer saying where it came
/// from (the app / SMS form is the bare text).
pub fn email_body(words: &Wording, lang: Language) -> String {
    match lang {
        Language::Zh => format!(
            "尊敬的用户：\n\n{}\n\n此邮件由电能表运营平台自动发送，请勿直接回复。如有疑问，请在网上营业厅提交反馈。\n",
            words.text
        ),
        Language::En => format!(
            "Dear customer,\n\n{}\n\nThis e-mail was sent automatically by the metering service; please do not \
             reply to it. For questions, use Feedback in the online service hall.\n",
            words.text
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn every_kind_has_words_in_both_languages_with_its_facts() {
        let facts = NoticeFacts {
            meter_id: "000000000042".into(),
            balance: Some(dec!(-3.456)),
            amount: Some(dec!(100)),
            lead: Some("2 h".into()),
            subject: Some("开表盖".into()),
            detail: Some("cover opened at 09:00".into()),
            period: Some("2026-11".into()),
            kwh: Some(dec!(123.456)),
        };
        for kind in NoticeKind::ALL {
            assert_eq!(NoticeKind::parse(kind.as_str()), Some(kind));
            for lang in [Language::Zh, Language::En] {
                let w = wording(kind, &facts, lang);
                assert!(
                    !w.subject.is_empty() && w.text.contains("000000000042")
                        || kind == NoticeKind::TicketReplied,
                    "{kind:?}"
                );
            }
        }
        let paid = wording(NoticeKind::PaymentReceived, &facts, Language::Zh);
        assert!(
            paid.text.contains("100.00 元") && paid.text.contains("-3.46 元"),
            "{}",
            paid.text
        );
        let bill = wording(NoticeKind::BillIssued, &facts, Language::Zh);
        assert_eq!(bill.subject, "2026-11 电费账单");
        assert!(
            bill.text.contains("用电 123.46 千瓦时，电费 100.00 元"),
            "{}",
            bill.text
        );
        let warned = wording(NoticeKind::PreTripWarning, &facts, Language::En);
        assert!(warned.text.contains("in 2 h"));
        let mail = email_body(&warned, Language::En);
        assert!(mail.starts_with("Dear customer") && mail.contains(&warned.text));
        assert!(
            NoticeKind::BalanceAlarm2.is_threshold() && !NoticeKind::PaymentReceived.is_threshold()
        );
    }
}
