//! Lake operations: compaction (many small files become one per partition; rows, sums and time travel
//! unchanged) and retention (old partitions dropped, their files vacuumed).

use chrono::{DateTime, Duration, TimeDelta, Utc};
use ingest::reading::{readings_to_batch, Quality, Reading};
use rust_decimal::Decimal;
use store::{CompactOptions, Lake, LakeLocation};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// One small append: 10 meters at one boundary, each register at `kwh`.
fn batch(boundary: DateTime<Utc>, kwh: i64) -> arrow::array::RecordBatch {
    let rows: Vec<Reading> = (0..10)
        .map(|m| {
            let mut r = Reading::empty(format!("{:012}", 1001 + m), boundary, "bus-0", "c-1");
            r.energy_fwd_total_kwh = Some(Decimal::new(kwh * 100 + m, 2));
            r.quality = Quality::Ok;
            r
        })
        .collect();
    readings_to_batch(&rows).unwrap()
}

/// A new, empty lake in a temporary directory (kept alive by the returned guard).
async fn empty_lake() -> (tempfile::TempDir, LakeLocation, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let location = LakeLocation::parse(&dir.path().join("lake").display().to_string()).unwrap();
    let lake = Lake::open(&location, ZONE).await.unwrap();
    (dir, location, lake)
}

async fn count_and_sum(location: &LakeLocation, version: Option<i64>) -> (i64, String) {
    let session = analytics::LakeSession::open(location, ZONE, version)
        .await
        .unwrap();
    let batches = session
        .query(
            "SELECT count(*) AS n, CAST(sum(energy_fwd_total_kwh) AS VARCHAR) AS s FROM readings",
        )
        .await
        .unwrap();
    let n = analytics::columns::typed::<arrow::array::Int64Array>(&batches[0], 0)
        .unwrap()
        .value(0);
    let s = analytics::columns::strings(&batches[0], 1)
        .unwrap()
        .value(0)
        .to_string();
    (n, s)
}

#[tokio::test]
async fn compaction_rewrites_small_files_into_one_per_partition_and_keeps_every_row() {
    let (_dir, location, mut lake) = empty_lake().await;
    // 23:00, 23:15 and 23:30 local on 10-01, then 00:00, 00:15 and 00:30 on 10-02: two date partitions.
    let first: DateTime<Utc> = "2026-10-01T15:00:00Z".parse().unwrap();
    for i in 0..6 {
        let boundary = first + Duration::minutes(15 * (i % 3) + 60 * (i / 3));
        lake.append(vec![batch(boundary, i)], &[]).await.unwrap();
    }
    let before_version = lake.version();
    let before_time = chrono::Utc::now();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(lake.file_uris().unwrap().len(), 6);
    let before = count_and_sum(&location, None).await;
    assert_eq!(before.0, 60);

    let report = lake.compact(&CompactOptions::default()).await.unwrap();
    assert_eq!(
        (report.files_removed, report.files_added, report.partitions),
        (6, 2, 2)
    );
    assert_eq!(lake.file_uris().unwrap().len(), 2);
    assert_eq!(count_and_sum(&location, None).await, before);
    // Time travel still sees the version before compaction, with the same rows.
    assert_eq!(count_and_sum(&location, before_version).await, before);
    // ... and by time: the last version committed at or before `before_time`.
    let then = Lake::open_at_time(&location, ZONE, before_time)
        .await
        .unwrap();
    assert_eq!(then.version(), before_version);
    assert_eq!(then.file_uris().unwrap().len(), 6);
    // A second compaction finds nothing to do.
    let again = lake.compact(&CompactOptions::default()).await.unwrap();
    assert_eq!((again.files_removed, again.files_added), (0, 0));
}

#[tokio::test]
async fn sorted_compaction_leaves_one_file_per_day_sorted_by_meter_and_boundary() {
    let (_dir, location, mut lake) = empty_lake().await;
    let first: DateTime<Utc> = "2026-10-01T15:00:00Z".parse().unwrap();
    // Rounds appended out of time order: each file is sorted, but their concatenation is not.
    for i in [2, 0, 4, 1, 5, 3] {
        let boundary = first + Duration::minutes(15 * (i % 3) + 60 * (i / 3));
        lake.append(vec![batch(boundary, i)], &[]).await.unwrap();
    }
    let before = count_and_sum(&location, None).await;
    let report = lake
        .compact_sorted(&CompactOptions::default())
        .await
        .unwrap();
    assert_eq!(
        (report.files_removed, report.files_added, report.partitions),
        (6, 2, 2)
    );
    assert_eq!(count_and_sum(&location, None).await, before);
    for uri in lake.file_uris().unwrap() {
        let path = uri.trim_start_matches("file://");
        let file = std::fs::File::open(path).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let mut keys = Vec::new();
        for batch in reader {
            keys.extend(store::dedup::keys(&batch.unwrap()).unwrap());
        }
        assert_eq!(keys.len(), 30, "{path}");
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "{path} is not sorted: {keys:?}"
        );
    }
    let again = lake
        .compact_sorted(&CompactOptions::default())
        .await
        .unwrap();
    assert_eq!(again.partitions, 0);
}

#[tokio::test]
async fn retention_drops_old_partitions_and_vacuum_deletes_their_files() {
    let (_dir, location, mut lake) = empty_lake().await;
    // Noon local on 10-01, 10-02 and 10-03: one file per date.
    let first: DateTime<Utc> = "2026-10-01T04:00:00Z".parse().unwrap();
    for day in 0..3 {
        lake.append(vec![batch(first + Duration::days(day), day)], &[])
            .await
            .unwrap();
    }
    let before_drop = lake.version();
    let old_files = lake.file_uris().unwrap();
    assert_eq!(old_files.len(), 3);

    let cutoff = chrono::NaiveDate::from_ymd_opt(2026, 10, 3).unwrap();
    let dropped = lake.drop_partitions_before(cutoff).await.unwrap();
    assert_eq!(dropped.files_removed, 2);
    assert_eq!(count_and_sum(&location, None).await.0, 10);
    // Until the vacuum, the dropped rows are still readable by time travel ...
    assert_eq!(count_and_sum(&location, before_drop).await.0, 30);
    // ... a vacuum within the grace period deletes nothing ...
    assert!(lake.vacuum(TimeDelta::hours(1)).await.unwrap().is_empty());
    // ... and one past it deletes exactly the two dropped files from storage.
    let deleted = lake.vacuum(TimeDelta::zero()).await.unwrap();
    assert_eq!(deleted.len(), 2, "{deleted:?}");
    let on_disk = old_files
        .iter()
        .filter(|uri| std::path::Path::new(uri.trim_start_matches("file://")).exists())
        .count();
    assert_eq!(on_disk, 1);
    assert_eq!(count_and_sum(&location, None).await.0, 10);
}

#[tokio::test]
async fn a_reading_already_in_the_lake_is_not_written_again_and_the_first_copy_wins() {
    let (_dir, location, mut lake) = empty_lake().await;
    let t: DateTime<Utc> = "2026-10-01T04:00:00Z".parse().unwrap();
    let position = |n| store::SourcePosition {
        source: "group-readings-0".into(),
        position: n,
    };
    let first = lake
        .append(vec![batch(t, 1)], &[position(0)])
        .await
        .unwrap();
    assert_eq!((first.rows_written, first.duplicates_dropped), (10, 0));
    let sum_first = count_and_sum(&location, None).await;

    // The same readings again (a collector retry) with other values, plus a copy inside the append
    // and 10 new readings at the next boundary: only the new ones are written.
    let later = t + Duration::minutes(15);
    let report = lake
        .append(
            vec![batch(t, 7), batch(later, 2), batch(later, 9)],
            &[position(1)],
        )
        .await
        .unwrap();
    assert_eq!((report.rows_written, report.duplicates_dropped), (10, 20));
    let (rows, _) = count_and_sum(&location, None).await;
    assert_eq!(rows, 20);
    let session = analytics::LakeSession::open(&location, ZONE, None)
        .await
        .unwrap();
    let at_t = session
        .query("SELECT CAST(sum(energy_fwd_total_kwh) AS VARCHAR) FROM readings WHERE boundary_ts = TIMESTAMP '2026-10-01T04:00:00Z'")
        .await
        .unwrap();
    assert_eq!(
        analytics::columns::strings(&at_t[0], 0).unwrap().value(0),
        sum_first.1,
        "the first copy's values stay"
    );

    // An append made only of copies still commits its source position.
    let replay = lake
        .append(vec![batch(t, 1)], &[position(2)])
        .await
        .unwrap();
    assert_eq!((replay.rows_written, replay.duplicates_dropped), (0, 10));
    assert_eq!(
        lake.source_position("group-readings-0").await.unwrap(),
        Some(2)
    );
    assert_eq!(count_and_sum(&location, None).await.0, 20);
}

#[tokio::test]
async fn an_in_memory_lake_takes_appends_and_answers_sql() {
    let location = LakeLocation::parse("memory:///readings-test").unwrap();
    let mut lake = Lake::open(&location, ZONE).await.unwrap();
    let boundary: DateTime<Utc> = "2026-10-01T15:00:00Z".parse().unwrap();
    lake.append(vec![batch(boundary, 1)], &[]).await.unwrap();
    lake.append(vec![batch(boundary + Duration::minutes(15), 2)], &[])
        .await
        .unwrap();
    assert!(location.local_dir().is_none());
    let session = analytics::LakeSession::from_lake(&lake, ZONE)
        .await
        .unwrap();
    let batches = session
        .query("SELECT count(*) AS n FROM readings")
        .await
        .unwrap();
    let n = analytics::columns::typed::<arrow::array::Int64Array>(&batches[0], 0)
        .unwrap()
        .value(0);
    assert_eq!(n, 20);
}

/// Rows written by one append of `batch(boundary, kwh)`.
async fn written(lake: &mut Lake, boundary: DateTime<Utc>, kwh: i64) -> u64 {
    lake.append(vec![batch(boundary, kwh)], &[])
        .await
        .unwrap()
        .rows_written
}

#[tokio::test]
async fn the_dedup_index_follows_other_writers_compaction_and_retention() {
    let (_dir, location, mut first) = empty_lake().await;
    let morning: DateTime<Utc> = "2026-10-01T01:00:00Z".parse().unwrap();
    let noon = morning + Duration::hours(3);
    assert_eq!(written(&mut first, morning, 1).await, 10);

    // A second writer sees the first one's file, and the first sees the second's.
    let mut second = Lake::open(&location, ZONE).await.unwrap();
    second.refresh().await.unwrap();
    assert_eq!(written(&mut second, morning, 2).await, 0);
    assert_eq!(written(&mut second, noon, 2).await, 10);
    first.refresh().await.unwrap();
    assert_eq!(written(&mut first, morning, 3).await, 0);
    assert_eq!(written(&mut first, noon, 3).await, 0);

    // Compaction replaces every indexed file: the index is rebuilt and still knows every key.
    first.compact(&CompactOptions::default()).await.unwrap();
    assert_eq!(written(&mut first, morning, 4).await, 0);
    assert_eq!(written(&mut second, noon, 4).await, 0);

    // Retention removes the day: its keys may be loaded again.
    first
        .drop_partitions_before("2026-10-02".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(written(&mut first, morning, 5).await, 10);
    second.refresh().await.unwrap();
    assert_eq!(written(&mut second, noon, 5).await, 10);

    // A budget too small for the day falls back to scanning, with the same answer.
    let mut small = Lake::open(&location, ZONE).await.unwrap();
    small.refresh().await.unwrap();
    small.set_key_budget(5);
    assert_eq!(written(&mut small, morning, 6).await, 0);
    assert_eq!(
        written(&mut small, morning + Duration::minutes(15), 6).await,
        10
    );
    assert_eq!(count_and_sum(&location, None).await.0, 30);
}
