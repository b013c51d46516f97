//! A reading row in Rust form and its conversion to Arrow record batches (the wire schema of `store`).

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Decimal128Builder, Float64Array, Int32Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use store::schema::{wire_schema, DECIMAL_PRECISION, DECIMAL_SCALE, SCHEMA_VERSION};

/// How complete a reading is (`quality` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quality {
    /// Every requested data identifier answered.
    Ok,
    /// Some data identifiers missing.
    Partial,
    /// The meter did not answer at all.
    NoResponse,
}

impl Quality {
    /// The column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Partial => "partial",
            Self::NoResponse => "no_response",
        }
    }
}

/// One wide reading row (`docs/contracts.md` §2), the JSON form third-party producers send.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reading {
    /// Meter address, 12 digits.
    pub meter_id: String,
    /// Collection boundary.
    pub boundary_ts: DateTime<Utc>,
    /// When the read finished.
    pub read_ts: DateTime<Utc>,
    /// Bus / DTU id.
    pub bus_id: String,
    /// Collector id.
    pub collector_id: String,
    /// Meter clock.
    #[serde(default)]
    pub meter_clock: Option<DateTime<Utc>>,
    /// Forward active total, kWh.
    #[serde(default)]
    pub energy_fwd_total_kwh: Option<Decimal>,
    /// Forward active tariffs 1–4, kWh.
    #[serde(default)]
    pub energy_fwd_tariff_kwh: [Option<Decimal>; 4],
    /// Reverse active total, kWh.
    #[serde(default)]
    pub energy_rev_total_kwh: Option<Decimal>,
    /// Voltage, V.
    #[serde(default)]
    pub voltage_v: Option<f64>,
    /// Current, A.
    #[serde(default)]
    pub current_a: Option<f64>,
    /// Active power, kW.
    #[serde(default)]
    pub active_power_kw: Option<f64>,
    /// Power factor.
    #[serde(default)]
    pub power_factor: Option<f64>,
    /// Frequency, Hz.
    #[serde(default)]
    pub frequency_hz: Option<f64>,
    /// Status words 1–7.
    #[serde(default)]
    pub status_words: [Option<i32>; 7],
    /// Remaining money, yuan.
    #[serde(default)]
    pub balance_yuan: Option<Decimal>,
    /// Overdraft money, yuan.
    #[serde(default)]
    pub overdraft_yuan: Option<Decimal>,
    /// Collection quality.
    pub quality: Quality,
}

impl Reading {
    /// An empty reading of `meter_id` at `boundary`: every value null, quality `no_response`.
    pub fn empty(
        meter_id: String,
        boundary: DateTime<Utc>,
        bus_id: &str,
        collector_id: &str,
    ) -> Self {
        Self {
            meter_id,
            boundary_ts: boundary,
            read_ts: boundary,
            bus_id: bus_id.to_string(),
            collector_id: collector_id.to_string(),
            meter_clock: None,
            energy_fwd_total_kwh: None,
            energy_fwd_tariff_kwh: [None; 4],
            energy_rev_total_kwh: None,
            voltage_v: None,
            current_a: None,
            active_power_kw: None,
            power_factor: None,
            frequency_hz: None,
            status_words: [None; 7],
            balance_yuan: None,
            overdraft_yuan: None,
            quality: Quality::NoResponse,
        }
    }
}

/// Why rows could not be turned into a batch.
#[derive(Debug, thiserror::Error)]
pub enum ReadingError {
    /// A decimal does not fit DECIMAL(12,2).
    #[error("meter {meter}: {column} = {value} does not fit DECIMAL(12,2)")]
    DecimalRange {
        /// Meter id.
        meter: String,
        /// Column.
        column: &'static str,
        /// Value.
        value: Decimal,
    },
    /// Arrow failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}

fn decimal_column(
    rows: &[Reading],
    column: &'static str,
    get: impl Fn(&Reading) -> Option<Decimal>,
) -> Result<ArrayRef, ReadingError> {
    let limit = 10i128.pow(u32::from(DECIMAL_PRECISION));
    let mut builder = Decimal128Builder::with_capacity(rows.len());
    for row in rows {
        match get(row) {
            None => builder.append_null(),
            Some(value) => {
                let mut scaled = value.round_dp(DECIMAL_SCALE as u32);
                scaled.rescale(DECIMAL_SCALE as u32);
                let mantissa = scaled.mantissa();
                if mantissa.abs() >= limit {
                    return Err(ReadingError::DecimalRange {
                        meter: row.meter_id.clone(),
                        column,
                        value,
                    });
                }
                builder.append_value(mantissa);
            }
        }
    }
    Ok(Arc::new(builder.finish().with_precision_and_scale(
        DECIMAL_PRECISION,
        DECIMAL_SCALE,
    )?))
}

fn timestamps(values: impl Iterator<Item = Option<i64>>) -> ArrayRef {
    Arc::new(TimestampMicrosecondArray::from(values.collect::<Vec<_>>()).with_timezone("UTC"))
}

fn floats(rows: &[Reading], get: impl Fn(&Reading) -> Option<f64>) -> ArrayRef {
    Arc::new(rows.iter().map(get).collect::<Float64Array>())
}

fn strings<'a>(values: impl Iterator<Item = &'a str>) -> ArrayRef {
    Arc::new(values.map(Some).collect::<StringArray>())
}

/// Builds one record batch with the wire schema from reading rows.
pub fn readings_to_batch(rows: &[Reading]) -> Result<RecordBatch, ReadingError> {
    use store::schema::col;
    let mut columns: Vec<ArrayRef> = vec![
        strings(rows.iter().map(|r| r.meter_id.as_str())),
        timestamps(rows.iter().map(|r| Some(r.boundary_ts.timestamp_micros()))),
        timestamps(rows.iter().map(|r| Some(r.read_ts.timestamp_micros()))),
        strings(rows.iter().map(|r| r.bus_id.as_str())),
        strings(rows.iter().map(|r| r.collector_id.as_str())),
        timestamps(
            rows.iter()
                .map(|r| r.meter_clock.map(|t| t.timestamp_micros())),
        ),
        decimal_column(rows, col::ENERGY_FWD_TOTAL, |r| r.energy_fwd_total_kwh)?,
    ];
    for (i, name) in col::ENERGY_FWD_TARIFF.iter().enumerate() {
        columns.push(decimal_column(rows, name, |r| r.energy_fwd_tariff_kwh[i])?);
    }
    columns.push(decimal_column(rows, col::ENERGY_REV_TOTAL, |r| {
        r.energy_rev_total_kwh
    })?);
    columns.push(floats(rows, |r| r.voltage_v));
    columns.push(floats(rows, |r| r.current_a));
    columns.push(floats(rows, |r| r.active_power_kw));
    columns.push(floats(rows, |r| r.power_factor));
    columns.push(floats(rows, |r| r.frequency_hz));
    for i in 0..7 {
        columns.push(Arc::new(
            rows.iter()
                .map(|r| r.status_words[i])
                .collect::<Int32Array>(),
        ));
    }
    columns.push(decimal_column(rows, col::BALANCE, |r| r.balance_yuan)?);
    columns.push(decimal_column(rows, col::OVERDRAFT, |r| r.overdraft_yuan)?);
    columns.push(strings(rows.iter().map(|r| r.quality.as_str())));
    columns.push(Arc::new(Int32Array::from(vec![SCHEMA_VERSION; rows.len()])));
    Ok(RecordBatch::try_new(wire_schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_a_wire_batch_and_oversized_decimals_are_refused() {
        let t = DateTime::parse_from_rfc3339("2026-10-01T00:15:00Z")
            .unwrap()
            .to_utc();
        let mut row = Reading::empty("000000001001".into(), t, "b", "c");
        row.energy_fwd_total_kwh = Some(Decimal::new(12345, 2));
        row.quality = Quality::Ok;
        let batch = readings_to_batch(&[row.clone(), row.clone()]).unwrap();
        assert_eq!(batch.num_rows(), 2);
        assert_eq!(batch.schema(), wire_schema());
        row.energy_fwd_total_kwh = Some(Decimal::new(10i64.pow(12), 0));
        assert!(matches!(
            readings_to_batch(&[row]),
            Err(ReadingError::DecimalRange { .. })
        ));
    }
}
