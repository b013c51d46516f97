//! Scores as lake tables — `theft_scores`, `anomaly_scores`, `failure_risk`, `meter_clusters` —
//! partitioned by the window's last day (`date`), so that analysts join them with readings and bills
//! and a window scored again replaces its earlier scores.

use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use chrono::NaiveDate;
use store::{DerivedTable, LakeLocation};

use super::model_file::ModelFile;
use super::score::{ClassRow, ScoreRow};
use super::PredictionError;

/// Theft scores.
pub const THEFT_SCORES: &str = "theft_scores";
/// Anomaly scores.
pub const ANOMALY_SCORES: &str = "anomaly_scores";
/// Failing-meter risk.
pub const FAILURE_RISK: &str = "failure_risk";
/// Usage classes.
pub const METER_CLUSTERS: &str = "meter_clusters";
/// Every prediction table.
pub const ALL: [&str; 4] = [THEFT_SCORES, ANOMALY_SCORES, FAILURE_RISK, METER_CLUSTERS];
/// The partition column: the window's last local day.
pub const DATE_COLUMN: &str = "date";

fn text(values: impl Iterator<Item = Option<String>>) -> ArrayRef {
    Arc::new(StringArray::from_iter(values))
}

fn common(model: &ModelFile, from: NaiveDate, to: NaiveDate, n: usize) -> Vec<ArrayRef> {
    vec![
        text((0..n).map(|_| Some(model.version.clone()))),
        text((0..n).map(|_| Some(from.to_string()))),
        text((0..n).map(|_| Some(to.to_string()))),
    ]
}

fn common_fields() -> Vec<Field> {
    ["model_version", "window_from", "window_to", DATE_COLUMN]
        .into_iter()
        .map(|name| Field::new(name, DataType::Utf8, false))
        .collect()
}

/// `fields` and `columns` followed by the model version, the window and the partition column.
fn with_window(
    mut fields: Vec<Field>,
    mut columns: Vec<ArrayRef>,
    model: &ModelFile,
    (from, to): (NaiveDate, NaiveDate),
    n: usize,
) -> Result<RecordBatch, PredictionError> {
    fields.extend(common_fields());
    columns.extend(common(model, from, to, n));
    columns.push(text((0..n).map(|_| Some(to.to_string()))));
    Ok(RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(crate::AnalyticsError::from)?)
}

/// The reasons as text: `peer_recent_ratio z=-4.1; tamper_events z=6.0`.
pub fn reasons_text(reasons: &[(String, f64)]) -> String {
    reasons
        .iter()
        .map(|(name, z)| format!("{name} z={z:+.1}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A batch of score rows.
pub fn scores_batch(
    rows: &[ScoreRow],
    model: &ModelFile,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<RecordBatch, PredictionError> {
    let fields = vec![
        Field::new("meter_id", DataType::Utf8, false),
        Field::new("area_id", DataType::Utf8, false),
        Field::new("score", DataType::Float64, false),
        Field::new("rank", DataType::Int64, false),
        Field::new("reasons", DataType::Utf8, false),
    ];
    let columns: Vec<ArrayRef> = vec![
        text(rows.iter().map(|r| Some(r.meter_id.clone()))),
        text(rows.iter().map(|r| Some(r.area_id.clone()))),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.score))),
        Arc::new(Int64Array::from_iter_values(
            rows.iter().map(|r| r.rank as i64),
        )),
        text(rows.iter().map(|r| Some(reasons_text(&r.reasons)))),
    ];
    with_window(fields, columns, model, (from, to), rows.len())
}

/// A batch of usage classes.
pub fn classes_batch(
    rows: &[ClassRow],
    model: &ModelFile,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<RecordBatch, PredictionError> {
    let fields = vec![
        Field::new("meter_id", DataType::Utf8, false),
        Field::new("usage_class", DataType::Utf8, false),
        Field::new("cluster", DataType::Int64, true),
        Field::new("distance", DataType::Float64, true),
        Field::new("daily_kwh", DataType::Float64, false),
    ];
    let columns: Vec<ArrayRef> = vec![
        text(rows.iter().map(|r| Some(r.meter_id.clone()))),
        text(rows.iter().map(|r| Some(r.usage_class.clone()))),
        Arc::new(Int64Array::from_iter(
            rows.iter().map(|r| r.cluster.map(|c| c as i64)),
        )),
        Arc::new(Float64Array::from_iter(rows.iter().map(|r| r.distance))),
        Arc::new(Float64Array::from_iter_values(
            rows.iter().map(|r| r.daily_kwh),
        )),
    ];
    with_window(fields, columns, model, (from, to), rows.len())
}

/// Replaces the window-end partition `to` of `table` with `batch`; returns the table version.
pub async fn write(
    location: &LakeLocation,
    table: &str,
    to: NaiveDate,
    batch: RecordBatch,
) -> Result<i64, PredictionError> {
    let mut derived = DerivedTable::open(location, table, DATE_COLUMN)
        .await
        .map_err(crate::AnalyticsError::from)?;
    Ok(derived
        .replace_partition(batch, &to.to_string())
        .await
        .map_err(crate::AnalyticsError::from)?)
}
