//! Rooftop photovoltaics: a daylight bell curve whose length and height follow the season, scaled by a
//! per-day cloudiness drawn from the weather seed.

use chrono::{Datelike, NaiveDateTime, Timelike};

use super::profile::unit_hash;

/// Salt separating cloudiness draws from other uses of the weather seed.
const CLOUD_SALT: u64 = 0xC10D;

/// A rooftop PV system behind a customer meter.
#[derive(Debug, Clone, PartialEq)]
pub struct PvSystem {
    /// AC output at full sun on the summer solstice, in W.
    pub peak_watts: f64,
    /// Seed of the daily cloudiness (meters of one area share their weather).
    pub weather_seed: u64,
}

impl PvSystem {
    /// Output in watts at local time `t` (zero outside daylight).
    ///
    /// Daylight lasts `12 h ± 2.4 h` (longest at the June solstice, latitude ~31° N) centred on 12:00; the
    /// output follows `sin(π x)^1.5` over the day, the sun's height scales it by `0.8 ± 0.2` with the season
    /// and the day's cloudiness by a factor in [0.3, 1.0).
    pub fn watts(&self, t: NaiveDateTime) -> f64 {
        let season = (2.0 * std::f64::consts::PI * (f64::from(t.ordinal()) - 80.0) / 365.25).sin();
        let day_length = 12.0 + 2.4 * season;
        let sunrise = 12.0 - day_length / 2.0;
        let hour =
            f64::from(t.hour()) + f64::from(t.minute()) / 60.0 + f64::from(t.second()) / 3600.0;
        let x = (hour - sunrise) / day_length;
        if !(0.0..1.0).contains(&x) {
            return 0.0;
        }
        let shape = (std::f64::consts::PI * x).sin().powf(1.5);
        let height = 0.8 + 0.2 * season;
        self.peak_watts * shape * height * self.clearness(t)
    }

    /// The day's clear-sky fraction in [0.3, 1.0).
    pub fn clearness(&self, t: NaiveDateTime) -> f64 {
        let day = t.date().num_days_from_ce();
        0.3 + 0.7 * unit_hash(self.weather_seed ^ CLOUD_SALT, day as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(pv: &PvSystem, m: u32, d: u32, h: u32) -> f64 {
        pv.watts(
            NaiveDate::from_ymd_opt(2026, m, d)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap(),
        )
    }

    #[test]
    fn output_only_in_daylight_and_longer_days_in_summer() {
        let pv = PvSystem {
            peak_watts: 3000.0,
            weather_seed: 5,
        };
        assert_eq!(at(&pv, 6, 21, 2), 0.0);
        assert_eq!(at(&pv, 6, 21, 23), 0.0);
        assert!(at(&pv, 6, 21, 12) > 500.0);
        assert!(at(&pv, 6, 21, 12) < 3000.0);
        // 06:00 is after a June sunrise (04:48) and before a December one (07:12).
        assert!(at(&pv, 6, 21, 6) > 0.0);
        assert_eq!(at(&pv, 12, 21, 6), 0.0);
        // Noon output divided by the day's clearness is the clear-sky bell, highest in summer.
        let clear = |m, d| {
            let t = NaiveDate::from_ymd_opt(2026, m, d)
                .unwrap()
                .and_hms_opt(12, 0, 0)
                .unwrap();
            pv.watts(t) / pv.clearness(t)
        };
        assert!((clear(6, 21) - 3000.0).abs() < 1.0, "{}", clear(6, 21));
        assert!(clear(12, 21) < 0.65 * 3000.0);
    }
}
