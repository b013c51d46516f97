//! Model files: one JSON document per trained model, versioned — its kind, the features it reads (in
//! order), the window and horizon, the lake version and seed it was trained with, its metrics and the
//! model itself. A file whose features differ from this build's is refused, not mis-scored.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::clusters::Clusters;
use super::failure_features::FAILURE_FEATURES;
use super::forest::Forest;
use super::isolation::IsolationForest;
use super::stats::RobustScaler;
use super::theft_features::THEFT_FEATURES;
use super::{ModelKind, PredictionError};

/// The file format this build writes and reads.
pub const FORMAT: u32 = 1;

/// The theft model shipped with meterlake, used when `score theft` is given no model file.
const DEFAULT_THEFT: &str = include_str!("../../models/theft-default.json");

/// How a model was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Training {
    /// First local day of the training window.
    pub from: NaiveDate,
    /// Last local day.
    pub to: NaiveDate,
    /// The lake version read.
    pub lake_version: Option<i64>,
    /// The seed every random choice came from.
    pub seed: u64,
    /// Rows trained on (meters, or meter-cutoffs for the failure model).
    pub rows: usize,
    /// Positive rows among them.
    pub positives: usize,
}

/// The model itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Payload {
    /// A random forest (theft, failure).
    Forest(Forest),
    /// An isolation forest (anomaly).
    Isolation(IsolationForest),
    /// Cluster centres (clusters).
    Clusters(Clusters),
}

/// A trained model and what is known about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelFile {
    /// [`FORMAT`].
    pub format: u32,
    /// What it predicts.
    pub kind: ModelKind,
    /// `kind-seed-window end-lake version`, written with every score.
    pub version: String,
    /// The features it reads, in order.
    pub features: Vec<String>,
    /// Days of history it scores over (the window length it was trained with).
    pub window_days: u32,
    /// Days ahead (failure model).
    pub horizon_days: Option<u32>,
    /// How it was trained.
    pub training: Training,
    /// Measured quality (`holdout_auc`, `silhouette`, …).
    pub metrics: BTreeMap<String, f64>,
    /// Each feature's fleet median and spread at training (for reasons and the anomaly score).
    pub scaler: Option<RobustScaler>,
    /// +1 where a higher value points towards a positive, −1 where a lower one does, per feature.
    pub direction: Vec<f64>,
    /// The model.
    pub model: Payload,
}

fn file_error(path: &Path, reason: impl ToString) -> PredictionError {
    PredictionError::File {
        path: path.display().to_string(),
        reason: reason.to_string(),
    }
}

impl ModelFile {
    /// The features this build computes for `kind`.
    pub fn expected_features(kind: ModelKind) -> Vec<String> {
        let names: &[&str] = match kind {
            ModelKind::Theft | ModelKind::Anomaly => &THEFT_FEATURES,
            ModelKind::Failure => &FAILURE_FEATURES,
            ModelKind::Clusters => &[],
        };
        names.iter().map(|s| s.to_string()).collect()
    }

    /// Writes the file (pretty JSON is not needed: one line).
    pub fn save(&self, path: &Path) -> Result<(), PredictionError> {
        let text = serde_json::to_string(self).map_err(|e| file_error(path, e))?;
        std::fs::write(path, text).map_err(|e| file_error(path, e))
    }

    /// Reads and checks a file.
    pub fn load(path: &Path) -> Result<Self, PredictionError> {
        let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
        Self::parse(&text).map_err(|e| file_error(path, e))
    }

    /// The shipped theft model.
    pub fn default_theft() -> Result<Self, PredictionError> {
        Self::parse(DEFAULT_THEFT)
    }

    /// Parses and checks a model document.
    pub fn parse(text: &str) -> Result<Self, PredictionError> {
        let file: Self =
            serde_json::from_str(text).map_err(|e| PredictionError::Model(e.to_string()))?;
        if file.format != FORMAT {
            return Err(PredictionError::Model(format!(
                "format {} (this build reads format {FORMAT})",
                file.format
            )));
        }
        let expected = Self::expected_features(file.kind);
        if file.features != expected {
            return Err(PredictionError::Model(format!(
                "trained on features {:?}; this build computes {:?} — train it again",
                file.features, expected
            )));
        }
        match (&file.model, file.kind) {
            (Payload::Forest(f), ModelKind::Theft | ModelKind::Failure) => {
                f.validate(expected.len())?
            }
            (Payload::Isolation(_), ModelKind::Anomaly)
            | (Payload::Clusters(_), ModelKind::Clusters) => {}
            _ => {
                return Err(PredictionError::Model(format!(
                    "a {} model with the wrong payload",
                    file.kind
                )))
            }
        }
        if file.window_days == 0 {
            return Err(PredictionError::Model("window_days is 0".into()));
        }
        Ok(file)
    }

    /// Refuses `kind` if this file predicts something else.
    pub fn expect_kind(self, kind: ModelKind) -> Result<Self, PredictionError> {
        if self.kind == kind {
            Ok(self)
        } else {
            Err(PredictionError::Model(format!(
                "the file holds a {} model, not a {kind} model",
                self.kind
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_model_loads_and_malformed_files_are_refused() {
        let shipped = ModelFile::default_theft().unwrap();
        assert_eq!(shipped.kind, ModelKind::Theft);
        assert!(ModelFile::parse("{}").is_err());
        assert!(ModelFile::parse("not json").is_err());
        let mut other = serde_json::to_value(&shipped).unwrap();
        other["features"][0] = serde_json::json!("renamed");
        let err = ModelFile::parse(&other.to_string())
            .unwrap_err()
            .to_string();
        assert!(err.contains("train it again"), "{err}");
        let mut future = serde_json::to_value(&shipped).unwrap();
        future["format"] = serde_json::json!(2);
        assert!(ModelFile::parse(&future.to_string()).is_err());
        let mut cyclic = serde_json::to_value(&shipped).unwrap();
        cyclic["model"]["trees"][0][0][2] = serde_json::json!(0);
        assert!(ModelFile::parse(&cyclic.to_string()).is_err());
        assert!(shipped.expect_kind(ModelKind::Failure).is_err());
    }
}
