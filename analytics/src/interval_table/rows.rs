//! One meter's time-ordered readings as `interval_energy` rows, appended to column buffers, by exactly
//! the rules of the SQL definition ([`crate::views::interval_energy`]).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::NullBufferBuilder;
use arrow::array::{
    ArrayRef, Date32Array, Decimal128Array, Int32Array, Int64Array, RecordBatch, StringBuilder,
    StringViewBuilder, TimestampMicrosecondArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use chrono_tz::Tz;

use crate::interval_rules::{
    register_delta, replaced_within, IntervalQuality as Quality, Span, INTERVAL_US,
};
use crate::lake_files::decode::{Reading, NULL_REGISTER};
use crate::local_days::LocalSlots;
use crate::AnalyticsError;

/// The registers an interval carries: forward total, the four TOU registers, reverse total.
pub(crate) const REGISTERS: usize = 6;

/// The view's columns, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Column {
    Meter,
    Date,
    Slot,
    Start,
    End,
    /// Register `i`'s energy.
    Energy(usize),
    Quality,
    GapIntervals,
    GapEnergy,
    GapIndex,
}

/// The view's column names, in order.
pub(crate) const COLUMN_NAMES: [&str; 15] = [
    "meter_id",
    "date",
    "slot",
    "interval_start",
    "interval_end",
    "energy_kwh",
    "energy_t1_kwh",
    "energy_t2_kwh",
    "energy_t3_kwh",
    "energy_t4_kwh",
    "energy_rev_kwh",
    "quality",
    "gap_intervals",
    "gap_energy_kwh",
    "gap_index",
];

impl Column {
    /// The column at position `i` of the view.
    pub fn at(i: usize) -> Option<Self> {
        Some(match i {
            0 => Self::Meter,
            1 => Self::Date,
            2 => Self::Slot,
            3 => Self::Start,
            4 => Self::End,
            5..=10 => Self::Energy(i - 5),
            11 => Self::Quality,
            12 => Self::GapIntervals,
            13 => Self::GapEnergy,
            14 => Self::GapIndex,
            _ => return None,
        })
    }
}

/// Each meter's installations (`meters.installed_on`), ascending.
pub(crate) type Installs = HashMap<String, Vec<i64>>;

/// A register value as the rules take it.
fn register(value: i64) -> Option<i64> {
    (value != NULL_REGISTER).then_some(value)
}

/// A decimal column of values in 0.01 kWh, with nulls.
#[derive(Default)]
struct Decimals {
    values: Vec<i128>,
    nulls: Option<NullBufferBuilder>,
}

impl Decimals {
    fn push(&mut self, e2: Option<i64>) {
        let nulls = self.nulls.get_or_insert_with(|| NullBufferBuilder::new(0));
        match e2 {
            Some(v) => {
                self.values.push(i128::from(v));
                nulls.append_non_null();
            }
            None => {
                self.values.push(0);
                nulls.append_null();
            }
        }
    }

    /// The column as `data_type` (a decimal of scale ≥ 2); the buffers start empty again.
    fn finish(&mut self, data_type: &DataType) -> Result<ArrayRef, AnalyticsError> {
        let DataType::Decimal128(p, s) = data_type else {
            return Err(AnalyticsError::Shape(format!(
                "energy column of type {data_type}"
            )));
        };
        let factor = u32::try_from(i32::from(*s) - 2)
            .ok()
            .and_then(|e| 10i128.checked_pow(e))
            .ok_or_else(|| AnalyticsError::Shape(format!("energy scale {s} below 2")))?;
        let mut values = std::mem::take(&mut self.values);
        if factor != 1 {
            values.iter_mut().for_each(|v| *v *= factor);
        }
        let nulls: Option<NullBuffer> = self.nulls.take().and_then(|mut n| n.finish());
        let array = Decimal128Array::new(values.into(), nulls);
        Ok(Arc::new(array.with_precision_and_scale(*p, *s)?))
    }
}

/// The rows being built for one output batch, for the projected columns only.
pub(crate) struct IntervalRows {
    schema: SchemaRef,
    columns: Vec<Column>,
    wanted: [bool; 15],
    slots: LocalSlots,
    rows: usize,
    meter: Vec<(u32, u32)>,
    meter_names: String,
    date: Vec<i32>,
    slot: Vec<i32>,
    start: Vec<i64>,
    energy: [Decimals; REGISTERS],
    quality: Vec<Quality>,
    gap_intervals: Vec<i64>,
    gap_energy: Decimals,
    gap_index: (Vec<i64>, NullBufferBuilder),
}

/// Where `column` sits in the view's 15 columns.
fn position(column: Column) -> usize {
    match column {
        Column::Meter => 0,
        Column::Date => 1,
        Column::Slot => 2,
        Column::Start => 3,
        Column::End => 4,
        Column::Energy(i) => 5 + i,
        Column::Quality => 11,
        Column::GapIntervals => 12,
        Column::GapEnergy => 13,
        Column::GapIndex => 14,
    }
}

impl IntervalRows {
    /// Buffers for `columns` (in output order) of `schema` (the projected schema), for a lake in `zone`.
    pub fn new(schema: SchemaRef, columns: Vec<Column>, zone: Tz) -> Self {
        let mut wanted = [false; 15];
        for column in &columns {
            wanted[position(*column)] = true;
        }
        Self {
            schema,
            columns,
            wanted,
            slots: LocalSlots::new(zone),
            rows: 0,
            meter: Vec::new(),
            meter_names: String::new(),
            date: Vec::new(),
            slot: Vec::new(),
            start: Vec::new(),
            energy: Default::default(),
            quality: Vec::new(),
            gap_intervals: Vec::new(),
            gap_energy: Decimals::default(),
            gap_index: (Vec::new(), NullBufferBuilder::new(0)),
        }
    }

    /// Rows buffered.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether the energy of register `i` is wanted (so must be read).
    pub fn wants_register(&self, i: usize) -> bool {
        i == 0 || self.wanted[5 + i]
    }

    /// Appends the intervals of `meter`'s time-ordered `readings`; `installs` are its installations.
    pub fn push_meter(&mut self, meter: &str, readings: &[Reading<REGISTERS>], installs: &[i64]) {
        let name_at = u32::try_from(self.meter_names.len()).unwrap_or(u32::MAX);
        self.meter_names.push_str(meter);
        let name = (name_at, u32::try_from(meter.len()).unwrap_or(0));
        for pair in readings.windows(2) {
            let ((start, before), (end, after)) = (&pair[0], &pair[1]);
            let (start, end) = (*start, *end);
            let span = Span::between(start, end);
            let gap = span.intervals;
            let replaced = replaced_within(installs, start, end);
            let mut deltas = [None; REGISTERS];
            for (i, d) in deltas.iter_mut().enumerate() {
                if self.wants_register(i) {
                    *d = register_delta(register(before[i]), register(after[i]), replaced);
                }
            }
            let quality = Quality::of(span, deltas[0], replaced);
            for k in 0..gap {
                self.push_row(name, start + k * INTERVAL_US, gap, k, &deltas, quality);
            }
        }
    }

    fn push_row(
        &mut self,
        name: (u32, u32),
        at: i64,
        gap: i64,
        k: i64,
        deltas: &[Option<i64>; REGISTERS],
        quality: Quality,
    ) {
        let w = &self.wanted;
        self.rows += 1;
        if w[0] {
            self.meter.push(name);
        }
        if w[1] || w[2] {
            let (date, slot) = self.slots.of(at);
            if w[1] {
                self.date.push(date);
            }
            if w[2] {
                self.slot.push(slot);
            }
        }
        if w[3] || w[4] {
            self.start.push(at);
        }
        for (i, energy) in self.energy.iter_mut().enumerate() {
            if w[5 + i] {
                energy.push(if gap == 1 { deltas[i] } else { None });
            }
        }
        if w[11] {
            self.quality.push(quality);
        }
        if w[12] {
            self.gap_intervals.push(gap);
        }
        if w[13] {
            let gap_energy = if gap > 1 { deltas[0] } else { None };
            self.gap_energy.push(gap_energy);
        }
        if w[14] {
            self.gap_index.0.push(k);
            if gap > 1 {
                self.gap_index.1.append_non_null();
            } else {
                self.gap_index.1.append_null();
            }
        }
    }

    fn strings<'a>(
        data_type: &DataType,
        rows: usize,
        values: impl Iterator<Item = &'a str>,
    ) -> Result<ArrayRef, AnalyticsError> {
        Ok(match data_type {
            DataType::Utf8View => {
                let mut builder = StringViewBuilder::with_capacity(rows);
                values.for_each(|v| builder.append_value(v));
                Arc::new(builder.finish())
            }
            other => {
                let mut builder = StringBuilder::with_capacity(rows, rows * 12);
                values.for_each(|v| builder.append_value(v));
                arrow::compute::cast(&(Arc::new(builder.finish()) as ArrayRef), other)?
            }
        })
    }

    /// The buffered rows as a batch of the projected schema; the buffers start empty again.
    pub fn finish(&mut self) -> Result<RecordBatch, AnalyticsError> {
        let rows = std::mem::take(&mut self.rows);
        let schema = self.schema.clone();
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        let starts = std::mem::take(&mut self.start);
        for (i, column) in self.columns.clone().into_iter().enumerate() {
            let data_type = schema.field(i).data_type();
            let array: ArrayRef = match column {
                Column::Meter => {
                    let names = &self.meter_names;
                    let values = self.meter.iter().map(|(at, len)| {
                        let (at, len) = (*at as usize, *len as usize);
                        names.get(at..at + len).unwrap_or_default()
                    });
                    Self::strings(data_type, rows, values)?
                }
                Column::Date => Arc::new(Date32Array::from(std::mem::take(&mut self.date))),
                Column::Slot => Arc::new(Int32Array::from(std::mem::take(&mut self.slot))),
                Column::Start | Column::End => {
                    let shift = if column == Column::End {
                        INTERVAL_US
                    } else {
                        0
                    };
                    let values: Vec<i64> = starts.iter().map(|s| s + shift).collect();
                    let array = TimestampMicrosecondArray::from(values);
                    match data_type {
                        DataType::Timestamp(TimeUnit::Microsecond, zone) => {
                            Arc::new(array.with_timezone_opt(zone.clone()))
                        }
                        other => arrow::compute::cast(&(Arc::new(array) as ArrayRef), other)?,
                    }
                }
                Column::Energy(r) => self.energy[r].finish(data_type)?,
                Column::Quality => {
                    Self::strings(data_type, rows, self.quality.iter().map(|q| q.name()))?
                }
                Column::GapIntervals => {
                    Arc::new(Int64Array::from(std::mem::take(&mut self.gap_intervals)))
                }
                Column::GapEnergy => self.gap_energy.finish(data_type)?,
                Column::GapIndex => {
                    let nulls = self.gap_index.1.finish();
                    let values = std::mem::take(&mut self.gap_index.0);
                    Arc::new(Int64Array::new(values.into(), nulls))
                }
            };
            arrays.push(array);
        }
        self.meter.clear();
        self.meter_names.clear();
        self.quality.clear();
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(rows));
        Ok(RecordBatch::try_new_with_options(schema, arrays, &options)?)
    }
}
