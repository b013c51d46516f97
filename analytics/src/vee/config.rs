//! VEE parameters (`[vee]` in the configuration file): limits per meter kind and the estimation choice;
//! `docs/vee.md` gives the reason for every default.

use serde::{Deserialize, Deserializer, Serialize};

/// Limits that depend on what a meter measures: a household, or a transformer area's supply meter that
/// legitimately records the whole area. In the configuration a kind's section overrides its own
/// defaults key by key ([`KindLimits::customer`], [`KindLimits::supply`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KindLimits {
    /// Largest plausible energy of one interval, kWh.
    pub max_interval_kwh: f64,
    /// A day's interval is a spike when it exceeds this many times the day's third-highest interval …
    pub spike_ratio: f64,
    /// … and at least this energy, kWh.
    pub spike_min_kwh: f64,
    /// Current, A, at both ends of an interval whose register did not move that makes it invalid.
    pub zero_with_current_a: f64,
    /// A day above this multiple of the meter's average daily use is flagged high.
    pub high_day_ratio: f64,
    /// A day below this multiple of the average daily use is flagged low …
    pub low_day_ratio: f64,
    /// … when the average is at least this, kWh.
    pub usage_min_average_kwh: f64,
}

impl KindLimits {
    /// The limits for a household meter.
    pub fn customer() -> Self {
        Self {
            max_interval_kwh: 10.0,
            spike_ratio: 5.0,
            spike_min_kwh: 1.5,
            zero_with_current_a: 1.0,
            high_day_ratio: 3.0,
            low_day_ratio: 0.1,
            usage_min_average_kwh: 2.0,
        }
    }

    /// The limits for an area's supply (total) meter.
    pub fn supply() -> Self {
        Self {
            max_interval_kwh: 250.0,
            spike_ratio: 5.0,
            spike_min_kwh: 30.0,
            zero_with_current_a: 5.0,
            high_day_ratio: 2.0,
            low_day_ratio: 0.3,
            usage_min_average_kwh: 20.0,
        }
    }
}

/// A kind's section as written: every key optional, over the kind's defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitOverrides {
    max_interval_kwh: Option<f64>,
    spike_ratio: Option<f64>,
    spike_min_kwh: Option<f64>,
    zero_with_current_a: Option<f64>,
    high_day_ratio: Option<f64>,
    low_day_ratio: Option<f64>,
    usage_min_average_kwh: Option<f64>,
}

impl LimitOverrides {
    fn over(self, base: KindLimits) -> KindLimits {
        KindLimits {
            max_interval_kwh: self.max_interval_kwh.unwrap_or(base.max_interval_kwh),
            spike_ratio: self.spike_ratio.unwrap_or(base.spike_ratio),
            spike_min_kwh: self.spike_min_kwh.unwrap_or(base.spike_min_kwh),
            zero_with_current_a: self.zero_with_current_a.unwrap_or(base.zero_with_current_a),
            high_day_ratio: self.high_day_ratio.unwrap_or(base.high_day_ratio),
            low_day_ratio: self.low_day_ratio.unwrap_or(base.low_day_ratio),
            usage_min_average_kwh: self
                .usage_min_average_kwh
                .unwrap_or(base.usage_min_average_kwh),
        }
    }
}

fn customer_limits<'de, D: Deserializer<'de>>(d: D) -> Result<KindLimits, D::Error> {
    Ok(LimitOverrides::deserialize(d)?.over(KindLimits::customer()))
}

fn supply_limits<'de, D: Deserializer<'de>>(d: D) -> Result<KindLimits, D::Error> {
    Ok(LimitOverrides::deserialize(d)?.over(KindLimits::supply()))
}

/// Which estimation fills a run of intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Estimation {
    /// Linear for runs up to `linear_max_intervals`, the profile for longer ones (linear when the
    /// meter has no profile yet).
    Auto,
    /// Always linear.
    Linear,
    /// Always the profile (linear when the meter has none).
    Profile,
}

/// Every VEE parameter.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct VeeConfig {
    /// Household meters.
    #[serde(deserialize_with = "customer_limits")]
    pub customer: KindLimits,
    /// Supply (total) meters of transformer areas.
    #[serde(deserialize_with = "supply_limits")]
    pub supply: KindLimits,
    /// Largest difference, kWh, between the TOU registers' sum and the total register over one
    /// interval (each register rounds to 0.01 kWh on its own).
    pub tou_tolerance_kwh: f64,
    /// Largest meter clock offset, s, before intervals are flagged.
    pub clock_drift_max_s: i64,
    /// How gaps and removed values are estimated.
    pub estimation: Estimation,
    /// Longest run, intervals, that `auto` estimates linearly.
    pub linear_max_intervals: u32,
    /// Days before a run that make a meter's profile and average daily use.
    pub history_days: u32,
    /// Least measured intervals a history day needs to count.
    pub history_min_intervals: u32,
    /// A day with more than this share of estimated intervals counts towards prolonged estimation …
    pub prolonged_share: f64,
    /// … and this many such days in a row flag it.
    pub prolonged_days: u32,
}

impl Default for VeeConfig {
    fn default() -> Self {
        Self {
            customer: KindLimits::customer(),
            supply: KindLimits::supply(),
            tou_tolerance_kwh: 0.05,
            clock_drift_max_s: 300,
            estimation: Estimation::Auto,
            linear_max_intervals: 4,
            history_days: 28,
            history_min_intervals: 88,
            prolonged_share: 0.5,
            prolonged_days: 3,
        }
    }
}

/// A VEE parameter out of range.
#[derive(Debug, thiserror::Error)]
#[error("vee.{field} = {value}: {reason}")]
pub struct InvalidVeeConfig {
    /// The parameter.
    pub field: String,
    /// Its value.
    pub value: String,
    /// What is wrong.
    pub reason: &'static str,
}

fn positive(field: String, value: f64) -> Result<(), InvalidVeeConfig> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(InvalidVeeConfig {
            field,
            value: value.to_string(),
            reason: "must be a positive number",
        })
    }
}

impl KindLimits {
    fn validate(&self, kind: &str) -> Result<(), InvalidVeeConfig> {
        for (name, value) in [
            ("max_interval_kwh", self.max_interval_kwh),
            ("spike_ratio", self.spike_ratio),
            ("spike_min_kwh", self.spike_min_kwh),
            ("zero_with_current_a", self.zero_with_current_a),
            ("high_day_ratio", self.high_day_ratio),
            ("low_day_ratio", self.low_day_ratio),
            ("usage_min_average_kwh", self.usage_min_average_kwh),
        ] {
            positive(format!("{kind}.{name}"), value)?;
        }
        if self.low_day_ratio >= 1.0 || self.high_day_ratio <= 1.0 {
            return Err(InvalidVeeConfig {
                field: format!("{kind}.low_day_ratio/high_day_ratio"),
                value: format!("{}/{}", self.low_day_ratio, self.high_day_ratio),
                reason: "the low ratio must be below 1 and the high ratio above 1",
            });
        }
        if self.max_interval_kwh > 1.0e6 {
            return Err(InvalidVeeConfig {
                field: format!("{kind}.max_interval_kwh"),
                value: self.max_interval_kwh.to_string(),
                reason: "must be at most 1,000,000 kWh",
            });
        }
        Ok(())
    }

    /// A kWh limit in micro-kWh (validated limits fit).
    pub(crate) fn e6(kwh: f64) -> i64 {
        (kwh * 1e6).round() as i64
    }
}

impl VeeConfig {
    /// Checks every parameter, naming the first one out of range.
    pub fn validate(&self) -> Result<(), InvalidVeeConfig> {
        self.customer.validate("customer")?;
        self.supply.validate("supply")?;
        positive("tou_tolerance_kwh".into(), self.tou_tolerance_kwh)?;
        positive("prolonged_share".into(), self.prolonged_share)?;
        let counts = [
            ("clock_drift_max_s", self.clock_drift_max_s, 1, 86_400),
            (
                "linear_max_intervals",
                i64::from(self.linear_max_intervals),
                1,
                96,
            ),
            ("history_days", i64::from(self.history_days), 1, 366),
            (
                "history_min_intervals",
                i64::from(self.history_min_intervals),
                1,
                96,
            ),
            ("prolonged_days", i64::from(self.prolonged_days), 1, 366),
        ];
        for (field, value, low, high) in counts {
            if !(low..=high).contains(&value) {
                return Err(InvalidVeeConfig {
                    field: field.into(),
                    value: value.to_string(),
                    reason: "out of range",
                });
            }
        }
        if self.prolonged_share >= 1.0 || self.tou_tolerance_kwh > 1000.0 {
            return Err(InvalidVeeConfig {
                field: "prolonged_share/tou_tolerance_kwh".into(),
                value: format!("{}/{}", self.prolonged_share, self.tou_tolerance_kwh),
                reason: "the share must be below 1 and the tolerance at most 1000 kWh",
            });
        }
        Ok(())
    }

    /// The limits for a meter of this kind.
    pub fn limits(&self, supply: bool) -> &KindLimits {
        if supply {
            &self.supply
        } else {
            &self.customer
        }
    }
}
