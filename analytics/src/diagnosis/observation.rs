//! One reading as the alarm rules see it, taken from reading rows (a Kafka batch or a lake query: both
//! carry the columns of `docs/contracts.md` §2 by name).

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Decimal128Type, Float64Type, Int32Type, TimeUnit};
use store::schema::col;

use crate::columns::strings;
use crate::AnalyticsError;

/// A reading's values that the rules judge. Registers are in 0.01 kWh.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// Meter address.
    pub meter_id: String,
    /// Collection boundary, UTC µs.
    pub boundary_us: i64,
    /// When the read finished, UTC µs.
    pub read_us: i64,
    /// Whether the meter answered at all (`quality` not `no_response`).
    pub answered: bool,
    /// Forward active total register.
    pub forward_e2: Option<i64>,
    /// The four TOU registers.
    pub tariff_e2: [Option<i64>; 4],
    /// Reverse active total register.
    pub reverse_e2: Option<i64>,
    /// Voltage, V.
    pub voltage_v: Option<f64>,
    /// Current, A.
    pub current_a: Option<f64>,
    /// Active power, kW (negative: reverse).
    pub power_kw: Option<f64>,
    /// Power factor.
    pub power_factor: Option<f64>,
    /// Frequency, Hz.
    pub frequency_hz: Option<f64>,
    /// Status word 1 (battery, power direction, faults).
    pub status_1: Option<i32>,
    /// Status word 3 (relay, keep-power).
    pub status_3: Option<i32>,
    /// Meter clock minus read time, seconds.
    pub clock_offset_s: Option<i64>,
    /// Replies of this meter that reached the collector after their request had timed out, in the
    /// round (the collector's link counters; 0 when it reported none).
    pub late_replies: u32,
    /// Bytes of line noise around this meter's replies in the round.
    pub noise_bytes: u32,
}

/// Status word 3, b4: relay open.
const STATUS3_RELAY_OPEN: i32 = 1 << 4;

impl Observation {
    /// Whether status word 3 says the relay is open (`None` without the word).
    pub fn relay_open(&self) -> Option<bool> {
        self.status_3.map(|w| w & STATUS3_RELAY_OPEN != 0)
    }
}

/// A column of the batch by name.
fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a dyn Array, AnalyticsError> {
    let schema = batch.schema();
    let (i, _) = schema
        .column_with_name(name)
        .ok_or_else(|| AnalyticsError::Shape(format!("reading rows without column {name}")))?;
    Ok(batch.column(i).as_ref())
}

/// A timestamp column as UTC µs.
fn micros(array: &dyn Array, name: &str) -> Result<Vec<Option<i64>>, AnalyticsError> {
    let cast = arrow::compute::cast(array, &DataType::Timestamp(TimeUnit::Microsecond, None))?;
    let values = cast
        .as_primitive_opt::<arrow::datatypes::TimestampMicrosecondType>()
        .ok_or_else(|| AnalyticsError::Shape(format!("{name} is not a timestamp")))?;
    Ok(values.iter().collect())
}

/// A decimal register column as 0.01 kWh.
fn registers(array: &dyn Array, name: &str) -> Result<Vec<Option<i64>>, AnalyticsError> {
    let DataType::Decimal128(_, scale) = array.data_type() else {
        return Err(AnalyticsError::Shape(format!("{name} is not a decimal")));
    };
    let shift = i32::from(*scale) - 2;
    let values = array.as_primitive::<Decimal128Type>();
    Ok(values
        .iter()
        .map(|v| {
            let v = v?;
            let scaled = if shift >= 0 {
                v / 10i128.checked_pow(shift.unsigned_abs())?
            } else {
                v.checked_mul(10i128.checked_pow(shift.unsigned_abs())?)?
            };
            i64::try_from(scaled).ok()
        })
        .collect())
}

fn floats(array: &dyn Array, name: &str) -> Result<Vec<Option<f64>>, AnalyticsError> {
    let cast = arrow::compute::cast(array, &DataType::Float64)
        .map_err(|_| AnalyticsError::Shape(format!("{name} is not a number")))?;
    Ok(cast.as_primitive::<Float64Type>().iter().collect())
}

fn ints(array: &dyn Array, name: &str) -> Result<Vec<Option<i32>>, AnalyticsError> {
    let cast = arrow::compute::cast(array, &DataType::Int32)
        .map_err(|_| AnalyticsError::Shape(format!("{name} is not an integer")))?;
    Ok(cast.as_primitive::<Int32Type>().iter().collect())
}

/// The batch's reading rows as observations, in row order.
pub fn observations(batch: &RecordBatch) -> Result<Vec<Observation>, AnalyticsError> {
    let meter_ids = {
        let schema = batch.schema();
        let (i, _) = schema
            .column_with_name(col::METER_ID)
            .ok_or_else(|| AnalyticsError::Shape("reading rows without meter_id".into()))?;
        strings(batch, i)?
    };
    let boundary = micros(column(batch, col::BOUNDARY_TS)?, col::BOUNDARY_TS)?;
    let read = micros(column(batch, col::READ_TS)?, col::READ_TS)?;
    let clock = micros(column(batch, col::METER_CLOCK)?, col::METER_CLOCK)?;
    let forward = registers(column(batch, col::ENERGY_FWD_TOTAL)?, col::ENERGY_FWD_TOTAL)?;
    let mut tariffs = Vec::with_capacity(4);
    for name in col::ENERGY_FWD_TARIFF {
        tariffs.push(registers(column(batch, name)?, name)?);
    }
    let reverse = registers(column(batch, col::ENERGY_REV_TOTAL)?, col::ENERGY_REV_TOTAL)?;
    let voltage = floats(column(batch, col::VOLTAGE)?, col::VOLTAGE)?;
    let current = floats(column(batch, col::CURRENT)?, col::CURRENT)?;
    let power = floats(column(batch, col::ACTIVE_POWER)?, col::ACTIVE_POWER)?;
    let factor = floats(column(batch, col::POWER_FACTOR)?, col::POWER_FACTOR)?;
    let frequency = floats(column(batch, col::FREQUENCY)?, col::FREQUENCY)?;
    let status_1 = ints(column(batch, col::STATUS_WORDS[0])?, col::STATUS_WORDS[0])?;
    let status_3 = ints(column(batch, col::STATUS_WORDS[2])?, col::STATUS_WORDS[2])?;
    let quality = {
        let schema = batch.schema();
        let (i, _) = schema
            .column_with_name(col::QUALITY)
            .ok_or_else(|| AnalyticsError::Shape("reading rows without quality".into()))?;
        strings(batch, i)?
    };
    let mut out = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let (Some(boundary_us), Some(read_us)) = (boundary[row], read[row]) else {
            continue;
        };
        out.push(Observation {
            meter_id: meter_ids.value(row).to_string(),
            boundary_us,
            read_us,
            answered: !quality.is_null(row) && quality.value(row) != "no_response",
            forward_e2: forward[row],
            tariff_e2: [
                tariffs[0][row],
                tariffs[1][row],
                tariffs[2][row],
                tariffs[3][row],
            ],
            reverse_e2: reverse[row],
            voltage_v: voltage[row],
            current_a: current[row],
            power_kw: power[row],
            power_factor: factor[row],
            frequency_hz: frequency[row],
            status_1: status_1[row],
            status_3: status_3[row],
            clock_offset_s: clock[row].map(|c| (c - read_us) / 1_000_000),
            late_replies: 0,
            noise_bytes: 0,
        });
    }
    Ok(out)
}
