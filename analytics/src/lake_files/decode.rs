//! Reading one meter range of a scan: meter, boundary and up to `W` register columns of its row
//! groups, cut into per-meter runs, and each meter's readings strung together in time order. Sums
//! that need no time order can take each decoded batch's rows as they come ([`BatchVisitor`]).
//!
//! Meter ids are read as a dictionary (the lake writes them dictionary-encoded), so a row costs a key
//! lookup, not a string. The buffers live as long as the worker, so after the first range a worker
//! reads into memory it already holds.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Decimal128Array, DictionaryArray, RecordBatch, StringArray,
};
use arrow::datatypes::{
    DataType, Decimal128Type, Field, Int32Type, Schema, TimestampMicrosecondType,
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
/// A register value that is null (or not read).
pub(crate) const NULL_REGISTER: i64 = i64::MIN;

/// One reading: its boundary (UTC µs) and registers in 0.01 kWh ([`NULL_REGISTER`] when null).
pub(crate) type Reading<const W: usize> = (i64, [i64; W]);

/// A register value when it is not null.
pub(crate) fn present(value: i64) -> Option<i64> {
    (value != NULL_REGISTER).then_some(value)
}

/// Takes, beside a scan's readings, every decoded batch's rows of the meters the range keeps (with
/// or without their first register).
pub(crate) trait BatchVisitor {
    /// The columns it reads besides the scan's.
    fn columns(&self) -> &[&'static str];

    /// Rows `rows` of `batch`, read from `path`; `meters[i]` is row `rows[i]`'s meter's number in the
    /// range ([`RangeReadings::meters`]).
    fn visit(
        &mut self,
        batch: &RecordBatch,
        path: &Path,
        rows: &[usize],
        meters: &[u32],
    ) -> Result<(), AnalyticsError>;
}

/// Writes rows `rows`' values of `register` (decimal, scale 2) into slot `c` of `out` (one reading
/// per row); nulls are left as they are. Column by column: the value checks run once per column.
fn fill<const W: usize>(
    register: &Decimal128Array,
    rows: &[usize],
    (c, out): (usize, &mut [[i64; W]]),
    path: &Path,
) -> Result<(), AnalyticsError> {
    let nulls = register.nulls().filter(|n| n.null_count() > 0);
    let values = register.values();
    for (reading, &row) in out.iter_mut().zip(rows) {
        if nulls.is_none_or(|n| n.is_valid(row)) {
            reading[c] = i64::try_from(values[row])
                .ok()
                .filter(|v| *v != NULL_REGISTER)
                .ok_or_else(|| shape(path, "register out of range"))?;
        }
    }
    Ok(())
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
    /// The rows of the batch being appended that are readings, and all rows of kept meters with
    /// their numbers (for a [`BatchVisitor`]).
    picked: Vec<usize>,
    visited: (Vec<usize>, Vec<u32>),
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
            visited: (Vec::new(), Vec::new()),
        }
    }
}

/// What [`RangeReadings::each_meter`] calls with each meter and its readings.
pub(crate) type MeterVisit<'a, const W: usize> =
    dyn FnMut(&str, &[Reading<W>]) -> Result<(), AnalyticsError> + 'a;

/// The register columns a scan reads: the first must be non-null for a row to count (a reading
/// without it is not a reading); `None` is not read (always null).
pub(crate) type RegisterColumns<const W: usize> = [Option<&'static str>; W];

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

    /// The range's meters by number.
    pub fn meters(&self) -> &[String] {
        &self.meters
    }

    /// Replaces the contents with the kept meters of `chunk`'s range from its row groups.
    pub fn read(
        &mut self,
        files: &[ScanFile],
        chunk: &Chunk,
        keep: &Keep,
        registers: &RegisterColumns<W>,
    ) -> Result<(), AnalyticsError> {
        self.read_with(files, (chunk, keep), registers, None)
    }

    /// [`RangeReadings::read`], handing every batch's rows of kept meters to `beside` as well.
    pub fn read_with(
        &mut self,
        files: &[ScanFile],
        (chunk, keep): (&Chunk, &Keep),
        registers: &RegisterColumns<W>,
        mut beside: Option<&mut dyn BatchVisitor>,
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
            let extra = beside.as_ref().map_or(&[][..], |b| b.columns());
            let columns = [METER, BOUNDARY]
                .into_iter()
                .chain(registers.iter().flatten().copied())
                .chain(extra.iter().copied());
            let mask = ProjectionMask::columns(builder.parquet_schema(), columns);
            let reader = builder
                .with_projection(mask)
                .with_row_groups(groups.clone())
                .with_batch_size(BATCH_ROWS)
                .build()?;
            for batch in reader {
                let batch = batch?;
                self.append(
                    &batch,
                    (&file.path, chunk, keep),
                    registers,
                    beside.is_some(),
                )?;
                if let Some(visitor) = beside.as_deref_mut() {
                    let (rows, meters) = &self.visited;
                    visitor.visit(&batch, &file.path, rows, meters)?;
                }
            }
        }
        Ok(())
    }

    fn append(
        &mut self,
        batch: &RecordBatch,
        (path, chunk, keep): (&Path, &Chunk, &Keep),
        registers: &RegisterColumns<W>,
        visiting: bool,
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
        let mut values: Vec<Option<&Decimal128Array>> = Vec::with_capacity(W);
        for name in registers {
            let Some(name) = name else {
                values.push(None);
                continue;
            };
            let register = column(name)?
                .as_primitive_opt::<Decimal128Type>()
                .filter(|r| r.scale() == 2)
                .ok_or_else(|| shape(path, &format!("{name} is not decimal(_,2)")))?;
            values.push(Some(register));
        }
        let Some(Some(first)) = values.first().copied() else {
            return Err(shape(path, "a scan reads at least its first register"));
        };
        // Each dictionary value once: the range's meter number, or skipped.
        let names = utf8(meters.values())?;
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        let mut picked = std::mem::take(&mut self.picked);
        picked.clear();
        let mut visited = std::mem::take(&mut self.visited);
        visited.0.clear();
        visited.1.clear();
        for i in 0..names.len() {
            let meter = names.value(i);
            let kept = names.is_valid(i) && chunk.range.contains(meter) && keep.keeps(meter);
            keys.push(if kept { self.intern(meter) } else { SKIPPED });
        }
        let (key_of, at) = (meters.keys(), boundary.values());
        let whole = key_of.null_count() == 0 && boundary.null_count() == 0;
        for row in 0..batch.num_rows() {
            if !whole && (key_of.is_null(row) || boundary.is_null(row)) {
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
            if visiting {
                visited.0.push(row);
                visited.1.push(meter);
            }
            if first.is_null(row) {
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
        let base = self.registers.len();
        self.registers
            .resize(base + picked.len(), [NULL_REGISTER; W]);
        for (c, register) in values.iter().enumerate() {
            if let Some(register) = register {
                fill(register, &picked, (c, &mut self.registers[base..]), path)?;
            }
        }
        self.keys = keys;
        self.picked = picked;
        self.visited = visited;
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
