//! Reading one meter range of a scan: meter, boundary and up to `W` value columns of its row groups,
//! cut into per-meter runs, and each meter's readings strung together in time order.
//!
//! Every value is held as an `i64` ([`ColumnValue`]): a register (decimal, scale 2) in 0.01 kWh, a
//! measurement (float) as its bits, a status word as itself, a timestamp in µs.
//!
//! Meter ids are read as a dictionary (the lake writes them dictionary-encoded), so a row costs a key
//! lookup, not a string. The buffers live as long as the worker, so after the first range a worker
//! reads into memory it already holds.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, DictionaryArray, Float64Array, Int32Array,
    StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{
    DataType, Decimal128Type, Field, Float64Type, Int32Type, Schema, TimestampMicrosecondType,
};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use parquet::file::statistics::Statistics;

use super::chunks::{Chunk, GroupSpan};
use crate::AnalyticsError;

const METER: &str = "meter_id";
const BOUNDARY: &str = "boundary_ts";
/// Rows decoded at a time.
const BATCH_ROWS: usize = 65_536;
/// A dictionary key whose meter the range does not keep.
const SKIPPED: u32 = u32::MAX;
/// A value that is null (or not read).
pub(crate) const NULL_REGISTER: i64 = i64::MIN;

/// One reading: its boundary (UTC µs) and values ([`NULL_REGISTER`] when null; registers in 0.01
/// kWh).
pub(crate) type Reading<const W: usize> = (i64, [i64; W]);

/// A measurement held in a reading's `i64` (see [`ColumnValue`]), `None` when null.
pub(crate) fn measurement(value: i64) -> Option<f64> {
    (value != NULL_REGISTER).then(|| f64::from_bits(value as u64))
}

/// `value` when it is not null.
pub(crate) fn present(value: i64) -> Option<i64> {
    (value != NULL_REGISTER).then_some(value)
}

/// One value column of a decoded batch, and how its values become a reading's `i64`.
#[derive(Clone, Copy)]
enum ColumnValue<'a> {
    /// A register, decimal of scale 2: its unscaled value (0.01 kWh).
    Register(&'a Decimal128Array),
    /// A measurement: its bits (−0.0 as 0.0, so no value is [`NULL_REGISTER`]).
    Measurement(&'a Float64Array),
    /// A status word or count.
    Word(&'a Int32Array),
    /// An instant: µs since the epoch.
    Instant(&'a TimestampMicrosecondArray),
}

impl<'a> ColumnValue<'a> {
    fn of(array: &'a ArrayRef, name: &str, path: &Path) -> Result<Self, AnalyticsError> {
        let kind = match array.data_type() {
            DataType::Decimal128(_, 2) => array.as_primitive_opt::<Decimal128Type>().map(Self::Register),
            DataType::Float64 => array.as_primitive_opt::<Float64Type>().map(Self::Measurement),
            DataType::Int32 => array.as_primitive_opt::<Int32Type>().map(Self::Word),
            DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, _) => array
                .as_primitive_opt::<TimestampMicrosecondType>()
                .map(Self::Instant),
            _ => None,
        };
        kind.ok_or_else(|| {
            shape(
                path,
                &format!("{name} is {}, not a register, measurement, word or instant", array.data_type()),
            )
        })
    }

    fn is_null(self, row: usize) -> bool {
        match self {
            Self::Register(a) => a.is_null(row),
            Self::Measurement(a) => a.is_null(row),
            Self::Word(a) => a.is_null(row),
            Self::Instant(a) => a.is_null(row),
        }
    }

    /// Writes rows `rows`' values into slot `c` of `out` (one reading per row); nulls are left as
    /// they are.
    fn fill<const W: usize>(
        self,
        rows: &[usize],
        c: usize,
        out: &mut [[i64; W]],
        path: &Path,
    ) -> Result<(), AnalyticsError> {
        fn each<const W: usize>(
            (rows, c, out): (&[usize], usize, &mut [[i64; W]]),
            nulls: Option<&arrow::buffer::NullBuffer>,
            value: impl Fn(usize) -> Result<i64, AnalyticsError>,
        ) -> Result<(), AnalyticsError> {
            for (reading, &row) in out.iter_mut().zip(rows) {
                if nulls.is_none_or(|n| n.is_valid(row)) {
                    reading[c] = value(row)?;
                }
            }
            Ok(())
        }
        let at = (rows, c, out);
        match self {
            Self::Register(a) => each(at, a.nulls(), |row| {
                i64::try_from(a.value(row))
                    .ok()
                    .filter(|v| *v != NULL_REGISTER)
                    .ok_or_else(|| shape(path, "register out of range"))
            }),
            Self::Measurement(a) => each(at, a.nulls(), |row| {
                Ok((a.value(row) + 0.0).to_bits() as i64)
            }),
            Self::Word(a) => each(at, a.nulls(), |row| Ok(i64::from(a.value(row)))),
            Self::Instant(a) => each(at, a.nulls(), |row| Ok(a.value(row).max(NULL_REGISTER + 1))),
        }
    }
}

/// Which meters a scan keeps.
pub(crate) enum Keep {
    /// Every meter.
    All,
    /// Only these.
    Only(HashSet<String>),
    /// All but these.
    Except(HashSet<String>),
}

impl Keep {
    /// Whether the scan keeps `meter`.
    pub fn keeps(&self, meter: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(set) => set.contains(meter),
            Self::Except(set) => !set.contains(meter),
        }
    }

    /// Whether a row group can hold one of the kept meters (by its statistics).
    pub fn may_hold(&self, group: &GroupSpan) -> bool {
        let Self::Only(set) = self else {
            return true;
        };
        set.iter().any(|m| {
            group.min.as_deref().is_none_or(|min| m.as_str() >= min)
                && group.max.as_deref().is_none_or(|max| m.as_str() <= max)
        })
    }
}

/// One file of a scan, its footer read once.
pub(crate) struct ScanFile {
    path: PathBuf,
    metadata: ArrowReaderMetadata,
    /// The earliest boundary its statistics give (`None`: unknown).
    pub earliest: Option<i64>,
}

fn shape(path: &Path, what: &str) -> AnalyticsError {
    AnalyticsError::Shape(format!("{}: {what}", path.display()))
}

/// The top-level column `name`'s index in the Parquet schema.
fn leaf(metadata: &ArrowReaderMetadata, name: &str) -> Option<usize> {
    metadata
        .parquet_schema()
        .columns()
        .iter()
        .position(|c| c.path().parts() == [name])
}

/// Reads the footer of `path` (file `file` of the scan): the file, and its row groups' meter spans.
pub(crate) fn open(path: &Path, file: usize) -> Result<(ScanFile, Vec<GroupSpan>), AnalyticsError> {
    let handle = std::fs::File::open(path).map_err(|e| shape(path, &e.to_string()))?;
    let mut metadata = ArrowReaderMetadata::load(&handle, ArrowReaderOptions::new())?;
    // Meter ids as a dictionary: the file's own keys, not a string per row.
    let schema = metadata.schema();
    if let Ok(i) = schema.index_of(METER) {
        if matches!(
            schema.field(i).data_type(),
            DataType::Utf8 | DataType::Utf8View
        ) {
            let mut fields: Vec<Field> =
                schema.fields().iter().map(|f| f.as_ref().clone()).collect();
            fields[i] = fields[i].clone().with_data_type(DataType::Dictionary(
                Box::new(DataType::Int32),
                Box::new(DataType::Utf8),
            ));
            let hinted = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
            let options = ArrowReaderOptions::new().with_schema(hinted);
            if let Ok(dictionary) =
                ArrowReaderMetadata::try_new(metadata.metadata().clone(), options)
            {
                metadata = dictionary;
            }
        }
    }
    let (meter, boundary) = (leaf(&metadata, METER), leaf(&metadata, BOUNDARY));
    let meter = meter.ok_or_else(|| shape(path, "no meter_id column"))?;
    let mut earliest = Some(i64::MAX);
    let mut spans = Vec::new();
    for (group, meta) in metadata.metadata().row_groups().iter().enumerate() {
        let text = |bytes: Option<&[u8]>| bytes.and_then(|b| String::from_utf8(b.to_vec()).ok());
        let stats = meta.column(meter).statistics();
        spans.push(GroupSpan {
            file,
            group,
            rows: usize::try_from(meta.num_rows()).unwrap_or(0),
            min: stats.and_then(|s| text(s.min_bytes_opt())),
            max: stats.and_then(|s| text(s.max_bytes_opt())),
        });
        let first = boundary.and_then(|b| match meta.column(b).statistics() {
            Some(Statistics::Int64(s)) => s.min_opt().copied(),
            _ => None,
        });
        earliest = earliest.zip(first).map(|(a, b)| a.min(b));
    }
    let file = ScanFile {
        path: path.to_path_buf(),
        metadata,
        earliest,
    };
    Ok((file, spans))
}

/// A run of one meter's rows, contiguous in the decoded columns.
struct Run {
    meter: u32,
    start: usize,
    end: usize,
    /// Boundaries strictly increase along the run.
    sorted: bool,
}

/// The readings of one meter range: per-meter runs over the decoded boundary and register columns.
pub(crate) struct RangeReadings<const W: usize> {
    meters: Vec<String>,
    index: HashMap<String, u32>,
    runs: Vec<Run>,
    boundary: Vec<i64>,
    registers: Vec<[i64; W]>,
    keys: Vec<u32>,
    /// The rows of the batch being appended that are kept.
    picked: Vec<usize>,
}

impl<const W: usize> Default for RangeReadings<W> {
    fn default() -> Self {
        Self {
            meters: Vec::new(),
            index: HashMap::new(),
            runs: Vec::new(),
            boundary: Vec::new(),
            registers: Vec::new(),
            keys: Vec::new(),
            picked: Vec::new(),
        }
    }
}

/// What [`RangeReadings::each_meter`] calls with each meter and its readings.
pub(crate) type MeterVisit<'a, const W: usize> =
    dyn FnMut(&str, &[Reading<W>]) -> Result<(), AnalyticsError> + 'a;

/// The value columns a scan reads; `None` is not read (always null).
pub(crate) type RegisterColumns<const W: usize> = [Option<&'static str>; W];

/// Which rows of a range a scan keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rows {
    /// Only rows whose first value column is not null (for billing, a reading without its forward
    /// register is not a reading).
    FirstPresent,
    /// Every row.
    All,
}

/// `array` as plain UTF-8 strings.
fn utf8(array: &ArrayRef) -> Result<StringArray, AnalyticsError> {
    match array.as_string_opt::<i32>() {
        Some(strings) => Ok(strings.clone()),
        None => Ok(arrow::compute::cast(array, &DataType::Utf8)?
            .as_string::<i32>()
            .clone()),
    }
}

impl<const W: usize> RangeReadings<W> {
    fn clear(&mut self) {
        self.meters.clear();
        self.index.clear();
        self.runs.clear();
        self.boundary.clear();
        self.registers.clear();
    }

    /// The range's number for `meter`.
    fn intern(&mut self, meter: &str) -> u32 {
        if let Some(n) = self.index.get(meter) {
            return *n;
        }
        let n = u32::try_from(self.meters.len()).unwrap_or(SKIPPED - 1);
        self.meters.push(meter.to_string());
        self.index.insert(meter.to_string(), n);
        n
    }

    /// Replaces the contents with the kept meters of `chunk`'s range from its row groups.
    pub fn read(
        &mut self,
        files: &[ScanFile],
        chunk: &Chunk,
        keep: &Keep,
        (registers, rows): (&RegisterColumns<W>, Rows),
    ) -> Result<(), AnalyticsError> {
        self.clear();
        for (file, groups) in &chunk.reads {
            let Some(file) = files.get(*file) else {
                return Err(AnalyticsError::Shape(
                    "scan plan names an unknown file".into(),
                ));
            };
            let handle =
                std::fs::File::open(&file.path).map_err(|e| shape(&file.path, &e.to_string()))?;
            let builder =
                ParquetRecordBatchReaderBuilder::new_with_metadata(handle, file.metadata.clone());
            let columns = [METER, BOUNDARY]
                .into_iter()
                .chain(registers.iter().flatten().copied());
            let mask = ProjectionMask::columns(builder.parquet_schema(), columns);
            let reader = builder
                .with_projection(mask)
                .with_row_groups(groups.clone())
                .with_batch_size(BATCH_ROWS)
                .build()?;
            for batch in reader {
                self.append(&batch?, (&file.path, chunk, keep), registers, rows)?;
            }
        }
        Ok(())
    }

    fn append(
        &mut self,
        batch: &arrow::array::RecordBatch,
        (path, chunk, keep): (&Path, &Chunk, &Keep),
        registers: &RegisterColumns<W>,
        rows: Rows,
    ) -> Result<(), AnalyticsError> {
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| shape(path, &format!("no {name} column")))
        };
        let meters = column(METER)?;
        let meters: DictionaryArray<Int32Type> = match meters.as_dictionary_opt::<Int32Type>() {
            Some(dictionary) => dictionary.clone(),
            None => arrow::compute::cast(
                meters,
                &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            )?
            .as_dictionary::<Int32Type>()
            .clone(),
        };
        let boundary = column(BOUNDARY)?;
        let boundary = boundary
            .as_primitive_opt::<TimestampMicrosecondType>()
            .ok_or_else(|| shape(path, "boundary_ts is not µs"))?;
        let mut arrays = Vec::with_capacity(W);
        for name in registers {
            arrays.push(match name {
                Some(name) => Some((*name, column(name)?)),
                None => None,
            });
        }
        let mut values: Vec<Option<ColumnValue>> = Vec::with_capacity(W);
        for array in &arrays {
            values.push(match array {
                Some((name, array)) => Some(ColumnValue::of(array, name, path)?),
                None => None,
            });
        }
        let required = match (rows, values.first()) {
            (Rows::All, _) => None,
            (Rows::FirstPresent, Some(Some(first))) => Some(*first),
            (Rows::FirstPresent, _) => {
                return Err(shape(path, "a scan reads at least its first register"))
            }
        };
        // Each dictionary value once: the range's meter number, or skipped.
        let names = utf8(meters.values())?;
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        let mut picked = std::mem::take(&mut self.picked);
        picked.clear();
        for i in 0..names.len() {
            let meter = names.value(i);
            let kept = names.is_valid(i) && chunk.range.contains(meter) && keep.keeps(meter);
            keys.push(if kept { self.intern(meter) } else { SKIPPED });
        }
        let (key_of, at) = (meters.keys(), boundary.values());
        let whole = key_of.null_count() == 0 && boundary.null_count() == 0;
        for row in 0..batch.num_rows() {
            if required.is_some_and(|first| first.is_null(row))
                || (!whole && (key_of.is_null(row) || boundary.is_null(row)))
            {
                continue;
            }
            let meter = usize::try_from(key_of.values()[row])
                .ok()
                .and_then(|k| keys.get(k))
                .copied()
                .unwrap_or(SKIPPED);
            if meter == SKIPPED {
                continue;
            }
            picked.push(row);
            let index = self.boundary.len();
            match self.runs.last_mut() {
                Some(run) if run.meter == meter => {
                    run.sorted &= self.boundary[index - 1] < at[row];
                    run.end = index + 1;
                }
                _ => self.runs.push(Run {
                    meter,
                    start: index,
                    end: index + 1,
                    sorted: true,
                }),
            }
            self.boundary.push(at[row]);
        }
        // Column by column: one type decision per column, not per value.
        let base = self.registers.len();
        self.registers
            .resize(base + picked.len(), [NULL_REGISTER; W]);
        for (c, value) in values.iter().enumerate() {
            if let Some(value) = value {
                value.fill(&picked, c, &mut self.registers[base..], path)?;
            }
        }
        self.keys = keys;
        self.picked = picked;
        Ok(())
    }

    /// Calls `each` with every meter of the range, in ascending order, and its (boundary, register)
    /// readings in time order, strung together in `buffer`.
    pub fn each_meter(
        &mut self,
        buffer: &mut Vec<Reading<W>>,
        each: &mut MeterVisit<'_, W>,
    ) -> Result<(), AnalyticsError> {
        let (meters, boundary) = (&self.meters, &self.boundary);
        self.runs.sort_unstable_by(|a, b| {
            meters[a.meter as usize]
                .cmp(&meters[b.meter as usize])
                .then(boundary[a.start].cmp(&boundary[b.start]))
        });
        let mut i = 0;
        while i < self.runs.len() {
            let meter = self.runs[i].meter;
            buffer.clear();
            let mut ordered = true;
            while let Some(run) = self.runs.get(i).filter(|r| r.meter == meter) {
                ordered &=
                    run.sorted && buffer.last().is_none_or(|(t, _)| *t < boundary[run.start]);
                buffer.extend((run.start..run.end).map(|row| (boundary[row], self.registers[row])));
                i += 1;
            }
            if !ordered {
                buffer.sort_unstable();
            }
            each(&meters[meter as usize], buffer)?;
        }
        Ok(())
    }
}
