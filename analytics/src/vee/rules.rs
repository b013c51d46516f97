//! One meter-day through the rules, always in this order (`docs/vee.md`):
//!
//! 1. **Remove what is invalid**: each reading pair's interval is measured from the registers by
//!    [`crate::interval_rules`]; a register that went backwards, a value above the kind's maximum, the
//!    registers standing still while current flows at both ends, and spikes (the day's highest intervals
//!    against its third highest) lose their value. Reverse energy without PV, a TOU sum that disagrees,
//!    energy while the relay is open, clock drift, replacement and unaligned readings are flagged only.
//! 2. **Check gaps**: intervals no reading pair covers alone are gaps; when registers bracket them, their
//!    energy is known.
//! 3. **Estimate** ([`super::estimate`]): a bracketed gap's known energy is shared evenly (linear) or by
//!    the meter's profile; other runs are interpolated between their valid neighbours (linear) or take
//!    the profile. `auto` uses linear up to `linear_max_intervals`, the profile beyond.
//! 4. **Edits**: a person's latest edit of an interval replaces its value.
//! 5. **Day checks**: the day's energy against the meter's average daily use (high/low), and prolonged
//!    estimation over consecutive days.

use super::config::{Estimation, KindLimits, VeeConfig};
use super::estimate::{interpolate, spread_by_weights, spread_even};
use super::history::MeterHistory;
use super::{Flag, Flags, IntervalEdit, Method, Status, ValidatedInterval};
use crate::diagnosis::Observation;
use crate::interval_rules::{register_delta, replaced_within, Span, E2_TO_E6, INTERVAL_US};

/// Everything the rules need about one meter and one local day.
#[derive(Debug, Clone, Copy)]
pub struct MeterDay<'a> {
    /// An area's supply meter (its own limits).
    pub supply: bool,
    /// Rooftop PV (reverse energy expected).
    pub has_pv: bool,
    /// Installations, UTC µs ascending.
    pub installs: &'a [i64],
    /// Local midnight starting the day, UTC µs.
    pub day_start_us: i64,
    /// Local midnight ending it, UTC µs.
    pub day_end_us: i64,
    /// Whether the day is a weekend (which profile estimates it).
    pub weekend: bool,
    /// The meter's readings around the day, boundary order (hours before and after it, so that gaps
    /// across midnight are bracketed).
    pub readings: &'a [Observation],
    /// The meter's recent history.
    pub history: Option<&'a MeterHistory>,
    /// Edits of the meter's intervals (the latest per interval counts).
    pub edits: &'a [IntervalEdit],
    /// Consecutive days before this one that counted towards prolonged estimation.
    pub estimated_days_before: u32,
}

/// A validated meter-day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedDay {
    /// Every interval of the day, in time order.
    pub intervals: Vec<ValidatedInterval>,
    /// Consecutive days, this one included, that count towards prolonged estimation (0: this one
    /// does not).
    pub estimated_days: u32,
}

/// A gap: intervals between two readings more than one interval apart.
#[derive(Debug, Clone, Copy)]
struct Gap {
    /// Start of its first interval, UTC µs (may be before the day).
    first_us: i64,
    /// Its intervals.
    intervals: usize,
    /// Its energy, micro-kWh, when the registers bracket it.
    total_e6: Option<i64>,
}

/// One interval while the rules work on it.
#[derive(Debug, Clone, Default)]
struct Cell {
    raw_e6: Option<i64>,
    flags: Flags,
    /// The bracketed gap it belongs to (index into the gaps).
    gap: Option<usize>,
    value_e6: Option<i64>,
    method: Option<Method>,
}

fn kwh_e6(kwh: f64) -> i64 {
    KindLimits::e6(kwh)
}

/// The rules' verdict on one meter-day.
pub fn validate_day(day: &MeterDay<'_>, config: &VeeConfig) -> ValidatedDay {
    let slots = usize::try_from((day.day_end_us - day.day_start_us) / INTERVAL_US).unwrap_or(0);
    let mut cells = vec![Cell::default(); slots];
    let mut covered = vec![false; slots];
    let gaps = measure(day, config, &mut cells, &mut covered);
    for (cell, covered) in cells.iter_mut().zip(&covered) {
        if !covered {
            cell.flags.insert(Flag::Gap);
        }
    }
    flag_spikes(&mut cells, config.limits(day.supply));
    estimate_all(day, config, &mut cells, &gaps);
    let mut intervals: Vec<ValidatedInterval> = cells
        .into_iter()
        .enumerate()
        .map(|(i, cell)| finish(day, i, cell))
        .collect();
    apply_edits(day, &mut intervals);
    let estimated_days = day_checks(day, config, &mut intervals);
    ValidatedDay {
        intervals,
        estimated_days,
    }
}

/// Step 1 and 2: measured values and span flags of every reading pair; returns the bracketed gaps.
fn measure(
    day: &MeterDay<'_>,
    config: &VeeConfig,
    cells: &mut [Cell],
    covered: &mut [bool],
) -> Vec<Gap> {
    let limits = config.limits(day.supply);
    let tolerance_e2 = (config.tou_tolerance_kwh * 100.0).round() as i64;
    let mut gaps = Vec::new();
    let usable: Vec<&Observation> = day
        .readings
        .iter()
        .filter(|r| r.answered && r.forward_e2.is_some())
        .collect();
    for pair in usable.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if b.boundary_us <= a.boundary_us
            || b.boundary_us <= day.day_start_us
            || a.boundary_us >= day.day_end_us
        {
            continue;
        }
        let span = Span::between(a.boundary_us, b.boundary_us);
        let replaced = replaced_within(day.installs, a.boundary_us, b.boundary_us);
        let delta = register_delta(a.forward_e2, b.forward_e2, replaced);
        let mut flags = Flags::default();
        if delta.is_none() {
            flags.insert(Flag::RegisterBackwards);
        }
        if replaced {
            flags.insert(Flag::Replaced);
        }
        if span.unaligned {
            flags.insert(Flag::Unaligned);
        }
        let reverse = register_delta(a.reverse_e2, b.reverse_e2, replaced);
        if !day.has_pv && reverse.is_some_and(|r| r > 0) {
            flags.insert(Flag::ReverseWithoutPv);
        }
        let tou: Option<i64> = (0..4)
            .map(|i| register_delta(a.tariff_e2[i], b.tariff_e2[i], replaced))
            .sum();
        if let (Some(tou), Some(total)) = (tou, delta) {
            if (tou - total).abs() > tolerance_e2 {
                flags.insert(Flag::TouSumMismatch);
            }
        }
        if a.relay_open() == Some(true)
            && b.relay_open() == Some(true)
            && delta.is_some_and(|d| d > 0)
        {
            flags.insert(Flag::EnergyWhileRelayOpen);
        }
        if b.clock_offset_s
            .is_some_and(|s| s.abs() > config.clock_drift_max_s)
        {
            flags.insert(Flag::ClockDrift);
        }
        let n = usize::try_from(span.intervals).unwrap_or(usize::MAX);
        let gap = if span.is_gap() {
            flags.insert(Flag::Gap);
            gaps.push(Gap {
                first_us: a.boundary_us,
                intervals: n,
                total_e6: delta.map(|d| d * E2_TO_E6),
            });
            Some(gaps.len() - 1)
        } else {
            None
        };
        let raw_e6 = delta.filter(|_| gap.is_none()).map(|d| d * E2_TO_E6);
        if raw_e6.is_some_and(|e| e > kwh_e6(limits.max_interval_kwh)) {
            flags.insert(Flag::AboveMaximum);
        }
        let current_at_both = [a, b].iter().all(|r| {
            r.current_a
                .is_some_and(|i| i.abs() >= limits.zero_with_current_a)
        });
        // Current with neither register moving (a PV meter exporting moves its reverse register).
        let reverse_moved = reverse.is_some_and(|r| r > 0);
        if raw_e6 == Some(0) && !reverse_moved && current_at_both {
            flags.insert(Flag::ZeroWithCurrent);
        }
        for k in 0..span.intervals {
            let start = a.boundary_us + k * INTERVAL_US;
            let Some(i) = slot_of(day, start) else {
                continue;
            };
            covered[i] = true;
            let cell = &mut cells[i];
            cell.raw_e6 = raw_e6;
            cell.flags = flags;
            cell.gap = gap.filter(|g| gaps[*g].total_e6.is_some());
        }
    }
    gaps
}

/// The day's slot holding an interval that starts at `start_us`.
fn slot_of(day: &MeterDay<'_>, start_us: i64) -> Option<usize> {
    if start_us < day.day_start_us || start_us >= day.day_end_us {
        return None;
    }
    usize::try_from((start_us - day.day_start_us) / INTERVAL_US).ok()
}

/// Spikes: every valid interval above `spike_ratio` × the day's third-highest valid interval and at
/// least `spike_min_kwh`.
fn flag_spikes(cells: &mut [Cell], limits: &KindLimits) {
    let mut values: Vec<i64> = cells
        .iter()
        .filter(|c| !c.flags.removes_value())
        .filter_map(|c| c.raw_e6)
        .collect();
    if values.len() < 3 {
        return;
    }
    values.sort_unstable_by(|a, b| b.cmp(a));
    let third = values[2] as f64;
    let minimum = kwh_e6(limits.spike_min_kwh);
    for cell in cells.iter_mut().filter(|c| !c.flags.removes_value()) {
        if let Some(raw) = cell.raw_e6 {
            if raw >= minimum && raw as f64 > limits.spike_ratio * third {
                cell.flags.insert(Flag::Spike);
            }
        }
    }
}

/// Whether `auto` (or the configured method) uses the profile for a run of `len` intervals.
fn wants_profile(config: &VeeConfig, len: usize, has_profile: bool) -> bool {
    has_profile
        && match config.estimation {
            Estimation::Linear => false,
            Estimation::Profile => true,
            Estimation::Auto => len > config.linear_max_intervals as usize,
        }
}

/// The profile's value for the interval starting at `start_us`.
fn profile_at(day: &MeterDay<'_>, profile: &[i64], start_us: i64) -> i64 {
    let slot = (start_us - day.day_start_us).div_euclid(INTERVAL_US);
    let len = i64::try_from(profile.len()).unwrap_or(1).max(1);
    usize::try_from(slot.rem_euclid(len))
        .ok()
        .and_then(|s| profile.get(s).copied())
        .unwrap_or(0)
}

/// Step 3: values for every cell whose measured value is gone or never came.
fn estimate_all(day: &MeterDay<'_>, config: &VeeConfig, cells: &mut [Cell], gaps: &[Gap]) {
    let profile = day.history.and_then(|h| h.profile(day.weekend));
    for cell in cells.iter_mut().filter(|c| !c.flags.removes_value()) {
        cell.value_e6 = cell.raw_e6;
        cell.method = cell.raw_e6.map(|_| Method::Measured);
    }
    // Bracketed gaps first: their energy is known.
    for (g, gap) in gaps.iter().enumerate() {
        let Some(total) = gap.total_e6 else { continue };
        if !cells.iter().any(|c| c.gap == Some(g)) {
            continue;
        }
        let starts: Vec<i64> = (0..gap.intervals)
            .map(|k| gap.first_us + i64::try_from(k).unwrap_or(0) * INTERVAL_US)
            .collect();
        let (shares, method) = match profile {
            Some(p) if wants_profile(config, gap.intervals, true) => {
                let weights: Vec<i64> = starts.iter().map(|s| profile_at(day, p, *s)).collect();
                (spread_by_weights(total, &weights), Method::Profile)
            }
            _ => (spread_even(total, gap.intervals), Method::Linear),
        };
        for (start, share) in starts.iter().zip(shares) {
            if let Some(i) = slot_of(day, *start) {
                cells[i].value_e6 = Some(share);
                cells[i].method = Some(method);
            }
        }
    }
    // Then every run of cells still without a value.
    let mut i = 0;
    while i < cells.len() {
        if cells[i].method.is_some() {
            i += 1;
            continue;
        }
        let end = (i..cells.len())
            .find(|j| cells[*j].method.is_some())
            .unwrap_or(cells.len());
        let len = end - i;
        let before = i.checked_sub(1).and_then(|j| cells[j].value_e6);
        let after = cells.get(end).and_then(|c| c.value_e6);
        let linear = interpolate(before, after, len);
        let use_profile = wants_profile(config, len, profile.is_some()) || linear.is_none();
        let estimate = match (use_profile, profile, linear) {
            (true, Some(p), _) => {
                let values = (i..end)
                    .map(|j| profile_at(day, p, day.day_start_us + j as i64 * INTERVAL_US))
                    .collect();
                Some((values, Method::Profile))
            }
            (_, _, Some(values)) => Some((values, Method::Linear)),
            _ => None,
        };
        for (k, j) in (i..end).enumerate() {
            let cell = &mut cells[j];
            match &estimate {
                Some((values, method)) => {
                    cell.value_e6 = values.get(k).copied();
                    cell.method = Some(*method);
                }
                None => cell.method = Some(Method::None),
            }
        }
        i = end;
    }
}

fn finish(day: &MeterDay<'_>, i: usize, cell: Cell) -> ValidatedInterval {
    let method = cell.method.unwrap_or(Method::None);
    let status = match method {
        Method::Measured => Status::Valid,
        Method::Linear | Method::Profile => Status::Estimated,
        Method::Edit => Status::Edited,
        Method::None => Status::Unestimated,
    };
    ValidatedInterval {
        start_us: day.day_start_us + i as i64 * INTERVAL_US,
        slot: i32::try_from(i).unwrap_or(i32::MAX),
        raw_e6: cell.raw_e6,
        value_e6: cell.value_e6.filter(|_| method != Method::None),
        status,
        method,
        flags: cell.flags,
        edit: None,
    }
}

/// Step 4: the latest edit of each interval sets its value.
fn apply_edits(day: &MeterDay<'_>, intervals: &mut [ValidatedInterval]) {
    for interval in intervals.iter_mut() {
        let latest = day
            .edits
            .iter()
            .filter(|e| e.interval_start_us == interval.start_us)
            .max_by_key(|e| e.edited_at_us);
        let Some(edit) = latest else { continue };
        let Some(e6) = edit_e6(edit) else { continue };
        interval.value_e6 = Some(e6);
        interval.status = Status::Edited;
        interval.method = Method::Edit;
        interval.edit = Some(edit.clone());
    }
}

/// An edit's value in micro-kWh (`None` if it is negative, too fine or out of range).
pub fn edit_e6(edit: &IntervalEdit) -> Option<i64> {
    crate::tariff::exact::kwh_to_e6(edit.kwh)
        .ok()
        .filter(|e6| *e6 >= 0)
}

/// Step 5: usage against the meter's average and prolonged estimation; returns the day's count
/// towards prolonged estimation.
fn day_checks(day: &MeterDay<'_>, config: &VeeConfig, intervals: &mut [ValidatedInterval]) -> u32 {
    let limits = config.limits(day.supply);
    let complete = intervals.iter().all(|i| i.value_e6.is_some());
    let average = day.history.and_then(|h| h.average_day_e6);
    if let (true, Some(average)) = (complete, average) {
        if average >= kwh_e6(limits.usage_min_average_kwh) {
            let total: i64 = intervals.iter().filter_map(|i| i.value_e6).sum();
            let usage = if total as f64 > limits.high_day_ratio * average as f64 {
                Some(Flag::HighUsage)
            } else if (total as f64) < limits.low_day_ratio * average as f64 {
                Some(Flag::LowUsage)
            } else {
                None
            };
            if let Some(flag) = usage {
                intervals.iter_mut().for_each(|i| i.flags.insert(flag));
            }
        }
    }
    let estimated = intervals
        .iter()
        .filter(|i| matches!(i.status, Status::Estimated | Status::Unestimated))
        .count();
    if intervals.is_empty() || (estimated as f64) <= config.prolonged_share * intervals.len() as f64
    {
        return 0;
    }
    let days = day.estimated_days_before.saturating_add(1);
    if days >= config.prolonged_days {
        intervals
            .iter_mut()
            .filter(|i| matches!(i.status, Status::Estimated | Status::Unestimated))
            .for_each(|i| i.flags.insert(Flag::ProlongedEstimation));
    }
    days
}
