//! Evaluating models on a fleet whose answers are known (a simulated fleet with a seed not used in
//! training): AUC, precision and average precision of the top 100, each theft kind's recall in the top
//! 10 %, against a rule baseline; clustering silhouette, sizes and purity; the failure predictor's AUC.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use super::clusters::DayCurve;
use super::days::FleetDays;
use super::metrics::{auc, average_precision_at, precision_at, recall_by_kind};
use super::model_file::{ModelFile, Payload};
use super::score::{classify, score, ScoreRow};
use super::theft_features::{theft_features, THEFT_FEATURES};
use super::train::{train_anomaly, train_clusters};
use super::{Labels, PredictionError};

/// How one ranking did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankingReport {
    /// Meters ranked.
    pub meters: usize,
    /// Positives among them.
    pub positives: usize,
    /// Area under the ROC curve.
    pub auc: f64,
    /// Share of positives in the top 100.
    pub precision_at_100: f64,
    /// Average precision of the top 100.
    pub map_at_100: f64,
}

fn ranking_report(scores: &[f64], truth: &[bool]) -> RankingReport {
    RankingReport {
        meters: scores.len(),
        positives: truth.iter().filter(|t| **t).count(),
        auc: auc(scores, truth),
        precision_at_100: precision_at(scores, truth, 100),
        map_at_100: average_precision_at(scores, truth, 100),
    }
}

/// The theft evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TheftReport {
    /// The model evaluated.
    pub model_version: String,
    /// The classifier.
    pub model: RankingReport,
    /// The rule baseline: the drop of the last third of the window against the first (lower = more
    /// suspicious).
    pub baseline: RankingReport,
    /// The unsupervised isolation forest, fitted on the window itself.
    pub anomaly: RankingReport,
    /// Each theft kind: recall in the top 10 % and how many there are.
    pub recall_top_10pct: BTreeMap<String, (f64, usize)>,
}

/// The clustering evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterReport {
    /// Mean silhouette of a sample of up to 2,000 meters.
    pub silhouette: f64,
    /// Meters per usage class.
    pub sizes: BTreeMap<String, usize>,
    /// Share of meters whose cluster's most common known class is their own (when classes are known).
    pub purity: Option<f64>,
}

/// The whole evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Theft.
    pub theft: TheftReport,
    /// Clusters.
    pub clusters: ClusterReport,
    /// The failing-meter predictor at the window's last day, when a model was given.
    pub failure: Option<RankingReport>,
}

fn truths(rows: &[ScoreRow], labels: &Labels, to: chrono::NaiveDate) -> Vec<bool> {
    rows.iter()
        .map(|r| labels.steals(&r.meter_id, to))
        .collect()
}

/// Evaluates `theft` (and `failure`, if given) on `fleet` against `labels`; the anomaly and cluster
/// models are fitted on the window itself with `seed`.
pub fn evaluate(
    fleet: &FleetDays,
    curves: &[DayCurve],
    labels: &Labels,
    theft: &ModelFile,
    failure: Option<&ModelFile>,
    seed: u64,
) -> Result<Evaluation, PredictionError> {
    let rows = score(fleet, theft)?;
    let truth = truths(&rows, labels, fleet.to);
    let scores: Vec<f64> = rows.iter().map(|r| r.score).collect();
    let kinds: Vec<Option<String>> = rows
        .iter()
        .map(|r| {
            labels
                .theft
                .get(&r.meter_id)
                .filter(|t| t.onset <= fleet.to)
                .map(|t| t.kind.clone())
        })
        .collect();
    let recent = THEFT_FEATURES
        .iter()
        .position(|f| *f == "recent_ratio")
        .unwrap_or(2);
    let baseline: HashMap<String, f64> = theft_features(fleet)
        .into_iter()
        .map(|(m, _, f)| (m, -f[recent]))
        .collect();
    let baseline_scores: Vec<f64> = rows
        .iter()
        .map(|r| baseline.get(&r.meter_id).copied().unwrap_or(0.0))
        .collect();
    let anomaly_model = train_anomaly(fleet, seed)?;
    let anomaly_rows = score(fleet, &anomaly_model)?;
    let anomaly_truth = truths(&anomaly_rows, labels, fleet.to);
    let anomaly_scores: Vec<f64> = anomaly_rows.iter().map(|r| r.score).collect();
    let theft_report = TheftReport {
        model_version: theft.version.clone(),
        model: ranking_report(&scores, &truth),
        baseline: ranking_report(&baseline_scores, &truth),
        anomaly: ranking_report(&anomaly_scores, &anomaly_truth),
        recall_top_10pct: recall_by_kind(&scores, &kinds, 0.10),
    };
    let clusters_model = train_clusters(fleet, curves, 5, seed)?;
    let Payload::Clusters(clusters) = &clusters_model.model else {
        return Err(PredictionError::Model("clusters without centres".into()));
    };
    let classes = classify(curves, clusters);
    let mut sizes: BTreeMap<String, usize> = BTreeMap::new();
    for c in &classes {
        *sizes.entry(c.usage_class.clone()).or_default() += 1;
    }
    let purity = (!labels.classes.is_empty()).then(|| {
        let mut table: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
        for c in &classes {
            if let Some(known) = labels.classes.get(&c.meter_id) {
                *table
                    .entry(c.usage_class.as_str())
                    .or_default()
                    .entry(known.as_str())
                    .or_default() += 1;
            }
        }
        let total: usize = table.values().flat_map(|m| m.values()).sum();
        let majority: usize = table
            .values()
            .map(|m| m.values().copied().max().unwrap_or(0))
            .sum();
        majority as f64 / total.max(1) as f64
    });
    let failure_report = match failure {
        Some(model) => {
            let day = fleet.to;
            let horizon = model.horizon_days.unwrap_or(14);
            let rows = score(fleet, model)?;
            let (scores, truth): (Vec<f64>, Vec<bool>) = rows
                .iter()
                .filter_map(|r| Some((r.score, labels.fails_within(&r.meter_id, day, horizon)?)))
                .unzip();
            Some(ranking_report(&scores, &truth))
        }
        None => None,
    };
    Ok(Evaluation {
        theft: theft_report,
        clusters: ClusterReport {
            silhouette: clusters_model
                .metrics
                .get("silhouette")
                .copied()
                .unwrap_or(f64::NAN),
            sizes,
            purity,
        },
        failure: failure_report,
    })
}
