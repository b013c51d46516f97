//! The per-meter-day sums behind [`super::days`] through SQL (the route for a lake that is not on
//! local disk; [`super::day_files`] reads local files directly), accumulated while DataFusion streams
//! the rows: each
//! output partition is summed by its own task (rows arrive grouped by meter, so a meter's entry is
//! looked up once per run of rows, not per row), and the partitions' sums are merged. A hash
//! aggregation over hundreds of millions of intervals into millions of groups is several times slower.

use std::collections::HashMap;

use arrow::array::{
    Array, AsArray, Date32Array, Float64Array, Int32Array, Int64Array, RecordBatch,
};
use arrow::datatypes::Int32Type;
use datafusion::physical_plan::SendableRecordBatchStream;
use futures::StreamExt;

use super::days::DayStats;
use super::PredictionError;
use crate::columns::{quoted, strings, typed};
use crate::{AnalyticsError, LakeSession};

/// Sums are kept in millionths (squares in millionths squared) as integers, so that adding the
/// partitions' rows in whatever order they arrive gives exactly the same total, and a model trained
/// twice on the same lake is the same model.
const SCALE: f64 = 1e6;

/// `v` in millionths, rounded half away from zero (as `f64::round`, without its library call: this
/// runs for every reading); 0 for a value that is not finite, saturated beyond ±9.2·10¹² units.
pub fn fixed(v: f64) -> i64 {
    if !v.is_finite() {
        return 0;
    }
    let y = v * SCALE;
    let whole = y as i64;
    // Exact: `y` and its integer part share their exponent range. Without branches: which way a
    // fraction rounds is a coin toss the branch predictor loses.
    let fraction = y - whole as f64;
    let step = i64::from(fraction >= 0.5) - i64::from(fraction <= -0.5);
    whole.saturating_add(step)
}

/// A clock offset in µs as seconds (both scans convert it alike).
pub fn micros_as_seconds(us: i64) -> f64 {
    us as f64 / 1e6
}

/// Running sums of one meter-day.
#[derive(Debug, Clone, Copy, Default)]
pub struct DaySums {
    kwh: i128,
    peak: i128,
    rev: i128,
    night: i128,
    evening: i128,
    squares: i128,
    max: i64,
    intervals: u32,
    zero: u32,
    readings: u32,
    voltage: i128,
    voltage_squares: i128,
    current: i128,
    ratio: i128,
    ratios: u32,
    clock: i128,
    clocks: u32,
    battery: u32,
    relay: u32,
}

/// One reading's electrical values, as the `readings` table has them.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadingValues {
    /// Voltage, V.
    pub volts: Option<f64>,
    /// Current, A.
    pub amps: Option<f64>,
    /// Active power, kW.
    pub kw: Option<f64>,
    /// Power factor.
    pub factor: Option<f64>,
    /// The meter's clock minus the collector's, seconds.
    pub clock_offset: Option<f64>,
    /// Status word 1 (battery bits).
    pub status_1: Option<i32>,
    /// Status word 3 (relay bits).
    pub status_3: Option<i32>,
}

impl DaySums {
    /// Adds one interval of the day: its local quarter-hour `slot` and energies in millionths of a
    /// kWh ([`fixed`]; `None` when the interval's energy is unknown, which counts as zero).
    pub fn add_interval(
        &mut self,
        slot: i32,
        kwh: Option<i64>,
        peak: Option<i64>,
        rev: Option<i64>,
    ) {
        let e = kwh.unwrap_or(0);
        let x = i128::from(e);
        self.kwh += x;
        self.squares += x * x;
        self.max = self.max.max(e);
        self.intervals += 1;
        self.zero += u32::from(e <= 0);
        self.peak += i128::from(peak.unwrap_or(0));
        self.rev += i128::from(rev.unwrap_or(0));
        if slot < 24 {
            self.night += x;
        } else if (68..92).contains(&slot) {
            self.evening += x;
        }
    }

    /// Adds one reading of the day.
    pub fn add_reading(&mut self, r: &ReadingValues) {
        self.readings += 1;
        let volts = r.volts.unwrap_or(0.0);
        let amps = r.amps.unwrap_or(0.0);
        let v_fixed = i128::from(fixed(volts));
        self.voltage += v_fixed;
        self.voltage_squares += v_fixed * v_fixed;
        self.current += i128::from(fixed(amps));
        if let (Some(kw), Some(factor)) = (r.kw, r.factor) {
            if amps > 0.2 && volts > 0.0 && factor > 0.0 {
                self.ratio += i128::from(fixed(kw.abs() * 1000.0 / (volts * amps * factor)));
                self.ratios += 1;
            }
        }
        if let Some(offset) = r.clock_offset.filter(|o| o.is_finite()) {
            self.clock += i128::from(fixed(offset));
            self.clocks += 1;
        }
        self.battery += u32::from(r.status_1.unwrap_or(0) & 12 != 0);
        self.relay += u32::from(r.status_3.unwrap_or(0) & 16 != 0 && amps > 0.1);
    }

    /// Adds another partition's sums of the same meter-day.
    pub fn merge(&mut self, o: &DaySums) {
        self.kwh += o.kwh;
        self.peak += o.peak;
        self.rev += o.rev;
        self.night += o.night;
        self.evening += o.evening;
        self.squares += o.squares;
        self.max = self.max.max(o.max);
        self.intervals += o.intervals;
        self.zero += o.zero;
        self.readings += o.readings;
        self.voltage += o.voltage;
        self.voltage_squares += o.voltage_squares;
        self.current += o.current;
        self.ratio += o.ratio;
        self.ratios += o.ratios;
        self.clock += o.clock;
        self.clocks += o.clocks;
        self.battery += o.battery;
        self.relay += o.relay;
    }

    /// The day's statistics (events are added separately).
    pub fn finish(&self) -> DayStats {
        let value = |sum: i128| sum as f64 / SCALE;
        let sd = |sum: i128, squares: i128, n: u32| {
            if n == 0 {
                0.0
            } else {
                let mean = value(sum) / f64::from(n);
                (squares as f64 / (SCALE * SCALE) / f64::from(n) - mean * mean)
                    .max(0.0)
                    .sqrt()
            }
        };
        let per = |sum: f64, n: u32| if n == 0 { 0.0 } else { sum / f64::from(n) };
        DayStats {
            kwh: value(self.kwh),
            peak_kwh: value(self.peak),
            rev_kwh: value(self.rev),
            night_kwh: value(self.night),
            evening_kwh: value(self.evening),
            intervals: self.intervals,
            zero_intervals: self.zero,
            interval_sd: sd(self.kwh, self.squares, self.intervals),
            interval_max: self.max as f64 / SCALE,
            readings: self.readings,
            voltage: per(value(self.voltage), self.readings),
            voltage_sd: sd(self.voltage, self.voltage_squares, self.readings),
            current: per(value(self.current), self.readings),
            power_ratio: (self.ratios > 0).then(|| value(self.ratio) / f64::from(self.ratios)),
            clock_offset: (self.clocks > 0).then(|| value(self.clock) / f64::from(self.clocks)),
            battery_share: per(f64::from(self.battery), self.readings),
            relay_open_current: self.relay,
            events: [0; 6],
        }
    }
}

/// Which rows a scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// `meter_id, date, slot, energy, peak energy, reverse energy` from `interval_energy`.
    Energy,
    /// `meter_id, date, voltage, current, power, power factor, clock offset, status 1, status 3` from
    /// `readings`.
    Electrical,
}

impl Pass {
    fn sql(
        self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        meters: Option<&[String]>,
    ) -> String {
        let mut range = format!("date BETWEEN DATE '{from}' AND DATE '{to}'");
        if let Some(meters) = meters {
            let list: Vec<String> = meters.iter().map(|m| quoted(m)).collect();
            range.push_str(&format!(" AND meter_id IN ({})", list.join(",")));
        }
        match self {
            Self::Energy => format!(
                "SELECT meter_id, date, slot, CAST(energy_kwh AS DOUBLE),
                    CAST(energy_t1_kwh + energy_t2_kwh AS DOUBLE), CAST(energy_rev_kwh AS DOUBLE)
                 FROM interval_energy WHERE {range}"
            ),
            Self::Electrical => format!(
                "SELECT meter_id, date, voltage_v, current_a, active_power_kw, power_factor,
                    CAST(meter_clock AS BIGINT) - CAST(read_ts AS BIGINT),
                    status_word_1, status_word_3
                 FROM readings WHERE {range}"
            ),
        }
    }
}

/// Each meter's day sums, index 0 = the window's first day.
pub type MeterSums = HashMap<String, Vec<DaySums>>;

/// Adds `days` (sums of the same window) to `meter`'s in `sums`.
pub fn merge_into(sums: &mut MeterSums, meter: String, days: Vec<DaySums>) {
    match sums.get_mut(&meter) {
        Some(existing) => existing.iter_mut().zip(&days).for_each(|(a, b)| a.merge(b)),
        None => {
            sums.insert(meter, days);
        }
    }
}

/// One partition's sums, with the last meter's position cached.
struct Partial {
    meters: Vec<(String, Vec<DaySums>)>,
    index: HashMap<String, usize>,
    first: i64,
    len: usize,
}

impl Partial {
    fn meter(&mut self, id: &str, last: &mut Option<usize>) -> usize {
        if let Some(i) = *last {
            if self.meters[i].0 == id {
                return i;
            }
        }
        let i = match self.index.get(id) {
            Some(i) => *i,
            None => {
                self.meters
                    .push((id.to_string(), vec![DaySums::default(); self.len]));
                self.index.insert(id.to_string(), self.meters.len() - 1);
                self.meters.len() - 1
            }
        };
        *last = Some(i);
        i
    }

    fn add(&mut self, pass: Pass, batch: &RecordBatch) -> Result<(), AnalyticsError> {
        let ids = strings(batch, 0)?;
        let dates = typed::<Date32Array>(batch, 1)?;
        let mut last = None;
        let f = |i: usize| typed::<Float64Array>(batch, i);
        let value = |a: &Float64Array, row: usize| (!a.is_null(row)).then(|| a.value(row));
        match pass {
            Pass::Energy => {
                let slots = typed::<Int32Array>(batch, 2)?;
                let (kwh, peak, rev) = (f(3)?, f(4)?, f(5)?);
                for row in 0..batch.num_rows() {
                    let Some(day) = self.slot(&ids, dates, row, &mut last) else {
                        continue;
                    };
                    let millionths = |a: &Float64Array| value(a, row).map(fixed);
                    self.meters[day.0].1[day.1].add_interval(
                        slots.value(row),
                        millionths(kwh),
                        millionths(peak),
                        millionths(rev),
                    );
                }
            }
            Pass::Electrical => {
                let (v, i, p, pf) = (f(2)?, f(3)?, f(4)?, f(5)?);
                let clock = typed::<Int64Array>(batch, 6)?;
                let word = |column: usize| {
                    let words = batch.column(column).as_primitive::<Int32Type>();
                    move |row: usize| (!words.is_null(row)).then(|| words.value(row))
                };
                let (status_1, status_3) = (word(7), word(8));
                for row in 0..batch.num_rows() {
                    let Some(day) = self.slot(&ids, dates, row, &mut last) else {
                        continue;
                    };
                    self.meters[day.0].1[day.1].add_reading(&ReadingValues {
                        volts: value(v, row),
                        amps: value(i, row),
                        kw: value(p, row),
                        factor: value(pf, row),
                        clock_offset: (!clock.is_null(row))
                            .then(|| micros_as_seconds(clock.value(row))),
                        status_1: status_1(row),
                        status_3: status_3(row),
                    });
                }
            }
        }
        Ok(())
    }

    /// The (meter, day) position of `row`, `None` outside the window.
    fn slot(
        &mut self,
        ids: &arrow::array::StringArray,
        dates: &Date32Array,
        row: usize,
        last: &mut Option<usize>,
    ) -> Option<(usize, usize)> {
        let day = usize::try_from(i64::from(dates.value(row)) - self.first)
            .ok()
            .filter(|d| *d < self.len)?;
        Some((self.meter(ids.value(row), last), day))
    }
}

async fn sum_stream(
    mut stream: SendableRecordBatchStream,
    pass: Pass,
    first: i64,
    len: usize,
) -> Result<Partial, AnalyticsError> {
    let mut partial = Partial {
        meters: Vec::new(),
        index: HashMap::new(),
        first,
        len,
    };
    while let Some(batch) = stream.next().await {
        partial.add(pass, &batch?)?;
    }
    Ok(partial)
}

/// Sums `pass` over local dates `from..=to` (`first` = days since 1970-01-01 of `from`, `len` days),
/// of every meter or only of `meters`.
pub async fn scan(
    session: &LakeSession,
    pass: Pass,
    (from, to): (chrono::NaiveDate, chrono::NaiveDate),
    (first, len): (i64, usize),
    meters: Option<&[String]>,
) -> Result<MeterSums, PredictionError> {
    let frame = session
        .context()
        .sql(&pass.sql(from, to, meters))
        .await
        .map_err(AnalyticsError::from)?;
    let streams = frame
        .execute_stream_partitioned()
        .await
        .map_err(AnalyticsError::from)?;
    let tasks: Vec<_> = streams
        .into_iter()
        .map(|s| tokio::spawn(sum_stream(s, pass, first, len)))
        .collect();
    let mut sums: MeterSums = HashMap::new();
    for task in tasks {
        let partial = task
            .await
            .map_err(|e| PredictionError::Model(format!("a scan task failed: {e}")))??;
        for (meter, days) in partial.meters {
            merge_into(&mut sums, meter, days);
        }
    }
    Ok(sums)
}
