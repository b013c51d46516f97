//! Failing-meter features at a cutoff day: the clock's offset, drift and its acceleration, the battery
//! warning, voltage noise, power-down records of the meter against its area's (an outage is not a meter
//! fault) and missing readings, each over the last week or two against the days before.

use std::collections::HashMap;

use super::days::{DayStats, FleetDays, MeterDays};
use super::stats::{mean, median, ratio};

/// Feature names, in column order.
pub const FAILURE_FEATURES: [&str; 11] = [
    "clock_offset_s",
    "clock_drift_7d",
    "clock_drift_accel",
    "battery_share_7d",
    "battery_share_before",
    "voltage_sd_7d",
    "voltage_sd_ratio",
    "power_downs_14d",
    "power_downs_before",
    "area_power_downs_14d",
    "missing_share_7d",
];

/// Fewest days before the cutoff the features need.
pub const MIN_DAYS: usize = 21;

fn offset_at(days: &[DayStats], index: usize) -> Option<f64> {
    days[..=index]
        .iter()
        .rev()
        .take(3)
        .find_map(|d| d.clock_offset)
}

fn power_downs(days: &[DayStats]) -> f64 {
    f64::from(days.iter().map(|d| d.events[0]).sum::<u32>())
}

/// The features of every customer meter at day index `cutoff` of the window (the features use days
/// `..=cutoff`); meters already silent for the whole last week are left out.
pub fn failure_features(fleet: &FleetDays, cutoff: usize) -> Vec<(String, String, Vec<f64>)> {
    let mut area_downs: HashMap<&str, Vec<f64>> = HashMap::new();
    for m in &fleet.customers {
        let recent = &m.days[cutoff.saturating_sub(13)..=cutoff.min(m.days.len() - 1)];
        area_downs
            .entry(&m.area_id)
            .or_default()
            .push(power_downs(recent));
    }
    let area_downs: HashMap<&str, f64> = area_downs
        .into_iter()
        .map(|(a, v)| (a, median(v)))
        .collect();
    fleet
        .customers
        .iter()
        .filter(|m| cutoff < m.days.len() && cutoff + 1 >= MIN_DAYS)
        .filter_map(|m| {
            let f = meter_features(m, cutoff, area_downs.get(m.area_id.as_str()).copied())?;
            Some((m.meter_id.clone(), m.area_id.clone(), f))
        })
        .collect()
}

fn meter_features(m: &MeterDays, cutoff: usize, area_downs: Option<f64>) -> Option<Vec<f64>> {
    let days = &m.days[..=cutoff];
    let week = &days[cutoff - 6..];
    let before = &days[..cutoff - 6];
    if week.iter().all(|d| d.readings == 0) {
        return None;
    }
    let now = offset_at(days, cutoff).unwrap_or(0.0);
    let week_ago = offset_at(days, cutoff - 7).unwrap_or(now);
    let two_weeks_ago = offset_at(days, cutoff - 14).unwrap_or(week_ago);
    let drift = (now - week_ago).abs() / 7.0;
    let drift_before = (week_ago - two_weeks_ago).abs() / 7.0;
    let sd_week = mean(week.iter().filter(|d| d.readings > 0).map(|d| d.voltage_sd));
    let sd_before = mean(
        before
            .iter()
            .filter(|d| d.readings > 0)
            .map(|d| d.voltage_sd),
    );
    let downs_14 = power_downs(&days[cutoff - 13..]);
    let readings: u32 = week.iter().map(|d| d.readings).sum();
    Some(
        [
            now.abs(),
            drift,
            drift - drift_before,
            mean(
                week.iter()
                    .filter(|d| d.readings > 0)
                    .map(|d| d.battery_share),
            ),
            mean(
                before
                    .iter()
                    .filter(|d| d.readings > 0)
                    .map(|d| d.battery_share),
            ),
            sd_week,
            ratio(sd_week, sd_before, 0.1),
            downs_14,
            power_downs(&days[..cutoff - 13]),
            area_downs.unwrap_or(0.0),
            1.0 - f64::from(readings) / (7.0 * 96.0),
        ]
        .into_iter()
        .map(|v| if v.is_finite() { v } else { 0.0 })
        .collect(),
    )
}
