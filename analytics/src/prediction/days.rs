//! Each meter's days over a window, read from the lake: energy and its shape by the rules of
//! `interval_energy`, electrical and clock statistics from `readings` (both in one pass over the
//! files, [`super::day_files`], or through SQL, [`super::day_scan`]), event records from
//! `meter_events`, and the registry's kind, area and PV. The models' features are computed from these.

use std::collections::{BTreeMap, HashMap};

use arrow::array::{Date32Array, Int64Array};
use chrono::NaiveDate;

use super::day_files;
use super::day_scan::{merge_into, scan, DaySums, MeterSums, Pass};
use super::PredictionError;
use crate::columns::{strings, typed};
use crate::LakeSession;

/// Event kinds counted per day, in [`DayStats::events`] order.
pub const EVENTS: [&str; 6] = [
    "power_down",
    "programming",
    "meter_clear",
    "time_setting",
    "cover_open",
    "terminal_cover_open",
];

/// One meter's local day. Energies in kWh; a day without readings has `intervals == 0`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DayStats {
    /// Forward energy.
    pub kwh: f64,
    /// Energy of the sharp and peak TOU registers (T1 + T2).
    pub peak_kwh: f64,
    /// Reverse energy.
    pub rev_kwh: f64,
    /// Energy 00:00–06:00.
    pub night_kwh: f64,
    /// Energy 17:00–23:00.
    pub evening_kwh: f64,
    /// Intervals derived.
    pub intervals: u32,
    /// Intervals with no energy.
    pub zero_intervals: u32,
    /// Standard deviation of the intervals' energy.
    pub interval_sd: f64,
    /// Largest interval.
    pub interval_max: f64,
    /// Readings received.
    pub readings: u32,
    /// Mean voltage, V.
    pub voltage: f64,
    /// Standard deviation of the voltage readings, V.
    pub voltage_sd: f64,
    /// Mean current, A.
    pub current: f64,
    /// Active power over voltage × current × power factor, while current flows (1 for an honest meter).
    pub power_ratio: Option<f64>,
    /// Mean clock offset (meter clock − read time), s.
    pub clock_offset: Option<f64>,
    /// Share of readings with the battery warning.
    pub battery_share: f64,
    /// Readings with current flowing while the status word shows the relay open.
    pub relay_open_current: u32,
    /// Event records per kind ([`EVENTS`]).
    pub events: [u32; 6],
}

/// A meter's days over the window, index 0 = the window's first day.
#[derive(Debug, Clone, PartialEq)]
pub struct MeterDays {
    /// Meter address.
    pub meter_id: String,
    /// Transformer area (empty when the registry does not know the meter).
    pub area_id: String,
    /// Whether the premises have PV.
    pub has_pv: bool,
    /// One entry per day of the window.
    pub days: Vec<DayStats>,
}

impl MeterDays {
    /// Days that have readings.
    pub fn days_with_data(&self) -> usize {
        self.days.iter().filter(|d| d.intervals > 0).count()
    }
}

/// The window's customer and supply meters.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetDays {
    /// First local day.
    pub from: NaiveDate,
    /// Last local day.
    pub to: NaiveDate,
    /// Customer meters, by address.
    pub customers: Vec<MeterDays>,
    /// Each area's supply meter's daily energy, kWh (NaN for a day without data).
    pub supply: HashMap<String, Vec<f64>>,
    /// The lake version read.
    pub lake_version: Option<i64>,
}

impl FleetDays {
    /// Days in the window.
    pub fn len(&self) -> usize {
        usize::try_from((self.to - self.from).num_days() + 1).unwrap_or(0)
    }

    /// Whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Each meter's days, filled as query results arrive.
struct Grid {
    meters: BTreeMap<String, Vec<DayStats>>,
    /// Days since 1970-01-01 of the window's first day.
    first: i64,
    len: usize,
}

impl Grid {
    /// The entry of `meter` on day `date` (days since 1970-01-01), `None` outside the window.
    fn day(&mut self, meter: &str, date: i64) -> Option<&mut DayStats> {
        let index = usize::try_from(date - self.first)
            .ok()
            .filter(|i| *i < self.len)?;
        let len = self.len;
        self.meters
            .entry(meter.to_string())
            .or_insert_with(|| vec![DayStats::default(); len])
            .get_mut(index)
    }
}

/// How the per-meter-day sums are read; both give the same days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayRoute {
    /// Straight from the lake's files when they are on local disk, SQL otherwise.
    Fastest,
    /// Through SQL (`interval_energy`, `readings`), as for a lake on an object store.
    Sql,
}

/// The sums of every meter-day of the window, by `route`.
async fn day_sums(
    session: &LakeSession,
    window: (NaiveDate, NaiveDate),
    days: (i64, usize),
    route: DayRoute,
) -> Result<MeterSums, PredictionError> {
    let started = std::time::Instant::now();
    if route == DayRoute::Fastest {
        if let Some(files) = day_files::scan(session, window, days).await? {
            let mut sums = files.sums;
            tracing::info!(
                seconds = started.elapsed().as_secs_f64(),
                meters = sums.len(),
                undecided = files.undecided.len(),
                "prediction: meter-days from the lake's files"
            );
            for meters in files.undecided.chunks(1000) {
                let energy = scan(session, Pass::Energy, window, days, Some(meters)).await?;
                energy
                    .into_iter()
                    .for_each(|(meter, d)| merge_into(&mut sums, meter, d));
            }
            return Ok(sums);
        }
    }
    let mut sums = scan(session, Pass::Energy, window, days, None).await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "prediction: energy per meter-day"
    );
    let electrical = scan(session, Pass::Electrical, window, days, None).await?;
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "prediction: readings per meter-day"
    );
    electrical
        .into_iter()
        .for_each(|(meter, d)| merge_into(&mut sums, meter, d));
    Ok(sums)
}

/// The days of every meter in `from..=to`, read the fastest way the lake allows.
pub async fn load(
    session: &LakeSession,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<FleetDays, PredictionError> {
    load_by(session, from, to, DayRoute::Fastest).await
}

/// The days of every meter in `from..=to`, read by `route`.
pub async fn load_by(
    session: &LakeSession,
    from: NaiveDate,
    to: NaiveDate,
    route: DayRoute,
) -> Result<FleetDays, PredictionError> {
    if to < from {
        return Err(PredictionError::Window(format!(
            "the window ends ({to}) before it starts ({from})"
        )));
    }
    let len = usize::try_from((to - from).num_days() + 1).unwrap_or(0);
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let first = (from - epoch).num_days();
    let started = std::time::Instant::now();
    let energy = day_sums(session, (from, to), (first, len), route).await?;
    let mut grid = Grid {
        meters: energy
            .into_iter()
            .map(|(meter, days)| (meter, days.iter().map(DaySums::finish).collect()))
            .collect(),
        first,
        len,
    };
    let registered = session.register_derived().await?;
    if registered.contains(&crate::diagnosis::lake_tables::EVENTS_TABLE) {
        let events = session
            .query(&format!(
                "SELECT meter_id, CAST(CAST(date AS DATE) AS DATE), event, CAST(count(*) AS BIGINT)
                 FROM meter_events WHERE date >= '{from}' AND date <= '{to}' GROUP BY meter_id, date, event"
            ))
            .await?;
        for batch in &events {
            let ids = strings(batch, 0)?;
            let dates = typed::<Date32Array>(batch, 1)?;
            let names = strings(batch, 2)?;
            let counts = typed::<Int64Array>(batch, 3)?;
            for row in 0..batch.num_rows() {
                let Some(kind) = EVENTS.iter().position(|e| *e == names.value(row)) else {
                    continue;
                };
                if let Some(d) = grid.day(ids.value(row), i64::from(dates.value(row))) {
                    d.events[kind] += u32::try_from(counts.value(row)).unwrap_or(0);
                }
            }
        }
    }
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "prediction: events per meter-day"
    );
    let registry = session
        .query("SELECT meter_id, kind, area_id, has_pv FROM meters")
        .await?;
    let mut known: HashMap<String, (bool, String, bool)> = HashMap::new();
    for batch in &registry {
        let (ids, kinds, areas) = (strings(batch, 0)?, strings(batch, 1)?, strings(batch, 2)?);
        let pv = typed::<arrow::array::BooleanArray>(batch, 3)?;
        for row in 0..batch.num_rows() {
            known.insert(
                ids.value(row).to_string(),
                (
                    kinds.value(row) == "supply",
                    areas.value(row).to_string(),
                    pv.value(row),
                ),
            );
        }
    }
    let mut fleet = FleetDays {
        from,
        to,
        customers: Vec::new(),
        supply: HashMap::new(),
        lake_version: session.lake_version(),
    };
    for (meter_id, days) in grid.meters {
        let (supply, area_id, has_pv) = known.remove(&meter_id).unwrap_or_default();
        if supply {
            let energy = days
                .iter()
                .map(|d| if d.intervals > 0 { d.kwh } else { f64::NAN })
                .collect();
            fleet.supply.insert(area_id, energy);
        } else {
            fleet.customers.push(MeterDays {
                meter_id,
                area_id,
                has_pv,
                days,
            });
        }
    }
    Ok(fleet)
}
