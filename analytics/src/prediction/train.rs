//! Training each kind of model from a window of the lake and what is known about its meters.

use std::collections::BTreeMap;

use super::clusters::{silhouette, Clusters, DayCurve};
use super::days::FleetDays;
use super::failure_features::{failure_features, MIN_DAYS as FAILURE_MIN_DAYS};
use super::forest::{Forest, ForestParams};
use super::isolation::IsolationForest;
use super::metrics::auc;
use super::model_file::{ModelFile, Payload, Training, FORMAT};
use super::stats::{mean, RobustScaler};
use super::theft_features::theft_features;
use super::{Labels, ModelKind, PredictionError};

/// Rows, answers and the window they came from.
struct Examples {
    rows: Vec<Vec<f64>>,
    answers: Vec<bool>,
    meters: Vec<String>,
}

fn training(fleet: &FleetDays, seed: u64, rows: usize, positives: usize) -> Training {
    Training {
        from: fleet.from,
        to: fleet.to,
        lake_version: fleet.lake_version,
        seed,
        rows,
        positives,
    }
}

fn version(kind: ModelKind, fleet: &FleetDays, seed: u64) -> String {
    format!(
        "{kind}-s{seed}-{}-v{}",
        fleet.to,
        fleet
            .lake_version
            .map_or("none".to_string(), |v| v.to_string())
    )
}

/// +1 where positives have higher z-scores on average, −1 where lower.
fn directions(scaler: &RobustScaler, e: &Examples, features: usize) -> Vec<f64> {
    (0..features)
        .map(|f| {
            let z = |want: bool| {
                mean(
                    e.rows
                        .iter()
                        .zip(&e.answers)
                        .filter(|(_, a)| **a == want)
                        .map(|(r, _)| scaler.z(f, r[f])),
                )
            };
            if z(true) >= z(false) {
                1.0
            } else {
                -1.0
            }
        })
        .collect()
}

/// A forest model over `e`: the holdout AUC of a model trained on the other four fifths (meters split
/// by a hash of their address), then the model on all rows.
fn forest_model(
    kind: ModelKind,
    fleet: &FleetDays,
    e: Examples,
    params: ForestParams,
    seed: u64,
    horizon_days: Option<u32>,
) -> Result<ModelFile, PredictionError> {
    let features = ModelFile::expected_features(kind);
    let holdout = |m: &str| {
        m.bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
            % 5
            == 0
    };
    let split = |keep: bool| -> (Vec<Vec<f64>>, Vec<bool>) {
        e.rows
            .iter()
            .zip(&e.answers)
            .zip(&e.meters)
            .filter(|(_, m)| holdout(m) == keep)
            .map(|((r, a), _)| (r.clone(), *a))
            .unzip()
    };
    let mut metrics = BTreeMap::new();
    let (train_x, train_y) = split(false);
    let (test_x, test_y) = split(true);
    if let Ok(partial) = Forest::train(&train_x, &train_y, params, seed) {
        let scores: Vec<f64> = test_x.iter().map(|r| partial.score(r)).collect();
        let value = auc(&scores, &test_y);
        if value.is_finite() {
            metrics.insert("holdout_auc".to_string(), value);
        }
    }
    let forest = Forest::train(&e.rows, &e.answers, params, seed)?;
    let scores: Vec<f64> = e.rows.iter().map(|r| forest.score(r)).collect();
    metrics.insert("training_auc".to_string(), auc(&scores, &e.answers));
    let scaler = RobustScaler::fit(&e.rows, features.len());
    let positives = e.answers.iter().filter(|a| **a).count();
    Ok(ModelFile {
        format: FORMAT,
        kind,
        version: version(kind, fleet, seed),
        direction: directions(&scaler, &e, features.len()),
        features,
        window_days: u32::try_from(fleet.len()).unwrap_or(u32::MAX),
        horizon_days,
        training: training(fleet, seed, e.rows.len(), positives),
        metrics,
        scaler: Some(scaler),
        model: Payload::Forest(forest),
    })
}

/// The theft classifier: meters that steal during the window are the positives.
pub fn train_theft(
    fleet: &FleetDays,
    labels: &Labels,
    params: ForestParams,
    seed: u64,
) -> Result<ModelFile, PredictionError> {
    let rows = theft_features(fleet);
    if rows.is_empty() {
        return Err(PredictionError::TooLittleHistory(format!(
            "no customer meter has {} days of readings in {}..={}",
            super::theft_features::MIN_DAYS,
            fleet.from,
            fleet.to
        )));
    }
    let e = Examples {
        answers: rows
            .iter()
            .map(|(m, _, _)| labels.steals(m, fleet.to))
            .collect(),
        meters: rows.iter().map(|(m, _, _)| m.clone()).collect(),
        rows: rows.into_iter().map(|(_, _, f)| f).collect(),
    };
    forest_model(ModelKind::Theft, fleet, e, params, seed, None)
}

/// The failing-meter predictor: at cutoffs every week back from the window's end (each with at least
/// three weeks before it), a meter whose fault starts within `horizon` days after the cutoff is a
/// positive; a meter that has failed already is left out.
pub fn train_failure(
    fleet: &FleetDays,
    labels: &Labels,
    horizon: u32,
    params: ForestParams,
    seed: u64,
) -> Result<ModelFile, PredictionError> {
    if fleet.len() < FAILURE_MIN_DAYS {
        return Err(PredictionError::TooLittleHistory(format!(
            "the failure model needs {FAILURE_MIN_DAYS} days, the window has {}",
            fleet.len()
        )));
    }
    let mut e = Examples {
        rows: Vec::new(),
        answers: Vec::new(),
        meters: Vec::new(),
    };
    let mut cutoff = fleet.len() - 1;
    loop {
        let day = fleet.from + chrono::TimeDelta::days(cutoff as i64);
        for (meter, _, features) in failure_features(fleet, cutoff) {
            if let Some(answer) = labels.fails_within(&meter, day, horizon) {
                e.rows.push(features);
                e.answers.push(answer);
                e.meters.push(meter);
            }
        }
        if cutoff < FAILURE_MIN_DAYS - 1 + 7 {
            break;
        }
        cutoff -= 7;
    }
    forest_model(ModelKind::Failure, fleet, e, params, seed, Some(horizon))
}

/// The anomaly model: an isolation forest over the theft features' robust z-scores; no labels.
pub fn train_anomaly(fleet: &FleetDays, seed: u64) -> Result<ModelFile, PredictionError> {
    let features = ModelFile::expected_features(ModelKind::Anomaly);
    let rows: Vec<Vec<f64>> = theft_features(fleet)
        .into_iter()
        .map(|(_, _, f)| f)
        .collect();
    if rows.len() < 2 {
        return Err(PredictionError::TooLittleHistory(format!(
            "{} customer meters have enough readings in {}..={}",
            rows.len(),
            fleet.from,
            fleet.to
        )));
    }
    let scaler = RobustScaler::fit(&rows, features.len());
    let scaled: Vec<Vec<f64>> = rows.iter().map(|r| scale(&scaler, r)).collect();
    let forest = IsolationForest::fit(&scaled, 200, seed)?;
    Ok(ModelFile {
        format: FORMAT,
        kind: ModelKind::Anomaly,
        version: version(ModelKind::Anomaly, fleet, seed),
        direction: vec![1.0; features.len()],
        features,
        window_days: u32::try_from(fleet.len()).unwrap_or(u32::MAX),
        horizon_days: None,
        training: training(fleet, seed, rows.len(), 0),
        metrics: BTreeMap::new(),
        scaler: Some(scaler),
        model: Payload::Isolation(forest),
    })
}

/// Robust z-scores of a row.
pub fn scale(scaler: &RobustScaler, row: &[f64]) -> Vec<f64> {
    row.iter()
        .enumerate()
        .map(|(f, v)| scaler.z(f, *v))
        .collect()
}

/// Load-profile clusters over the meters' average days, with the silhouette of a sample of up to
/// 2,000 meters among the metrics.
pub fn train_clusters(
    fleet: &FleetDays,
    curves: &[DayCurve],
    k: usize,
    seed: u64,
) -> Result<ModelFile, PredictionError> {
    let clusters = Clusters::fit(curves, k, seed)?;
    let assigned: Vec<(&DayCurve, usize)> = curves
        .iter()
        .filter_map(|c| clusters.assign(c).map(|(i, _)| (c, i)))
        .collect();
    let step = (assigned.len() / 2000).max(1);
    let sample: Vec<&(&DayCurve, usize)> = assigned.iter().step_by(step).collect();
    let points: Vec<&[f64]> = sample.iter().map(|(c, _)| c.shape.as_slice()).collect();
    let labels: Vec<usize> = sample.iter().map(|(_, i)| *i).collect();
    let mut metrics = BTreeMap::new();
    metrics.insert("silhouette".to_string(), silhouette(&points, &labels));
    for (i, name) in clusters.names.iter().enumerate() {
        let size = assigned.iter().filter(|(_, c)| *c == i).count();
        metrics.insert(format!("size_{name}"), size as f64);
    }
    Ok(ModelFile {
        format: FORMAT,
        kind: ModelKind::Clusters,
        version: version(ModelKind::Clusters, fleet, seed),
        features: Vec::new(),
        window_days: u32::try_from(fleet.len()).unwrap_or(u32::MAX),
        horizon_days: None,
        training: training(fleet, seed, curves.len(), 0),
        metrics,
        scaler: None,
        direction: Vec::new(),
        model: Payload::Clusters(clusters),
    })
}
