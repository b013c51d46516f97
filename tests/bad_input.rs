//! Bad input gets a clear error: an unreachable broker, a SQL syntax error, an unknown table.

use chrono::{DateTime, Utc};
use meterlake::{Config, Pipeline, PipelineOptions};
use rust_decimal::Decimal;

#[tokio::test]
async fn unreachable_broker_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.kafka.brokers = "127.0.0.1:1".into();
    config.lake.location = dir.path().join("lake").display().to_string();
    config.control.database = format!("sqlite://{}/c.db", dir.path().display());
    let start: DateTime<Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
    let result = Pipeline::start(PipelineOptions {
        config,
        meters: 1,
        meters_per_bus: 1,
        constant_watts: Some(100.0),
        start,
        opening_balance: |_| Decimal::ONE,
        seed: 1,
        faults: Default::default(),
    })
    .await;
    let err = format!("{:#}", result.err().expect("start must fail"));
    assert!(
        err.contains("cannot reach Kafka at \"127.0.0.1:1\""),
        "{err}"
    );
}

#[tokio::test]
async fn sql_errors_name_the_problem_and_an_empty_lake_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let lake = store::LakeLocation::parse(dir.path().join("lake").to_str().unwrap()).unwrap();
    let session = analytics::LakeSession::open(&lake, chrono_tz::Asia::Shanghai, None)
        .await
        .unwrap();
    assert_eq!(session.lake_version(), None);
    let err = session
        .query("SELEC * FROM readings")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("SELEC"), "{err}");
    let err = session
        .query("SELECT * FROM no_such_table")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no_such_table"), "{err}");
    let rows = session
        .query("SELECT count(*) FROM daily_energy")
        .await
        .unwrap();
    assert_eq!(rows[0].num_rows(), 1);
}

/// Runs `meterlake <args>` with the lake in `dir`: exit success and standard error.
fn run_cli(dir: &std::path::Path, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args(args)
        .env("METERLAKE_LAKE__LOCATION", dir.join("lake"))
        .env("METERLAKE_LOG", "warn")
        .current_dir(dir)
        .output()
        .unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn numbers_past_the_calendar_are_clear_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    for (args, named) in [
        (&["sim", "--fault-hours", "1e10"][..], "--fault-hours"),
        (&["sim", "--fault-hours", "NaN"][..], "--fault-hours"),
        (&["sim", "--speed", "1e15"][..], "--speed"),
        (&["sim", "--speed=-1"][..], "--speed"),
    ] {
        let (ok, stderr) = run_cli(dir.path(), args);
        assert!(!ok, "{args:?} must fail");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // Keeping four billion days drops nothing (and does not overflow the calendar).
    let (ok, stderr) = run_cli(dir.path(), &["retention", "--keep-days", "4000000000"]);
    assert!(ok, "{stderr}");
}
