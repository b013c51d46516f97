//! The lake is readable by other tools: the pip-installed `deltalake` package, pyarrow, Polars and DuckDB
//! (the last three over the table's active Parquet files) see the same row count and energy sum as
//! meterlake's own SQL, before and after compaction.
//!
//! The Python tools come from the venv `scripts/test.sh` prepares (`METERLAKE_PYTHON`).

use std::process::Command;

use chrono::{DateTime, TimeDelta, Utc};
use ingest::reading::{readings_to_batch, Quality, Reading};
use rust_decimal::Decimal;
use store::{CompactOptions, Lake, LakeLocation};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn python() -> String {
    std::env::var("METERLAKE_PYTHON").unwrap_or_else(|_| {
        let home = std::env::var("HOME").unwrap_or_default();
        format!("{home}/.cache/meterlake-venv/bin/python")
    })
}

/// One collection round of 50 meters; every seventh meter has no energy value (a silent meter).
fn round(boundary: DateTime<Utc>, index: i64) -> arrow::array::RecordBatch {
    let rows: Vec<Reading> = (0..50)
        .map(|m| {
            let mut r = Reading::empty(format!("{:012}", 7000 + m), boundary, "bus-1", "c-1");
            if m % 7 != 0 {
                r.energy_fwd_total_kwh = Some(Decimal::new(100_000 + index * 37 + m * 3, 2));
                r.quality = Quality::Ok;
            }
            r
        })
        .collect();
    readings_to_batch(&rows).expect("batch")
}

/// meterlake's own count and sum, as exact strings.
async fn own_view(location: &LakeLocation) -> (i64, String) {
    let session = analytics::LakeSession::open(location, ZONE, None)
        .await
        .expect("session");
    let batches = session
        .query(
            "SELECT count(*) AS n, CAST(sum(energy_fwd_total_kwh) AS VARCHAR) AS s FROM readings",
        )
        .await
        .expect("query");
    let n = analytics::columns::typed::<arrow::array::Int64Array>(&batches[0], 0)
        .expect("count")
        .value(0);
    let s = analytics::columns::strings(&batches[0], 1)
        .expect("sum")
        .value(0)
        .to_string();
    (n, s)
}

/// What each outside reader saw: reader name → (rows, sum).
fn outside_views(lake: &Lake, location: &LakeLocation) -> serde_json::Value {
    let dir = location.local_dir().expect("local lake");
    let list = dir.join("active-files.txt");
    let files: Vec<String> = lake
        .file_uris()
        .expect("active files")
        .into_iter()
        .map(|uri| uri.trim_start_matches("file://").to_string())
        .collect();
    std::fs::write(&list, files.join("\n")).expect("file list");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/read_lake.py");
    let output = Command::new(python())
        .arg(script)
        .arg(dir.join("readings"))
        .arg(&list)
        .output()
        .unwrap_or_else(|e| panic!("running {} (prepared by scripts/test.sh): {e}", python()));
    assert!(
        output.status.success(),
        "read_lake.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("read_lake.py prints JSON")
}

fn assert_all_agree(views: &serde_json::Value, rows: i64, sum: &str) {
    for reader in ["deltalake", "pyarrow", "polars", "polars_delta", "duckdb"] {
        let view = &views[reader];
        assert_eq!(view["rows"].as_i64(), Some(rows), "{reader}: {views}");
        assert_eq!(view["sum"].as_str(), Some(sum), "{reader}: {views}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deltalake_pyarrow_polars_and_duckdb_read_what_meterlake_reads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let location =
        LakeLocation::parse(dir.path().join("lake").to_str().expect("utf-8")).expect("lake");
    let mut lake = Lake::open(&location, ZONE).await.expect("open");
    // 12 rounds crossing local midnight: two date partitions, one small file per round.
    let start = DateTime::parse_from_rfc3339("2026-11-02T14:30:00Z")
        .expect("start")
        .with_timezone(&Utc);
    for index in 0..12 {
        let boundary = start + TimeDelta::minutes(15 * index);
        lake.append(vec![round(boundary, index)], &[])
            .await
            .expect("append");
    }
    let (rows, sum) = own_view(&location).await;
    assert_eq!(rows, 12 * 50);
    let before = outside_views(&lake, &location);
    eprintln!("before compaction: meterlake {rows} rows, sum {sum}; {before}");
    assert_all_agree(&before, rows, &sum);
    assert_eq!(before["deltalake"]["files"].as_i64(), Some(12));

    let report = lake
        .compact(&CompactOptions::default())
        .await
        .expect("compact");
    assert_eq!(report.files_added, 2, "one file per date partition");
    let after = outside_views(&lake, &location);
    assert_eq!(own_view(&location).await, (rows, sum.clone()));
    assert_all_agree(&after, rows, &sum);
    assert_eq!(after["deltalake"]["files"].as_i64(), Some(2));
}
