//! The `readings` Delta table: atomic appends that carry source positions, and readers.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::RecordBatch;
use chrono_tz::Tz;
use datafusion::catalog::TableProvider;
use deltalake::kernel::transaction::CommitProperties;
use deltalake::kernel::Transaction;
use deltalake::parquet::basic::{Compression, ZstdLevel};
use deltalake::parquet::file::properties::{EnabledStatistics, WriterProperties};
use deltalake::parquet::schema::types::ColumnPath;
use deltalake::DeltaTable;
use url::Url;

use crate::data_files::{commit_adds, write_sorted_files};
use crate::dedup::{first_copies_sorted, ReadingKey};
use crate::key_index::{files_added_by, DataFile, KeyIndex, DEFAULT_KEY_BUDGET};
use crate::prepared::PreparedRows;
use crate::schema::{col, PARTITION_COLUMN};
use crate::{LakeLocation, StoreError};

/// Name of the readings table below the lake root.
pub const READINGS_TABLE: &str = "readings";

/// An opaque position in some source, committed atomically with the rows read up to it.
///
/// The sink uses one per Kafka partition (`source` = group, topic and partition; `position` = the last
/// offset whose rows the commit contains); the lake does not interpret either.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePosition {
    /// Identifies the source stream (a Delta `txn` app id).
    pub source: String,
    /// The last position whose data is in the commit.
    pub position: i64,
}

/// What one append did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendReport {
    /// Table version of the commit.
    pub version: i64,
    /// Rows written.
    pub rows_written: u64,
    /// Rows dropped because their (meter, boundary) was already in the lake or earlier in the append.
    pub duplicates_dropped: u64,
}

/// The lake's `readings` table.
pub struct Lake {
    pub(crate) table: DeltaTable,
    zone: Tz,
    index: KeyIndex,
}

impl Lake {
    /// Opens the readings table below `location`, creating nothing until the first append.
    pub async fn open(location: &LakeLocation, zone: Tz) -> Result<Self, StoreError> {
        let url = location.table_url(READINGS_TABLE)?;
        let table = crate::torn_commit::open_table(url).await?;
        Ok(Self {
            table,
            zone,
            index: KeyIndex::new(DEFAULT_KEY_BUDGET),
        })
    }

    /// A writer over an already built table (tests give it an object store of their own).
    #[cfg(test)]
    pub(crate) fn from_table(table: DeltaTable, zone: Tz) -> Self {
        Self {
            table,
            zone,
            index: KeyIndex::new(DEFAULT_KEY_BUDGET),
        }
    }

    /// Opens the readings table as it was at `version` (time travel).
    pub async fn open_at_version(
        location: &LakeLocation,
        zone: Tz,
        version: i64,
    ) -> Result<Self, StoreError> {
        let version = u64::try_from(version).map_err(|_| StoreError::Location {
            location: location.root().to_string(),
            reason: format!("table version {version} is negative"),
        })?;
        let mut lake = Self::open(location, zone).await?;
        lake.table.load_version(version).await?;
        Ok(lake)
    }

    /// Opens the readings table as it was at `at`: the last version committed at or before it.
    pub async fn open_at_time(
        location: &LakeLocation,
        zone: Tz,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, StoreError> {
        let mut lake = Self::open(location, zone).await?;
        lake.table.load_with_datetime(at).await?;
        Ok(lake)
    }

    /// The table's URL.
    pub fn url(&self) -> &Url {
        self.table.table_url()
    }

    /// The committed version currently loaded, `None` before the first commit.
    pub fn version(&self) -> Option<i64> {
        self.table.version().and_then(|v| i64::try_from(v).ok())
    }

    /// The last position committed for `source` in the loaded version (`None` if never committed).
    ///
    /// Call [`Lake::refresh`] first to see other writers' commits.
    pub async fn source_position(&self, source: &str) -> Result<Option<i64>, StoreError> {
        transaction_version(&self.table, source).await
    }

    /// Bounds the keys the dedup index keeps in memory (about 40 bytes each; see [`crate::key_index`]).
    pub fn set_key_budget(&mut self, keys: usize) {
        self.index = KeyIndex::new(keys);
    }

    /// Loads the newest committed version (other writers' commits included).
    pub async fn refresh(&mut self) -> Result<(), StoreError> {
        load_latest(&mut self.table).await
    }

    /// Appends wire-schema batches and the source positions they advance, in one atomic commit.
    ///
    /// Rows whose (meter, boundary) the table already holds, or that repeat an earlier row of the same
    /// append, are dropped ([`crate::dedup`]: the first copy wins). The rest are sorted by (meter,
    /// boundary) and partitioned by local date.
    pub async fn append(
        &mut self,
        batches: Vec<RecordBatch>,
        positions: &[SourcePosition],
    ) -> Result<AppendReport, StoreError> {
        let prepared = batches
            .iter()
            .filter(|b| b.num_rows() > 0)
            .map(|b| PreparedRows::new(b, self.zone))
            .collect::<Result<Vec<_>, _>>()?;
        self.append_prepared(prepared, positions).await
    }

    /// The time zone of the lake's date partitions.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// [`Lake::append`] for rows prepared ahead ([`PreparedRows::new`] with [`Lake::zone`]).
    pub async fn append_prepared(
        &mut self,
        parts: Vec<PreparedRows>,
        positions: &[SourcePosition],
    ) -> Result<AppendReport, StoreError> {
        let started = std::time::Instant::now();
        let PreparedRows {
            batch: all,
            keys,
            dates: row_dates,
        } = PreparedRows::concat(parts)?;
        let offered = all.num_rows();
        let partitioned = started.elapsed();
        let dates: HashSet<i32> = row_dates.iter().copied().collect();
        let indexed = self.index.prepare(&self.table, &dates, keys.len()).await?;
        let kept = if indexed {
            // Inserting a key tells whether it is new: to the table and to this append (first copy wins).
            (0..keys.len())
                .filter(|&row| self.index.insert(row_dates[row], &keys[row]))
                .map(|row| row as u32)
                .collect()
        } else {
            let existing = self.existing_keys(&all, &keys).await?;
            first_copies_sorted(&keys, |row| existing.contains(&keys[row]))
        };
        let rows_written = kept.len();
        let deduplicated = started.elapsed();
        let added = match self.write_and_commit(all, keys, kept, positions).await {
            Ok(added) => added,
            Err(err) => {
                // The commit may or may not have landed; rebuild the index from the table next time.
                self.index.clear();
                return Err(err);
            }
        };
        if indexed {
            self.index.record_files(&added);
        }
        tracing::debug!(
            rows = offered,
            ?partitioned,
            ?deduplicated,
            committed = ?started.elapsed(),
            "lake append phases (cumulative)"
        );
        Ok(AppendReport {
            version: self.version().unwrap_or(0),
            rows_written: rows_written as u64,
            duplicates_dropped: (offered - rows_written) as u64,
        })
    }

    /// Writes sorted lake rows and commits them with `positions`; returns the data files added.
    async fn write_and_commit(
        &mut self,
        rows: RecordBatch,
        keys: Vec<ReadingKey>,
        mut kept: Vec<u32>,
        positions: &[SourcePosition],
    ) -> Result<Vec<DataFile>, StoreError> {
        if self.table.version().is_none() {
            // The first commit creates the table (schema, partitioning) through delta-rs' write.
            kept.sort_unstable_by(|a, b| keys[*a as usize].cmp(&keys[*b as usize]));
            let sorted =
                arrow::compute::take_record_batch(&rows, &arrow::array::UInt32Array::from(kept))?;
            self.table = commit_write(
                self.table.clone(),
                vec![sorted],
                positions,
                &[PARTITION_COLUMN],
            )
            .await?;
            return files_added_by(&self.table, self.version().unwrap_or(0)).await;
        }
        let adds = write_sorted_files(&self.table, rows, Arc::new(keys), kept).await?;
        let added = adds.iter().map(DataFile::from_add).collect();
        if let Err(err) = commit_adds(&mut self.table, adds, positions).await {
            if !crate::landed::is_same_source_conflict(&err)
                || !crate::landed::positions_landed(&mut self.table, positions).await?
            {
                return Err(err);
            }
            // The object store did the work and its answer was lost (or a writer committed the same
            // positions): the rows are in the lake. The files this commit named may not be the
            // lake's, so the key index is rebuilt from the table.
            tracing::warn!(
                version = ?self.version(),
                "a commit refused as another writer's holds this append's source positions: its answer was lost; going on"
            );
            self.index.clear();
            return Ok(Vec::new());
        }
        Ok(added)
    }

    /// A DataFusion table provider over the loaded version, with the object store registered in `session`.
    pub async fn table_provider(
        &self,
        session: &dyn datafusion::catalog::Session,
    ) -> Result<Option<Arc<dyn TableProvider>>, StoreError> {
        table_provider_of(&self.table, session).await
    }

    /// Paths of the Parquet files of the loaded version.
    pub fn file_uris(&self) -> Result<Vec<String>, StoreError> {
        file_uris_of(&self.table)
    }
}

/// A DataFusion provider over the loaded version of `table` (`None` before its first commit), with its
/// object store registered in `session`.
pub(crate) async fn table_provider_of(
    table: &DeltaTable,
    session: &dyn datafusion::catalog::Session,
) -> Result<Option<Arc<dyn TableProvider>>, StoreError> {
    if table.version().is_none() {
        return Ok(None);
    }
    table.update_datafusion_session(session)?;
    Ok(Some(table.table_provider().await.map_err(|e| {
        StoreError::Schema(format!("table provider: {e}"))
    })?))
}

/// Paths of the Parquet files of the loaded version of `table`.
pub(crate) fn file_uris_of(table: &DeltaTable) -> Result<Vec<String>, StoreError> {
    if table.version().is_none() {
        return Ok(Vec::new());
    }
    Ok(table.get_file_uris()?.collect())
}

/// Rows per Parquet row group: small enough that a meter predicate prunes most of a day's file.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// How the lake writes Parquet: zstd level 3, dictionary-encoded identifiers, page-level statistics
/// (with the page index) and row groups of [`ROW_GROUP_ROWS`].
pub fn writer_properties() -> Result<WriterProperties, StoreError> {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).map_err(|e| StoreError::Schema(format!("zstd level: {e}")))?,
        ))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS));
    for identifier in [col::METER_ID, col::BUS_ID, col::COLLECTOR_ID, col::QUALITY] {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(identifier), true);
    }
    Ok(builder.build())
}

/// Writes `batches` into `table` with one `txn` action per position, in one commit.
pub(crate) async fn commit_write(
    table: DeltaTable,
    batches: Vec<RecordBatch>,
    positions: &[SourcePosition],
    partition_columns: &[&str],
) -> Result<DeltaTable, StoreError> {
    let commit = CommitProperties::default().with_application_transactions(
        positions
            .iter()
            .map(|p| Transaction::new(&p.source, p.position))
            .collect(),
    );
    let mut write = table
        .write(batches)
        .with_writer_properties(writer_properties()?)
        .with_commit_properties(commit);
    if !partition_columns.is_empty() {
        write = write.with_partition_columns(partition_columns.iter().copied());
    }
    Ok(write.await?)
}

/// Loads the newest version of `table`; a table nobody has created yet stays unloaded.
pub(crate) async fn load_latest(table: &mut DeltaTable) -> Result<(), StoreError> {
    match crate::listing_gap::load_retrying(table).await {
        Ok(()) | Err(deltalake::DeltaTableError::NotATable(_)) => Ok(()),
        Err(err) => Err(err.into()),
    }
}

/// The `txn` version of `app_id` in the loaded version of `table`.
pub(crate) async fn transaction_version(
    table: &DeltaTable,
    app_id: &str,
) -> Result<Option<i64>, StoreError> {
    if table.version().is_none() {
        return Ok(None);
    }
    Ok(table
        .snapshot()?
        .transaction_version(table.log_store().as_ref(), app_id)
        .await?)
}
