//! Load profiles: how much power a simulated household draws at a given local time.

use chrono::{Datelike, NaiveDateTime, Timelike, Weekday};

/// The power demand of a simulated meter.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadProfile {
    /// A constant demand in watts (used by tests that compute bills by hand).
    Constant {
        /// Demand in W.
        watts: f64,
    },
    /// A residential day: night base load, morning and evening peaks, more at weekends, with noise.
    Residential {
        /// Household scale: 1.0 is an average household (~8 kWh/day).
        scale: f64,
        /// Seed of the per-meter noise.
        seed: u64,
    },
}

impl LoadProfile {
    /// Demand in watts at local time `t`.
    pub fn watts(&self, t: NaiveDateTime) -> f64 {
        match *self {
            Self::Constant { watts } => watts,
            Self::Residential { scale, seed } => {
                let hour = f64::from(t.hour()) + f64::from(t.minute()) / 60.0;
                let bump = |centre: f64, width: f64, height: f64| {
                    height * (-((hour - centre) / width).powi(2)).exp()
                };
                let weekend = matches!(t.weekday(), Weekday::Sat | Weekday::Sun);
                let base = 120.0
                    + bump(7.5, 1.0, 450.0)
                    + bump(12.5, 1.5, if weekend { 500.0 } else { 200.0 })
                    + bump(20.0, 1.8, 900.0);
                let slot = t.and_utc().timestamp() / 900;
                let noise = 0.85 + 0.3 * unit_hash(seed, slot as u64);
                (base * scale * noise).max(0.0)
            }
        }
    }
}

/// A deterministic number in [0, 1) from a seed and a slot (splitmix64).
pub fn unit_hash(seed: u64, slot: u64) -> f64 {
    let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(slot);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evening_peak_exceeds_night_and_noise_is_deterministic() {
        let p = LoadProfile::Residential {
            scale: 1.0,
            seed: 7,
        };
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let night = p.watts(day.and_hms_opt(3, 0, 0).unwrap());
        let evening = p.watts(day.and_hms_opt(20, 0, 0).unwrap());
        assert!(evening > 3.0 * night, "{evening} vs {night}");
        assert_eq!(evening, p.watts(day.and_hms_opt(20, 0, 0).unwrap()));
        let daily: f64 = (0..96)
            .map(|i| {
                p.watts(day.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::minutes(15 * i)) / 4.0
            })
            .sum();
        assert!((4_000.0..14_000.0).contains(&daily), "{daily} Wh/day");
    }
}
