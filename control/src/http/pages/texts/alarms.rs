//! Texts of the alarm queue.

/// Texts of the alarm queue, in one language.
#[derive(Debug)]
pub(crate) struct AlarmTexts {
    pub(crate) queue: &'static str,
    pub(crate) raised: &'static str,
    pub(crate) severity: &'static str,
    pub(crate) detail: &'static str,
    pub(crate) acknowledge: &'static str,
    pub(crate) clear: &'static str,
    pub(crate) note: &'static str,
    pub(crate) open_only: &'static str,
    pub(crate) all: &'static str,
    pub(crate) none: &'static str,
    pub(crate) handled_by: &'static str,
    pub(crate) flash_acknowledged: &'static str,
    pub(crate) flash_cleared: &'static str,
}

/// 中文.
pub(crate) static ZH: AlarmTexts = AlarmTexts {
    queue: "告警队列",
    raised: "发生时间",
    severity: "级别",
    detail: "详情",
    acknowledge: "受理",
    clear: "关闭",
    note: "处理说明",
    open_only: "未关闭",
    all: "全部",
    none: "暂无告警。",
    handled_by: "处理人",
    flash_acknowledged: "告警已受理。",
    flash_cleared: "告警已关闭。",
};

/// English.
pub(crate) static EN: AlarmTexts = AlarmTexts {
    queue: "Alarm queue",
    raised: "Raised",
    severity: "Severity",
    detail: "Detail",
    acknowledge: "Acknowledge",
    clear: "Clear",
    note: "Note",
    open_only: "Open",
    all: "All",
    none: "No alarms.",
    handled_by: "Handled by",
    flash_acknowledged: "Alarm acknowledged.",
    flash_cleared: "Alarm cleared.",
};
