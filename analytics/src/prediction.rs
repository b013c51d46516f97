//! Prediction with linfa (`docs/prediction.md`): a supervised theft classifier (random forest), an
//! unsupervised anomaly score (isolation forest) for a utility without labels, load-profile clustering
//! (KMeans) that names each customer's usage class, and a failing-meter predictor (random forest over
//! clock, battery, voltage and event precursors). Features come from the lake with DataFusion
//! ([`days`]); every model is a versioned file ([`model_file`]) trained reproducibly from a seed; scores
//! go back to the lake as tables ([`tables`]).

pub mod clusters;
pub mod day_files;
pub mod day_scan;
pub mod days;
pub mod evaluate;
pub mod failure_features;
pub mod forest;
pub mod inspection;
pub mod isolation;
pub mod metrics;
pub mod model_file;
pub mod score;
pub mod stats;
pub mod tables;
pub mod theft_features;
pub mod train;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::AnalyticsError;
pub use model_file::ModelFile;

/// What went wrong while training or scoring.
#[derive(Debug, thiserror::Error)]
pub enum PredictionError {
    /// Reading the lake failed.
    #[error(transparent)]
    Analytics(#[from] AnalyticsError),
    /// The window is unusable (ends before it starts, too short).
    #[error("window: {0}")]
    Window(String),
    /// The lake holds too little history for the model.
    #[error("too little history: {0}")]
    TooLittleHistory(String),
    /// Training could not proceed (no positives, too few meters).
    #[error("training: {0}")]
    Training(String),
    /// A model is malformed or does not fit this build.
    #[error("model: {0}")]
    Model(String),
    /// A model file could not be read or written.
    #[error("model file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
}

/// A kind of model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Supervised theft classifier.
    Theft,
    /// Unsupervised anomaly score over the theft features.
    Anomaly,
    /// Load-profile clusters.
    Clusters,
    /// Failing-meter predictor.
    Failure,
}

impl ModelKind {
    /// Every kind.
    pub const ALL: [ModelKind; 4] = [Self::Theft, Self::Anomaly, Self::Clusters, Self::Failure];

    /// The kind's name on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Self::Theft => "theft",
            Self::Anomaly => "anomaly",
            Self::Clusters => "clusters",
            Self::Failure => "failure",
        }
    }

    /// The lake table its scores go to.
    pub fn table(self) -> &'static str {
        match self {
            Self::Theft => tables::THEFT_SCORES,
            Self::Anomaly => tables::ANOMALY_SCORES,
            Self::Clusters => tables::METER_CLUSTERS,
            Self::Failure => tables::FAILURE_RISK,
        }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = PredictionError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                PredictionError::Model(format!(
                    "unknown model kind {s:?} (expected theft, anomaly, clusters or failure)"
                ))
            })
    }
}

/// A known thief: the kind of theft and when it began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TheftTruth {
    /// Kind (`scale`, `bypass`, …).
    pub kind: String,
    /// First day of theft.
    pub onset: NaiveDate,
}

/// What is known about the meters of a lake, for training and evaluation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels {
    /// Thieves by meter.
    pub theft: HashMap<String, TheftTruth>,
    /// The day each failing meter's fault starts.
    pub failures: HashMap<String, NaiveDate>,
    /// Each customer's usage class, when known.
    pub classes: HashMap<String, String>,
}

impl Labels {
    /// Whether `meter` steals during a window ending `to`.
    pub fn steals(&self, meter: &str, to: NaiveDate) -> bool {
        self.theft.get(meter).is_some_and(|t| t.onset <= to)
    }

    /// Whether `meter` fails in `(cutoff, cutoff + horizon]`; `None` when it failed already.
    pub fn fails_within(&self, meter: &str, cutoff: NaiveDate, horizon: u32) -> Option<bool> {
        match self.failures.get(meter) {
            Some(day) if *day <= cutoff => None,
            Some(day) => Some(*day <= cutoff + chrono::TimeDelta::days(i64::from(horizon))),
            None => Some(false),
        }
    }
}
