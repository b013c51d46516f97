//! Tariff plans as data: time-of-use periods and their prices, loaded from TOML and validated.

use std::collections::BTreeMap;

use chrono::{NaiveDateTime, NaiveTime, Timelike};
use rust_decimal::Decimal;

use crate::AnalyticsError;

/// Minutes in a day.
const DAY_MINUTES: u32 = 24 * 60;

/// A time-of-use period: a price class over a daily time window (`end` may wrap past midnight).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct TouPeriod {
    /// Price class, e.g. `peak` (峰), `valley` (谷), `flat` (平), `sharp` (尖).
    pub class: String,
    /// Start, `HH:MM` local time, inclusive.
    pub start: String,
    /// End, `HH:MM` local time, exclusive; `24:00` for midnight.
    pub end: String,
}

/// A flat or time-of-use plan, prices in yuan/kWh.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
pub struct TouPlan {
    /// Plan name.
    pub name: String,
    /// Where the numbers come from.
    pub source: String,
    /// Daily periods; together they cover the day exactly once.
    pub periods: Vec<TouPeriod>,
    /// Price per class, yuan/kWh.
    pub prices: BTreeMap<String, Decimal>,
    /// Minute of day → index into `periods`, built on load.
    #[serde(skip)]
    minute_class: Vec<u8>,
}

fn parse_minute(text: &str) -> Option<u32> {
    if text == "24:00" {
        return Some(DAY_MINUTES);
    }
    NaiveTime::parse_from_str(text, "%H:%M")
        .ok()
        .map(|t| t.hour() * 60 + t.minute())
}

impl TouPlan {
    /// Parses and validates a plan; `file` names it in error messages.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, AnalyticsError> {
        let invalid = |reason: String| AnalyticsError::Plan {
            file: file.to_string(),
            reason,
        };
        let mut plan: TouPlan = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if plan.periods.len() > usize::from(u8::MAX) {
            return Err(invalid("too many periods".into()));
        }
        let mut minute_class = vec![u8::MAX; DAY_MINUTES as usize];
        for (index, period) in plan.periods.iter().enumerate() {
            let (Some(start), Some(end)) = (parse_minute(&period.start), parse_minute(&period.end))
            else {
                return Err(invalid(format!(
                    "period {} {}–{}: times must be HH:MM",
                    period.class, period.start, period.end
                )));
            };
            let price = plan
                .prices
                .get(&period.class)
                .ok_or_else(|| invalid(format!("class {:?} has no price", period.class)))?;
            if price.is_sign_negative() {
                return Err(invalid(format!(
                    "class {:?} has a negative price {price}",
                    period.class
                )));
            }
            let mut minute = start % DAY_MINUTES;
            let end = end % DAY_MINUTES;
            loop {
                let slot = &mut minute_class[minute as usize];
                if *slot != u8::MAX {
                    return Err(invalid(format!(
                        "period {} overlaps another at {:02}:{:02}",
                        period.class,
                        minute / 60,
                        minute % 60
                    )));
                }
                *slot = index as u8;
                minute = (minute + 1) % DAY_MINUTES;
                if minute == end {
                    break;
                }
            }
        }
        if let Some(gap) = minute_class.iter().position(|c| *c == u8::MAX) {
            return Err(invalid(format!(
                "no period covers {:02}:{:02}",
                gap / 60,
                gap % 60
            )));
        }
        plan.minute_class = minute_class;
        Ok(plan)
    }

    /// Loads a plan from a file.
    pub fn load(path: &std::path::Path) -> Result<Self, AnalyticsError> {
        let text = std::fs::read_to_string(path).map_err(|e| AnalyticsError::Plan {
            file: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The price class in force at local time `t`.
    pub fn class_at(&self, t: NaiveDateTime) -> &str {
        let minute = (t.hour() * 60 + t.minute()) as usize;
        let index = self.minute_class.get(minute).copied().unwrap_or(0);
        self.periods
            .get(usize::from(index))
            .map(|p| p.class.as_str())
            .unwrap_or_default()
    }

    /// The price of a class (zero for an unknown class, which validation rules out).
    pub fn price(&self, class: &str) -> Decimal {
        self.prices.get(class).copied().unwrap_or_default()
    }
}

/// The plans shipped with meterlake, by name.
pub fn builtin(name: &str) -> Result<TouPlan, AnalyticsError> {
    let (text, file) = match name {
        "shanghai-tou-tier1" => (
            include_str!("../../tariffs/shanghai-tou-tier1.toml"),
            "tariffs/shanghai-tou-tier1.toml",
        ),
        "beijing-flat-tier1" => (
            include_str!("../../tariffs/beijing-flat-tier1.toml"),
            "tariffs/beijing-flat-tier1.toml",
        ),
        other => {
            return Err(AnalyticsError::Plan {
                file: other.to_string(),
                reason: "no such built-in plan (shanghai-tou-tier1, beijing-flat-tier1)".into(),
            })
        }
    };
    TouPlan::from_toml(text, file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 10, 1)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn shanghai_peak_and_valley_windows() {
        let plan = builtin("shanghai-tou-tier1").unwrap();
        assert_eq!(plan.class_at(at(5, 59)), "valley");
        assert_eq!(plan.class_at(at(6, 0)), "peak");
        assert_eq!(plan.class_at(at(21, 59)), "peak");
        assert_eq!(plan.class_at(at(22, 0)), "valley");
        assert_eq!(plan.price("peak"), Decimal::new(617, 3));
        assert_eq!(
            builtin("beijing-flat-tier1").unwrap().class_at(at(12, 0)),
            "flat"
        );
    }

    #[test]
    fn invalid_plans_name_the_file_and_the_fault() {
        let base = "name='x'\nsource='s'\n[prices]\npeak='0.5'\nvalley='0.3'\n";
        let overlap = format!("{base}[[periods]]\nclass='peak'\nstart='06:00'\nend='22:00'\n[[periods]]\nclass='valley'\nstart='21:00'\nend='06:00'\n");
        let err = TouPlan::from_toml(&overlap, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("p.toml") && err.contains("overlaps"), "{err}");
        let gap = format!("{base}[[periods]]\nclass='peak'\nstart='06:00'\nend='22:00'\n");
        assert!(TouPlan::from_toml(&gap, "g.toml")
            .unwrap_err()
            .to_string()
            .contains("no period covers 00:00"));
        let negative = "name='x'\nsource='s'\n[prices]\nflat='-0.1'\n[[periods]]\nclass='flat'\nstart='00:00'\nend='24:00'\n";
        assert!(TouPlan::from_toml(negative, "n.toml")
            .unwrap_err()
            .to_string()
            .contains("negative"));
        assert!(TouPlan::from_toml("not toml [", "t.toml").is_err());
    }
}
