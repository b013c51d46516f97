//! Reading the lake's Parquet files directly, on every core, in meter ranges: what billing's scan and
//! the native `interval_energy` table share.
//!
//! A lake on local disk lists its files with their `date=` partitions ([`dated_paths`]); their footers
//! give each row group's meters ([`decode::open`]); [`chunks::plan`] cuts them into meter ranges that
//! [`on_every_core`] hands out one at a time, each read into a [`decode::RangeReadings`] that strings
//! every meter's readings together in time order.

pub(crate) mod chunks;
pub(crate) mod decode;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use chrono::NaiveDate;

pub use chunks::ChunkLimits;
pub(crate) use chunks::GroupSpan;

use crate::AnalyticsError;

/// Each file of `uris` with its partition date, when every one is a local path in a `date=`
/// partition; `None` otherwise (the files cannot be read directly).
pub(crate) fn dated_paths(uris: &[String]) -> Option<Vec<(NaiveDate, PathBuf)>> {
    uris.iter()
        .map(|uri| Some((partition_date(uri)?, local_path(uri)?)))
        .collect()
}

/// Reads the footers of `paths` on every core: the files, and all their row groups' meter spans.
pub(crate) fn open_files(
    paths: &[PathBuf],
) -> Result<(Vec<decode::ScanFile>, Vec<GroupSpan>), AnalyticsError> {
    let opened = on_every_core(paths.len(), || (), |_, i| decode::open(&paths[i], i))?;
    let (files, spans): (Vec<_>, Vec<Vec<GroupSpan>>) = opened.into_iter().unzip();
    Ok((files, spans.into_iter().flatten().collect()))
}

/// A local file path from a table file URI of a lake on local disk: delta-rs gives plain absolute
/// paths; a `file:` URL is accepted too.
pub(crate) fn local_path(uri: &str) -> Option<std::path::PathBuf> {
    if uri.starts_with("file:") {
        return url::Url::parse(uri).ok()?.to_file_path().ok();
    }
    let path = std::path::PathBuf::from(uri);
    path.is_absolute().then_some(path)
}

/// The `date=YYYY-MM-DD` partition of a file URI.
pub(crate) fn partition_date(uri: &str) -> Option<NaiveDate> {
    uri.split('/')
        .find_map(|part| part.strip_prefix("date="))
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
}

/// The cores scans run on.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Runs `work` for items `0..count` on every core, each worker with its own `state`; results in item
/// order, or the first error.
pub(crate) fn on_every_core<S, R: Send>(
    count: usize,
    state: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, usize) -> Result<R, AnalyticsError> + Sync,
) -> Result<Vec<R>, AnalyticsError> {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, R)>> = Mutex::new(Vec::with_capacity(count));
    let workers = cores().min(count.max(1));
    let outcomes: Vec<Result<(), AnalyticsError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = state();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            return Ok(());
                        }
                        let result = work(&mut mine, i);
                        let result = match result {
                            Ok(r) => r,
                            Err(e) => {
                                // Stop the other workers at their next item.
                                next.store(count, Ordering::Relaxed);
                                return Err(e);
                            }
                        };
                        done.lock()
                            .map_err(|_| AnalyticsError::Shape("scan results poisoned".into()))?
                            .push((i, result));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(AnalyticsError::Shape("scan thread panicked".into())))
            })
            .collect()
    });
    for outcome in outcomes {
        outcome?;
    }
    let mut done = done
        .into_inner()
        .map_err(|_| AnalyticsError::Shape("scan results poisoned".into()))?;
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, r)| r).collect())
}

/// Runs blocking `work` without stalling a multi-threaded runtime's other tasks.
pub(crate) fn blocking<R>(work: impl FnOnce() -> R) -> R {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_uris_become_paths() {
        let path = PathBuf::from("/lake/readings/date=2026-10-01/part-0.parquet");
        assert_eq!(
            local_path("/lake/readings/date=2026-10-01/part-0.parquet"),
            Some(path.clone())
        );
        assert_eq!(
            local_path("file:///lake/readings/date=2026-10-01/part-0.parquet"),
            Some(path)
        );
        assert_eq!(local_path("readings/part-0.parquet"), None);
        let day = NaiveDate::from_ymd_opt(2026, 10, 1);
        let listed = dated_paths(&["/lake/readings/date=2026-10-01/part-0.parquet".into()]);
        assert_eq!(listed.map(|l| l[0].0), day);
        assert_eq!(dated_paths(&["/lake/readings/part-0.parquet".into()]), None);
    }

    #[test]
    fn every_item_is_worked_once_in_order_and_errors_stop_the_work() {
        let squares = on_every_core(
            100,
            || 0usize,
            |calls, i| {
                *calls += 1;
                Ok(i * i)
            },
        )
        .unwrap();
        assert_eq!(squares, (0..100).map(|i| i * i).collect::<Vec<_>>());
        let failed = on_every_core(
            100,
            || (),
            |_, i| {
                if i == 7 {
                    Err(AnalyticsError::Shape("item 7".into()))
                } else {
                    Ok(i)
                }
            },
        );
        assert!(failed.is_err_and(|e| e.to_string().contains("item 7")));
    }
}
