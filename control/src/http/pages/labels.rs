//! The names the pages give the system's enums, in both languages: a [`Label`] per type, matched on the
//! variant (a new variant does not compile until it has names).

use analytics::diagnosis::{AlarmRule, Severity};
use ingest::dlt645::relay::RelayAction;

use super::locale::Lang;
use crate::domain::alarm::{AlarmKind, AlarmState};
use crate::domain::command::CommandState;
use crate::domain::prepaid::PrepaidState;
use crate::domain::relay::RelayState;
use crate::store::ledger::EntryKind;
use crate::store::records::ExemptionKind;

/// A value with a name in each language.
pub(crate) trait Label {
    /// (中文, English).
    fn names(&self) -> (&'static str, &'static str);

    /// The name in `lang`.
    fn label(&self, lang: Lang) -> &'static str {
        lang.pick(self.names())
    }
}

impl Label for PrepaidState {
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::NoAlarm => ("正常", "normal"),
            Self::Alarm1 => ("一级告警", "alarm 1"),
            Self::Alarm2 => ("二级告警", "alarm 2"),
            Self::OverdraftZero => ("透支", "overdraft"),
            Self::OverdraftTrip => ("欠费跳闸", "tripped"),
        }
    }
}

impl Label for RelayState {
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::Closed => ("合闸（供电）", "closed (power on)"),
            Self::Open => ("拉闸（断电）", "open (power off)"),
            Self::CloseAllowed => ("允许合闸", "close allowed"),
        }
    }
}

impl Label for RelayAction {
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::Trip => ("拉闸", "trip"),
            Self::CloseAllowed => ("合闸允许", "close allowed"),
            Self::Close => ("直接合闸", "close directly"),
            Self::PreTripAutoClose => ("预跳闸后自动合闸", "pre-trip, then close"),
            Self::PreTripCloseAllowed => ("预跳闸后合闸允许", "pre-trip, then close allowed"),
            Self::AlarmOn => ("报警", "alarm on"),
            Self::AlarmOff => ("报警解除", "alarm release"),
            Self::KeepPowerOn => ("保电", "keep-power on"),
            Self::KeepPowerOff => ("保电解除", "keep-power release"),
        }
    }
}

impl Label for CommandState {
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::Requested => ("已提交", "requested"),
            Self::Scheduled => ("已排期", "scheduled"),
            Self::Sent => ("已下发", "sent"),
            Self::Acknowledged => ("电表已应答", "acknowledged"),
            Self::Refused => ("电表拒绝", "refused"),
            Self::NoResponse => ("电表无应答", "no response"),
            Self::Verified => ("状态已核实", "verified"),
            Self::Done => ("完成", "done"),
            Self::Failed => ("失败", "failed"),
            Self::Expired => ("已过期", "expired"),
            Self::Cancelled => ("已取消", "cancelled"),
            Self::Superseded => ("已被替代", "superseded"),
        }
    }
}

impl Label for EntryKind {
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::Opening => ("开户余额", "opening balance"),
            Self::Payment => ("缴费", "payment"),
            Self::Charge => ("电费", "charge"),
            Self::Refund => ("退费", "refund"),
            Self::Correction => ("更正", "correction"),
        }
    }
}

impl Label for ExemptionKind {
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::Medical => ("医疗设备", "medical equipment"),
            Self::Critical => ("重要用户", "critical customer"),
            Self::Other => ("其他", "other"),
        }
    }
}

impl Label for AlarmState {
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::Raised => ("待处理", "raised"),
            Self::Acknowledged => ("处理中", "acknowledged"),
            Self::Cleared => ("已关闭", "cleared"),
        }
    }
}

impl Label for Severity {
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::Info => ("提示", "info"),
            Self::Warning => ("警告", "warning"),
            Self::Critical => ("严重", "critical"),
        }
    }
}

impl Label for AlarmKind {
    fn names(&self) -> (&'static str, &'static str) {
        AlarmKind::names(*self)
    }
}

impl Label for AlarmRule {
    fn names(&self) -> (&'static str, &'static str) {
        AlarmKind::Reading(*self).names()
    }
}

/// What a remote-control action does, for the confirmation step (中文, English).
pub(crate) fn effect(action: RelayAction) -> (&'static str, &'static str) {
    match action {
        RelayAction::Trip => (
            "断开电表继电器，客户将停电。保电期间电表会拒绝。",
            "Opens the meter's relay: the customer loses power. Refused while keep-power is set.",
        ),
        RelayAction::CloseAllowed => (
            "允许合闸：客户按电表按钮即可恢复供电。",
            "Allows closing: the customer restores power with the meter's button.",
        ),
        RelayAction::Close => (
            "直接合闸，立即恢复供电（请确认现场安全）。",
            "Closes the relay at once and restores power (make sure the site is safe).",
        ),
        RelayAction::PreTripAutoClose | RelayAction::PreTripCloseAllowed => (
            "预跳闸：短时断电提醒客户，之后恢复。",
            "Pre-trip: a short outage warns the customer, then power returns.",
        ),
        RelayAction::AlarmOn => ("电表发出报警提示。", "The meter shows its alarm."),
        RelayAction::AlarmOff => ("解除电表报警提示。", "Releases the meter's alarm."),
        RelayAction::KeepPowerOn => (
            "电表进入保电状态，拒绝任何拉闸命令。",
            "The meter keeps power: it refuses every trip.",
        ),
        RelayAction::KeepPowerOff => ("解除电表保电状态。", "Releases keep-power on the meter."),
    }
}

impl Label for analytics::prediction::clusters::UsageClass {
    fn names(&self) -> (&'static str, &'static str) {
        use analytics::prediction::clusters::UsageClass as C;
        match self {
            C::Idle => ("几乎不用电", "almost no use"),
            C::Flat => ("全天平稳", "steady all day"),
            C::BusinessHours => ("营业时间用电", "business hours"),
            C::DaytimeHome => ("白天在家", "at home by day"),
            C::LateEvening => ("深夜用电", "late evening"),
            C::MorningEvening => ("早晚用电（白天外出）", "mornings and evenings"),
        }
    }
}

impl Label for crate::domain::notice::NoticeKind {
    fn names(&self) -> (&'static str, &'static str) {
        use crate::domain::notice::NoticeKind as K;
        match self {
            K::BalanceAlarm1 => ("余额不足", "balance low"),
            K::BalanceAlarm2 => ("余额即将用尽", "balance nearly used up"),
            K::BalanceOverdrawn => ("已透支", "overdrawn"),
            K::PreTripWarning => ("停电预警", "pre-trip warning"),
            K::TripDone => ("已停电", "power cut"),
            K::CloseAllowed => ("允许合闸", "close allowed"),
            K::PaymentReceived => ("缴费成功", "payment received"),
            K::AlarmRaised => ("告警", "alarm"),
            K::TicketReplied => ("反馈回复", "ticket reply"),
            K::BillIssued => ("电费账单", "bill issued"),
        }
    }
}

impl Label for crate::store::deliveries::Channel {
    fn names(&self) -> (&'static str, &'static str) {
        use crate::store::deliveries::Channel as C;
        match self {
            C::Webhook => ("短信/App", "SMS / app"),
            C::Email => ("电子邮件", "e-mail"),
        }
    }
}

impl Label for crate::store::deliveries::DeliveryState {
    fn names(&self) -> (&'static str, &'static str) {
        use crate::store::deliveries::DeliveryState as S;
        match self {
            S::Pending => ("待发送", "pending"),
            S::Sent => ("已送达", "sent"),
            S::Dead => ("发送失败", "failed"),
        }
    }
}

impl Label for crate::domain::ticket::TicketCategory {
    fn names(&self) -> (&'static str, &'static str) {
        use crate::domain::ticket::TicketCategory as C;
        match self {
            C::Billing => ("电费账单", "bill or charge"),
            C::Outage => ("停电 / 送电", "no power"),
            C::Meter => ("电表", "the meter"),
            C::Payment => ("缴费", "payment"),
            C::Other => ("其他", "other"),
        }
    }
}

impl Label for crate::domain::ticket::TicketChannel {
    fn names(&self) -> (&'static str, &'static str) {
        use crate::domain::ticket::TicketChannel as C;
        match self {
            C::Online => ("网上营业厅", "online"),
            C::Hotline => ("客服热线", "hotline"),
            C::Counter => ("营业厅柜台", "counter"),
        }
    }
}

impl Label for crate::domain::ticket::TicketStatus {
    fn names(&self) -> (&'static str, &'static str) {
        use crate::domain::ticket::TicketStatus as S;
        match self {
            S::Open => ("待处理", "open"),
            S::Answered => ("已回复", "answered"),
            S::Closed => ("已关闭", "closed"),
        }
    }
}

impl Label for crate::store::payment_orders::OrderState {
    fn names(&self) -> (&'static str, &'static str) {
        use crate::store::payment_orders::OrderState as S;
        match self {
            S::Created => ("待支付", "awaiting payment"),
            S::Paid => ("已支付", "paid"),
            S::Failed => ("已取消", "cancelled"),
        }
    }
}
