//! Lake fixtures shared by the billing and command-line tests: readings, October 2026 quarters, a lake
//! in a temporary directory, a configuration file for it.

#![allow(dead_code)] // each test uses a part

use chrono::{DateTime, Duration, TimeZone, Utc};
use ingest::reading::{readings_to_batch, Quality, Reading};
use rust_decimal::Decimal;
use store::{Lake, LakeLocation};

/// The lakes' zone.
pub const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// A reading of `meter`'s forward register at `boundary`.
pub fn reading(meter: &str, boundary: DateTime<Utc>, kwh: Decimal) -> Reading {
    let mut r = Reading::empty(meter.to_string(), boundary, "bus-0", "c-1");
    r.energy_fwd_total_kwh = Some(kwh);
    r.quality = Quality::Ok;
    r
}

/// October 2026 in Shanghai, quarter `i` after its first local midnight.
pub fn october(i: i64) -> DateTime<Utc> {
    ZONE.with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(15 * i)
}

/// A lake in a temporary directory holding `rows`; returns the directory and its location.
pub async fn lake_with(rows: &[Reading]) -> (tempfile::TempDir, LakeLocation, Lake) {
    let dir = tempfile::tempdir().unwrap();
    let location = LakeLocation::parse(&dir.path().join("lake").display().to_string()).unwrap();
    let mut lake = Lake::open(&location, ZONE).await.unwrap();
    lake.append(vec![readings_to_batch(rows).unwrap()], &[])
        .await
        .unwrap();
    (dir, location, lake)
}

/// Writes `meterlake.toml` in `dir` for the lake of [`lake_with`] (`dir/lake`), the registry in
/// `dir/registry`, a SQLite control database and key directories below `dir`; returns its path.
pub fn config_in(dir: &std::path::Path) -> std::path::PathBuf {
    let config = dir.join("meterlake.toml");
    let path = |p: &str| dir.join(p).display().to_string();
    std::fs::write(
        &config,
        format!(
            "[lake]\nlocation = {:?}\nregistry = {:?}\n[control]\ndatabase = \"sqlite://{}/control.db\"\n\
             audit_keys_dir = {:?}\ncommand_keys_dir = {:?}\n",
            path("lake"),
            path("registry"),
            dir.display(),
            path("keys/audit"),
            path("keys/commands"),
        ),
    )
    .unwrap();
    config
}
