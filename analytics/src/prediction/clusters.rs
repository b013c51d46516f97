//! Load-profile clustering: each customer's average day (96 quarter-hours) divided by its own mean, so
//! that only the shape counts, grouped by `linfa-clustering` KMeans; each cluster is named from its
//! centre's shape (when in the day the energy goes) for planners and for energy-saving advice.

use std::collections::{BTreeMap, HashMap};

use arrow::array::{Float64Array, Int32Array};
use chrono::NaiveDate;
use linfa::traits::Fit;
use linfa::DatasetBase;
use linfa_clustering::KMeans;
use ndarray::Array2;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::PredictionError;
use crate::columns::{strings, typed};
use crate::LakeSession;

/// Quarter-hours in a day.
pub const SLOTS: usize = 96;

/// Average energy per quarter-hour below which a meter is called idle (about 1 kWh a day).
const IDLE_KWH: f64 = 0.01;

/// Name of the class of meters that use almost nothing.
pub const IDLE: &str = "idle";

/// A customer's average day.
#[derive(Debug, Clone, PartialEq)]
pub struct DayCurve {
    /// Meter address.
    pub meter_id: String,
    /// Mean energy per quarter-hour, kWh.
    pub mean_kwh: f64,
    /// The 96 quarter-hours divided by their mean (all zero for an idle meter).
    pub shape: Vec<f64>,
}

/// Every customer meter's average day over `from..=to` (`interval_energy`, registry kind `customer`).
pub async fn day_curves(
    session: &LakeSession,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DayCurve>, PredictionError> {
    let batches = session
        .query(&format!(
            "SELECT i.meter_id, i.slot, CAST(avg(i.energy_kwh) AS DOUBLE)
             FROM interval_energy i JOIN (SELECT DISTINCT meter_id FROM meters WHERE kind = 'customer') m
               ON i.meter_id = m.meter_id
             WHERE i.date BETWEEN DATE '{from}' AND DATE '{to}' AND i.slot BETWEEN 0 AND 95
             GROUP BY i.meter_id, i.slot"
        ))
        .await?;
    let mut curves: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for batch in &batches {
        let ids = strings(batch, 0)?;
        let slots = typed::<Int32Array>(batch, 1)?;
        let kwh = typed::<Float64Array>(batch, 2)?;
        for row in 0..batch.num_rows() {
            let slot = usize::try_from(slots.value(row))
                .unwrap_or(0)
                .min(SLOTS - 1);
            curves
                .entry(ids.value(row).to_string())
                .or_insert_with(|| vec![0.0; SLOTS])[slot] = kwh.value(row);
        }
    }
    Ok(curves
        .into_iter()
        .map(|(meter_id, curve)| shape_of(meter_id, curve))
        .collect())
}

/// A curve reduced to its shape.
pub fn shape_of(meter_id: String, curve: Vec<f64>) -> DayCurve {
    let mean_kwh = curve.iter().sum::<f64>() / SLOTS as f64;
    let shape = if mean_kwh < IDLE_KWH {
        vec![0.0; SLOTS]
    } else {
        curve.iter().map(|v| v / mean_kwh).collect()
    };
    DayCurve {
        meter_id,
        mean_kwh,
        shape,
    }
}

/// Fitted cluster centres and their names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clusters {
    /// Each centre's 96 quarter-hours.
    pub centroids: Vec<Vec<f64>>,
    /// Each centre's usage class.
    pub names: Vec<String>,
}

/// A usage class, as named in `meter_clusters.usage_class`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UsageClass {
    /// Almost no use (a vacant home).
    Idle,
    /// An always-on load: little difference between day and night.
    Flat,
    /// Use during business hours, little at night (a shop or office).
    BusinessHours,
    /// Use through the day at home.
    DaytimeHome,
    /// Use late in the evening.
    LateEvening,
    /// Use in the morning and evening, out at work in between.
    MorningEvening,
}

impl UsageClass {
    /// Every class.
    pub const ALL: [UsageClass; 6] = [
        Self::Idle,
        Self::Flat,
        Self::BusinessHours,
        Self::DaytimeHome,
        Self::LateEvening,
        Self::MorningEvening,
    ];

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => IDLE,
            Self::Flat => "flat",
            Self::BusinessHours => "business_hours",
            Self::DaytimeHome => "daytime_home",
            Self::LateEvening => "late_evening",
            Self::MorningEvening => "morning_evening",
        }
    }

    /// The class a stored name names.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }
}

fn part(shape: &[f64], from_hour: usize, to_hour: usize) -> f64 {
    shape[from_hour * 4..to_hour * 4].iter().sum::<f64>() / SLOTS as f64
}

/// The usage class a centre's shape suggests: `flat` (an always-on load), `business_hours`,
/// `daytime_home`, `late_evening` or `morning_evening` (out at work).
pub fn class_name(shape: &[f64]) -> &'static str {
    let peak = shape.iter().cloned().fold(0.0, f64::max);
    let (night, day, late) = (part(shape, 0, 6), part(shape, 9, 17), part(shape, 21, 24));
    let class = if peak < 1.0 {
        UsageClass::Idle
    } else if peak < 1.9 {
        UsageClass::Flat
    } else if day >= 0.42 && night < 0.12 {
        UsageClass::BusinessHours
    } else if day >= 0.36 {
        UsageClass::DaytimeHome
    } else if late >= 0.2 {
        UsageClass::LateEvening
    } else {
        UsageClass::MorningEvening
    };
    class.name()
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt()
}

impl Clusters {
    /// KMeans with `k` clusters over the non-idle curves, reproducibly from `seed`.
    pub fn fit(curves: &[DayCurve], k: usize, seed: u64) -> Result<Self, PredictionError> {
        let active: Vec<&DayCurve> = curves.iter().filter(|c| c.mean_kwh >= IDLE_KWH).collect();
        if k == 0 || active.len() < k {
            return Err(PredictionError::Training(format!(
                "{} active meters cannot form {k} clusters",
                active.len()
            )));
        }
        let records = Array2::from_shape_fn((active.len(), SLOTS), |(r, c)| active[r].shape[c]);
        let model = KMeans::params_with_rng(k, ChaCha8Rng::seed_from_u64(seed))
            .max_n_iterations(300)
            .tolerance(1e-6)
            .fit(&DatasetBase::from(records))
            .map_err(|e| PredictionError::Model(e.to_string()))?;
        let mut centroids: Vec<Vec<f64>> = model
            .centroids()
            .rows()
            .into_iter()
            .map(|r| r.to_vec())
            .collect();
        // A stable order: by the share of the day's energy used in the evening.
        centroids.sort_by(|a, b| part(a, 17, 24).total_cmp(&part(b, 17, 24)));
        let mut seen: HashMap<&str, usize> = HashMap::new();
        let names = centroids
            .iter()
            .map(|c| {
                let base = class_name(c);
                let n = seen.entry(base).or_insert(0);
                *n += 1;
                if *n == 1 {
                    base.to_string()
                } else {
                    format!("{base}_{n}")
                }
            })
            .collect();
        Ok(Self { centroids, names })
    }

    /// The nearest centre of `curve` and the distance to it; `None` for an idle meter.
    pub fn assign(&self, curve: &DayCurve) -> Option<(usize, f64)> {
        if curve.mean_kwh < IDLE_KWH {
            return None;
        }
        self.centroids
            .iter()
            .enumerate()
            .map(|(i, c)| (i, distance(&curve.shape, c)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// The usage class of `curve`.
    pub fn class_of(&self, curve: &DayCurve) -> &str {
        match self.assign(curve) {
            Some((i, _)) => &self.names[i],
            None => IDLE,
        }
    }
}

/// Mean silhouette of the assignment `labels` of `points` (−1 to 1; higher is better separated).
pub fn silhouette(points: &[&[f64]], labels: &[usize]) -> f64 {
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let mut total = 0.0;
    let mut counted = 0usize;
    for (i, p) in points.iter().enumerate() {
        let mut sums = vec![(0.0, 0usize); k];
        for (j, q) in points.iter().enumerate() {
            if i != j {
                sums[labels[j]].0 += distance(p, q);
                sums[labels[j]].1 += 1;
            }
        }
        let own = sums[labels[i]];
        if own.1 == 0 {
            continue;
        }
        let a = own.0 / own.1 as f64;
        let b = sums
            .iter()
            .enumerate()
            .filter(|(c, s)| *c != labels[i] && s.1 > 0)
            .map(|(_, s)| s.0 / s.1 as f64)
            .fold(f64::INFINITY, f64::min);
        if b.is_finite() {
            total += (b - a) / a.max(b);
            counted += 1;
        }
    }
    if counted == 0 {
        0.0
    } else {
        total / counted as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(meter: usize, peak_hour: f64, flat: bool) -> DayCurve {
        let values: Vec<f64> = (0..SLOTS)
            .map(|s| {
                let hour = s as f64 / 4.0;
                let noise = 1.0 + 0.05 * ((meter * 31 + s * 7) % 11) as f64 / 11.0;
                let bump = if flat {
                    0.0
                } else {
                    2.0 * (-((hour - peak_hour) / 1.5).powi(2)).exp()
                };
                (0.1 + bump) * noise
            })
            .collect();
        shape_of(format!("{meter:03}"), values)
    }

    #[test]
    fn synthetic_shapes_fall_into_their_own_clusters() {
        let mut curves = Vec::new();
        for m in 0..40 {
            curves.push(curve(m, 20.0, false));
            curves.push(curve(m + 100, 13.0, false));
            curves.push(curve(m + 200, 0.0, true));
        }
        curves.push(shape_of("idle".into(), vec![0.001; SLOTS]));
        let clusters = Clusters::fit(&curves, 3, 11).unwrap();
        let mut classes: Vec<&str> = curves[..3].iter().map(|c| clusters.class_of(c)).collect();
        assert_eq!(classes, ["morning_evening", "business_hours", "flat"]);
        for (i, c) in curves.iter().take(120).enumerate() {
            assert_eq!(clusters.class_of(c), classes[i % 3], "{}", c.meter_id);
        }
        assert_eq!(clusters.class_of(&curves[120]), IDLE);
        let points: Vec<&[f64]> = curves[..120].iter().map(|c| c.shape.as_slice()).collect();
        let labels: Vec<usize> = curves[..120]
            .iter()
            .map(|c| clusters.assign(c).unwrap().0)
            .collect();
        assert!(silhouette(&points, &labels) > 0.7);
        classes.sort();
        assert_eq!(Clusters::fit(&curves, 3, 11).unwrap(), clusters);
    }
}
