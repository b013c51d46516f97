//! Deduplication by (meter, boundary): a reading the lake already holds is not written again.
//!
//! Policy: **the first copy wins** — the one already committed, or, within one append, the one that
//! arrived first (the lowest Kafka offset). Later copies (collector retries, spool re-sends, replays of
//! other messages) are dropped and counted. A collector reads a meter once per boundary, so copies carry
//! the same values; keeping the first makes a re-run of the same input a no-op.
//!
//! Keys are compact: a DL/T 645 address is 12 decimal digits, kept as its length and value (no string
//! allocation per row); any other meter id is kept as text. Sets use a fast non-cryptographic hash.

use std::collections::HashSet;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, TimestampMicrosecondType};
use datafusion::prelude::{col, lit, SessionContext};
use datafusion::scalar::ScalarValue;

use crate::schema::{col as column, PARTITION_COLUMN};
use crate::{Lake, StoreError};

/// A meter id in a form cheap to hash and compare.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MeterKey {
    /// An id of 1–19 ASCII digits: its length (leading zeros count) and value.
    Digits {
        /// Number of digits.
        len: u8,
        /// The digits as a number.
        value: u64,
    },
    /// Any other id.
    Text(Box<str>),
}

impl MeterKey {
    /// The key of `meter`.
    pub fn new(meter: &str) -> Self {
        let bytes = meter.as_bytes();
        if !bytes.is_empty() && bytes.len() <= 19 && bytes.iter().all(u8::is_ascii_digit) {
            let value = bytes
                .iter()
                .fold(0u64, |acc, digit| acc * 10 + u64::from(digit - b'0'));
            Self::Digits {
                len: bytes.len() as u8,
                value,
            }
        } else {
            Self::Text(meter.into())
        }
    }
}

/// A reading's identity: meter and boundary (µs since the epoch, UTC).
pub type ReadingKey = (MeterKey, i64);

/// A set of reading keys with a fast hash.
pub type KeySet = HashSet<ReadingKey, foldhash::fast::RandomState>;

/// The (meter, boundary) of every row, in order.
pub fn keys(batch: &RecordBatch) -> Result<Vec<ReadingKey>, StoreError> {
    let missing = |name: &str| StoreError::Schema(format!("missing {name}"));
    let meters = batch
        .column_by_name(column::METER_ID)
        .ok_or_else(|| missing(column::METER_ID))?;
    let times = batch
        .column_by_name(column::BOUNDARY_TS)
        .ok_or_else(|| missing(column::BOUNDARY_TS))?
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| {
            StoreError::Schema(format!("{} is not µs timestamps", column::BOUNDARY_TS))
        })?;
    let key = |meter: &str, i: usize| (MeterKey::new(meter), times.value(i));
    Ok(match meters.data_type() {
        DataType::Utf8View => {
            let meters = meters.as_string_view();
            (0..batch.num_rows())
                .map(|i| key(meters.value(i), i))
                .collect()
        }
        _ => {
            let meters = arrow::compute::cast(meters, &DataType::Utf8)?;
            let meters = meters.as_string::<i32>();
            (0..meters.len()).map(|i| key(meters.value(i), i)).collect()
        }
    })
}

/// Indices of the rows to write, sorted by (meter, boundary): each key's first row, unless the table
/// holds the row's key already (`exists(row)`).
pub fn first_copies_sorted(keys: &[ReadingKey], exists: impl Fn(usize) -> bool) -> Vec<u32> {
    let mut kept: Vec<u32> = (0..keys.len() as u32)
        .filter(|&i| !exists(i as usize))
        .collect();
    // A stable sort keeps copies of one key in arrival order, so the first of each run is the first copy.
    kept.sort_by(|a, b| keys[*a as usize].cmp(&keys[*b as usize]));
    kept.dedup_by(|later, first| keys[*later as usize] == keys[*first as usize]);
    kept
}

impl Lake {
    /// The keys the loaded table holds in `batch`'s date partitions and boundary range (so file
    /// statistics prune everything else). `keys` are `batch`'s own keys.
    pub async fn existing_keys(
        &self,
        batch: &RecordBatch,
        keys: &[ReadingKey],
    ) -> Result<KeySet, StoreError> {
        let mut found = KeySet::default();
        if keys.is_empty()
            || self.table.version().is_none()
            || self.table.get_file_uris()?.next().is_none()
        {
            return Ok(found);
        }
        let (low, high) = keys.iter().fold((i64::MAX, i64::MIN), |(lo, hi), k| {
            (lo.min(k.1), hi.max(k.1))
        });
        let dates: HashSet<i32> = batch
            .column_by_name(PARTITION_COLUMN)
            .and_then(|d| d.as_primitive_opt::<arrow::datatypes::Date32Type>())
            .ok_or_else(|| StoreError::Schema(format!("{PARTITION_COLUMN} is not a date")))?
            .iter()
            .flatten()
            .collect();
        let ctx = SessionContext::new();
        let Some(provider) = self.table_provider(&ctx.state()).await? else {
            return Ok(found);
        };
        let utc = Some("UTC".into());
        let in_range = col(column::BOUNDARY_TS).between(
            lit(ScalarValue::TimestampMicrosecond(Some(low), utc.clone())),
            lit(ScalarValue::TimestampMicrosecond(Some(high), utc)),
        );
        let on_dates = col(PARTITION_COLUMN).in_list(
            dates
                .into_iter()
                .map(|d| lit(ScalarValue::Date32(Some(d))))
                .collect(),
            false,
        );
        let query =
            |e: datafusion::error::DataFusionError| StoreError::Schema(format!("dedup scan: {e}"));
        let existing = ctx
            .read_table(provider)
            .map_err(query)?
            .filter(on_dates.and(in_range))
            .map_err(query)?
            .select_columns(&[column::METER_ID, column::BOUNDARY_TS])
            .map_err(query)?
            .collect()
            .await
            .map_err(query)?;
        for batch in &existing {
            found.extend(self::keys(batch)?);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_ids_keep_their_length_and_others_stay_text() {
        assert_eq!(
            MeterKey::new("000000001001"),
            MeterKey::Digits {
                len: 12,
                value: 1001
            }
        );
        assert_ne!(MeterKey::new("01001"), MeterKey::new("1001"));
        assert_eq!(MeterKey::new("AA0102"), MeterKey::Text("AA0102".into()));
        assert_eq!(MeterKey::new(""), MeterKey::Text("".into()));
        assert!(matches!(
            MeterKey::new("99999999999999999999"),
            MeterKey::Text(_)
        ));
        // Equal-length digit ids order as their text does.
        assert!(MeterKey::new("000000001002") > MeterKey::new("000000000999"));
    }

    #[test]
    fn first_copies_are_kept_in_key_order_and_existing_keys_dropped() {
        let key = |m: &str, t| (MeterKey::new(m), t);
        let keys = vec![
            key("000000000002", 10),
            key("000000000001", 20),
            key("000000000002", 10),
            key("000000000001", 10),
            key("000000000003", 10),
        ];
        let existing: KeySet = [key("000000000003", 10)].into_iter().collect();
        assert_eq!(
            first_copies_sorted(&keys, |i| existing.contains(&keys[i])),
            vec![3, 1, 0]
        );
    }
}
