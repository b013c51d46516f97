//! Customers' personal data exported to Parquet with modular encryption (AES-GCM, parquet's
//! `encryption` feature): the footer and the meter column under a footer key, the personal columns under
//! a column key, both derived from the PII key ring; each key's metadata names the ring key it came
//! from, so a reader holding the ring (and only such a reader) opens any export, however old.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field as ArrowField, Schema};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ArrowWriter;
use parquet::encryption::decrypt::{FileDecryptionProperties, KeyRetriever};
use parquet::encryption::encrypt::FileEncryptionProperties;
use parquet::file::properties::WriterProperties;

use crate::app::customers::CustomerDetails;
use crate::pii::PiiKeys;
use crate::ControlError;

/// The personal columns (under the column key).
const PERSONAL: [&str; 4] = ["name", "phone", "address", "id_number"];

fn failed(what: &str, err: impl std::fmt::Display) -> ControlError {
    ControlError::Invalid(format!("customer export: {what}: {err}"))
}

fn schema() -> Arc<Schema> {
    let mut fields = vec![ArrowField::new("meter_id", DataType::Utf8, false)];
    fields.extend(
        PERSONAL
            .iter()
            .map(|name| ArrowField::new(*name, DataType::Utf8, true)),
    );
    Arc::new(Schema::new(fields))
}

/// Writes `rows` to `path` encrypted under the active key; returns the rows written.
pub fn write(
    path: &Path,
    rows: &[(String, CustomerDetails)],
    keys: &PiiKeys,
) -> Result<usize, ControlError> {
    let (key_id, footer, column) = keys.parquet_keys()?;
    // With column keys set, parquet encrypts only the columns given one: the meter column gets the
    // footer key.
    let mut encryption = FileEncryptionProperties::builder(footer.clone())
        .with_footer_key_metadata(format!("footer:{key_id}").into_bytes())
        .with_column_key_and_metadata("meter_id", footer, format!("footer:{key_id}").into_bytes());
    for name in PERSONAL {
        encryption = encryption.with_column_key_and_metadata(
            name,
            column.clone(),
            format!("column:{key_id}").into_bytes(),
        );
    }
    let properties = WriterProperties::builder()
        .with_file_encryption_properties(encryption.build().map_err(|e| failed("keys", e))?)
        .build();
    let column_of = |pick: fn(&CustomerDetails) -> &Option<String>| {
        Arc::new(StringArray::from(
            rows.iter()
                .map(|(_, details)| pick(details).clone())
                .collect::<Vec<_>>(),
        )) as Arc<dyn Array>
    };
    let batch = RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|(m, _)| m))),
            column_of(|d| &d.name),
            column_of(|d| &d.phone),
            column_of(|d| &d.address),
            column_of(|d| &d.id_number),
        ],
    )
    .map_err(|e| failed("batch", e))?;
    let file = File::create(path).map_err(|e| failed(&path.display().to_string(), e))?;
    let mut writer =
        ArrowWriter::try_new(file, schema(), Some(properties)).map_err(|e| failed("writer", e))?;
    writer.write(&batch).map_err(|e| failed("write", e))?;
    writer.close().map_err(|e| failed("close", e))?;
    Ok(rows.len())
}

/// Finds an export's keys from their metadata (`footer:<id>`, `column:<id>`) in the ring.
struct RingKeys(PiiKeys);

impl KeyRetriever for RingKeys {
    fn retrieve_key(&self, metadata: &[u8]) -> parquet::errors::Result<Vec<u8>> {
        let text = std::str::from_utf8(metadata)
            .map_err(|_| parquet::errors::ParquetError::General("bad key metadata".into()))?;
        let (purpose, key_id) = text
            .split_once(':')
            .ok_or_else(|| parquet::errors::ParquetError::General("bad key metadata".into()))?;
        let (_, footer, column) = self
            .0
            .parquet_keys_of(key_id)
            .map_err(|e| parquet::errors::ParquetError::General(e.to_string()))?;
        match purpose {
            "footer" => Ok(footer),
            "column" => Ok(column),
            other => Err(parquet::errors::ParquetError::General(format!(
                "unknown key purpose {other}"
            ))),
        }
    }
}

/// Reads an export back with the ring's keys.
pub fn read(path: &Path, keys: &PiiKeys) -> Result<Vec<(String, CustomerDetails)>, ControlError> {
    let decryption = FileDecryptionProperties::with_key_retriever(Arc::new(RingKeys(keys.clone())))
        .build()
        .map_err(|e| failed("keys", e))?;
    let file = File::open(path).map_err(|e| failed(&path.display().to_string(), e))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(
        file,
        ArrowReaderOptions::new().with_file_decryption_properties(decryption),
    )
    .map_err(|e| failed("open", e))?
    .build()
    .map_err(|e| failed("open", e))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| failed("read", e))?;
        let text = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<StringArray>())
                .cloned()
                .ok_or_else(|| failed("read", format!("no column {name}")))
        };
        let (meters, name, phone, address, id) = (
            text("meter_id")?,
            text("name")?,
            text("phone")?,
            text("address")?,
            text("id_number")?,
        );
        let value =
            |array: &StringArray, i: usize| (!array.is_null(i)).then(|| array.value(i).to_string());
        for i in 0..batch.num_rows() {
            rows.push((
                meters.value(i).to_string(),
                CustomerDetails {
                    name: value(&name, i),
                    phone: value(&phone, i),
                    address: value(&address, i),
                    id_number: value(&id, i),
                },
            ));
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::pii::test_ring as ring;

    #[test]
    fn an_export_reads_back_with_the_ring_only_and_hides_its_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("customers.parquet");
        let rows = vec![
            (
                "000000001001".to_string(),
                CustomerDetails {
                    name: Some("张三".into()),
                    phone: Some("13812345678".into()),
                    address: Some("上海市浦东新区世纪大道1号".into()),
                    id_number: Some("11010519491231002X".into()),
                },
            ),
            ("000000001002".to_string(), CustomerDetails::default()),
        ];
        let keys = ring(&[("k1", 1)]);
        assert_eq!(write(&path, &rows, &keys).unwrap(), 2);
        let bytes = std::fs::read(&path).unwrap();
        let haystack = String::from_utf8_lossy(&bytes);
        for needle in ["13812345678", "张三", "11010519491231002X", "000000001001"] {
            assert!(!haystack.contains(needle), "{needle} in the clear");
        }
        // A rotated ring still reads it (the file names its key); a ring without the key does not,
        // and neither does a reader without keys.
        assert_eq!(read(&path, &ring(&[("k1", 1), ("k2", 2)])).unwrap(), rows);
        assert!(read(&path, &ring(&[("k2", 2)])).is_err());
        let plain = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap());
        assert!(plain.is_err(), "an encrypted footer needs keys");
    }
}
