//! `meterlake history` and `meterlake model train|score|evaluate` on small simulated fleets: a model
//! trained on one fleet ranks the thieves of another (seed not used in training) above the honest
//! meters, a saved model scores identically after reload and training is reproducible from its seed,
//! the scores are queryable in SQL, and a lake with too little history gets a clear error.

mod billing_support;
mod http_support;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};

use analytics::prediction::days::{load_by, DayRoute, FleetDays};
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
    // The same seed gives the same model, byte for byte.
    assert_eq!(
        std::fs::read(&model).unwrap(),
        std::fs::read(&again).unwrap()
    );
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

/// Opens the lake and registry that `config_in(dir)` names.
async fn session_in(dir: &Path) -> analytics::LakeSession {
    let lake = dir.join("lake");
    let location = store::LakeLocation::parse(lake.to_str().unwrap()).unwrap();
    let registry = dir.join("registry");
    analytics::LakeSession::open_with_registry(
        &location,
        billing_support::ZONE,
        None,
        Some(&registry),
    )
    .await
    .unwrap()
}

/// Both routes' days of `from..=to`; asserts they are equal and returns them.
async fn both_routes(session: &analytics::LakeSession, from: &str, to: &str) -> FleetDays {
    let (from, to) = (from.parse().unwrap(), to.parse().unwrap());
    let files = load_by(session, from, to, DayRoute::Fastest).await.unwrap();
    let sql = load_by(session, from, to, DayRoute::Sql).await.unwrap();
    assert_eq!(files.customers, sql.customers, "{from}..={to}");
    let bits = |f: &FleetDays| {
        let mut supply: Vec<(String, Vec<u64>)> = f
            .supply
            .iter()
            .map(|(area, days)| (area.clone(), days.iter().map(|d| d.to_bits()).collect()))
            .collect();
        supply.sort();
        supply
    };
    assert_eq!(bits(&files), bits(&sql), "{from}..={to}");
    files
}

/// The meter-day sums read straight from the lake's files are those read through SQL: over the whole
/// lake, and over a window inside it (older and newer partitions around it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_the_files_gives_the_days_that_sql_gives() {
    let dir = tempfile::tempdir().unwrap();
    fleet(dir.path(), "5");
    let session = session_in(dir.path()).await;
    let whole = both_routes(&session, FROM, TO).await;
    assert_eq!(whole.customers.len(), 400);
    assert_eq!(whole.supply.len(), 8);
    let day = &whole.customers[0].days[3];
    assert!(
        day.intervals == 96 && day.readings >= 90 && day.kwh > 0.0,
        "{day:?}"
    );
    let inside = both_routes(&session, "2026-09-10", "2026-10-01").await;
    assert_eq!(inside.customers.len(), 400);
}

/// A gap that reaches past the day either side of the window is decided by SQL for that meter, and
/// the days still agree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gap_across_the_window_edge_is_left_to_sql() {
    use billing_support::{lake_with, october, reading};
    use rust_decimal_macros::dec;
    let mut rows = Vec::new();
    for day in 0..10 {
        for q in 0..96 {
            let i = day * 96 + q;
            let kwh = rust_decimal::Decimal::from(i) / dec!(100);
            rows.push(reading("000000000001", october(i), kwh));
            // Meter 2 is silent from day 2 to day 5: its gap crosses the window's start (day 5).
            if !(2 * 96..5 * 96 + 8).contains(&i) {
                rows.push(reading("000000000002", october(i), kwh * dec!(2)));
            }
        }
    }
    let (_dir, _location, lake) = lake_with(&rows).await;
    let session = analytics::LakeSession::from_lake(&lake, billing_support::ZONE)
        .await
        .unwrap();
    let (from, to) = ("2026-10-06".parse().unwrap(), "2026-10-08".parse().unwrap());
    let scanned = analytics::prediction::day_files::scan(&session, (from, to), (20_732, 3))
        .await
        .unwrap()
        .expect("a local lake in date partitions is read directly");
    assert_eq!(scanned.undecided, vec!["000000000002".to_string()]);
    let days = both_routes(&session, "2026-10-06", "2026-10-08").await;
    let gap_day = &days.customers[1].days[0];
    assert_eq!(
        (gap_day.intervals, gap_day.zero_intervals),
        (96, 8),
        "{gap_day:?}"
    );
    assert_eq!(days.customers[0].days[0].kwh, 0.96);
}
