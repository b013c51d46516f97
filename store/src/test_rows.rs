//! Wire-schema rows for the crate's unit tests.

use std::sync::Arc;

use arrow::array::{
    new_null_array, ArrayRef, Decimal128Array, Int32Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use chrono::{DateTime, Utc};

use crate::schema::{col, wire_schema};

/// Wire rows of (meter, boundary, forward total in hundredths); other registers empty.
pub(crate) fn batch(rows: &[(&str, DateTime<Utc>, Option<i128>)]) -> RecordBatch {
    let schema = wire_schema();
    let n = rows.len();
    let time = |ts: Vec<i64>| -> ArrayRef {
        Arc::new(TimestampMicrosecondArray::from(ts).with_timezone("UTC"))
    };
    let columns = schema
        .fields()
        .iter()
        .map(|field| -> ArrayRef {
            match field.name().as_str() {
                col::METER_ID => Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                col::BOUNDARY_TS | col::READ_TS => {
                    time(rows.iter().map(|r| r.1.timestamp_micros()).collect())
                }
                col::BUS_ID | col::COLLECTOR_ID | col::QUALITY => {
                    Arc::new(StringArray::from_iter_values(rows.iter().map(|_| "x")))
                }
                col::SCHEMA_VERSION => Arc::new(Int32Array::from(vec![1; n])),
                col::ENERGY_FWD_TOTAL => Arc::new(
                    Decimal128Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())
                        .with_precision_and_scale(12, 2)
                        .unwrap(),
                ),
                _ => new_null_array(field.data_type(), n),
            }
        })
        .collect();
    RecordBatch::try_new(schema, columns).unwrap()
}
