//! Scoring a window of the lake with a model: one row per customer meter, ranked, with the features
//! that pushed its score up as reasons.

use super::clusters::{Clusters, DayCurve, IDLE};
use super::days::FleetDays;
use super::failure_features::failure_features;
use super::model_file::{ModelFile, Payload};
use super::theft_features::{theft_features, MIN_DAYS};
use super::train::scale;
use super::{ModelKind, PredictionError};

/// One meter's score.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRow {
    /// Meter address.
    pub meter_id: String,
    /// Transformer area.
    pub area_id: String,
    /// Higher = more likely (theft, anomaly, a fault within the horizon), 0–1.
    pub score: f64,
    /// 1 for the highest score.
    pub rank: usize,
    /// The features that raised the score most, with their z-scores against the training fleet.
    pub reasons: Vec<(String, f64)>,
}

/// One meter's usage class.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassRow {
    /// Meter address.
    pub meter_id: String,
    /// Usage class ([`Clusters::names`], or `idle`).
    pub usage_class: String,
    /// Cluster index (none for idle meters).
    pub cluster: Option<usize>,
    /// Distance of its shape to the cluster centre.
    pub distance: Option<f64>,
    /// Average daily energy, kWh.
    pub daily_kwh: f64,
}

/// Up to three features with the largest `importance × direction × z` above zero.
fn reasons(model: &ModelFile, row: &[f64], importance: &[f64]) -> Vec<(String, f64)> {
    let Some(scaler) = &model.scaler else {
        return Vec::new();
    };
    let mut pushes: Vec<(usize, f64, f64)> = (0..row.len())
        .map(|f| {
            let z = scaler.z(f, row[f]);
            let weight = importance.get(f).copied().unwrap_or(1.0);
            let direction = model.direction.get(f).copied().unwrap_or(1.0);
            (f, z, weight * (direction * z).max(0.0))
        })
        .filter(|(_, _, push)| *push > 0.0)
        .collect();
    pushes.sort_by(|a, b| b.2.total_cmp(&a.2));
    pushes
        .into_iter()
        .take(3)
        .map(|(f, z, _)| (model.features[f].clone(), (z * 10.0).round() / 10.0))
        .collect()
}

fn ranked(mut rows: Vec<ScoreRow>) -> Vec<ScoreRow> {
    rows.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.meter_id.cmp(&b.meter_id))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    rows
}

/// Scores every customer meter of `fleet` with a theft, anomaly or failure model (the failure model at
/// the window's last day).
pub fn score(fleet: &FleetDays, model: &ModelFile) -> Result<Vec<ScoreRow>, PredictionError> {
    let rows = match model.kind {
        ModelKind::Theft | ModelKind::Anomaly => {
            if fleet.len() < MIN_DAYS {
                return Err(PredictionError::TooLittleHistory(format!(
                    "{}..={} is {} days; a theft score needs at least {MIN_DAYS}",
                    fleet.from,
                    fleet.to,
                    fleet.len()
                )));
            }
            theft_features(fleet)
        }
        ModelKind::Failure => {
            if fleet.len() < super::failure_features::MIN_DAYS {
                return Err(PredictionError::TooLittleHistory(format!(
                    "{}..={} is {} days; the failure model needs at least {}",
                    fleet.from,
                    fleet.to,
                    fleet.len(),
                    super::failure_features::MIN_DAYS
                )));
            }
            failure_features(fleet, fleet.len() - 1)
        }
        ModelKind::Clusters => {
            return Err(PredictionError::Model(
                "a clusters model classifies curves; use classify".into(),
            ))
        }
    };
    if rows.is_empty() {
        return Err(PredictionError::TooLittleHistory(format!(
            "no customer meter has enough readings in {}..={}",
            fleet.from, fleet.to
        )));
    }
    let scored = rows
        .into_iter()
        .map(|(meter_id, area_id, features)| {
            let (score, importance) = match &model.model {
                Payload::Forest(forest) => (forest.score(&features), forest.importance.clone()),
                Payload::Isolation(forest) => {
                    let scaler = model.scaler.as_ref().ok_or_else(|| {
                        PredictionError::Model("an anomaly model without its scaler".into())
                    })?;
                    (forest.score(&scale(scaler, &features)), Vec::new())
                }
                Payload::Clusters(_) => (0.0, Vec::new()),
            };
            Ok(ScoreRow {
                reasons: reasons(model, &features, &importance),
                meter_id,
                area_id,
                score,
                rank: 0,
            })
        })
        .collect::<Result<Vec<_>, PredictionError>>()?;
    Ok(ranked(scored))
}

/// Every curve's usage class.
pub fn classify(curves: &[DayCurve], clusters: &Clusters) -> Vec<ClassRow> {
    curves
        .iter()
        .map(|c| {
            let assigned = clusters.assign(c);
            ClassRow {
                meter_id: c.meter_id.clone(),
                usage_class: assigned.map_or(IDLE.to_string(), |(i, _)| clusters.names[i].clone()),
                cluster: assigned.map(|(i, _)| i),
                distance: assigned.map(|(_, d)| d),
                daily_kwh: c.mean_kwh * 96.0,
            }
        })
        .collect()
}
