//! `meterlake history` and `meterlake model train|score|evaluate` on small simulated fleets: a model
//! trained on one fleet ranks the thieves of another (seed not used in training) above the honest
//! meters, a saved model scores identically after reload and training is reproducible from its seed,
//! the scores are queryable in SQL, and a lake with too little history gets a clear error.

mod billing_support;
mod http_support;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};

use billing_support::config_in;
use http_support::cli;

const FROM: &str = "2026-09-01";
const TO: &str = "2026-10-12";

/// A fleet of 8 areas × 50 customers over 42 days, 10 % thieves, 6 % failing meters.
fn fleet(dir: &Path, seed: &str) -> std::path::PathBuf {
    let config = config_in(dir);
    cli(
        &config,
        &[
            "history",
            "--areas",
            "8",
            "--customers-per-area",
            "50",
            "--from",
            FROM,
            "--days",
            "42",
            "--seed",
            seed,
            "--theft-share",
            "0.1",
            "--failing-share",
            "0.06",
        ],
        "",
    );
    config
}

/// Area under the ROC curve of `(score, thief)` pairs.
fn auc(pairs: &[(f64, bool)]) -> f64 {
    let thieves: Vec<f64> = pairs.iter().filter(|p| p.1).map(|p| p.0).collect();
    let honest: Vec<f64> = pairs.iter().filter(|p| !p.1).map(|p| p.0).collect();
    let mut wins = 0.0;
    for t in &thieves {
        for h in &honest {
            wins += if t > h {
                1.0
            } else if t == h {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (thieves.len() * honest.len()) as f64
}

fn thieves(dir: &Path) -> HashSet<String> {
    std::fs::read_to_string(dir.join("registry/theft.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(2).is_some_and(|onset| onset <= TO))
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect()
}

#[test]
fn a_model_from_one_fleet_ranks_the_thieves_of_another() {
    let train_dir = tempfile::tempdir().unwrap();
    let train = fleet(train_dir.path(), "11");
    let model = train_dir.path().join("theft.json");
    let model_arg = model.to_str().unwrap();
    let days = ["--from", FROM, "--to", TO];
    let out = cli(
        &train,
        &[
            &["model", "train", "theft"][..],
            &days,
            &["-o", model_arg, "--trees", "40"],
        ]
        .concat(),
        "",
    );
    assert!(out.contains("holdout_auc"), "{out}");
    // The same seed gives the same model.
    let again = train_dir.path().join("again.json");
    cli(
        &train,
        &[
            &["model", "train", "theft"][..],
            &days,
            &["-o", again.to_str().unwrap(), "--trees", "40"],
        ]
        .concat(),
        "",
    );
    // The same seed gives the same model: the same version and training record (linfa-trees breaks
    // near-ties between splits through a std HashMap, so the trees need not be byte-identical).
    let record = |p: &Path| -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        serde_json::json!([v["version"], v["training"], v["features"]])
    };
    assert_eq!(record(&model), record(&again));
    let failure = train_dir.path().join("failure.json");
    cli(
        &train,
        &[
            &["model", "train", "failure"][..],
            &days,
            &["-o", failure.to_str().unwrap()],
        ]
        .concat(),
        "",
    );

    let score_dir = tempfile::tempdir().unwrap();
    let scored = fleet(score_dir.path(), "12");
    let score = || {
        cli(
            &scored,
            &[
                &["model", "score", "theft"][..],
                &days,
                &["--model", model_arg, "--format", "csv"],
            ]
            .concat(),
            "",
        )
    };
    let csv = score();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("meter_id,score,rank,area_id,reasons"));
    let known = thieves(score_dir.path());
    let pairs: Vec<(f64, bool)> = lines
        .map(|l| {
            let mut f = l.split(',');
            let meter = f.next().unwrap();
            (f.next().unwrap().parse().unwrap(), known.contains(meter))
        })
        .collect();
    assert_eq!(pairs.len(), 400, "one row per customer meter");
    let value = auc(&pairs);
    assert!(value >= 0.85, "AUC {value:.3} on an unseen fleet");
    // Reloaded from its file, the model scores exactly the same.
    assert_eq!(score(), csv);

    // The shipped model scores a fresh lake without training.
    let shipped = cli(
        &scored,
        &[&["model", "score", "theft"][..], &days, &["--top", "5"]].concat(),
        "",
    );
    assert_eq!(shipped.lines().count(), 6, "{shipped}");
    for kind in ["anomaly", "clusters"] {
        cli(
            &scored,
            &[&["model", "score", kind][..], &days].concat(),
            "",
        );
    }
    cli(
        &scored,
        &[
            &["model", "score", "failure"][..],
            &days,
            &["--model", failure.to_str().unwrap()],
        ]
        .concat(),
        "",
    );
    let count = |table: &str| -> usize {
        let out = cli(
            &scored,
            &[
                "sql",
                "--format",
                "csv",
                &format!("SELECT count(DISTINCT meter_id) AS n FROM {table} WHERE date = '{TO}'"),
            ],
            "",
        );
        out.lines().last().unwrap().trim().parse().unwrap()
    };
    for table in ["theft_scores", "anomaly_scores", "meter_clusters"] {
        assert_eq!(count(table), 400, "{table}");
    }
    // Meters silent for the whole last week (failed already) get no failure risk.
    assert!((370..400).contains(&count("failure_risk")));

    let report = cli(
        &scored,
        &[
            &["model", "evaluate"][..],
            &days,
            &[
                "--theft-model",
                model_arg,
                "--failure-model",
                failure.to_str().unwrap(),
                "--json",
            ],
        ]
        .concat(),
        "",
    );
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let theft = &report["theft"];
    let model_auc = theft["model"]["auc"].as_f64().unwrap();
    let baseline_auc = theft["baseline"]["auc"].as_f64().unwrap();
    assert!((model_auc - value).abs() < 1e-9, "{model_auc} vs {value}");
    assert!(
        model_auc > baseline_auc + 0.1,
        "{model_auc} vs rule {baseline_auc}"
    );
    assert!(theft["recall_top_10pct"].as_object().unwrap().len() >= 5);
    assert!(report["failure"]["auc"].as_f64().unwrap().is_finite());
    assert!(report["clusters"]["silhouette"].as_f64().unwrap() > 0.2);
    assert!(report["clusters"]["purity"].as_f64().unwrap() > 0.8);
}

#[test]
fn too_little_history_is_a_clear_error_not_a_score() {
    let dir = tempfile::tempdir().unwrap();
    let config = config_in(dir.path());
    cli(
        &config,
        &[
            "history",
            "--areas",
            "2",
            "--customers-per-area",
            "10",
            "--from",
            FROM,
            "--days",
            "6",
        ],
        "",
    );
    let output = Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "model",
            "score",
            "theft",
            "--from",
            FROM,
            "--to",
            "2026-09-06",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("too little history"), "{stderr}");
    assert!(output.stdout.is_empty());
}
