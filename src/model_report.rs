//! The text form of `meterlake model evaluate`'s report.

use analytics::prediction::evaluate::{Evaluation, RankingReport};

fn ranking_line(name: &str, r: &RankingReport) -> String {
    format!(
        "{name:<22} {:>7} {:>9} {:>7.3} {:>8.2} {:>8.3}\n",
        r.meters, r.positives, r.auc, r.precision_at_100, r.map_at_100
    )
}

/// The evaluation as a few aligned tables.
pub fn render(report: &Evaluation) -> String {
    let t = &report.theft;
    let mut text = format!("theft model {}\n", t.model_version);
    text.push_str(&format!(
        "{:<22} {:>7} {:>9} {:>7} {:>8} {:>8}\n",
        "ranking", "meters", "positive", "AUC", "P@100", "MAP@100"
    ));
    text.push_str(&ranking_line("classifier", &t.model));
    text.push_str(&ranking_line("rule (drop ratio)", &t.baseline));
    text.push_str(&ranking_line("anomaly (isolation)", &t.anomaly));
    if let Some(f) = &report.failure {
        text.push_str(&ranking_line("failure predictor", f));
    }
    text.push_str("\ntheft kind        recall@top10%  meters\n");
    for (kind, (recall, n)) in &t.recall_top_10pct {
        text.push_str(&format!("{kind:<17} {recall:>13.3} {n:>7}\n"));
    }
    let c = &report.clusters;
    text.push_str(&format!(
        "\nclusters: silhouette {:.3}, purity {}\n",
        c.silhouette,
        c.purity.map_or("-".to_string(), |p| format!("{p:.3}"))
    ));
    for (class, n) in &c.sizes {
        text.push_str(&format!("  {class:<18} {n:>7}\n"));
    }
    text
}
