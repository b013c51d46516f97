//! The `dead_letters` table: inputs a writer could not turn into reading rows, kept with the error.
//!
//! Each row holds the raw key and payload, where it came from (an opaque source and position, as for
//! readings) and why it was refused. Appends carry their own source positions, so a writer that replays
//! its input after a crash can skip dead letters it already recorded: every dead letter lands once.

use std::sync::Arc;

use arrow::array::{BinaryArray, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{DateTime, Utc};
use deltalake::DeltaTable;

use crate::lake::{commit_write, load_latest};
use crate::{LakeLocation, SourcePosition, StoreError};

/// Name of the dead-letter table below the lake root.
pub const DEAD_LETTERS_TABLE: &str = "dead_letters";

/// One refused input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The source stream it came from (same meaning as [`SourcePosition::source`]).
    pub source: String,
    /// Its position in that stream.
    pub position: i64,
    /// The raw key, if any.
    pub key: Option<Vec<u8>>,
    /// The raw payload, if any.
    pub payload: Option<Vec<u8>>,
    /// Why it could not be read.
    pub error: String,
    /// When the writer refused it.
    pub recorded_at: DateTime<Utc>,
}

/// The schema of the dead-letter table.
pub fn dead_letter_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("source", DataType::Utf8, false),
        Field::new("position", DataType::Int64, false),
        Field::new("key", DataType::Binary, true),
        Field::new("payload", DataType::Binary, true),
        Field::new("error", DataType::Utf8, false),
        Field::new(
            "recorded_at",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
    ]))
}

/// The lake's `dead_letters` table.
pub struct DeadLetterTable {
    table: DeltaTable,
}

impl DeadLetterTable {
    /// Opens the dead-letter table below `location` (created by the first append).
    pub async fn open(location: &LakeLocation) -> Result<Self, StoreError> {
        let url = location.table_url(DEAD_LETTERS_TABLE)?;
        let mut table = crate::torn_commit::open_table(url).await?;
        load_latest(&mut table).await?;
        Ok(Self { table })
    }

    /// The last position recorded for `source` (`None` if none was).
    pub async fn source_position(&mut self, source: &str) -> Result<Option<i64>, StoreError> {
        load_latest(&mut self.table).await?;
        crate::lake::transaction_version(&self.table, source).await
    }

    /// Appends dead letters and the positions they advance, in one atomic commit.
    pub async fn append(
        &mut self,
        letters: &[DeadLetter],
        positions: &[SourcePosition],
    ) -> Result<i64, StoreError> {
        let batch = to_batch(letters)?;
        self.table = commit_write(self.table.clone(), vec![batch], positions, &[]).await?;
        Ok(self
            .table
            .version()
            .and_then(|v| i64::try_from(v).ok())
            .unwrap_or(0))
    }

    /// Every dead letter of the table, oldest first (for operators and tests; the table is small).
    pub async fn read_all(&mut self) -> Result<Vec<DeadLetter>, StoreError> {
        load_latest(&mut self.table).await?;
        if self.table.version().is_none() {
            return Ok(Vec::new());
        }
        let ctx = datafusion::prelude::SessionContext::new();
        let query = |e: datafusion::error::DataFusionError| {
            StoreError::Schema(format!("dead letter scan: {e}"))
        };
        self.table.update_datafusion_session(&ctx.state())?;
        let provider = self.table.table_provider().await.map_err(query)?;
        let batches = ctx
            .read_table(provider)
            .map_err(query)?
            .sort_by(vec![
                datafusion::prelude::col("recorded_at"),
                datafusion::prelude::col("position"),
            ])
            .map_err(query)?
            .collect()
            .await
            .map_err(query)?;
        let mut letters = Vec::new();
        for batch in &batches {
            letters.extend(from_batch(batch)?);
        }
        Ok(letters)
    }
}

fn to_batch(letters: &[DeadLetter]) -> Result<RecordBatch, StoreError> {
    let recorded: TimestampMicrosecondArray = letters
        .iter()
        .map(|l| Some(l.recorded_at.timestamp_micros()))
        .collect();
    Ok(RecordBatch::try_new(
        dead_letter_schema(),
        vec![
            Arc::new(StringArray::from_iter_values(
                letters.iter().map(|l| l.source.as_str()),
            )),
            Arc::new(Int64Array::from_iter_values(
                letters.iter().map(|l| l.position),
            )),
            Arc::new(BinaryArray::from_iter(
                letters.iter().map(|l| l.key.as_deref()),
            )),
            Arc::new(BinaryArray::from_iter(
                letters.iter().map(|l| l.payload.as_deref()),
            )),
            Arc::new(StringArray::from_iter_values(
                letters.iter().map(|l| l.error.as_str()),
            )),
            Arc::new(recorded.with_timezone("UTC")),
        ],
    )?)
}

fn from_batch(batch: &RecordBatch) -> Result<Vec<DeadLetter>, StoreError> {
    use arrow::array::{Array, AsArray};
    let wrong =
        |name: &str| StoreError::Schema(format!("dead letter column {name} has a wrong type"));
    // Readers may hand strings and binaries back as views: cast each column to the table's own type.
    let schema = dead_letter_schema();
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let column = batch
            .column_by_name(field.name())
            .ok_or_else(|| StoreError::Schema(format!("dead letters lack {}", field.name())))?;
        columns.push(arrow::compute::cast(column, field.data_type())?);
    }
    let [source, position, key, payload, error, recorded] = &columns[..] else {
        return Err(wrong("(count)"));
    };
    let source = source
        .as_string_opt::<i32>()
        .ok_or_else(|| wrong("source"))?;
    let position = position
        .as_primitive_opt::<arrow::datatypes::Int64Type>()
        .ok_or_else(|| wrong("position"))?;
    let key = key.as_binary_opt::<i32>().ok_or_else(|| wrong("key"))?;
    let payload = payload
        .as_binary_opt::<i32>()
        .ok_or_else(|| wrong("payload"))?;
    let error = error.as_string_opt::<i32>().ok_or_else(|| wrong("error"))?;
    let recorded = recorded
        .as_primitive_opt::<arrow::datatypes::TimestampMicrosecondType>()
        .ok_or_else(|| wrong("recorded_at"))?;
    (0..batch.num_rows())
        .map(|row| {
            Ok(DeadLetter {
                source: source.value(row).to_string(),
                position: position.value(row),
                key: key.is_valid(row).then(|| key.value(row).to_vec()),
                payload: payload.is_valid(row).then(|| payload.value(row).to_vec()),
                error: error.value(row).to_string(),
                recorded_at: DateTime::from_timestamp_micros(recorded.value(row))
                    .ok_or_else(|| wrong("recorded_at"))?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn letter(position: i64) -> DeadLetter {
        DeadLetter {
            source: "g-t-0".into(),
            position,
            key: Some(b"bus-1".to_vec()),
            payload: Some(vec![0xde, 0xad, position as u8]),
            error: format!("bad value at {position}"),
            recorded_at: DateTime::from_timestamp(1_790_000_000 + position, 0).unwrap(),
        }
    }

    #[tokio::test]
    async fn dead_letters_round_trip_with_their_positions() {
        let dir = tempfile::tempdir().unwrap();
        let location = LakeLocation::parse(dir.path().to_str().unwrap()).unwrap();
        let mut table = DeadLetterTable::open(&location).await.unwrap();
        assert_eq!(table.source_position("g-t-0").await.unwrap(), None);
        let position = |p| SourcePosition {
            source: "g-t-0".into(),
            position: p,
        };
        table.append(&[letter(3)], &[position(3)]).await.unwrap();
        table
            .append(&[letter(7), letter(9)], &[position(9)])
            .await
            .unwrap();
        let mut reopened = DeadLetterTable::open(&location).await.unwrap();
        assert_eq!(reopened.source_position("g-t-0").await.unwrap(), Some(9));
        assert_eq!(
            reopened.read_all().await.unwrap(),
            vec![letter(3), letter(7), letter(9)]
        );
    }
}
