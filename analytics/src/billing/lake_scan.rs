//! Billing's fast path: each meter's billable intervals computed straight from the lake's Parquet files,
//! with exactly the rules of the `interval_energy` and `billing_energy` views.
//!
//! The SQL views order every meter's readings with a window over the whole table, which for a month of a
//! large fleet means sorting hundreds of millions of rows; the native `interval_energy` table
//! ([`crate::interval_table`]) avoids the sort but still makes a row per interval for SQL to estimate and
//! price. The lake's files are already sorted by (meter,
//! boundary), so this scan cuts the period's date partitions (and one day either side) into meter ranges
//! by their row groups' statistics ([`crate::lake_files`]), and each core takes a range at a time: it reads the three
//! columns billing needs (meter, boundary, forward register) of the range's row groups, strings each
//! meter's runs together in time order — sorting only a meter whose runs overlap — and
//! hands its intervals to the caller's function. Only one range per core is in memory at a time.
//!
//! Consecutive readings give the intervals as the views do: one 15-minute span is its register
//! difference (with rollover), a longer gap spreads the difference over its intervals in whole
//! micro-kWh, `⌊E·(k+1)/n⌋ − ⌊E·k/n⌋`, flagged estimated; a register that went backwards gives nothing.
//!
//! Whatever the scan cannot decide from the window is left to the views ([`Scan::fallback`]): a
//! meter replaced inside the window (the registry's `installed_on`), and a meter whose first reading in
//! the window comes after the period start (or last before its end) while the lake holds older (newer)
//! partitions, where the reading that brackets the gap lies outside the window.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, TimeDelta, Utc};

use crate::lake_files::decode::{Keep, RangeReadings, Reading};
pub use crate::lake_files::ChunkLimits;
use crate::lake_files::{
    blocking, chunks, cores, dated_paths, on_every_core, open_files, GroupSpan,
};

use super::meter_intervals::{MeterIntervals, MeterSelection};
use crate::columns::{quoted, strings};
use crate::interval_rules::{gap_share, register_delta, Span, E2_TO_E6, INTERVAL_US};
use crate::{AnalyticsError, LakeSession};

async fn meter_set(session: &LakeSession, sql: &str) -> Result<HashSet<String>, AnalyticsError> {
    let mut set = HashSet::new();
    for batch in session.query(sql).await? {
        let meters = strings(&batch, 0)?;
        set.extend((0..batch.num_rows()).map(|r| meters.value(r).to_string()));
    }
    Ok(set)
}

/// What a scan did: the meters it decided, with what the caller's function made of each, and the meters
/// it left to the views.
pub struct Scan<T> {
    /// (meter, result) for every meter with intervals, in ascending meter order.
    pub meters: Vec<(String, T)>,
    /// Selected meters whose intervals the scan could not decide; bill them through the views.
    pub fallback: Vec<String>,
}

/// The intervals of one meter's time-ordered readings that lie in [`from_us`, `to_us`], into `out`.
fn meter_intervals(readings: &[Reading<1>], from_us: i64, to_us: i64, out: &mut MeterIntervals) {
    out.starts.clear();
    out.energy.clear();
    out.estimated = 0;
    out.estimated_e6 = 0;
    out.estimation = Default::default();
    for pair in readings.windows(2) {
        let ((start, [before]), (end, [after])) = (pair[0], pair[1]);
        let gap = Span::between(start, end).intervals;
        let Some(delta) = register_delta(Some(before), Some(after), false) else {
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
            let energy = i64::try_from(gap_share(e6, gap, k)).unwrap_or(i64::MAX);
            out.starts.push(start + k * INTERVAL_US);
            out.energy.push(energy);
            if gap > 1 {
                out.estimated += 1;
                out.estimated_e6 += energy;
                out.estimation.linear += 1;
            }
        }
    }
}

/// What one meter range gave.
struct RangeOutcome<T> {
    meters: Vec<(String, T)>,
    fallback: Vec<String>,
    seen: Vec<String>,
}

impl<T> Default for RangeOutcome<T> {
    fn default() -> Self {
        Self {
            meters: Vec::new(),
            fallback: Vec::new(),
            seen: Vec::new(),
        }
    }
}

/// A worker's buffers, kept from one range to the next.
#[derive(Default)]
struct Worker {
    readings: RangeReadings<1>,
    series: Vec<Reading<1>>,
    intervals: MeterIntervals,
}

/// The selection as the meters a scan keeps.
async fn kept(
    session: &LakeSession,
    selection: MeterSelection<'_>,
) -> Result<Keep, AnalyticsError> {
    Ok(match selection {
        MeterSelection::All => Keep::All,
        MeterSelection::One(meter) => Keep::Only(HashSet::from([meter.to_string()])),
        MeterSelection::Many(meters) => Keep::Only(meters.iter().cloned().collect()),
        MeterSelection::Plan { plan, default_plan } if plan == default_plan => Keep::Except(
            meter_set(session, &format!("SELECT meter_id FROM meters WHERE tariff_plan IS NOT NULL AND tariff_plan <> {}", quoted(plan))).await?,
        ),
        MeterSelection::Plan { plan, .. } => Keep::Only(
            meter_set(session, &format!("SELECT meter_id FROM meters WHERE tariff_plan = {}", quoted(plan))).await?,
        ),
    })
}

/// Scans the lake's files for the selected meters' intervals of [`from`, `to`] and maps each meter it
/// decides with `f`, on every core, in ranges of `limits`. `None` when the lake cannot be scanned
/// directly (files that are not local, or not in date partitions): use the views.
pub async fn scan_meters<T: Send>(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    selection: MeterSelection<'_>,
    limits: ChunkLimits,
    f: &(dyn Fn(&str, &MeterIntervals) -> Result<T, AnalyticsError> + Sync),
) -> Result<Option<Scan<T>>, AnalyticsError> {
    let zone = session.zone();
    if !session.files_are_local() {
        return Ok(None);
    }
    let Some(dated) = dated_paths(session.file_uris()) else {
        return Ok(None);
    };
    let first_day = from.with_timezone(&zone).date_naive() - TimeDelta::days(1);
    let last_day = to.with_timezone(&zone).date_naive() + TimeDelta::days(1);
    let older = dated.iter().any(|(d, _)| *d < first_day);
    let newer = dated.iter().any(|(d, _)| *d > last_day);
    let paths: Vec<_> = dated
        .into_iter()
        .filter(|(d, _)| (first_day..=last_day).contains(d))
        .map(|(_, p)| p)
        .collect();
    let keep = kept(session, selection).await?;
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
    let (from_us, to_us) = (from.timestamp_micros(), to.timestamp_micros());
    // Selected meters the window has no reading of may still have intervals (a gap across it).
    let unseen_matter = older && newer && matches!(keep, Keep::Only(_));
    let outcomes = blocking(|| -> Result<Option<Vec<RangeOutcome<T>>>, AnalyticsError> {
        let (files, groups) = open_files(&paths)?;
        // No reading before the period's end (the carry into a period that starts the lake): nothing.
        if !older && files.iter().all(|f| f.earliest.is_some_and(|e| e >= to_us)) {
            return Ok(None);
        }
        let groups: Vec<GroupSpan> = groups.into_iter().filter(|g| keep.may_hold(g)).collect();
        let rows = groups.iter().map(|g| g.rows).sum();
        let ranges = chunks::plan(&groups, limits.balanced(rows, cores()));
        let outcomes = on_every_core(ranges.len(), Worker::default, |worker, i| {
            let Worker {
                readings,
                series,
                intervals,
            } = worker;
            readings.read(&files, &ranges[i], &keep, &[Some("energy_fwd_total_kwh")])?;
            let mut out = RangeOutcome::default();
            readings.each_meter(series, &mut |meter, series| {
                if unseen_matter {
                    out.seen.push(meter.to_string());
                }
                let (first, last) = (
                    series.first().map_or(i64::MAX, |r| r.0),
                    series.last().map_or(i64::MIN, |r| r.0),
                );
                if replaced.contains(meter) || (older && first > from_us) || (newer && last < to_us)
                {
                    out.fallback.push(meter.to_string());
                    return Ok(());
                }
                meter_intervals(series, from_us, to_us, intervals);
                if !intervals.starts.is_empty() {
                    out.meters.push((meter.to_string(), f(meter, intervals)?));
                }
                Ok(())
            })?;
            Ok(out)
        })?;
        Ok(Some(outcomes))
    })?;
    let mut scan = Scan {
        meters: Vec::new(),
        fallback: Vec::new(),
    };
    let mut fallback = BTreeSet::new();
    let mut seen = HashSet::new();
    for outcome in outcomes.into_iter().flatten() {
        scan.meters.extend(outcome.meters);
        fallback.extend(outcome.fallback);
        seen.extend(outcome.seen);
    }
    if unseen_matter {
        if let Keep::Only(set) = &keep {
            fallback.extend(set.iter().filter(|m| !seen.contains(*m)).cloned());
        }
    }
    scan.fallback = fallback.into_iter().collect();
    Ok(Some(scan))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_000 * INTERVAL_US;

    fn intervals(readings: &[(i64, i64)], from_us: i64, to_us: i64) -> MeterIntervals {
        // A used buffer: nothing of its earlier contents may remain.
        let mut out = MeterIntervals::default();
        meter_intervals(&[(0, [0]), (INTERVAL_US, [100])], 0, INTERVAL_US, &mut out);
        let readings: Vec<Reading<1>> = readings.iter().map(|(t, r)| (*t, [*r])).collect();
        meter_intervals(&readings, from_us, to_us, &mut out);
        out
    }

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
        let got = intervals(&readings, T0, T0 + 10 * INTERVAL_US);
        assert_eq!(
            got.energy,
            vec![250_000, 333_333, 333_333, 333_334, 1_000_000]
        );
        assert_eq!(got.estimated, 3);
        assert_eq!(got.estimated_e6, 1_000_000);
        assert_eq!(got.starts[4], T0 + 5 * INTERVAL_US);
        // The period cuts the gap: only its intervals inside [from, to] are billed.
        let cut = intervals(&readings, T0 + 2 * INTERVAL_US, T0 + 4 * INTERVAL_US);
        assert_eq!(cut.energy, vec![333_333, 333_334]);
        let rollover = intervals(
            &[(T0, 99_999_990), (T0 + INTERVAL_US, 15)],
            T0,
            T0 + INTERVAL_US,
        );
        assert_eq!(rollover.energy, vec![250_000]);
    }
}
