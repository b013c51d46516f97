//! Billing's fast path: each meter's billable intervals computed straight from the lake's Parquet files,
//! with exactly the rules of the `interval_energy` and `billing_energy` views.
//!
//! The views order every meter's readings with a window over the whole table, which for a month of a
//! large fleet means sorting hundreds of millions of rows. The lake's files are already sorted by (meter,
//! boundary), so this scan reads the three columns billing needs (meter, boundary, forward register) from
//! the period's date partitions and one day either side, on every core, cuts each file into per-meter
//! runs, and strings a meter's runs together in time order — sorting only a meter whose runs overlap.
//! Consecutive readings then give the intervals as the views do: one 15-minute span is its register
//! difference (with rollover), a longer gap spreads the difference over its intervals in whole
//! micro-kWh, `⌊E·(k+1)/n⌋ − ⌊E·k/n⌋`, flagged estimated; a register that went backwards gives nothing.
//!
//! Whatever the scan cannot decide from the window is left to the views ([`Scan::fallback`]): a
//! meter replaced inside the window (the registry's `installed_on`), and a meter whose first reading in
//! the window comes after the period start (or last before its end) while the lake holds older (newer)
//! partitions, where the reading that brackets the gap lies outside the window.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{Array, AsArray, Decimal128Array, TimestampMicrosecondArray};
use arrow::datatypes::DataType;
use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::meter_intervals::{MeterIntervals, MeterSelection};
use crate::columns::strings;
use crate::{AnalyticsError, LakeSession};

/// One 15-minute interval, µs.
const INTERVAL_US: i64 = 900_000_000;
/// The register wraps at 1,000,000 kWh (in 0.01 kWh).
const ROLLOVER_E2: i64 = 100_000_000;
/// A fall from at least 900,000 kWh …
const ROLLOVER_FROM_E2: i64 = 90_000_000;
/// … to below 100,000 kWh is a rollover.
const ROLLOVER_TO_E2: i64 = 10_000_000;
/// 0.01 kWh in micro-kWh.
const E2_TO_E6: i64 = 10_000;

/// One file's readings, cut into per-meter runs.
#[derive(Default)]
struct FileRuns {
    /// (meter, first row, end row, rows sorted by boundary).
    runs: Vec<(String, usize, usize, bool)>,
    boundary: Vec<i64>,
    register_e2: Vec<i64>,
}

/// A local file path from a table file URI of a lake on local disk: delta-rs gives plain absolute
/// paths; a `file:` URL is accepted too.
fn local_path(uri: &str) -> Option<std::path::PathBuf> {
    if uri.starts_with("file:") {
        return url::Url::parse(uri).ok()?.to_file_path().ok();
    }
    let path = std::path::PathBuf::from(uri);
    path.is_absolute().then_some(path)
}

/// The `date=YYYY-MM-DD` partition of a file URI.
fn partition_date(uri: &str) -> Option<NaiveDate> {
    uri.split('/')
        .find_map(|part| part.strip_prefix("date="))
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

fn read_file(path: &std::path::Path) -> Result<FileRuns, AnalyticsError> {
    let file = std::fs::File::open(path)
        .map_err(|e| AnalyticsError::Shape(format!("{}: {e}", path.display())))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
    let mask = ProjectionMask::columns(
        builder.parquet_schema(),
        ["meter_id", "boundary_ts", "energy_fwd_total_kwh"],
    );
    let reader = builder
        .with_projection(mask)
        .with_batch_size(65_536)
        .build()?;
    let mut out = FileRuns::default();
    for batch in reader {
        let batch = batch?;
        let (meters, boundary, register) = (
            batch.column_by_name("meter_id"),
            batch.column_by_name("boundary_ts"),
            batch.column_by_name("energy_fwd_total_kwh"),
        );
        let (Some(meters), Some(boundary), Some(register)) = (meters, boundary, register) else {
            return Err(AnalyticsError::Shape(format!(
                "{}: billing columns missing",
                path.display()
            )));
        };
        let meters = match meters.data_type() {
            DataType::Utf8 => meters.as_string::<i32>().clone(),
            _ => strings(&batch, batch.schema().index_of("meter_id")?)?,
        };
        let boundary = boundary
            .as_any()
            .downcast_ref::<TimestampMicrosecondArray>()
            .ok_or_else(|| AnalyticsError::Shape("boundary_ts is not µs".into()))?;
        let register = register
            .as_any()
            .downcast_ref::<Decimal128Array>()
            .filter(|r| r.scale() == 2)
            .ok_or_else(|| {
                AnalyticsError::Shape("energy_fwd_total_kwh is not decimal(_,2)".into())
            })?;
        for row in 0..batch.num_rows() {
            if register.is_null(row) || boundary.is_null(row) || meters.is_null(row) {
                continue;
            }
            let (meter, at) = (meters.value(row), boundary.value(row));
            let e2 = i64::try_from(register.value(row))
                .map_err(|_| AnalyticsError::Shape("register out of range".into()))?;
            let index = out.boundary.len();
            match out.runs.last_mut() {
                Some(run) if run.0 == meter => {
                    run.3 &= out.boundary[index - 1] < at;
                    run.2 = index + 1;
                }
                _ => out.runs.push((meter.to_string(), index, index + 1, true)),
            }
            out.boundary.push(at);
            out.register_e2.push(e2);
        }
    }
    Ok(out)
}

/// Reads `paths` on every core.
fn read_files(paths: &[std::path::PathBuf]) -> Result<Vec<FileRuns>, AnalyticsError> {
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(paths.len().max(1));
    let results: Vec<Result<Vec<(usize, FileRuns)>, AnalyticsError>> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(path) = paths.get(i) else {
                                return Ok(mine);
                            };
                            mine.push((i, read_file(path)?));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(AnalyticsError::Shape("scan thread panicked".into()))
                    })
                })
                .collect()
        });
    let mut files: Vec<(usize, FileRuns)> = Vec::with_capacity(paths.len());
    for result in results {
        files.extend(result?);
    }
    files.sort_by_key(|(i, _)| *i);
    Ok(files.into_iter().map(|(_, f)| f).collect())
}

/// Which meters a scan keeps.
enum Keep {
    All,
    Only(HashSet<String>),
    Except(HashSet<String>),
}

impl Keep {
    fn keeps(&self, meter: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(set) => set.contains(meter),
            Self::Except(set) => !set.contains(meter),
        }
    }
}

async fn meter_set(session: &LakeSession, sql: &str) -> Result<HashSet<String>, AnalyticsError> {
    let mut set = HashSet::new();
    for batch in session.query(sql).await? {
        let meters = strings(&batch, 0)?;
        set.extend((0..batch.num_rows()).map(|r| meters.value(r).to_string()));
    }
    Ok(set)
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// What a scan did: the meters it left to the views.
pub struct Scan {
    /// Selected meters whose intervals the scan could not decide; bill them through the views.
    pub fallback: Vec<String>,
}

/// The intervals of one meter's time-ordered readings that lie in [`from_us`, `to_us`].
fn meter_intervals(readings: &[(i64, i64)], from_us: i64, to_us: i64) -> MeterIntervals {
    let mut out = MeterIntervals {
        starts: Vec::with_capacity(readings.len()),
        energy: Vec::with_capacity(readings.len()),
        ..MeterIntervals::default()
    };
    for pair in readings.windows(2) {
        let ((start, before), (end, after)) = (pair[0], pair[1]);
        let gap = ((end - start) / INTERVAL_US).max(1);
        let delta = if after >= before {
            after - before
        } else if before >= ROLLOVER_FROM_E2 && after < ROLLOVER_TO_E2 {
            after + ROLLOVER_E2 - before
        } else {
            continue;
        };
        let e6 = i128::from(delta) * i128::from(E2_TO_E6);
        // Intervals k of the span with start + k·15 min ≥ from and start + (k+1)·15 min ≤ to.
        let first = if from_us > start {
            (from_us - start + INTERVAL_US - 1) / INTERVAL_US
        } else {
            0
        };
        let last = if to_us - start >= INTERVAL_US {
            ((to_us - start) / INTERVAL_US - 1).min(gap - 1)
        } else {
            -1
        };
        for k in first..=last {
            let energy = if gap == 1 {
                e6
            } else {
                let n = i128::from(gap);
                e6 * i128::from(k + 1) / n - e6 * i128::from(k) / n
            };
            let energy = i64::try_from(energy).unwrap_or(i64::MAX);
            out.starts.push(start + k * INTERVAL_US);
            out.energy.push(energy);
            if gap > 1 {
                out.estimated += 1;
                out.estimated_e6 += energy;
            }
        }
    }
    out
}

/// Scans the lake's files for the selected meters' intervals of [`from`, `to`] and calls `visit` for
/// each meter it decides, in ascending meter order. `None` when the lake cannot be scanned directly (files
/// that are not local, or not in date partitions): use the views.
pub async fn scan_meters(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    selection: MeterSelection<'_>,
    visit: &mut dyn FnMut(String, MeterIntervals) -> Result<(), AnalyticsError>,
) -> Result<Option<Scan>, AnalyticsError> {
    let zone = session.zone();
    if !session.files_are_local() {
        return Ok(None);
    }
    let mut dated = Vec::new();
    for uri in session.file_uris() {
        match (local_path(uri), partition_date(uri)) {
            (Some(path), Some(date)) => dated.push((date, path)),
            _ => return Ok(None),
        }
    }
    let first_day = from.with_timezone(&zone).date_naive() - TimeDelta::days(1);
    let last_day = to.with_timezone(&zone).date_naive() + TimeDelta::days(1);
    let older = dated.iter().any(|(d, _)| *d < first_day);
    let newer = dated.iter().any(|(d, _)| *d > last_day);
    let paths: Vec<_> = dated
        .into_iter()
        .filter(|(d, _)| (first_day..=last_day).contains(d))
        .map(|(_, p)| p)
        .collect();
    let keep = match selection {
        MeterSelection::All => Keep::All,
        MeterSelection::One(meter) => Keep::Only(HashSet::from([meter.to_string()])),
        MeterSelection::Many(meters) => Keep::Only(meters.iter().cloned().collect()),
        MeterSelection::Plan { plan, default_plan } if plan == default_plan => Keep::Except(
            meter_set(session, &format!("SELECT meter_id FROM meters WHERE tariff_plan IS NOT NULL AND tariff_plan <> {}", quoted(plan))).await?,
        ),
        MeterSelection::Plan { plan, .. } => Keep::Only(
            meter_set(session, &format!("SELECT meter_id FROM meters WHERE tariff_plan = {}", quoted(plan))).await?,
        ),
    };
    // A replacement inside the window changes how its span is read: leave such meters to the views.
    let window_start = first_day
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp_micros()
        - 86_400_000_000;
    let replaced = meter_set(
        session,
        &format!("SELECT meter_id FROM meters WHERE CAST(installed_on AS BIGINT) > {window_start}"),
    )
    .await?;
    let files = tokio::task::spawn_blocking(move || read_files(&paths))
        .await
        .map_err(|e| AnalyticsError::Shape(format!("scan task: {e}")))??;
    // Every run, by meter then time.
    let mut runs: Vec<(&str, i64, usize, usize)> = Vec::new();
    for (f, file) in files.iter().enumerate() {
        for (run, (meter, start, _, _)) in file.runs.iter().enumerate() {
            if keep.keeps(meter) {
                runs.push((meter.as_str(), file.boundary[*start], f, run));
            }
        }
    }
    runs.sort_unstable();
    let (from_us, to_us) = (from.timestamp_micros(), to.timestamp_micros());
    let mut fallback = BTreeSet::new();
    let mut readings: Vec<(i64, i64)> = Vec::new();
    let mut i = 0;
    while i < runs.len() {
        let meter = runs[i].0;
        let mut j = i;
        readings.clear();
        let mut ordered = true;
        while j < runs.len() && runs[j].0 == meter {
            let (_, _, f, r) = runs[j];
            let (file, (_, start, end, sorted)) = (&files[f], &files[f].runs[r]);
            ordered &= *sorted
                && readings
                    .last()
                    .is_none_or(|(t, _)| *t < file.boundary[*start]);
            readings.extend((*start..*end).map(|row| (file.boundary[row], file.register_e2[row])));
            j += 1;
        }
        i = j;
        if !ordered {
            readings.sort_unstable();
        }
        let (first, last) = (
            readings.first().map_or(i64::MAX, |r| r.0),
            readings.last().map_or(i64::MIN, |r| r.0),
        );
        if replaced.contains(meter) || (older && first > from_us) || (newer && last < to_us) {
            fallback.insert(meter.to_string());
            continue;
        }
        let intervals = meter_intervals(&readings, from_us, to_us);
        if !intervals.starts.is_empty() {
            visit(meter.to_string(), intervals)?;
        }
    }
    // Selected meters the window has no reading of may still have intervals (a gap across it).
    if older && newer {
        if let Keep::Only(set) = &keep {
            let seen: HashSet<&str> = runs.iter().map(|r| r.0).collect();
            fallback.extend(set.iter().filter(|m| !seen.contains(m.as_str())).cloned());
        }
    }
    Ok(Some(Scan {
        fallback: fallback.into_iter().collect(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_000 * INTERVAL_US;

    #[test]
    fn spans_become_intervals_as_the_views_make_them() {
        // 10.00 → 10.25 (one interval), a gap of three intervals over 1.00 kWh, then a rollover.
        let readings = [
            (T0, 1_000),
            (T0 + INTERVAL_US, 1_025),
            (T0 + 4 * INTERVAL_US, 1_125),
            (T0 + 5 * INTERVAL_US, 1_100),
            (T0 + 6 * INTERVAL_US, 1_200),
        ];
        let got = meter_intervals(&readings, T0, T0 + 10 * INTERVAL_US);
        assert_eq!(
            got.energy,
            vec![250_000, 333_333, 333_333, 333_334, 1_000_000]
        );
        assert_eq!(got.estimated, 3);
        assert_eq!(got.estimated_e6, 1_000_000);
        assert_eq!(got.starts[4], T0 + 5 * INTERVAL_US);
        // The period cuts the gap: only its intervals inside [from, to] are billed.
        let cut = meter_intervals(&readings, T0 + 2 * INTERVAL_US, T0 + 4 * INTERVAL_US);
        assert_eq!(cut.energy, vec![333_333, 333_334]);
        let rollover = meter_intervals(
            &[(T0, 99_999_990), (T0 + INTERVAL_US, 15)],
            T0,
            T0 + INTERVAL_US,
        );
        assert_eq!(rollover.energy, vec![250_000]);
    }

    #[test]
    fn local_uris_become_paths() {
        let path = std::path::PathBuf::from("/lake/readings/date=2026-10-01/part-0.parquet");
        assert_eq!(
            local_path("/lake/readings/date=2026-10-01/part-0.parquet"),
            Some(path.clone())
        );
        assert_eq!(
            local_path("file:///lake/readings/date=2026-10-01/part-0.parquet"),
            Some(path)
        );
        assert_eq!(local_path("readings/part-0.parquet"), None);
    }
}
