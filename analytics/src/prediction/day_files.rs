//! The per-meter-day sums of [`super::day_scan`] read straight from the lake's Parquet files, in one
//! pass on every core: each meter range ([`crate::lake_files`]) gives every meter's registers in time
//! order, from which its intervals are summed per local day by the rules of `interval_energy`
//! (register differences, rollover, replacements, gaps as unknown energy; [`clock`] places them),
//! while the readings' electrical values are summed as the batches are decoded ([`electrical`]). The
//! SQL route reads the files twice — through the `interval_energy` table and through `readings` —
//! and makes a row of every value first.
//!
//! Only the window's date partitions and one day either side are read. Where that cannot decide a
//! meter's intervals — its first reading comes after the window starts while older partitions exist,
//! or its last before the window ends while newer ones do, so a gap reaches past what was read — the
//! meter's energy is left to the SQL route ([`DayFiles::undecided`]). A lake whose files are not local,
//! or not in `date=` partitions, is read by the SQL route entirely.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, TimeDelta};
use store::schema::col;

use super::day_scan::{DaySums, MeterSums};
use crate::interval_rules::{register_delta, replaced_within, Span, E2_TO_E6, INTERVAL_US};
use crate::interval_table::{installations, Installs};
use crate::lake_files::chunks::Chunk;
use crate::lake_files::decode::{present, Keep, RangeReadings, Reading, RegisterColumns, ScanFile};
use crate::lake_files::{
    blocking, chunks, cores, dated_paths, on_every_core, open_files, ChunkLimits,
};
use crate::{AnalyticsError, LakeSession};
use clock::DayClock;
use electrical::Electrical;

mod clock;
mod electrical;

/// Registers of a reading, in [`REGISTERS`] order.
const WIDTH: usize = 4;
const FWD: usize = 0;
const T1: usize = 1;
const T2: usize = 2;
const REV: usize = 3;

/// The registers read into each meter's series.
const REGISTERS: RegisterColumns<WIDTH> = [
    Some(col::ENERGY_FWD_TOTAL),
    Some(col::ENERGY_FWD_TARIFF[0]),
    Some(col::ENERGY_FWD_TARIFF[1]),
    Some(col::ENERGY_REV_TOTAL),
];

/// A register difference in 0.01 kWh in millionths of a kWh (what the SQL route's `fixed` of the
/// decimal gives).
fn millionths(e2: i64) -> i64 {
    e2.saturating_mul(E2_TO_E6)
}

/// The window being summed and what the lake holds around it.
struct Window {
    /// Days since 1970-01-01 of the first day.
    first: i64,
    /// Days.
    len: usize,
    /// The first instant of the window and the first after it (UTC µs).
    span_us: (i64, i64),
    /// Whether the lake holds partitions before (after) the days read.
    older: bool,
    newer: bool,
}

impl Window {
    /// The day index of local date `date` (days since 1970-01-01), `None` outside the window.
    fn index(&self, date: i32) -> Option<usize> {
        usize::try_from(i64::from(date) - self.first)
            .ok()
            .filter(|d| *d < self.len)
    }
}

/// One meter's sums, whether its intervals were decided and whether the window has anything of it.
struct MeterOutcome {
    meter: String,
    days: Vec<DaySums>,
    decided: bool,
    touched: bool,
}

/// Sums the intervals of `series` (one meter's readings in time order) into `days`; returns whether
/// they could be decided from the readings read, and whether any was added.
fn sum_intervals(
    series: &[Reading<WIDTH>],
    installs: &[i64],
    window: &Window,
    slots: &mut DayClock,
    days: &mut [DaySums],
) -> (bool, bool) {
    let mut touched = false;
    let registered = || series.iter().filter(|(_, v)| present(v[FWD]).is_some());
    let (lo, hi) = window.span_us;
    let (first_at, last_at) = (registered().next(), registered().next_back());
    if (window.older && first_at.is_none_or(|r| r.0 > lo))
        || (window.newer && last_at.is_none_or(|r| r.0 < hi))
    {
        return (false, touched);
    }
    let mut registered = registered();
    let Some(mut previous) = registered.next() else {
        return (true, touched);
    };
    for reading in registered {
        let ((start, before), (end, after)) = (previous, reading);
        previous = reading;
        let gap = Span::between(*start, *end).intervals;
        // The span's intervals whose start lies in the window.
        let k_first = if lo > *start {
            (lo - start + INTERVAL_US - 1) / INTERVAL_US
        } else {
            0
        };
        let k_last = if hi > *start {
            ((hi - 1 - start) / INTERVAL_US).min(gap - 1)
        } else {
            -1
        };
        if k_first > k_last {
            continue;
        }
        let replaced = replaced_within(installs, *start, *end);
        let delta = |i: usize| register_delta(present(before[i]), present(after[i]), replaced);
        let (energy, peak, rev) = if gap == 1 {
            let peak = delta(T1)
                .zip(delta(T2))
                .map(|(a, b)| millionths(a.saturating_add(b)));
            (delta(FWD).map(millionths), peak, delta(REV).map(millionths))
        } else {
            (None, None, None)
        };
        for k in k_first..=k_last {
            let (date, slot) = slots.of(start + k * INTERVAL_US);
            if let Some(day) = window.index(date) {
                days[day].add_interval(slot, energy, peak, rev);
                touched = true;
            }
        }
    }
    (true, touched)
}

/// What a direct scan gave.
pub struct DayFiles {
    /// Every meter's sums (for meters in [`DayFiles::undecided`], readings only).
    pub sums: MeterSums,
    /// Meters whose intervals the files read could not decide: sum their energy by the SQL route.
    pub undecided: Vec<String>,
}

/// A worker's buffers, kept from one range to the next.
struct Worker {
    readings: RangeReadings<WIDTH>,
    series: Vec<Reading<WIDTH>>,
    slots: DayClock,
    electrical: Electrical,
}

/// Sums one meter range: its meters' intervals from their series, their readings as decoded.
fn sum_range(
    worker: &mut Worker,
    (files, range): (&[ScanFile], &Chunk),
    installs: &Installs,
    window: &Window,
) -> Result<Vec<MeterOutcome>, AnalyticsError> {
    let Worker {
        readings,
        series,
        slots,
        electrical,
    } = worker;
    electrical.sums.clear();
    readings.read_with(files, (range, &Keep::All), &REGISTERS, Some(electrical))?;
    let names = readings.meters().to_vec();
    let mut beside: HashMap<String, Vec<DaySums>> = names
        .into_iter()
        .zip(electrical.sums.drain(..))
        .filter(|(_, days)| !days.is_empty())
        .collect();
    let mut out = Vec::new();
    readings.each_meter(series, &mut |meter, series| {
        let read = beside.remove(meter);
        let had_readings = read.is_some();
        let mut days = read.unwrap_or_else(|| vec![DaySums::default(); window.len]);
        let own = installs.get(meter).map_or(&[][..], Vec::as_slice);
        let (decided, touched) = sum_intervals(series, own, window, slots, &mut days);
        out.push(MeterOutcome {
            meter: meter.to_string(),
            days,
            decided,
            touched: touched || had_readings,
        });
        Ok(())
    })?;
    // Meters whose rows in the files read have no forward register: readings only, and no interval
    // to decide unless the lake holds nothing either side.
    out.extend(beside.into_iter().map(|(meter, days)| MeterOutcome {
        meter,
        days,
        decided: !window.older && !window.newer,
        touched: true,
    }));
    Ok(out)
}

/// Sums local dates `from..=to` (`first` = days since 1970-01-01 of `from`, `len` days) from the
/// lake's files; `None` when they cannot be read directly.
pub async fn scan(
    session: &LakeSession,
    (from, to): (NaiveDate, NaiveDate),
    (first, len): (i64, usize),
) -> Result<Option<DayFiles>, AnalyticsError> {
    if !session.files_are_local() {
        return Ok(None);
    }
    let Some(dated) = dated_paths(session.file_uris()) else {
        return Ok(None);
    };
    let zone = session.zone();
    let (first_read, last_read) = (from - TimeDelta::days(1), to + TimeDelta::days(1));
    let Some(clock) =
        DayClock::new(zone, first_read, last_read).filter(|c| c.midnights.len() == len + 3)
    else {
        return Ok(None);
    };
    let window = Window {
        first,
        len,
        // Midnights from the day before `from` to the one after `to + 1`.
        span_us: (clock.midnights[1], clock.midnights[len + 1]),
        older: dated.iter().any(|(d, _)| *d < first_read),
        newer: dated.iter().any(|(d, _)| *d > last_read),
    };
    let paths: Vec<_> = dated
        .into_iter()
        .filter(|(d, _)| (first_read..=last_read).contains(d))
        .map(|(_, p)| p)
        .collect();
    let installs: Installs = installations(session.context()).await?;
    let outcomes = blocking(|| -> Result<Vec<Vec<MeterOutcome>>, AnalyticsError> {
        let (files, groups) = open_files(&paths)?;
        let rows = groups.iter().map(|g| g.rows).sum();
        let limits = ChunkLimits {
            rows: 2 << 20,
            cap_rows: 16 << 20,
        };
        let ranges = chunks::plan(&groups, limits.balanced(rows, cores()));
        tracing::debug!(
            files = files.len(),
            rows,
            ranges = ranges.len(),
            largest = ranges.iter().map(|r| r.rows).max().unwrap_or(0),
            "prediction: meter ranges of the files"
        );
        let worker = || Worker {
            readings: RangeReadings::default(),
            series: Vec::new(),
            slots: clock.clone(),
            electrical: Electrical::new(window.first, window.len),
        };
        on_every_core(ranges.len(), worker, |worker, i| {
            sum_range(worker, (&files, &ranges[i]), &installs, &window)
        })
    })?;
    let mut seen = HashSet::new();
    let mut scanned = DayFiles {
        sums: HashMap::new(),
        undecided: Vec::new(),
    };
    for outcome in outcomes.into_iter().flatten() {
        seen.insert(outcome.meter.clone());
        if !outcome.decided {
            scanned.undecided.push(outcome.meter.clone());
        }
        if outcome.touched {
            scanned.sums.insert(outcome.meter, outcome.days);
        }
    }
    // A meter with no reading in the days read may still have intervals in the window (a gap across it).
    if window.older && window.newer {
        for batch in session.query("SELECT meter_id FROM meters").await? {
            let meters = crate::columns::strings(&batch, 0)?;
            scanned.undecided.extend(
                (0..batch.num_rows())
                    .map(|r| meters.value(r))
                    .filter(|m| !seen.contains(*m))
                    .map(str::to_string),
            );
        }
    }
    scanned.undecided.sort_unstable();
    Ok(Some(scanned))
}
