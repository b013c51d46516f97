//! Load profiles: how much power a simulated household draws at a given local time.
//!
//! The residential profile is stepwise per 15-minute slot: a night base load, a morning and an evening peak,
//! a midday bump that is larger (and a morning peak that is later) at weekends, a seasonal factor (winter
//! heating and summer air conditioning raise the load, spring and autumn lower it) and per-slot noise.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike, Weekday};

/// Seconds in one profile slot.
const SLOT_SECONDS: i64 = 900;

/// Relative load of the 15th of each month (January first); other days interpolate linearly.
const MONTH_FACTOR: [f64; 12] = [
    1.35, 1.30, 1.05, 0.85, 0.85, 1.10, 1.40, 1.40, 1.05, 0.85, 0.95, 1.25,
];

/// The power demand of a simulated meter.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadProfile {
    /// A constant demand in watts (used by tests that compute bills by hand).
    Constant {
        /// Demand in W.
        watts: f64,
    },
    /// A residential day, 15-minute slots: night base load, morning and evening peaks, weekday/weekend shape,
    /// season and noise.
    Residential {
        /// Household scale: 1.0 is an average household (~8 kWh/day in spring); see [`household_scale`].
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
                let slot = t.and_utc().timestamp().div_euclid(SLOT_SECONDS);
                // The middle of the 15-minute slot.
                let hour = f64::from(t.hour()) + f64::from(t.minute() / 15) * 0.25 + 0.125;
                let bump = |centre: f64, width: f64, height: f64| {
                    height * (-((hour - centre) / width).powi(2)).exp()
                };
                let weekend = matches!(t.weekday(), Weekday::Sat | Weekday::Sun);
                let (morning, midday) = if weekend { (8.5, 500.0) } else { (7.5, 200.0) };
                let base = 120.0
                    + bump(morning, 1.0, 450.0)
                    + bump(12.5, 1.5, midday)
                    + bump(20.0, 1.8, 900.0);
                let noise = 0.85 + 0.3 * unit_hash(seed, slot as u64);
                (base * season_factor(t.date()) * scale * noise).max(0.0)
            }
        }
    }
}

/// Relative load of a day of the year: about 1.35 in January and July/August, 0.85 in April/May and October.
pub fn season_factor(date: NaiveDate) -> f64 {
    let month = date.month0() as usize;
    let this = MONTH_FACTOR[month];
    let next = MONTH_FACTOR[(month + 1) % 12];
    let days = days_in_month(date);
    // The factor belongs to the 15th; interpolate towards the neighbouring month.
    let offset = f64::from(date.day()) - 15.0;
    if offset >= 0.0 {
        this + (next - this) * offset / f64::from(days)
    } else {
        let previous = MONTH_FACTOR[(month + 11) % 12];
        this + (this - previous) * offset / f64::from(days)
    }
}

fn days_in_month(date: NaiveDate) -> u32 {
    let first = date.with_day(1).unwrap_or(date);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    u32::try_from((next - first).num_days())
        .unwrap_or(30)
        .max(1)
}

/// The load scale of a household of `persons` (clamped to 1..=6): 0.7 for one person, 1.2 for three, 1.95 for six.
pub fn household_scale(persons: u8) -> f64 {
    0.45 + 0.25 * f64::from(persons.clamp(1, 6))
}

/// A household size in 1..=6 drawn from `u` in [0, 1) (shares 15/30/25/15/10/5 %).
pub fn household_size(u: f64) -> u8 {
    const CUMULATIVE: [f64; 5] = [0.15, 0.45, 0.70, 0.85, 0.95];
    1 + CUMULATIVE.iter().filter(|c| u >= **c).count() as u8
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

    fn daily_wh(p: &LoadProfile, day: NaiveDate) -> f64 {
        (0..96)
            .map(|i| {
                p.watts(day.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::minutes(15 * i)) / 4.0
            })
            .sum()
    }

    fn profile() -> LoadProfile {
        LoadProfile::Residential {
            scale: 1.0,
            seed: 7,
        }
    }

    #[test]
    fn evening_peak_exceeds_night_and_noise_is_deterministic() {
        let p = profile();
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let night = p.watts(day.and_hms_opt(3, 0, 0).unwrap());
        let evening = p.watts(day.and_hms_opt(20, 0, 0).unwrap());
        assert!(evening > 3.0 * night, "{evening} vs {night}");
        assert_eq!(evening, p.watts(day.and_hms_opt(20, 0, 0).unwrap()));
        // Constant inside a 15-minute slot.
        assert_eq!(evening, p.watts(day.and_hms_opt(20, 14, 59).unwrap()));
        let daily = daily_wh(&p, day);
        assert!((4_000.0..14_000.0).contains(&daily), "{daily} Wh/day");
    }

    #[test]
    fn winter_and_summer_days_use_more_than_spring_days() {
        let p = profile();
        // All three are Wednesdays.
        let winter = daily_wh(&p, NaiveDate::from_ymd_opt(2026, 1, 14).unwrap());
        let spring = daily_wh(&p, NaiveDate::from_ymd_opt(2026, 4, 15).unwrap());
        let summer = daily_wh(&p, NaiveDate::from_ymd_opt(2026, 7, 15).unwrap());
        assert!(winter > 1.3 * spring, "winter {winter} spring {spring}");
        assert!(summer > 1.3 * spring, "summer {summer} spring {spring}");
        assert!((season_factor(NaiveDate::from_ymd_opt(2026, 1, 15).unwrap()) - 1.35).abs() < 1e-9);
    }

    #[test]
    fn weekend_midday_is_higher_and_morning_peak_later() {
        let p = profile();
        let wednesday = NaiveDate::from_ymd_opt(2026, 4, 15).unwrap();
        let saturday = NaiveDate::from_ymd_opt(2026, 4, 18).unwrap();
        let at = |d: NaiveDate, h: u32, m: u32| p.watts(d.and_hms_opt(h, m, 0).unwrap());
        assert!(at(saturday, 12, 30) > 1.3 * at(wednesday, 12, 30));
        // The weekend morning peak is at 08:30, the weekday one at 07:30.
        assert!(at(saturday, 8, 30) > 1.3 * at(saturday, 6, 30));
        assert!(at(wednesday, 7, 30) > 1.3 * at(wednesday, 9, 30));
    }

    #[test]
    fn household_scale_grows_with_persons() {
        assert_eq!(household_scale(1), 0.7);
        assert_eq!(household_scale(6), 1.95);
        assert_eq!(household_scale(9), 1.95);
        assert_eq!(household_size(0.0), 1);
        assert_eq!(household_size(0.5), 3);
        assert_eq!(household_size(0.999), 6);
    }
}
