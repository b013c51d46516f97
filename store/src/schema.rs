//! The reading row: one wide row per meter per collection boundary (see `docs/contracts.md` §2).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The version of the reading schema written into every row (`schema_version` column).
pub const SCHEMA_VERSION: i32 = 1;
/// Precision of energy and money decimals.
pub const DECIMAL_PRECISION: u8 = 12;
/// Scale of energy (0.01 kWh) and money (0.01 yuan, one fen) decimals.
pub const DECIMAL_SCALE: i8 = 2;
/// Name of the partition column (local date of the boundary).
pub const PARTITION_COLUMN: &str = "date";

/// Column names of the reading row, in schema order.
pub mod col {
    /// Meter communication address.
    pub const METER_ID: &str = "meter_id";
    /// Collection boundary.
    pub const BOUNDARY_TS: &str = "boundary_ts";
    /// Time the read finished.
    pub const READ_TS: &str = "read_ts";
    /// Bus or DTU id.
    pub const BUS_ID: &str = "bus_id";
    /// Collector id.
    pub const COLLECTOR_ID: &str = "collector_id";
    /// Meter clock.
    pub const METER_CLOCK: &str = "meter_clock";
    /// Forward active total energy.
    pub const ENERGY_FWD_TOTAL: &str = "energy_fwd_total_kwh";
    /// Forward active energy per tariff 1..4.
    pub const ENERGY_FWD_TARIFF: [&str; 4] = [
        "energy_fwd_t1_kwh",
        "energy_fwd_t2_kwh",
        "energy_fwd_t3_kwh",
        "energy_fwd_t4_kwh",
    ];
    /// Reverse active total energy.
    pub const ENERGY_REV_TOTAL: &str = "energy_rev_total_kwh";
    /// Voltage.
    pub const VOLTAGE: &str = "voltage_v";
    /// Current.
    pub const CURRENT: &str = "current_a";
    /// Active power.
    pub const ACTIVE_POWER: &str = "active_power_kw";
    /// Power factor.
    pub const POWER_FACTOR: &str = "power_factor";
    /// Frequency.
    pub const FREQUENCY: &str = "frequency_hz";
    /// Status words 1..7.
    pub const STATUS_WORDS: [&str; 7] = [
        "status_word_1",
        "status_word_2",
        "status_word_3",
        "status_word_4",
        "status_word_5",
        "status_word_6",
        "status_word_7",
    ];
    /// Remaining money.
    pub const BALANCE: &str = "balance_yuan";
    /// Overdraft money.
    pub const OVERDRAFT: &str = "overdraft_yuan";
    /// Collection quality.
    pub const QUALITY: &str = "quality";
    /// Schema version.
    pub const SCHEMA_VERSION: &str = "schema_version";
}

fn utc_micros() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

fn decimal() -> DataType {
    DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE)
}

/// The schema of reading rows as they travel on Kafka: every column but the partition `date`.
pub fn wire_schema() -> SchemaRef {
    let mut fields = vec![
        Field::new(col::METER_ID, DataType::Utf8, false),
        Field::new(col::BOUNDARY_TS, utc_micros(), false),
        Field::new(col::READ_TS, utc_micros(), false),
        Field::new(col::BUS_ID, DataType::Utf8, false),
        Field::new(col::COLLECTOR_ID, DataType::Utf8, false),
        Field::new(col::METER_CLOCK, utc_micros(), true),
        Field::new(col::ENERGY_FWD_TOTAL, decimal(), true),
    ];
    fields.extend(
        col::ENERGY_FWD_TARIFF
            .iter()
            .map(|name| Field::new(*name, decimal(), true)),
    );
    fields.extend([
        Field::new(col::ENERGY_REV_TOTAL, decimal(), true),
        Field::new(col::VOLTAGE, DataType::Float64, true),
        Field::new(col::CURRENT, DataType::Float64, true),
        Field::new(col::ACTIVE_POWER, DataType::Float64, true),
        Field::new(col::POWER_FACTOR, DataType::Float64, true),
        Field::new(col::FREQUENCY, DataType::Float64, true),
    ]);
    fields.extend(
        col::STATUS_WORDS
            .iter()
            .map(|name| Field::new(*name, DataType::Int32, true)),
    );
    fields.extend([
        Field::new(col::BALANCE, decimal(), true),
        Field::new(col::OVERDRAFT, decimal(), true),
        Field::new(col::QUALITY, DataType::Utf8, false),
        Field::new(col::SCHEMA_VERSION, DataType::Int32, false),
    ]);
    Arc::new(Schema::new(fields))
}

/// The schema of the lake's `readings` table: the wire schema plus the `date` partition column.
pub fn reading_schema() -> SchemaRef {
    let wire = wire_schema();
    let mut fields: Vec<Field> = wire.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(Field::new(PARTITION_COLUMN, DataType::Date32, false));
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_unsigned_or_nanosecond_or_float_money_columns() {
        for field in reading_schema().fields() {
            let t = field.data_type();
            assert!(!t.is_unsigned_integer(), "{} is unsigned", field.name());
            assert!(
                !matches!(t, DataType::Timestamp(TimeUnit::Nanosecond, _)),
                "{} is nanosecond",
                field.name()
            );
            if field.name().ends_with("_kwh") || field.name().ends_with("_yuan") {
                assert_eq!(t, &decimal(), "{} must be exact", field.name());
            }
        }
        assert_eq!(
            reading_schema().fields().len(),
            wire_schema().fields().len() + 1
        );
    }
}
