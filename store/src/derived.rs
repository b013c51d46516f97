//! Derived tables: results other stages compute from the readings (bills, daily charges), kept as Delta
//! tables of Parquet files beside `readings`, so every tool that reads the lake reads them too.
//!
//! A derived table is partitioned by one text column (a billing period, a day). A write replaces one
//! partition value in one commit (`replaceWhere`), so re-running a computation for the same partition
//! replaces its earlier result instead of adding a second copy, and older results stay readable by
//! version (time travel) until vacuumed.

use std::sync::Arc;

use arrow::array::RecordBatch;
use datafusion::catalog::TableProvider;
use datafusion::prelude::{col, lit};
use deltalake::operations::write::SchemaMode;
use deltalake::protocol::SaveMode;
use deltalake::DeltaTable;

use crate::lake::{file_uris_of, load_latest, table_provider_of, writer_properties};
use crate::{LakeLocation, StoreError};

/// A derived table of the lake.
pub struct DerivedTable {
    table: DeltaTable,
    partition_column: String,
}

impl DerivedTable {
    /// Opens the table `name` below `location`, partitioned by `partition_column` (a text column of
    /// every batch written); nothing is created until the first write.
    pub async fn open(
        location: &LakeLocation,
        name: &str,
        partition_column: &str,
    ) -> Result<Self, StoreError> {
        let url = location.table_url(name)?;
        let mut table = crate::torn_commit::open_table(url).await?;
        load_latest(&mut table).await?;
        Ok(Self {
            table,
            partition_column: partition_column.to_string(),
        })
    }

    /// The committed version loaded, `None` before the first write.
    pub fn version(&self) -> Option<i64> {
        self.table.version().and_then(|v| i64::try_from(v).ok())
    }

    /// Replaces every row whose partition column equals `value` with `batch` (whose rows must all carry
    /// `value`), in one commit; returns the new version.
    pub async fn replace_partition(
        &mut self,
        batch: RecordBatch,
        value: &str,
    ) -> Result<i64, StoreError> {
        let column = batch
            .column_by_name(&self.partition_column)
            .ok_or_else(|| StoreError::Schema(format!("no column {}", self.partition_column)))?;
        let text = arrow::compute::cast(column, &arrow::datatypes::DataType::Utf8)?;
        let text = text
            .as_any()
            .downcast_ref::<arrow::array::StringArray>()
            .ok_or_else(|| StoreError::Schema(format!("{} is not text", self.partition_column)))?;
        if text.iter().any(|v| v != Some(value)) {
            return Err(StoreError::Schema(format!(
                "every row written to partition {}={value} must carry that value",
                self.partition_column
            )));
        }
        load_latest(&mut self.table).await?;
        let write = self
            .table
            .clone()
            .write(vec![batch])
            .with_writer_properties(writer_properties()?)
            .with_partition_columns([self.partition_column.as_str()])
            .with_schema_mode(SchemaMode::Merge);
        self.table = if self.table.version().is_none() {
            write.with_save_mode(SaveMode::Append).await?
        } else {
            write
                .with_save_mode(SaveMode::Overwrite)
                .with_replace_where(col(self.partition_column.as_str()).eq(lit(value)))
                .await?
        };
        Ok(self.version().unwrap_or(0))
    }

    /// A DataFusion table provider over the loaded version (`None` before the first write).
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema};

    fn batch(day: &str, with_note: bool) -> RecordBatch {
        let mut fields = vec![
            Field::new("day", DataType::Utf8, false),
            Field::new("n", DataType::Int64, false),
        ];
        let mut columns: Vec<arrow::array::ArrayRef> = vec![
            Arc::new(StringArray::from(vec![day, day])),
            Arc::new(Int64Array::from(vec![1, 2])),
        ];
        if with_note {
            fields.push(Field::new("note", DataType::Utf8, true));
            columns.push(Arc::new(StringArray::from(vec![Some("new"), None])));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("batch")
    }

    #[tokio::test]
    async fn partitions_are_replaced_and_new_nullable_columns_merge() {
        let dir = tempfile::tempdir().expect("tempdir");
        let location = LakeLocation::parse(&dir.path().display().to_string()).expect("location");
        let mut table = DerivedTable::open(&location, "t", "day")
            .await
            .expect("open");
        assert_eq!(table.version(), None);
        table
            .replace_partition(batch("a", false), "a")
            .await
            .expect("first write");
        table
            .replace_partition(batch("a", false), "a")
            .await
            .expect("replace");
        table
            .replace_partition(batch("b", true), "b")
            .await
            .expect("a newer batch with one more column");
        let ctx = datafusion::prelude::SessionContext::new();
        let provider = table
            .table_provider(&ctx.state())
            .await
            .expect("provider")
            .expect("table exists");
        ctx.register_table("t", provider).expect("register");
        let rows = ctx
            .sql("SELECT day, count(*) AS rows, count(note) AS notes FROM t GROUP BY day ORDER BY day")
            .await
            .expect("sql")
            .collect()
            .await
            .expect("rows");
        let text = arrow::util::pretty::pretty_format_batches(&rows)
            .expect("format")
            .to_string();
        assert!(text.contains("| a   | 2    | 0     |"), "{text}");
        assert!(text.contains("| b   | 2    | 1     |"), "{text}");
        let wrong = table.replace_partition(batch("c", false), "d").await;
        assert!(wrong.is_err(), "rows must carry the partition written");
    }
}
