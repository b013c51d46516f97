//! The lake on S3: a real S3-compatible server (moto, from the venv `scripts/test.sh` prepares) holds the
//! Delta table. Appends with source positions, deduplication, concurrent writers (Delta commits by S3
//! conditional put), compaction, time travel and `meterlake sql` all work against it, with credentials
//! and the endpoint from the usual AWS_* environment variables.

mod moto_support;

use std::process::Command;

use chrono::{DateTime, TimeDelta, Utc};
use ingest::reading::{readings_to_batch, Quality, Reading};
use rust_decimal::Decimal;
use store::{CompactOptions, Lake, LakeLocation, SourcePosition};

use moto_support::Moto;

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn round(boundary: DateTime<Utc>, first_meter: usize) -> arrow::array::RecordBatch {
    let rows: Vec<Reading> = (first_meter..first_meter + 20)
        .map(|m| {
            let mut r = Reading::empty(format!("{:012}", 9000 + m), boundary, "bus-s3", "c-1");
            r.energy_fwd_total_kwh = Some(Decimal::new(1000 + m as i64, 2));
            r.quality = Quality::Ok;
            r
        })
        .collect();
    readings_to_batch(&rows).expect("batch")
}

async fn count(location: &LakeLocation) -> i64 {
    let session = analytics::LakeSession::open(location, ZONE, None)
        .await
        .expect("session on s3");
    let batches = session
        .query("SELECT count(DISTINCT meter_id || CAST(boundary_ts AS VARCHAR)) AS d, count(*) AS n FROM readings")
        .await
        .expect("query");
    let value = |i| {
        analytics::columns::typed::<arrow::array::Int64Array>(&batches[0], i)
            .expect("count")
            .value(0)
    };
    assert_eq!(value(0), value(1), "duplicates on s3");
    value(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lake_works_on_s3_with_concurrent_writers() {
    let moto = Moto::for_this_process("lake");
    let location = LakeLocation::parse("s3://lake/meterlake").expect("s3 location");
    let start = DateTime::parse_from_rfc3339("2026-11-03T01:00:00Z")
        .expect("start")
        .with_timezone(&Utc);
    let mut lake = Lake::open(&location, ZONE).await.expect("open on s3");
    let position = |source: &str, position| SourcePosition {
        source: source.into(),
        position,
    };
    let report = lake
        .append(vec![round(start, 0)], &[position("w-0", 0)])
        .await
        .expect("first append");
    assert_eq!(report.rows_written, 20);
    // A copy of the same round adds nothing.
    let again = lake
        .append(vec![round(start, 0)], &[position("w-0", 1)])
        .await
        .expect("duplicate append");
    assert_eq!((again.rows_written, again.duplicates_dropped), (0, 20));

    // Two writers append concurrently; S3's conditional put makes each commit version unique.
    let writers = (1..=2).map(|writer| {
        let location = location.clone();
        tokio::spawn(async move {
            let mut lake = Lake::open(&location, ZONE).await.expect("writer open");
            for step in 0..4 {
                let boundary = start + TimeDelta::minutes(15 * (1 + step));
                lake.append(
                    vec![round(boundary, writer * 100)],
                    &[position(&format!("w-{writer}"), step)],
                )
                .await
                .expect("concurrent append");
            }
        })
    });
    for writer in writers.collect::<Vec<_>>() {
        writer.await.expect("writer task");
    }
    assert_eq!(count(&location).await, 20 + 2 * 4 * 20);
    lake.refresh().await.expect("refresh");
    assert_eq!(lake.version(), Some(9), "one version per commit, none lost");
    for writer in 1..=2 {
        let source = format!("w-{writer}");
        assert_eq!(lake.source_position(&source).await.expect("txn"), Some(3));
    }

    let report = lake
        .compact(&CompactOptions::default())
        .await
        .expect("compact on s3");
    assert!(report.files_removed > report.files_added);
    assert_eq!(count(&location).await, 180);

    // The binary reads the same table, time-travelling to the first commit.
    let config = tempfile::NamedTempFile::new().expect("config");
    std::fs::write(
        config.path(),
        "[lake]\nlocation = \"s3://lake/meterlake\"\nzone = \"Asia/Shanghai\"\n",
    )
    .expect("write config");
    let output = Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .arg("--config")
        .arg(config.path())
        .args([
            "sql",
            "--as-of",
            "0",
            "--format",
            "csv",
            "SELECT count(*) AS n FROM readings",
        ])
        .envs(moto.env())
        .output()
        .expect("meterlake sql");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "n\n20");
}
