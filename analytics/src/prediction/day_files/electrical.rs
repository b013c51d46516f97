//! The readings' electrical values summed per meter-day as the file scan decodes them: these sums
//! need no time order, so they are taken straight from each batch's columns (a reading's day is its
//! file's `date=` partition, as in the `readings` table) rather than strung into each meter's series.

use std::path::Path;

use arrow::array::{
    Array, AsArray, Float64Array, Int32Array, RecordBatch, TimestampMicrosecondArray,
};
use arrow::datatypes::{Float64Type, Int32Type, TimestampMicrosecondType};
use store::schema::col;

use super::super::day_scan::{micros_as_seconds, DaySums, ReadingValues};
use crate::lake_files::decode::BatchVisitor;
use crate::lake_files::partition_date;
use crate::AnalyticsError;

/// The columns read, in [`Columns`] order.
const COLUMNS: [&str; 8] = [
    col::VOLTAGE,
    col::CURRENT,
    col::ACTIVE_POWER,
    col::POWER_FACTOR,
    col::METER_CLOCK,
    col::READ_TS,
    col::STATUS_WORDS[0],
    col::STATUS_WORDS[2],
];

/// One batch's columns, typed.
struct Columns<'a> {
    floats: [&'a Float64Array; 4],
    clock: &'a TimestampMicrosecondArray,
    read_at: &'a TimestampMicrosecondArray,
    status: [&'a Int32Array; 2],
}

impl<'a> Columns<'a> {
    fn of(batch: &'a RecordBatch, path: &Path) -> Result<Self, AnalyticsError> {
        let wrong = |name: &str| {
            AnalyticsError::Shape(format!(
                "{}: column {name} is missing or mistyped",
                path.display()
            ))
        };
        let column = |i: usize| {
            batch
                .column_by_name(COLUMNS[i])
                .ok_or_else(|| wrong(COLUMNS[i]))
        };
        let float = |i: usize| -> Result<&'a Float64Array, AnalyticsError> {
            column(i)?
                .as_primitive_opt::<Float64Type>()
                .ok_or_else(|| wrong(COLUMNS[i]))
        };
        let instant = |i: usize| -> Result<&'a TimestampMicrosecondArray, AnalyticsError> {
            column(i)?
                .as_primitive_opt::<TimestampMicrosecondType>()
                .ok_or_else(|| wrong(COLUMNS[i]))
        };
        let word = |i: usize| -> Result<&'a Int32Array, AnalyticsError> {
            column(i)?
                .as_primitive_opt::<Int32Type>()
                .ok_or_else(|| wrong(COLUMNS[i]))
        };
        Ok(Self {
            floats: [float(0)?, float(1)?, float(2)?, float(3)?],
            clock: instant(4)?,
            read_at: instant(5)?,
            status: [word(6)?, word(7)?],
        })
    }

    fn values(&self, row: usize) -> ReadingValues {
        fn get<T: arrow::datatypes::ArrowPrimitiveType>(
            a: &arrow::array::PrimitiveArray<T>,
            row: usize,
        ) -> Option<T::Native> {
            a.is_valid(row).then(|| a.value(row))
        }
        let [volts, amps, kw, factor] = &self.floats;
        let (volts, amps, kw, factor) = (
            get(volts, row),
            get(amps, row),
            get(kw, row),
            get(factor, row),
        );
        let clock_offset = get(self.clock, row)
            .zip(get(self.read_at, row))
            .map(|(clock, read)| micros_as_seconds(clock.saturating_sub(read)));
        ReadingValues {
            volts,
            amps,
            kw,
            factor,
            clock_offset,
            status_1: get(self.status[0], row),
            status_3: get(self.status[1], row),
        }
    }
}

/// The sums of one meter range, by the range's meter numbers.
pub(super) struct Electrical {
    /// Days since 1970-01-01 of the window's first day, and its days.
    first: i64,
    len: usize,
    /// Each meter's day sums (empty: none yet).
    pub sums: Vec<Vec<DaySums>>,
}

impl Electrical {
    /// Sums for the window of `len` days from `first` (days since 1970-01-01).
    pub fn new(first: i64, len: usize) -> Self {
        Self {
            first,
            len,
            sums: Vec::new(),
        }
    }
}

impl BatchVisitor for Electrical {
    fn columns(&self) -> &[&'static str] {
        &COLUMNS
    }

    fn visit(
        &mut self,
        batch: &RecordBatch,
        path: &Path,
        rows: &[usize],
        meters: &[u32],
    ) -> Result<(), AnalyticsError> {
        let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
        let date = path.to_str().and_then(partition_date).ok_or_else(|| {
            AnalyticsError::Shape(format!("{}: no date= partition", path.display()))
        })?;
        // The days either side of the window are read for their intervals only.
        let Some(day) = usize::try_from((date - epoch).num_days() - self.first)
            .ok()
            .filter(|d| *d < self.len)
        else {
            return Ok(());
        };
        let columns = Columns::of(batch, path)?;
        for (&row, &meter) in rows.iter().zip(meters) {
            let meter = meter as usize;
            if self.sums.len() <= meter {
                self.sums.resize_with(meter + 1, Vec::new);
            }
            let days = &mut self.sums[meter];
            if days.is_empty() {
                days.resize(self.len, DaySums::default());
            }
            days[day].add_reading(&columns.values(row));
        }
        Ok(())
    }
}
