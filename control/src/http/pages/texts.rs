//! Every text of the pages, in each language: a field of [`Texts`] (or of one of its groups), so a
//! template naming a text that does not exist does not compile, and a language missing a text does not
//! either.

mod accounts;
mod alarms;
mod customer;
mod register;
mod reports;

pub(crate) use accounts::AccountTexts;
pub(crate) use alarms::AlarmTexts;
pub(crate) use customer::CustomerTexts;
pub(crate) use register::RegisterTexts;
pub(crate) use reports::ReportTexts;

/// Every text of the pages, in one language; each field is named for where it appears.
#[derive(Debug)]
pub(crate) struct Texts {
    /// The product's name in the header.
    pub(crate) product: &'static str,
    /// The product's name on the customers' pages.
    pub(crate) product_customer: &'static str,
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
    pub(crate) trips_reconnects_today: &'static str,
    pub(crate) meters_online: &'static str,
    pub(crate) collection_by_area: &'static str,
    /// Texts of the account pages.
    pub(crate) account: &'static AccountTexts,
    /// Texts of the alarm queue.
    pub(crate) alarm: &'static AlarmTexts,
    /// Texts of the customer pages and tickets.
    pub(crate) my: &'static CustomerTexts,
    /// Texts of the report, audit and user pages.
    pub(crate) report: &'static ReportTexts,
    /// Texts of the self-registration pages.
    pub(crate) register: &'static RegisterTexts,
    /// Texts of an error page.
    pub(crate) error_title: &'static str,
    pub(crate) back: &'static str,
}

/// 中文.
pub(crate) static ZH: Texts = Texts {
    product: "单相费控智能电能表 · 运营平台",
    product_customer: "网上营业厅",
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
    trips_reconnects_today: "今日停电 / 复电",
    meters_online: "近一小时在线电表",
    collection_by_area: "各台区采集成功率（近 7 天）",
    account: &accounts::ZH,
    alarm: &alarms::ZH,
    my: &customer::ZH,
    report: &reports::ZH,
    register: &register::ZH,
    error_title: "无法完成",
    back: "返回",
};

/// English.
pub(crate) static EN: Texts = Texts {
    product: "Prepaid smart meters · operations",
    product_customer: "Online service hall",
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
    trips_reconnects_today: "Trips / reconnects today",
    meters_online: "Meters heard in the last hour",
    collection_by_area: "Collection success by area (last 7 days)",
    account: &accounts::EN,
    alarm: &alarms::EN,
    my: &customer::EN,
    report: &reports::EN,
    register: &register::EN,
    error_title: "Could not be done",
    back: "Back",
};
