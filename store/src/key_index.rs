//! An in-memory index of the reading keys the table holds, per local-date partition.
//!
//! Deduplication needs to know which (meter, boundary) keys a date partition already holds. Scanning the
//! partition before every append costs time that grows with the partition, so the lake keeps the keys
//! of recently touched dates in memory, together with the set of data files they were read from:
//!
//! - An append adds its own keys and the files its commit added.
//! - Files another writer (or compaction) added since are read once — only their two key columns.
//! - If a file the index was built from is no longer active (compaction or retention removed it), the
//!   date is rebuilt from its active files, so keys of deleted rows never block a re-load.
//! - A budget bounds the keys held; the least recently used dates are dropped first. A date too big for
//!   the budget is not indexed, and the caller falls back to a scan restricted to the append's range.

use std::collections::{HashMap, HashSet};

use arrow::array::{AsArray, RecordBatch};
use chrono::NaiveDate;
use deltalake::DeltaTable;
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use crate::dedup::{keys, KeySet, MeterKey, ReadingKey};
use crate::schema::{col, PARTITION_COLUMN};
use crate::StoreError;

/// Keys held by default (about 40 bytes each).
pub const DEFAULT_KEY_BUDGET: usize = 12_000_000;

/// The keys and source files of one date partition.
#[derive(Default)]
struct DateKeys {
    /// Keys of meters with digit ids, packed as (length and digits, boundary).
    packed: HashSet<(u64, i64), foldhash::fast::RandomState>,
    /// Keys of meters with other ids.
    text: KeySet,
    files: HashSet<String>,
    last_used: u64,
}

/// Bits of a packed digit id that hold its value (up to 17 digits fit below 2⁵⁷).
const PACKED_VALUE_BITS: u32 = 57;

impl DateKeys {
    fn len(&self) -> usize {
        self.packed.len() + self.text.len()
    }

    /// Adds `key`; false if it was there already.
    fn insert(&mut self, key: &ReadingKey) -> bool {
        match key {
            (MeterKey::Digits { len, value }, boundary) if *value < 1 << PACKED_VALUE_BITS => self
                .packed
                .insert(((u64::from(*len) << PACKED_VALUE_BITS) | value, *boundary)),
            _ => self.text.insert(key.clone()),
        }
    }

    fn extend(&mut self, keys: impl IntoIterator<Item = ReadingKey>) {
        for key in keys {
            self.insert(&key);
        }
    }
}

/// Keys per date partition (days since the epoch), bounded by a key budget.
pub struct KeyIndex {
    dates: HashMap<i32, DateKeys>,
    budget: usize,
    clock: u64,
}

/// A data file of the table: its path (relative to the table root), date and row count.
#[derive(Debug, Clone)]
pub(crate) struct DataFile {
    path: String,
    date: Option<i32>,
    rows: usize,
}

impl KeyIndex {
    /// An empty index holding at most `budget` keys.
    pub fn new(budget: usize) -> Self {
        Self {
            dates: HashMap::new(),
            budget,
            clock: 0,
        }
    }

    /// Keys held over all dates.
    pub fn len(&self) -> usize {
        self.dates.values().map(DateKeys::len).sum()
    }

    /// Whether the index holds no keys.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Brings `dates` up to date with the table's active files. Returns false if some date cannot be
    /// indexed within the budget (its entry is dropped; the caller must scan).
    pub(crate) async fn prepare(
        &mut self,
        table: &DeltaTable,
        dates: &HashSet<i32>,
        incoming: usize,
    ) -> Result<bool, StoreError> {
        let files = active_files(table)?;
        self.clock += 1;
        let mut needed = incoming;
        for date in dates {
            let active: Vec<&DataFile> = files.iter().filter(|f| f.date == Some(*date)).collect();
            needed += active.iter().map(|f| f.rows).sum::<usize>();
        }
        if needed > self.budget {
            for date in dates {
                self.dates.remove(date);
            }
            return Ok(false);
        }
        self.evict_for(needed, dates);
        for date in dates {
            let active: HashSet<&str> = files
                .iter()
                .filter(|f| f.date == Some(*date))
                .map(|f| f.path.as_str())
                .collect();
            let entry = self.dates.entry(*date).or_default();
            if entry.files.iter().any(|f| !active.contains(f.as_str())) {
                *entry = DateKeys::default();
            }
            entry.last_used = self.clock;
            for path in active {
                if !entry.files.contains(path) {
                    entry.extend(read_keys(table, path).await?);
                    entry.files.insert(path.to_string());
                }
            }
        }
        for date in dates {
            if let Some(entry) = self.dates.get_mut(date) {
                entry.packed.reserve(incoming);
            }
        }
        Ok(true)
    }

    /// Drops least recently used dates (not in `keep`) until `needed` more keys fit the budget.
    fn evict_for(&mut self, needed: usize, keep: &HashSet<i32>) {
        while self.len() + needed > self.budget {
            let oldest = self
                .dates
                .iter()
                .filter(|(date, _)| !keep.contains(date))
                .min_by_key(|(_, d)| d.last_used)
                .map(|(date, _)| *date);
            match oldest {
                Some(date) => {
                    self.dates.remove(&date);
                }
                None => break,
            }
        }
    }

    /// Adds `key` to the prepared `date`; false if the date holds it already (or is not prepared).
    ///
    /// An append inserts its rows' keys before it commits; if the commit fails the caller must
    /// [`KeyIndex::clear`] the index.
    pub(crate) fn insert(&mut self, date: i32, key: &ReadingKey) -> bool {
        self.dates.get_mut(&date).is_some_and(|d| d.insert(key))
    }

    /// Records the files a committed append added (its keys are already inserted).
    pub(crate) fn record_files(&mut self, added: &[DataFile]) {
        for file in added {
            if let Some(entry) = file.date.and_then(|d| self.dates.get_mut(&d)) {
                entry.files.insert(file.path.clone());
            }
        }
    }

    /// Forgets everything (after a failed commit whose outcome is unknown).
    pub fn clear(&mut self) {
        self.dates.clear();
    }
}

impl DataFile {
    /// The data file an `add` action of this process's own commit names.
    pub(crate) fn from_add(add: &deltalake::kernel::Add) -> Self {
        Self {
            path: percent_decode(&add.path),
            date: add
                .partition_values
                .get(PARTITION_COLUMN)
                .and_then(|v| v.as_deref().and_then(parse_date)),
            rows: 0,
        }
    }
}

/// Days since the epoch of a `YYYY-MM-DD` partition value.
fn parse_date(value: &str) -> Option<i32> {
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").ok()?;
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((date - epoch).num_days()).ok()
}

/// The active data files of the loaded table version.
pub(crate) fn active_files(table: &DeltaTable) -> Result<Vec<DataFile>, StoreError> {
    if table.version().is_none() {
        return Ok(Vec::new());
    }
    Ok(table
        .snapshot()?
        .log_data()
        .iter()
        .map(|file| DataFile {
            path: file.path().into_owned(),
            date: file
                .partition_values_map()
                .get(PARTITION_COLUMN)
                .and_then(|v| v.as_deref().and_then(parse_date)),
            rows: file.num_records().unwrap_or(0),
        })
        .collect())
}

/// The data files that commit `version` of `table` added.
pub(crate) async fn files_added_by(
    table: &DeltaTable,
    version: i64,
) -> Result<Vec<DataFile>, StoreError> {
    let version = u64::try_from(version)
        .map_err(|_| StoreError::Schema(format!("negative table version {version}")))?;
    let Some(entry) = table.log_store().read_commit_entry(version).await? else {
        return Ok(Vec::new());
    };
    let mut added = Vec::new();
    for line in entry.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let action: serde_json::Value = serde_json::from_slice(line)
            .map_err(|e| StoreError::Schema(format!("commit {version}: {e}")))?;
        let Some(add) = action.get("add") else {
            continue;
        };
        let path = add.get("path").and_then(|p| p.as_str()).unwrap_or_default();
        let path = percent_decode(path);
        let date = add
            .get("partitionValues")
            .and_then(|p| p.get(PARTITION_COLUMN))
            .and_then(|d| d.as_str())
            .and_then(parse_date);
        added.push(DataFile {
            path,
            date,
            rows: 0,
        });
    }
    Ok(added)
}

/// Decodes `%XX` escapes of a Delta log path (the snapshot reports decoded paths).
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((high * 16 + low) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads the (meter, boundary) keys of one data file.
async fn read_keys(table: &DeltaTable, path: &str) -> Result<Vec<ReadingKey>, StoreError> {
    let location = object_store::path::Path::parse(path)
        .map_err(|e| StoreError::Schema(format!("data file path {path}: {e}")))?;
    let bytes = table
        .object_store()
        .get(&location)
        .await
        .map_err(|e| StoreError::Delta(e.into()))?
        .bytes()
        .await
        .map_err(|e| StoreError::Delta(e.into()))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes)?;
    let mask = ProjectionMask::columns(builder.parquet_schema(), [col::METER_ID, col::BOUNDARY_TS]);
    let mut found = Vec::new();
    for batch in builder.with_projection(mask).build()? {
        found.extend(keys(&batch?)?);
    }
    Ok(found)
}

/// The date column of a lake batch as days since the epoch.
pub(crate) fn row_dates(batch: &RecordBatch) -> Result<Vec<i32>, StoreError> {
    let dates = batch
        .column_by_name(PARTITION_COLUMN)
        .and_then(|d| d.as_primitive_opt::<arrow::datatypes::Date32Type>())
        .ok_or_else(|| StoreError::Schema(format!("{PARTITION_COLUMN} is not a date")))?;
    Ok(dates.values().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_values_and_escaped_paths_parse() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("2026-11-24"), Some(20_781));
        assert_eq!(parse_date("24/11/2026"), None);
        assert_eq!(
            percent_decode("date=2026-11-24/part%2D1.parquet"),
            "date=2026-11-24/part-1.parquet"
        );
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
