//! Personalised energy-saving advice (个性化服务) from what the lake knows about a customer: their
//! usage class (the load-profile clustering), the share of their energy in peak hours, and their
//! average daily energy. Pure rules; each piece of advice has words in both languages.

use analytics::prediction::clusters::UsageClass;

use super::notice::Language;

/// Above this peak-hour share, moving flexible loads to the valley pays.
const HIGH_PEAK_SHARE: f64 = 0.40;
/// Above this average, kWh a day, a household's use is high.
const HIGH_DAILY_KWH: f64 = 15.0;

/// One piece of advice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Advice {
    /// Much energy at peak price: move washing, water heating and charging to the valley.
    ShiftToValley {
        /// The peak share, 0–1.
        peak_share: f64,
    },
    /// Steady use day and night: look for always-on loads.
    CheckStandby,
    /// Use late in the evening: the valley price starts at 23:00.
    UseValleyNights,
    /// At home by day: air conditioning and lighting.
    DaytimeComfort,
    /// Out by day: timers on the water heater.
    TimerWaterHeater,
    /// A shop or office: switch off outside opening hours.
    AfterHoursOff,
    /// Almost no use: a vacant home, switch off the main breaker when away.
    VacantHome,
    /// High use overall: old appliances.
    HighUse {
        /// Average daily energy, kWh.
        daily_kwh: f64,
    },
}

/// The advice for a customer (at most three, most useful first; a general tip when nothing is known).
pub fn advise(
    class: Option<UsageClass>,
    peak_share: Option<f64>,
    daily_kwh: Option<f64>,
) -> Vec<Advice> {
    let mut advice = Vec::new();
    if let Some(share) = peak_share.filter(|s| *s >= HIGH_PEAK_SHARE) {
        advice.push(Advice::ShiftToValley { peak_share: share });
    }
    match class {
        Some(UsageClass::Idle) => advice.push(Advice::VacantHome),
        Some(UsageClass::Flat) => advice.push(Advice::CheckStandby),
        Some(UsageClass::LateEvening) => advice.push(Advice::UseValleyNights),
        Some(UsageClass::DaytimeHome) => advice.push(Advice::DaytimeComfort),
        Some(UsageClass::MorningEvening) => advice.push(Advice::TimerWaterHeater),
        Some(UsageClass::BusinessHours) => advice.push(Advice::AfterHoursOff),
        None => {}
    }
    if let Some(kwh) = daily_kwh.filter(|k| *k >= HIGH_DAILY_KWH) {
        advice.push(Advice::HighUse { daily_kwh: kwh });
    }
    if advice.is_empty() {
        advice.push(Advice::CheckStandby);
    }
    advice.truncate(3);
    advice
}

impl Advice {
    /// The advice in words.
    pub fn words(&self, lang: Language) -> String {
        match (self, lang) {
            (Self::ShiftToValley { peak_share }, Language::Zh) => format!("您有 {:.0}% 的用电在高峰时段。把洗衣、热水器加热、电动车充电挪到谷段（23:00–次日 7:00），可明显降低电费。", peak_share * 100.0),
            (Self::ShiftToValley { peak_share }, Language::En) => format!("{:.0}% of your energy is used at peak price. Moving washing, water heating and vehicle charging to the valley hours (23:00–07:00) lowers your bill noticeably.", peak_share * 100.0),
            (Self::CheckStandby, Language::Zh) => "您的用电昼夜平稳。检查长期待机的电器（机顶盒、旧冰箱、饮水机），不用时关闭电源。".into(),
            (Self::CheckStandby, Language::En) => "Your use is steady day and night. Look for appliances left on standby (set-top boxes, old fridges, water dispensers) and switch them off.".into(),
            (Self::UseValleyNights, Language::Zh) => "您常在深夜用电。23:00 以后为谷段电价，热水、洗衣等可集中在此时段。".into(),
            (Self::UseValleyNights, Language::En) => "You use energy late in the evening. The valley price starts at 23:00: run water heating and washing after it.".into(),
            (Self::DaytimeComfort, Language::Zh) => "您白天在家用电较多。空调夏季设定 26°C、冬季 20°C，白天多用自然光。".into(),
            (Self::DaytimeComfort, Language::En) => "You use energy at home by day. Set air conditioning to 26 °C in summer and 20 °C in winter, and use daylight.".into(),
            (Self::TimerWaterHeater, Language::Zh) => "您早晚用电、白天外出。给电热水器装定时器，只在谷段加热。".into(),
            (Self::TimerWaterHeater, Language::En) => "You use energy mornings and evenings and are out by day. Put the water heater on a timer that heats in the valley hours.".into(),
            (Self::AfterHoursOff, Language::Zh) => "您在营业时间用电。下班后关闭照明、空调和设备电源，避免夜间空耗。".into(),
            (Self::AfterHoursOff, Language::En) => "You use energy in business hours. Switch off lighting, air conditioning and equipment after closing.".into(),
            (Self::VacantHome, Language::Zh) => "您的用电很少。长期外出时可关闭总闸，只保留必要电器。".into(),
            (Self::VacantHome, Language::En) => "You use very little. When away for long, switch off the main breaker and keep only what must stay on.".into(),
            (Self::HighUse { daily_kwh }, Language::Zh) => format!("您日均用电 {daily_kwh:.1} 千瓦时，高于一般家庭。更换一级能效的空调、冰箱和热水器可节约明显。"),
            (Self::HighUse { daily_kwh }, Language::En) => format!("You use {daily_kwh:.1} kWh a day, more than most homes. Replacing the air conditioner, fridge or water heater with grade-1 efficiency models saves much."),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advice_follows_the_class_the_peak_share_and_the_level() {
        let advice = advise(Some(UsageClass::LateEvening), Some(0.55), Some(20.0));
        assert_eq!(
            advice,
            [
                Advice::ShiftToValley { peak_share: 0.55 },
                Advice::UseValleyNights,
                Advice::HighUse { daily_kwh: 20.0 }
            ]
        );
        assert!(advice[0].words(Language::Zh).contains("55%"));
        assert!(advice[2].words(Language::En).contains("20.0 kWh"));
        assert_eq!(
            advise(Some(UsageClass::Idle), Some(0.1), Some(0.2)),
            [Advice::VacantHome]
        );
        assert_eq!(
            advise(None, None, None),
            [Advice::CheckStandby],
            "a general tip"
        );
    }
}
