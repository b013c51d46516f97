//! Screening reading rows before they reach the lake: a row that cannot be a true reading (a boundary
//! in the future, a register outside what a meter can hold) is refused with its reason, so a forged
//! or corrupted reading never becomes a bill silently (`docs/contracts.md` §4, "Screening").

use arrow::array::{Array, BooleanArray, Decimal128Array, RecordBatch, StringArray};
use arrow::compute::filter_record_batch;
use chrono::{DateTime, Utc};

use crate::schema::col;
use crate::StoreError;

/// The largest value a DL/T 645 energy or money register holds: `XXXXXX.XX` (four BCD bytes), in
/// hundredths (the lake's scale).
pub const REGISTER_MAX_HUNDREDTHS: i128 = 99_999_999;

/// The register columns screened against `0 ..= 999999.99`.
const REGISTERS: [&str; 8] = [
    col::ENERGY_FWD_TOTAL,
    col::ENERGY_FWD_TARIFF[0],
    col::ENERGY_FWD_TARIFF[1],
    col::ENERGY_FWD_TARIFF[2],
    col::ENERGY_FWD_TARIFF[3],
    col::ENERGY_REV_TOTAL,
    col::BALANCE,
    col::OVERDRAFT,
];

/// One refused row and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedRow {
    /// The row's index in its batch.
    pub row: usize,
    /// Its meter.
    pub meter_id: String,
    /// Its boundary.
    pub boundary: DateTime<Utc>,
    /// Why it was refused.
    pub reason: String,
}

impl std::fmt::Display for RefusedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "row {} (meter {}, boundary {}): {}",
            self.row,
            self.meter_id,
            self.boundary.to_rfc3339(),
            self.reason
        )
    }
}

/// A batch split into the rows that may enter the lake and those refused.
#[derive(Debug, Clone)]
pub struct Screened {
    /// The rows that passed, in their order.
    pub kept: RecordBatch,
    /// The rows refused, with reasons.
    pub refused: Vec<RefusedRow>,
}

/// Screens wire-schema rows: a boundary later than `latest_boundary` (the writer's now plus its
/// tolerance) or a register outside `0 ..= 999999.99` refuses the row.
pub fn screen(batch: &RecordBatch, latest_boundary: DateTime<Utc>) -> Result<Screened, StoreError> {
    let meters = column::<StringArray>(batch, col::METER_ID)?;
    let boundaries = batch
        .column_by_name(col::BOUNDARY_TS)
        .and_then(|c| {
            c.as_any()
                .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
        })
        .ok_or_else(|| missing(col::BOUNDARY_TS))?;
    let registers = REGISTERS
        .iter()
        .map(|name| Ok((*name, column::<Decimal128Array>(batch, name)?)))
        .collect::<Result<Vec<_>, StoreError>>()?;
    let latest = latest_boundary.timestamp_micros();
    let mut refused = Vec::new();
    let mut keep = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let boundary = boundaries.value(row);
        let reason = if boundary > latest {
            Some(format!(
                "boundary is in the future (latest accepted {})",
                latest_boundary.to_rfc3339()
            ))
        } else {
            registers.iter().find_map(|(name, values)| {
                let value = (!values.is_null(row)).then(|| values.value(row))?;
                (!(0..=REGISTER_MAX_HUNDREDTHS).contains(&value)).then(|| {
                    format!(
                        "{name} = {} is outside the register's range 0 ..= 999999.99",
                        values.value_as_string(row)
                    )
                })
            })
        };
        keep.push(reason.is_none());
        if let Some(reason) = reason {
            refused.push(RefusedRow {
                row,
                meter_id: meters.value(row).to_string(),
                boundary: DateTime::from_timestamp_micros(boundary).unwrap_or_default(),
                reason,
            });
        }
    }
    let kept = if refused.is_empty() {
        batch.clone()
    } else {
        filter_record_batch(batch, &BooleanArray::from(keep))?
    };
    Ok(Screened { kept, refused })
}

fn column<'a, T: 'static>(batch: &'a RecordBatch, name: &str) -> Result<&'a T, StoreError> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| missing(name))
}

fn missing(name: &str) -> StoreError {
    StoreError::Schema(format!(
        "reading batch has no column {name} of the wire type"
    ))
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::test_rows::batch;

    #[test]
    fn future_boundaries_and_out_of_range_registers_are_refused_with_reasons() {
        let now: DateTime<Utc> = "2026-12-05T08:00:00Z".parse().unwrap();
        let later = now + chrono::TimeDelta::days(3);
        let rows = batch(&[
            ("000000000001", now, Some(12_345)),
            ("000000000002", later, Some(100)),
            ("000000000003", now, Some(REGISTER_MAX_HUNDREDTHS + 1)),
            ("000000000004", now, Some(-1)),
            ("000000000005", now, None),
            ("000000000006", now, Some(REGISTER_MAX_HUNDREDTHS)),
        ]);
        let screened = screen(&rows, now).unwrap();
        let kept = column::<StringArray>(&screened.kept, col::METER_ID).unwrap();
        let kept: Vec<&str> = kept.iter().flatten().collect();
        assert_eq!(kept, ["000000000001", "000000000005", "000000000006"]);
        let refused: Vec<(usize, &str)> = screened
            .refused
            .iter()
            .map(|r| (r.row, r.meter_id.as_str()))
            .collect();
        assert_eq!(
            refused,
            [
                (1, "000000000002"),
                (2, "000000000003"),
                (3, "000000000004")
            ]
        );
        assert!(screened.refused[0].reason.contains("future"));
        assert!(screened.refused[1]
            .to_string()
            .contains("energy_fwd_total_kwh = 1000000.00"));
        assert!(screened.refused[2].reason.contains("-0.01"));
    }

    #[test]
    fn a_clean_batch_passes_whole() {
        let now: DateTime<Utc> = "2026-12-05T08:00:00Z".parse().unwrap();
        let rows = batch(&[("000000000001", now, Some(1))]);
        let screened = screen(&rows, now).unwrap();
        assert!(screened.refused.is_empty());
        assert_eq!(screened.kept, rows);
    }
}
