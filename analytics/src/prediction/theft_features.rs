//! Theft features of each customer meter over a window (`docs/prediction.md` explains each): how much it
//! uses against its own past and its area's peers, sudden drops, zero days, weekly rhythm, the day's
//! shape (peak, night, flatness) and its shift, the area's line loss and how it moves with the meter,
//! reverse energy, the current the meter shows against the energy it registers, event records, clock
//! and battery.

use std::collections::HashMap;

use super::days::{DayStats, FleetDays, MeterDays};
use super::stats::{autocorrelation, correlation, mean, median, ratio, sd};

/// Feature names, in column order.
pub const THEFT_FEATURES: [&str; 30] = [
    "mean_kwh",
    "cv_daily",
    "recent_ratio",
    "peer_ratio",
    "peer_recent_ratio",
    "max_step_drop",
    "zero_days",
    "zero_intervals",
    "weekly_autocorr",
    "peak_share",
    "peak_share_shift",
    "night_share",
    "night_share_shift",
    "flatness",
    "flatness_shift",
    "evening_share_shift",
    "loss_corr",
    "area_loss_rate",
    "area_loss_shift",
    "reverse_share",
    "has_pv",
    "power_ratio",
    "voltage_sd",
    "tamper_events",
    "programming_events",
    "power_down_events",
    "clock_offset_s",
    "battery_share",
    "relay_open_current",
    "peakiness",
];

/// Fewest days with readings a meter needs in the window to be scored.
pub const MIN_DAYS: usize = 14;

/// The first and last thirds of a window of `n` days.
fn thirds(n: usize) -> (std::ops::Range<usize>, std::ops::Range<usize>) {
    let third = (n / 3).max(1);
    (0..third, n.saturating_sub(third)..n)
}

fn share(days: &[DayStats], part: impl Fn(&DayStats) -> f64) -> f64 {
    let total: f64 = days.iter().map(|d| d.kwh).sum();
    ratio(days.iter().map(part).sum(), total, 0.05)
}

fn flatness(days: &[DayStats]) -> f64 {
    mean(
        days.iter()
            .filter(|d| d.intervals > 0 && d.kwh > 0.05)
            .map(|d| d.interval_sd / (d.kwh / f64::from(d.intervals))),
    )
}

/// Energy per day (NaN without readings).
fn daily(m: &MeterDays) -> Vec<f64> {
    m.days
        .iter()
        .map(|d| if d.intervals > 0 { d.kwh } else { f64::NAN })
        .collect()
}

/// The largest relative fall of the mean between two spans of at least a week.
fn max_step_drop(e: &[f64]) -> f64 {
    let mut best: f64 = 0.0;
    for k in 7..e.len().saturating_sub(6) {
        let before = mean(e[..k].iter().copied());
        let after = mean(e[k..].iter().copied());
        let drop = (before - after) / (before + 0.5);
        if drop.is_finite() {
            best = best.max(drop);
        }
    }
    best
}

/// The area's daily line loss (supply − customers, kWh) and its supply energy.
struct AreaLoss {
    loss: Vec<f64>,
    supply: Vec<f64>,
}

fn area_losses(fleet: &FleetDays) -> HashMap<&str, AreaLoss> {
    let mut sums: HashMap<&str, Vec<f64>> = HashMap::new();
    for m in &fleet.customers {
        let total = sums
            .entry(m.area_id.as_str())
            .or_insert_with(|| vec![0.0; m.days.len()]);
        for (t, d) in total.iter_mut().zip(&m.days) {
            *t += d.kwh;
        }
    }
    sums.into_iter()
        .filter_map(|(area, customers)| {
            let supply = fleet.supply.get(area)?.clone();
            let loss = supply.iter().zip(&customers).map(|(s, c)| s - c).collect();
            Some((area, AreaLoss { loss, supply }))
        })
        .collect()
}

/// The features of every customer meter with at least [`MIN_DAYS`] days of readings, in the fleet's
/// meter order; meters with fewer are left out.
pub fn theft_features(fleet: &FleetDays) -> Vec<(String, String, Vec<f64>)> {
    let losses = area_losses(fleet);
    let (early, late) = thirds(fleet.len());
    // Own statistics first; the peer features need every meter's.
    let own: Vec<(&MeterDays, Vec<f64>)> = fleet
        .customers
        .iter()
        .filter(|m| m.days_with_data() >= MIN_DAYS.min(fleet.len()))
        .map(|m| {
            (
                m,
                own_features(
                    m,
                    early.clone(),
                    late.clone(),
                    losses.get(m.area_id.as_str()),
                ),
            )
        })
        .collect();
    let mut area_means: HashMap<&str, Vec<f64>> = HashMap::new();
    let mut area_recent: HashMap<&str, Vec<f64>> = HashMap::new();
    for (m, f) in &own {
        area_means.entry(&m.area_id).or_default().push(f[0]);
        area_recent.entry(&m.area_id).or_default().push(f[2]);
    }
    let area_mean: HashMap<&str, f64> = area_means
        .into_iter()
        .map(|(a, v)| (a, median(v)))
        .collect();
    let area_recent: HashMap<&str, f64> = area_recent
        .into_iter()
        .map(|(a, v)| (a, median(v)))
        .collect();
    own.into_iter()
        .map(|(m, mut f)| {
            let area = m.area_id.as_str();
            f[3] = ratio(f[0], area_mean.get(area).copied().unwrap_or(f[0]), 0.5);
            f[4] = ratio(f[2], area_recent.get(area).copied().unwrap_or(f[2]), 0.0);
            (m.meter_id.clone(), m.area_id.clone(), f)
        })
        .collect()
}

fn own_features(
    m: &MeterDays,
    early: std::ops::Range<usize>,
    late: std::ops::Range<usize>,
    loss: Option<&AreaLoss>,
) -> Vec<f64> {
    let e = daily(m);
    let days = &m.days;
    let with_data: Vec<DayStats> = days.iter().copied().filter(|d| d.intervals > 0).collect();
    let mean_kwh = mean(e.iter().copied());
    let early_days = &days[early.clone()];
    let late_days = &days[late.clone()];
    let early_mean = mean(e[early.clone()].iter().copied());
    let late_mean = mean(e[late.clone()].iter().copied());
    let intervals: u32 = with_data.iter().map(|d| d.intervals).sum();
    let zero_intervals: u32 = with_data.iter().map(|d| d.zero_intervals).sum();
    let peak = |d: &DayStats| d.peak_kwh;
    let night = |d: &DayStats| d.night_kwh;
    let evening = |d: &DayStats| d.evening_kwh;
    let (loss_corr, loss_rate, loss_shift) = match loss {
        Some(l) => {
            let rate = |r: std::ops::Range<usize>| {
                ratio(
                    mean(l.loss[r.clone()].iter().copied()),
                    mean(l.supply[r].iter().copied()),
                    0.0,
                )
            };
            (
                correlation(&e, &l.loss),
                rate(0..l.loss.len()),
                rate(late.clone()) - rate(early.clone()),
            )
        }
        None => (0.0, 0.0, 0.0),
    };
    let events = |k: usize| f64::from(days.iter().map(|d| d.events[k]).sum::<u32>());
    let rev: f64 = with_data.iter().map(|d| d.rev_kwh).sum();
    let total: f64 = with_data.iter().map(|d| d.kwh).sum();
    let last_offset = days
        .iter()
        .rev()
        .find_map(|d| d.clock_offset)
        .unwrap_or(0.0);
    vec![
        mean_kwh,
        ratio(sd(&e), mean_kwh, 0.1),
        ratio(late_mean, early_mean, 0.3),
        0.0,
        0.0,
        max_step_drop(&e),
        e.iter().filter(|v| v.is_finite() && **v < 0.05).count() as f64
            / with_data.len().max(1) as f64,
        f64::from(zero_intervals) / f64::from(intervals.max(1)),
        autocorrelation(&e, 7),
        share(&with_data, peak),
        share(late_days, peak) - share(early_days, peak),
        share(&with_data, night),
        share(late_days, night) - share(early_days, night),
        flatness(&with_data),
        ratio(flatness(late_days), flatness(early_days), 0.05),
        share(late_days, evening) - share(early_days, evening),
        loss_corr,
        loss_rate,
        loss_shift,
        ratio(rev, total + rev, 0.0),
        f64::from(u8::from(m.has_pv)),
        mean(with_data.iter().filter_map(|d| d.power_ratio)).max(0.0),
        mean(with_data.iter().map(|d| d.voltage_sd)),
        events(4) + events(5),
        events(1),
        events(0),
        last_offset.abs(),
        mean(with_data.iter().map(|d| d.battery_share)),
        f64::from(with_data.iter().map(|d| d.relay_open_current).sum::<u32>())
            / with_data.len().max(1) as f64,
        mean(
            with_data
                .iter()
                .filter(|d| d.kwh > 0.05)
                .map(|d| d.interval_max / (d.kwh / f64::from(d.intervals.max(1)))),
        ),
    ]
    .into_iter()
    .map(|v| if v.is_finite() { v } else { 0.0 })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drop_and_zero_days_show() {
        let mut e: Vec<f64> = vec![10.0; 30];
        for v in e.iter_mut().skip(20) {
            *v = 4.0;
        }
        assert!((max_step_drop(&e) - 6.0 / 10.5).abs() < 1e-9);
        let days: Vec<DayStats> = e
            .iter()
            .map(|kwh| DayStats {
                kwh: *kwh,
                intervals: 96,
                ..DayStats::default()
            })
            .collect();
        let m = MeterDays {
            meter_id: "1".into(),
            area_id: "A".into(),
            has_pv: false,
            days,
        };
        let f = own_features(&m, 0..10, 20..30, None);
        assert_eq!(f.len(), THEFT_FEATURES.len());
        assert!((f[2] - 4.3 / 10.3).abs() < 1e-9, "{}", f[2]);
    }
}
