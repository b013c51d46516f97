//! The alarm rules' parameters (`[diagnosis]` in the configuration file; `docs/diagnosis.md` gives the
//! source of every default).

use serde::{Deserialize, Serialize};

/// Parameters of every alarm rule on readings.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiagnosisConfig {
    /// Whether the control service judges readings as they stream in.
    pub enabled: bool,
    /// Nominal single-phase voltage, V (GB/T 156: 220 V).
    pub nominal_voltage_v: f64,
    /// Allowed rise above nominal, percent (GB/T 12325-2008 §4.3: +7 % for 220 V single-phase).
    pub voltage_upper_pct: f64,
    /// Allowed fall below nominal, percent (GB/T 12325-2008 §4.3: −10 %).
    pub voltage_lower_pct: f64,
    /// Below this share of nominal, percent, the supply is lost (失压) rather than low.
    pub voltage_loss_pct: f64,
    /// Consecutive readings a voltage condition must hold before it raises an alarm.
    pub voltage_readings: u32,
    /// Lowest acceptable power factor while at least `power_factor_min_current_a` flows.
    pub power_factor_min: f64,
    /// Current, A, above which the power factor is judged.
    pub power_factor_min_current_a: f64,
    /// Consecutive readings of low power factor before an alarm.
    pub power_factor_readings: u32,
    /// Nominal frequency, Hz.
    pub nominal_frequency_hz: f64,
    /// Allowed deviation, Hz (GB/T 15945-2008: ±0.2 Hz, ±0.5 Hz for small systems).
    pub frequency_tolerance_hz: f64,
    /// Consecutive readings out of band before an alarm.
    pub frequency_readings: u32,
    /// Consecutive unanswered collection rounds before a meter is silent.
    pub silent_readings: u32,
    /// Active power, kW, below which a reading adds nothing to the energy the register owes.
    pub stuck_min_power_kw: f64,
    /// Energy, kWh, that the readings' power says must have passed (power × 15 min, summed over
    /// consecutive intervals in which the register did not move) before the register is stuck.
    pub stuck_owed_kwh: f64,
    /// Least consecutive unmoving intervals before the register is stuck.
    pub stuck_readings: u32,
    /// Current, A, that with no measured power means a bypass.
    pub bypass_min_current_a: f64,
    /// Largest power, kW, that counts as "no power" for the bypass rule.
    pub bypass_max_power_kw: f64,
    /// Consecutive readings of a bypass before an alarm.
    pub bypass_readings: u32,
    /// Reverse energy, kWh per interval, or reverse power, kW, that counts on a meter without PV.
    pub reverse_min_kwh: f64,
    /// Consecutive readings of reverse energy before an alarm.
    pub reverse_readings: u32,
    /// Local hour from which PV cannot export (a PV meter's reverse energy is judged only at night).
    pub pv_night_from_hour: u32,
    /// Local hour until which PV cannot export.
    pub pv_night_until_hour: u32,
    /// Current, A, that counts as flowing through an open relay.
    pub relay_open_min_current_a: f64,
    /// Consecutive readings of energy while the relay is open before an alarm.
    pub relay_open_readings: u32,
    /// Largest allowed difference, kWh, between the TOU registers' sum and the total register (the
    /// registers are truncated to 0.01 kWh each, so four of them may fall short by up to 0.04 kWh).
    pub tou_sum_tolerance_kwh: f64,
    /// Largest clock offset, seconds, before a clock-drift alarm.
    pub clock_drift_max_s: i64,
    /// Consecutive normal readings before an alarm clears by itself.
    pub clear_readings: u32,
    /// Late replies per round that make a meter's replies slow.
    pub slow_min_late_replies: u32,
    /// Consecutive rounds with late replies before an alarm.
    pub slow_readings: u32,
    /// Noise bytes per round that count as line noise.
    pub noise_min_bytes: u32,
    /// Consecutive rounds with line noise before an alarm.
    pub noise_readings: u32,
    /// A transformer area's daily line loss above this, percent of its supply, raises `line_loss_high`.
    pub line_loss_max_pct: f64,
    /// A daily line loss below this, percent (negative: the customers recorded more than the supply),
    /// raises `line_loss_negative`.
    pub line_loss_min_pct: f64,
    /// Line loss is judged only on days the supply meter recorded at least this, kWh.
    pub line_loss_min_supply_kwh: f64,
    /// A day on which less than this share of an area's scheduled customer readings answered, percent,
    /// raises `collection_low`.
    pub collection_min_pct: f64,
}

impl Default for DiagnosisConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            nominal_voltage_v: 220.0,
            voltage_upper_pct: 7.0,
            voltage_lower_pct: 10.0,
            voltage_loss_pct: 60.0,
            voltage_readings: 2,
            power_factor_min: 0.5,
            power_factor_min_current_a: 1.0,
            power_factor_readings: 4,
            nominal_frequency_hz: 50.0,
            frequency_tolerance_hz: 0.5,
            frequency_readings: 2,
            silent_readings: 2,
            stuck_min_power_kw: 0.02,
            stuck_owed_kwh: 0.1,
            stuck_readings: 3,
            bypass_min_current_a: 0.1,
            bypass_max_power_kw: 0.005,
            bypass_readings: 2,
            reverse_min_kwh: 0.01,
            reverse_readings: 2,
            pv_night_from_hour: 20,
            pv_night_until_hour: 5,
            relay_open_min_current_a: 0.1,
            relay_open_readings: 2,
            tou_sum_tolerance_kwh: 0.05,
            clock_drift_max_s: 300,
            clear_readings: 2,
            slow_min_late_replies: 1,
            slow_readings: 2,
            noise_min_bytes: 1,
            noise_readings: 2,
            line_loss_max_pct: 10.0,
            line_loss_min_pct: -1.0,
            line_loss_min_supply_kwh: 10.0,
            collection_min_pct: 95.0,
        }
    }
}

/// A parameter out of its range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("diagnosis.{key}: {problem}")]
pub struct InvalidDiagnosisConfig {
    /// The parameter.
    pub key: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl DiagnosisConfig {
    /// Checks every parameter; the first wrong one is named.
    pub fn validate(&self) -> Result<(), InvalidDiagnosisConfig> {
        let positive = [
            ("nominal_voltage_v", self.nominal_voltage_v),
            ("nominal_frequency_hz", self.nominal_frequency_hz),
            ("frequency_tolerance_hz", self.frequency_tolerance_hz),
            ("stuck_min_power_kw", self.stuck_min_power_kw),
            ("stuck_owed_kwh", self.stuck_owed_kwh),
            ("bypass_min_current_a", self.bypass_min_current_a),
            ("reverse_min_kwh", self.reverse_min_kwh),
            ("relay_open_min_current_a", self.relay_open_min_current_a),
            (
                "power_factor_min_current_a",
                self.power_factor_min_current_a,
            ),
        ];
        for (key, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(invalid(
                    key,
                    format!("must be a positive number, not {value}"),
                ));
            }
        }
        let percents = [
            ("voltage_upper_pct", self.voltage_upper_pct),
            ("voltage_lower_pct", self.voltage_lower_pct),
            ("voltage_loss_pct", self.voltage_loss_pct),
        ];
        for (key, value) in percents {
            if !(value.is_finite() && (0.0..100.0).contains(&value)) {
                return Err(invalid(key, format!("must be in 0..100, not {value}")));
            }
        }
        if self.voltage_loss_pct >= 100.0 - self.voltage_lower_pct {
            return Err(invalid(
                "voltage_loss_pct",
                "must lie below the low-voltage limit".into(),
            ));
        }
        if !(self.line_loss_min_pct.is_finite()
            && self.line_loss_max_pct.is_finite()
            && (-100.0..100.0).contains(&self.line_loss_min_pct)
            && self.line_loss_min_pct < self.line_loss_max_pct
            && self.line_loss_max_pct < 100.0)
        {
            return Err(invalid(
                "line_loss_min_pct/line_loss_max_pct",
                "must satisfy -100 ≤ min < max < 100".into(),
            ));
        }
        if !(self.collection_min_pct.is_finite()
            && (0.0..=100.0).contains(&self.collection_min_pct))
        {
            return Err(invalid("collection_min_pct", "must be in 0..=100".into()));
        }
        if !(self.line_loss_min_supply_kwh.is_finite() && self.line_loss_min_supply_kwh >= 0.0) {
            return Err(invalid(
                "line_loss_min_supply_kwh",
                "must not be negative".into(),
            ));
        }
        if !(self.power_factor_min.is_finite() && (0.0..=1.0).contains(&self.power_factor_min)) {
            return Err(invalid("power_factor_min", "must be in 0..=1".into()));
        }
        if !(self.bypass_max_power_kw.is_finite() && self.bypass_max_power_kw >= 0.0) {
            return Err(invalid(
                "bypass_max_power_kw",
                "must not be negative".into(),
            ));
        }
        if !(self.tou_sum_tolerance_kwh.is_finite() && self.tou_sum_tolerance_kwh >= 0.0) {
            return Err(invalid(
                "tou_sum_tolerance_kwh",
                "must not be negative".into(),
            ));
        }
        for (key, hour) in [
            ("pv_night_from_hour", self.pv_night_from_hour),
            ("pv_night_until_hour", self.pv_night_until_hour),
        ] {
            if hour > 23 {
                return Err(invalid(key, format!("must be an hour 0..=23, not {hour}")));
            }
        }
        if self.clock_drift_max_s <= 0 {
            return Err(invalid("clock_drift_max_s", "must be positive".into()));
        }
        let counts = [
            ("voltage_readings", self.voltage_readings),
            ("power_factor_readings", self.power_factor_readings),
            ("frequency_readings", self.frequency_readings),
            ("silent_readings", self.silent_readings),
            ("stuck_readings", self.stuck_readings),
            ("bypass_readings", self.bypass_readings),
            ("reverse_readings", self.reverse_readings),
            ("relay_open_readings", self.relay_open_readings),
            ("clear_readings", self.clear_readings),
            ("slow_min_late_replies", self.slow_min_late_replies),
            ("slow_readings", self.slow_readings),
            ("noise_min_bytes", self.noise_min_bytes),
            ("noise_readings", self.noise_readings),
        ];
        for (key, value) in counts {
            if !(1..=10_000).contains(&value) {
                return Err(invalid(key, format!("must be in 1..=10000, not {value}")));
            }
        }
        Ok(())
    }

    /// Whether local `hour` is inside the PV night window (which may wrap past midnight).
    pub fn pv_night(&self, hour: u32) -> bool {
        let (from, until) = (self.pv_night_from_hour, self.pv_night_until_hour);
        if from <= until {
            (from..until).contains(&hour)
        } else {
            hour >= from || hour < until
        }
    }

    /// Voltage above which the supply is high, V.
    pub fn voltage_high_v(&self) -> f64 {
        self.nominal_voltage_v * (1.0 + self.voltage_upper_pct / 100.0)
    }

    /// Voltage below which the supply is low, V.
    pub fn voltage_low_v(&self) -> f64 {
        self.nominal_voltage_v * (1.0 - self.voltage_lower_pct / 100.0)
    }

    /// Voltage below which the supply is lost, V.
    pub fn voltage_lost_v(&self) -> f64 {
        self.nominal_voltage_v * self.voltage_loss_pct / 100.0
    }
}

fn invalid(key: &'static str, problem: String) -> InvalidDiagnosisConfig {
    InvalidDiagnosisConfig { key, problem }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_national_bands() {
        let config = DiagnosisConfig::default();
        config.validate().unwrap();
        assert!((config.voltage_high_v() - 235.4).abs() < 1e-9);
        assert!((config.voltage_low_v() - 198.0).abs() < 1e-9);
        assert!((config.voltage_lost_v() - 132.0).abs() < 1e-9);
        assert!(config.pv_night(23) && config.pv_night(0) && config.pv_night(4));
        assert!(!config.pv_night(5) && !config.pv_night(12) && !config.pv_night(19));
    }

    #[test]
    fn wrong_parameters_are_named() {
        let wrong = DiagnosisConfig {
            voltage_readings: 0,
            ..DiagnosisConfig::default()
        };
        assert_eq!(wrong.validate().unwrap_err().key, "voltage_readings");
        let wrong = DiagnosisConfig {
            nominal_voltage_v: f64::NAN,
            ..DiagnosisConfig::default()
        };
        assert_eq!(wrong.validate().unwrap_err().key, "nominal_voltage_v");
        let wrong = DiagnosisConfig {
            voltage_loss_pct: 95.0,
            ..DiagnosisConfig::default()
        };
        assert_eq!(wrong.validate().unwrap_err().key, "voltage_loss_pct");
        let parsed: Result<DiagnosisConfig, _> = toml::from_str("voltage_readingz = 3");
        assert!(parsed.is_err());
    }
}
