//! Each meter's alarm conditions, judged reading by reading: a condition must hold for its number of
//! consecutive readings to raise an alarm, and an open alarm clears after `clear_readings` consecutive
//! readings without it. Readings that cannot decide a condition (a silent round, a gap, a missing value)
//! neither advance nor reset it.

use std::collections::{BTreeMap, HashMap};

use super::config::DiagnosisConfig;
use super::kinds::AlarmRule;
use super::observation::Observation;
use crate::interval_rules::{register_delta, replaced_within, Span};

/// What the registry says about a meter that changes how its readings are judged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MeterProfile {
    /// Rooftop PV: reverse energy is expected.
    pub has_pv: bool,
    /// Installations (UTC µs, ascending): a register restart there is a replacement.
    pub installs: Vec<i64>,
    /// Transformer area.
    pub area_id: Option<String>,
    /// Bus or DTU.
    pub bus_id: Option<String>,
    /// An area's supply (total) meter rather than a customer's.
    pub supply: bool,
}

/// One reading's values behind an alarm.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evidence {
    /// The reading's boundary, UTC µs.
    pub at_us: i64,
    /// The quantities the rule judged, by name (V, A, kW, kWh, Hz, s, or the status word).
    pub values: BTreeMap<&'static str, f64>,
}

/// A change of an alarm condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    /// The condition held long enough: raise an alarm.
    Raised {
        /// Meter.
        meter_id: String,
        /// Rule.
        rule: AlarmRule,
        /// Boundary of the reading that completed the condition, UTC µs.
        at_us: i64,
        /// Boundary of the first reading of the condition, UTC µs.
        since_us: i64,
        /// The readings that triggered it (at most the condition's length).
        evidence: Vec<Evidence>,
    },
    /// The condition ended: clear the open alarm.
    Cleared {
        /// Meter.
        meter_id: String,
        /// Rule.
        rule: AlarmRule,
        /// Boundary of the reading that ended it, UTC µs.
        at_us: i64,
    },
}

/// What one reading says about one condition.
enum Verdict {
    Holds(Evidence),
    Absent,
    Undecided,
}

/// One condition's progress.
#[derive(Debug, Clone, Default)]
struct Condition {
    run: u32,
    normal: u32,
    open: bool,
    evidence: Vec<Evidence>,
}

/// The state of one meter.
#[derive(Debug, Clone, Default)]
struct MeterWatch {
    /// The last answered reading.
    last: Option<Observation>,
    /// The boundary of the last round judged (answered or not), UTC µs.
    last_round_us: Option<i64>,
    /// Energy (kWh) the readings' power says has passed since the register last moved, and over how
    /// many intervals.
    owed: (f64, u32),
    conditions: HashMap<AlarmRule, Condition>,
}

/// Every meter's conditions.
#[derive(Debug, Clone)]
pub struct Watch {
    config: DiagnosisConfig,
    zone: chrono_tz::Tz,
    profiles: HashMap<String, MeterProfile>,
    meters: HashMap<String, MeterWatch>,
}

/// The registers after a single interval, or nothing when the two readings are not one interval apart.
struct IntervalDelta {
    forward_e2: Option<i64>,
    reverse_e2: Option<i64>,
    backwards: bool,
    replaced: bool,
}

fn evidence(at_us: i64, values: &[(&'static str, Option<f64>)]) -> Evidence {
    Evidence {
        at_us,
        values: values
            .iter()
            .filter_map(|(k, v)| v.map(|v| (*k, v)))
            .collect(),
    }
}

fn e2_kwh(e2: Option<i64>) -> Option<f64> {
    e2.map(|v| v as f64 / 100.0)
}

impl Watch {
    /// A watch over meters with `profiles` (meters without one: a household without PV, never replaced)
    /// in local `zone`.
    pub fn new(
        config: DiagnosisConfig,
        zone: chrono_tz::Tz,
        profiles: HashMap<String, MeterProfile>,
    ) -> Self {
        Self {
            config,
            zone,
            profiles,
            meters: HashMap::new(),
        }
    }

    /// The rule's parameters.
    pub fn config(&self) -> &DiagnosisConfig {
        &self.config
    }

    /// Marks `rule` open on `meter` (an alarm already open in the database) so that its end clears it
    /// and its continuation does not raise it again.
    pub fn mark_open(&mut self, meter_id: &str, rule: AlarmRule) {
        let watch = self.meters.entry(meter_id.to_string()).or_default();
        watch.conditions.entry(rule).or_default().open = true;
    }

    /// The registry profiles the rules use.
    pub fn profiles(&self) -> &HashMap<String, MeterProfile> {
        &self.profiles
    }

    /// Replaces the registry profiles (the registry was re-read); conditions in progress are kept.
    pub fn set_profiles(&mut self, profiles: HashMap<String, MeterProfile>) {
        self.profiles = profiles;
    }

    /// Meters watched.
    pub fn meters(&self) -> usize {
        self.meters.len()
    }

    /// Judges one reading; readings at or before the meter's last one (redeliveries) are ignored.
    pub fn observe(&mut self, reading: &Observation) -> Vec<Signal> {
        let config = &self.config;
        let zone = self.zone;
        let profile = self.profiles.get(&reading.meter_id);
        let watch = self.meters.entry(reading.meter_id.clone()).or_default();
        if watch
            .last_round_us
            .is_some_and(|last| last >= reading.boundary_us)
        {
            return Vec::new();
        }
        let mut verdicts: Vec<(AlarmRule, u32, Verdict)> = Vec::with_capacity(20);
        let at = reading.boundary_us;
        verdicts.push((
            AlarmRule::MeterSilent,
            config.silent_readings,
            if reading.answered {
                Verdict::Absent
            } else {
                Verdict::Holds(evidence(at, &[]))
            },
        ));
        judge_link(config, reading, &mut verdicts);
        if reading.answered {
            let delta = watch
                .last
                .as_ref()
                .and_then(|last| interval_delta(last, reading, profile));
            judge_supply(config, reading, &mut verdicts);
            let night = chrono::DateTime::from_timestamp_micros(reading.boundary_us)
                .map(|t| config.pv_night(chrono::Timelike::hour(&t.with_timezone(&zone))))
                .unwrap_or(false);
            let energy = EnergyContext {
                delta: delta.as_ref(),
                profile,
                night,
                previous_power_kw: watch.last.as_ref().and_then(|l| l.power_kw),
            };
            judge_energy(config, reading, &energy, &mut watch.owed, &mut verdicts);
            judge_status(config, reading, &mut verdicts);
        }
        let mut signals = Vec::new();
        for (rule, needed, verdict) in verdicts {
            let condition = watch.conditions.entry(rule).or_default();
            match verdict {
                Verdict::Holds(point) => {
                    condition.run = condition.run.saturating_add(1);
                    condition.normal = 0;
                    condition.evidence.push(point);
                    if condition.evidence.len() > needed as usize {
                        condition.evidence.remove(0);
                    }
                    if !condition.open && condition.run >= needed {
                        condition.open = true;
                        signals.push(Signal::Raised {
                            meter_id: reading.meter_id.clone(),
                            rule,
                            at_us: at,
                            since_us: condition.evidence.first().map_or(at, |e| e.at_us),
                            evidence: std::mem::take(&mut condition.evidence),
                        });
                    }
                }
                Verdict::Absent => {
                    condition.run = 0;
                    condition.evidence.clear();
                    if condition.open {
                        condition.normal += 1;
                        if condition.normal >= config.clear_readings {
                            condition.open = false;
                            condition.normal = 0;
                            signals.push(Signal::Cleared {
                                meter_id: reading.meter_id.clone(),
                                rule,
                                at_us: at,
                            });
                        }
                    }
                }
                Verdict::Undecided => {}
            }
        }
        watch.last_round_us = Some(reading.boundary_us);
        if reading.answered {
            watch.last = Some(reading.clone());
        }
        signals
    }
}

/// The register movement between two answered readings one interval apart.
fn interval_delta(
    last: &Observation,
    now: &Observation,
    profile: Option<&MeterProfile>,
) -> Option<IntervalDelta> {
    let installs = profile.map_or(&[][..], |p| &p.installs[..]);
    let replaced = replaced_within(installs, last.boundary_us, now.boundary_us);
    let backwards = matches!((last.forward_e2, now.forward_e2), (Some(b), Some(a)) if a < b)
        && register_delta(last.forward_e2, now.forward_e2, false).is_none();
    if Span::between(last.boundary_us, now.boundary_us).is_gap() {
        // A gap: only a register that went backwards is decided.
        return backwards.then_some(IntervalDelta {
            forward_e2: None,
            reverse_e2: None,
            backwards,
            replaced,
        });
    }
    Some(IntervalDelta {
        forward_e2: register_delta(last.forward_e2, now.forward_e2, replaced),
        reverse_e2: register_delta(last.reverse_e2, now.reverse_e2, replaced),
        backwards,
        replaced,
    })
}

/// Voltage, power factor and frequency.
fn judge_supply(
    config: &DiagnosisConfig,
    r: &Observation,
    out: &mut Vec<(AlarmRule, u32, Verdict)>,
) {
    let at = r.boundary_us;
    let n = config.voltage_readings;
    let (loss, low, high) = match r.voltage_v {
        None => (Verdict::Undecided, Verdict::Undecided, Verdict::Undecided),
        Some(v) => {
            let point = || evidence(at, &[("voltage_v", Some(v))]);
            let loss = if v < config.voltage_lost_v() {
                Verdict::Holds(point())
            } else {
                Verdict::Absent
            };
            let low = if v < config.voltage_lost_v() {
                Verdict::Undecided
            } else if v < config.voltage_low_v() {
                Verdict::Holds(point())
            } else {
                Verdict::Absent
            };
            let high = if v > config.voltage_high_v() {
                Verdict::Holds(point())
            } else {
                Verdict::Absent
            };
            (loss, low, high)
        }
    };
    out.push((AlarmRule::VoltageLoss, n, loss));
    out.push((AlarmRule::VoltageLow, n, low));
    out.push((AlarmRule::VoltageHigh, n, high));
    let powered = r.voltage_v.is_some_and(|v| v >= config.voltage_lost_v());
    let factor = match (r.power_factor, r.current_a) {
        (Some(pf), Some(i)) if powered && i.abs() >= config.power_factor_min_current_a => {
            if pf.abs() < config.power_factor_min {
                Verdict::Holds(evidence(
                    at,
                    &[("power_factor", Some(pf)), ("current_a", Some(i))],
                ))
            } else {
                Verdict::Absent
            }
        }
        _ => Verdict::Undecided,
    };
    out.push((
        AlarmRule::PowerFactorLow,
        config.power_factor_readings,
        factor,
    ));
    let frequency = match r.frequency_hz {
        Some(f) if powered => {
            if (f - config.nominal_frequency_hz).abs() > config.frequency_tolerance_hz {
                Verdict::Holds(evidence(at, &[("frequency_hz", Some(f))]))
            } else {
                Verdict::Absent
            }
        }
        _ => Verdict::Undecided,
    };
    out.push((
        AlarmRule::FrequencyOutOfBand,
        config.frequency_readings,
        frequency,
    ));
}

/// What the energy rules know beside the reading.
struct EnergyContext<'a> {
    delta: Option<&'a IntervalDelta>,
    profile: Option<&'a MeterProfile>,
    /// Whether PV cannot export at the reading's local hour.
    night: bool,
    /// Active power at the previous answered reading, kW (the interval's start).
    previous_power_kw: Option<f64>,
}

/// Register movement against power, current and the relay; `owed` is the stuck-register account.
fn judge_energy(
    config: &DiagnosisConfig,
    r: &Observation,
    context: &EnergyContext<'_>,
    owed: &mut (f64, u32),
    out: &mut Vec<(AlarmRule, u32, Verdict)>,
) {
    let (delta, profile, night) = (context.delta, context.profile, context.night);
    let at = r.boundary_us;
    let forward = delta.and_then(|d| d.forward_e2);
    let reverse = delta.and_then(|d| d.reverse_e2);
    let point = |extra: &[(&'static str, Option<f64>)]| {
        let mut values = vec![
            ("forward_kwh_in_interval", e2_kwh(forward)),
            ("power_kw", r.power_kw),
            ("current_a", r.current_a),
        ];
        values.extend_from_slice(extra);
        evidence(at, &values)
    };
    let stuck = match (forward, r.power_kw) {
        (Some(0), Some(p)) if reverse.unwrap_or(0) == 0 => {
            // The load ran through the interval only if it shows at both of its readings (a relay
            // that just closed, or a kettle just switched on, owes nothing for the interval before).
            let through = context.previous_power_kw.map_or(p, |before| before.min(p));
            if through >= config.stuck_min_power_kw {
                owed.0 += through * INTERVAL_HOURS;
            }
            owed.1 = owed.1.saturating_add(1);
            if owed.0 >= config.stuck_owed_kwh && owed.1 >= config.stuck_readings {
                Verdict::Holds(point(&[("owed_kwh", Some(owed.0))]))
            } else {
                Verdict::Undecided
            }
        }
        (Some(e), _) if e > 0 => {
            *owed = (0.0, 0);
            Verdict::Absent
        }
        _ => Verdict::Undecided,
    };
    // The owed energy already spans the intervals: one reading that completes it raises the alarm.
    out.push((AlarmRule::StuckRegister, 1, stuck));
    let bypass = match (r.current_a, r.power_kw) {
        (Some(i), Some(p)) => {
            if i.abs() >= config.bypass_min_current_a && p.abs() <= config.bypass_max_power_kw {
                Verdict::Holds(point(&[]))
            } else {
                Verdict::Absent
            }
        }
        _ => Verdict::Undecided,
    };
    out.push((AlarmRule::Bypass, config.bypass_readings, bypass));
    let has_pv = profile.is_some_and(|p| p.has_pv);
    let reverse_flag = r.status_1.is_some_and(|w| w & STATUS1_REVERSE != 0);
    let reverse_min_e2 = (config.reverse_min_kwh * 100.0).round() as i64;
    // PV exports legitimately by day: a PV meter's reverse energy is judged only at night.
    let reversed = if has_pv && !night {
        Verdict::Undecided
    } else if reverse.is_some_and(|e| e >= reverse_min_e2.max(1))
        || r.power_kw.is_some_and(|p| p <= -config.reverse_min_kwh)
        || reverse_flag
    {
        Verdict::Holds(point(&[("reverse_kwh_in_interval", e2_kwh(reverse))]))
    } else if r.power_kw.is_some() || reverse.is_some() {
        Verdict::Absent
    } else {
        Verdict::Undecided
    };
    out.push((AlarmRule::ReverseEnergy, config.reverse_readings, reversed));
    let relay_open = r.relay_open();
    let through_open = match relay_open {
        Some(true) => {
            let flowing = forward.is_some_and(|e| e > 0)
                || r.current_a
                    .is_some_and(|i| i.abs() >= config.relay_open_min_current_a);
            if flowing {
                Verdict::Holds(point(&[("status_word_3", r.status_3.map(f64::from))]))
            } else {
                Verdict::Absent
            }
        }
        Some(false) => Verdict::Absent,
        None => Verdict::Undecided,
    };
    out.push((
        AlarmRule::EnergyWhileRelayOpen,
        config.relay_open_readings,
        through_open,
    ));
    let (backwards, replaced) = match delta {
        Some(d) if d.backwards && d.replaced => (
            Verdict::Absent,
            Verdict::Holds(point(&[("forward_kwh", e2_kwh(r.forward_e2))])),
        ),
        Some(d) if d.backwards => (
            Verdict::Holds(point(&[("forward_kwh", e2_kwh(r.forward_e2))])),
            Verdict::Absent,
        ),
        Some(_) => (Verdict::Absent, Verdict::Absent),
        None => (Verdict::Undecided, Verdict::Undecided),
    };
    out.push((AlarmRule::RegisterBackwards, 1, backwards));
    out.push((AlarmRule::MeterReplaced, 1, replaced));
    let tou = match (r.forward_e2, r.tariff_e2) {
        (Some(total), [Some(a), Some(b), Some(c), Some(d)]) => {
            let gap = (a + b + c + d - total).abs();
            if gap as f64 > config.tou_sum_tolerance_kwh * 100.0 {
                Verdict::Holds(evidence(
                    at,
                    &[
                        ("forward_kwh", e2_kwh(Some(total))),
                        ("tou_sum_kwh", e2_kwh(Some(a + b + c + d))),
                    ],
                ))
            } else {
                Verdict::Absent
            }
        }
        _ => Verdict::Undecided,
    };
    out.push((AlarmRule::TouSumMismatch, TOU_SUM_READINGS, tou));
}

/// Hours of one interval.
const INTERVAL_HOURS: f64 = crate::interval_rules::INTERVAL_MINUTES as f64 / 60.0;
/// Consecutive readings of a TOU-sum mismatch before an alarm (a read that straddles a register update
/// can disagree once).
const TOU_SUM_READINGS: u32 = 2;
/// Status word 1, b4: active power reverse.
const STATUS1_REVERSE: i32 = 1 << 4;
/// Status word 1, b2 | b3: clock battery or reading battery low.
const STATUS1_BATTERY: i32 = (1 << 2) | (1 << 3);
/// Status word 1, b15: clock fault.
const STATUS1_CLOCK_FAULT: i32 = 1 << 15;
/// Status word 1, b8 control loop, b9 ESAM, b12 internal program, b13 memory.
const STATUS1_HARDWARE: i32 = (1 << 8) | (1 << 9) | (1 << 12) | (1 << 13);

/// The collector's link counters: late replies and line noise.
fn judge_link(config: &DiagnosisConfig, r: &Observation, out: &mut Vec<(AlarmRule, u32, Verdict)>) {
    let at = r.boundary_us;
    let slow = if r.late_replies >= config.slow_min_late_replies {
        Verdict::Holds(evidence(
            at,
            &[("late_replies", Some(f64::from(r.late_replies)))],
        ))
    } else {
        Verdict::Absent
    };
    out.push((AlarmRule::SlowReplies, config.slow_readings, slow));
    let noise = if r.noise_bytes >= config.noise_min_bytes {
        Verdict::Holds(evidence(
            at,
            &[("noise_bytes", Some(f64::from(r.noise_bytes)))],
        ))
    } else {
        Verdict::Absent
    };
    out.push((AlarmRule::LineNoise, config.noise_readings, noise));
}

/// Status-word faults and the meter's clock.
fn judge_status(
    config: &DiagnosisConfig,
    r: &Observation,
    out: &mut Vec<(AlarmRule, u32, Verdict)>,
) {
    let at = r.boundary_us;
    for (rule, mask) in [
        (AlarmRule::BatteryLow, STATUS1_BATTERY),
        (AlarmRule::ClockFault, STATUS1_CLOCK_FAULT),
        (AlarmRule::MeterHardwareFault, STATUS1_HARDWARE),
    ] {
        let verdict = match r.status_1 {
            Some(word) if word & mask != 0 => {
                Verdict::Holds(evidence(at, &[("status_word_1", Some(f64::from(word)))]))
            }
            Some(_) => Verdict::Absent,
            None => Verdict::Undecided,
        };
        out.push((rule, 1, verdict));
    }
    let drift = match r.clock_offset_s {
        Some(s) if s.abs() > config.clock_drift_max_s => {
            Verdict::Holds(evidence(at, &[("clock_offset_s", Some(s as f64))]))
        }
        Some(_) => Verdict::Absent,
        None => Verdict::Undecided,
    };
    out.push((AlarmRule::ClockDrift, 1, drift));
}
