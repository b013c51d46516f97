//! The demo's prediction section: one simulated day is too short to learn from, so a 30-day history of
//! 500 customer meters with known thieves and failing meters is simulated into a lake of its own
//! (`meterlake history`), scored with the shipped theft model, clustered into usage classes, and the
//! inspection list is compared with the answers.

use std::path::Path;

use analytics::prediction::clusters::day_curves;
use analytics::prediction::days::load;
use analytics::prediction::evaluate::evaluate;
use analytics::prediction::score::score;
use analytics::prediction::tables::{reasons_text, scores_batch, write, THEFT_SCORES};
use analytics::prediction::{Labels, ModelFile, TheftTruth};
use chrono::NaiveDate;
use ingest::sim::history::{write_history, HistoryPlan};

/// Simulates, scores and evaluates a history below `dir`.
pub async fn predicted(dir: &Path, zone: chrono_tz::Tz) -> anyhow::Result<()> {
    let plan = HistoryPlan {
        areas: 10,
        customers_per_area: 50,
        first_day: NaiveDate::from_ymd_opt(2026, 10, 1).unwrap_or_default(),
        days: 30,
        seed: 2026,
        zone,
        ..HistoryPlan::default()
    };
    let lake_dir = dir.join("lake");
    let location = store::LakeLocation::parse(
        lake_dir
            .to_str()
            .ok_or_else(|| anyhow::anyhow!("the demo directory is not UTF-8"))?,
    )?;
    let registry = dir.join("registry");
    let summary = write_history(&plan, &location, &registry, |_| {}).await?;
    println!(
        "\nprediction: a 30-day history of {} customer meters ({} stealing, {} failing) simulated into {}",
        summary.customers,
        summary.thieves,
        summary.failing,
        lake_dir.display()
    );
    let session =
        analytics::LakeSession::open_with_registry(&location, zone, None, Some(&registry)).await?;
    let (from, to) = (plan.first_day, plan.last_day());
    let fleet = load(&session, from, to).await?;
    let model = ModelFile::default_theft()?;
    let rows = score(&fleet, &model)?;
    write(
        &location,
        THEFT_SCORES,
        to,
        scores_batch(&rows, &model, from, to)?,
    )
    .await?;
    let mut labels = Labels::default();
    let theft = std::fs::read_to_string(registry.join("theft.csv"))?;
    for l in ingest::sim::theft::parse_theft_csv(&theft)? {
        labels.theft.insert(
            l.meter_id,
            TheftTruth {
                kind: l.theft.kind.to_string(),
                onset: l.theft.onset,
            },
        );
    }
    println!(
        "  inspection list (shipped model {}), top 8:",
        model.version
    );
    for r in rows.iter().take(8) {
        let truth = labels
            .theft
            .get(&r.meter_id)
            .map_or("honest".to_string(), |t| {
                format!("steals: {} since {}", t.kind, t.onset)
            });
        println!(
            "  {:>3}. {}  {:.3}  [{truth}]  {}",
            r.rank,
            r.meter_id,
            r.score,
            reasons_text(&r.reasons)
        );
    }
    let curves = day_curves(&session, from, to).await?;
    let report = evaluate(&fleet, &curves, &labels, &model, None, 42)?;
    println!(
        "  theft AUC {:.3} (rule baseline {:.3}, unsupervised isolation forest {:.3}); precision of the top 20: {:.2}",
        report.theft.model.auc,
        report.theft.baseline.auc,
        report.theft.anomaly.auc,
        analytics::prediction::metrics::precision_at(
            &rows.iter().map(|r| r.score).collect::<Vec<_>>(),
            &rows.iter().map(|r| labels.steals(&r.meter_id, to)).collect::<Vec<_>>(),
            20
        )
    );
    println!(
        "  usage classes (KMeans on day shapes, silhouette {:.2}): {}",
        report.clusters.silhouette,
        report
            .clusters
            .sizes
            .iter()
            .map(|(class, n)| format!("{class} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  try: METERLAKE_LAKE__LOCATION={} METERLAKE_LAKE__REGISTRY={} meterlake sql \"SELECT meter_id, score, reasons FROM theft_scores ORDER BY rank LIMIT 5\"",
        lake_dir.display(),
        registry.display()
    );
    Ok(())
}
