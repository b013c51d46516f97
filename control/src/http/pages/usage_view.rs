//! A meter's usage as charts (server-rendered SVG with axes, units and a legend): daily energy as
//! bars, the last measured day's load curve as a line; with the theft score and the usage class for
//! staff.

use analytics::prediction::clusters::UsageClass;
use analytics::report::meter_usage::MeterUsage;
use analytics::report::svg::{chart, ChartKind, Series};

use super::labels::Label;
use super::Frame;

/// A theft score at or above this is shown as a warning.
const THEFT_WARNING: f64 = 0.5;

/// The usage part of a page.
pub(crate) struct UsageView {
    /// Daily energy, bars.
    pub daily_chart: String,
    /// The last measured day's curve, a line (empty when no day has readings).
    pub curve_chart: String,
    /// Total measured energy over the window, kWh, one decimal.
    pub total_kwh: String,
    /// The theft score, two decimals, and the day its window ended.
    pub theft: Option<(String, String)>,
    /// Whether the score is high enough to warn.
    pub theft_high: bool,
    /// The usage class's name.
    pub class: Option<&'static str>,
}

impl UsageView {
    /// The charts and figures of `usage`.
    pub fn new(frame: &Frame, usage: &MeterUsage) -> Self {
        let t = frame.t.account;
        let labels: Vec<String> = usage
            .days
            .iter()
            .map(|(d, _)| d.format("%m-%d").to_string())
            .collect();
        let daily = [Series {
            name: t.daily_usage,
            color: "#2f6fbd",
            values: usage.days.iter().map(|(_, kwh)| *kwh).collect(),
        }];
        let every = (labels.len() / 10).max(1);
        let daily_chart = chart(ChartKind::Bar, t.daily_usage, t.kwh, &labels, &daily, every);
        let curve_chart = usage
            .curve
            .as_ref()
            .map(|(day, points)| {
                let hours: Vec<String> = (0..points.len())
                    .map(|slot| format!("{:02}:{:02}", slot / 4, (slot % 4) * 15))
                    .collect();
                let title = format!("{} {}", t.load_curve, day.format("%Y-%m-%d"));
                let series = [Series {
                    name: t.kw,
                    color: "#c25b12",
                    values: points.clone(),
                }];
                chart(ChartKind::Line, &title, t.kw, &hours, &series, 16)
            })
            .unwrap_or_default();
        let total: f64 = usage.days.iter().filter_map(|(_, kwh)| *kwh).sum();
        let class_code = usage
            .class
            .as_ref()
            .and_then(|(name, _)| UsageClass::parse(name));
        Self {
            daily_chart,
            curve_chart,
            total_kwh: format!("{total:.1}"),
            theft: usage
                .theft
                .as_ref()
                .map(|(score, window)| (format!("{score:.2}"), window.clone())),
            theft_high: usage
                .theft
                .as_ref()
                .is_some_and(|(s, _)| *s >= THEFT_WARNING),
            class: class_code.map(|c| c.label(frame.lang)),
        }
    }
}
