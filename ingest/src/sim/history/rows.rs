//! Readings of the wire schema (`store::wire_schema`) built row by row, for histories written straight
//! into a lake.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Builder, Float64Builder, Int32Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder,
};

/// One reading's values. Energies are register values in 0.01 kWh: total, T1–T4, reverse total.
#[derive(Debug, Clone, Default)]
pub struct WireRow<'a> {
    /// Meter address.
    pub meter: &'a str,
    /// Bus (DTU).
    pub bus: &'a str,
    /// Collector id.
    pub collector: &'a str,
    /// The 15-minute boundary, UTC µs.
    pub boundary_us: i64,
    /// When it was read, UTC µs.
    pub read_us: i64,
    /// The meter's clock, UTC µs.
    pub clock_us: Option<i64>,
    /// Registers in 0.01 kWh: forward total, T1–T4, reverse total.
    pub energy: [i128; 6],
    /// Voltage V, current A, active power kW, power factor, frequency Hz.
    pub electrical: [f64; 5],
    /// Status words 1–7.
    pub status: [i32; 7],
    /// Balance and overdraft in 0.01 yuan.
    pub money: [i128; 2],
}

/// The columns of one batch of rows.
pub struct WireRows {
    meter: StringBuilder,
    boundary: TimestampMicrosecondBuilder,
    read: TimestampMicrosecondBuilder,
    bus: StringBuilder,
    collector: StringBuilder,
    clock: TimestampMicrosecondBuilder,
    energy: [Decimal128Builder; 6],
    floats: [Float64Builder; 5],
    status: [Int32Builder; 7],
    money: [Decimal128Builder; 2],
    quality: StringBuilder,
    version: Int32Builder,
    rows: usize,
}

impl Default for WireRows {
    fn default() -> Self {
        Self::new()
    }
}

impl WireRows {
    /// No rows yet.
    pub fn new() -> Self {
        let decimal = || {
            Decimal128Builder::new()
                .with_precision_and_scale(12, 2)
                .unwrap_or_else(|_| Decimal128Builder::new())
        };
        Self {
            meter: StringBuilder::new(),
            boundary: TimestampMicrosecondBuilder::new(),
            read: TimestampMicrosecondBuilder::new(),
            bus: StringBuilder::new(),
            collector: StringBuilder::new(),
            clock: TimestampMicrosecondBuilder::new(),
            energy: std::array::from_fn(|_| decimal()),
            floats: std::array::from_fn(|_| Float64Builder::new()),
            status: std::array::from_fn(|_| Int32Builder::new()),
            money: std::array::from_fn(|_| decimal()),
            quality: StringBuilder::new(),
            version: Int32Builder::new(),
            rows: 0,
        }
    }

    /// Rows pushed so far.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Adds one reading.
    pub fn push(&mut self, row: &WireRow<'_>) {
        self.meter.append_value(row.meter);
        self.boundary.append_value(row.boundary_us);
        self.read.append_value(row.read_us);
        self.bus.append_value(row.bus);
        self.collector.append_value(row.collector);
        self.clock.append_option(row.clock_us);
        for (builder, value) in self.energy.iter_mut().zip(row.energy) {
            builder.append_value(value);
        }
        for (builder, value) in self.floats.iter_mut().zip(row.electrical) {
            builder.append_value(value);
        }
        for (builder, value) in self.status.iter_mut().zip(row.status) {
            builder.append_value(value);
        }
        for (builder, value) in self.money.iter_mut().zip(row.money) {
            builder.append_value(value);
        }
        self.quality.append_value("ok");
        self.version.append_value(store::SCHEMA_VERSION);
        self.rows += 1;
    }

    /// The rows as one batch of the wire schema.
    pub fn finish(mut self) -> Result<RecordBatch, arrow::error::ArrowError> {
        let utc = |b: &mut TimestampMicrosecondBuilder| -> ArrayRef {
            Arc::new(b.finish().with_timezone("UTC"))
        };
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.meter.finish()),
            utc(&mut self.boundary),
            utc(&mut self.read),
            Arc::new(self.bus.finish()),
            Arc::new(self.collector.finish()),
            utc(&mut self.clock),
        ];
        columns.extend(
            self.energy
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        columns.extend(
            self.floats
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        columns.extend(
            self.status
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        columns.extend(
            self.money
                .iter_mut()
                .map(|b| Arc::new(b.finish()) as ArrayRef),
        );
        columns.push(Arc::new(self.quality.finish()));
        columns.push(Arc::new(self.version.finish()));
        RecordBatch::try_new(store::wire_schema(), columns)
    }
}
