//! Reading-batch message values: Arrow IPC streams (default) or JSON arrays (third-party producers).

use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use store::schema::{wire_schema, SCHEMA_VERSION};

use crate::reading::{readings_to_batch, Reading};

/// Header naming the value encoding.
pub const CONTENT_TYPE: &str = "content-type";
/// Header naming the reading schema version.
pub const SCHEMA_VERSION_HEADER: &str = "schema-version";
/// Header with the link counters of the round's meters that showed late replies or line noise: JSON
/// `{"<meter_id>": {"late_replies": n, "noise_bytes": n}}` (`docs/contracts.md` §4). Optional.
pub const LINK_HEADER: &str = "meterlake-link";
/// Content type of Arrow IPC stream values.
pub const ARROW_STREAM: &str = "application/vnd.apache.arrow.stream";
/// Content type of JSON values.
pub const JSON: &str = "application/json";

/// Why a message value is not a reading batch (the message becomes a dead letter).
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// The value is empty.
    #[error("empty message value")]
    Empty,
    /// Unknown content type header.
    #[error("unsupported content-type {0:?}")]
    ContentType(String),
    /// Unknown schema version.
    #[error("unsupported schema-version {0:?} (this sink reads {SCHEMA_VERSION})")]
    SchemaVersion(String),
    /// Arrow IPC decoding failed.
    #[error("invalid Arrow IPC stream: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// The batch schema differs from the wire schema.
    #[error("record batch schema differs from the reading wire schema: {0}")]
    Schema(String),
    /// JSON decoding failed.
    #[error("invalid JSON readings: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON rows did not convert.
    #[error("invalid reading values: {0}")]
    Reading(#[from] crate::reading::ReadingError),
}

/// Encodes a wire-schema batch as an Arrow IPC stream.
pub fn encode_arrow(batch: &RecordBatch) -> Result<Vec<u8>, MessageError> {
    let mut out = Vec::new();
    {
        let mut writer = StreamWriter::try_new(&mut out, &batch.schema())?;
        writer.write(batch)?;
        writer.finish()?;
    }
    Ok(out)
}

/// Decodes a message value given its `content-type` and `schema-version` headers (absent = defaults).
pub fn decode(
    value: &[u8],
    content_type: Option<&str>,
    schema_version: Option<&str>,
) -> Result<Vec<RecordBatch>, MessageError> {
    if value.is_empty() {
        return Err(MessageError::Empty);
    }
    if let Some(version) = schema_version {
        if version.trim() != SCHEMA_VERSION.to_string() {
            return Err(MessageError::SchemaVersion(version.to_string()));
        }
    }
    match content_type.unwrap_or(ARROW_STREAM) {
        ARROW_STREAM => {
            let reader = StreamReader::try_new(value, None)?;
            let expected = wire_schema();
            if reader.schema().fields() != expected.fields() {
                return Err(MessageError::Schema(format!("{:?}", reader.schema())));
            }
            let batches = reader.collect::<Result<Vec<_>, _>>()?;
            Ok(batches)
        }
        JSON => {
            let rows: Vec<Reading> = serde_json::from_slice(value)?;
            Ok(vec![readings_to_batch(&rows)?])
        }
        other => Err(MessageError::ContentType(other.to_string())),
    }
}

/// A Kafka message's reading rows: its value decoded by its `content-type` and `schema-version`
/// headers ([`decode`]).
pub fn decode_message<M: rdkafka::Message>(message: &M) -> Result<Vec<RecordBatch>, MessageError> {
    let header = |name: &str| {
        use rdkafka::message::Headers;
        message.headers().and_then(|h| {
            h.iter()
                .find(|x| x.key == name)
                .and_then(|x| x.value)
                .and_then(|v| std::str::from_utf8(v).ok())
        })
    };
    decode(
        message.payload().unwrap_or_default(),
        header(CONTENT_TYPE),
        header(SCHEMA_VERSION_HEADER),
    )
}

/// The link counters a readings message carries ([`LINK_HEADER`]); none when the header is absent,
/// an error when it is present but unreadable.
pub fn link_counters<M: rdkafka::Message>(
    message: &M,
) -> Result<
    std::collections::BTreeMap<String, crate::collector::bus_client::LinkCounters>,
    MessageError,
> {
    use rdkafka::message::Headers;
    let value = message.headers().and_then(|h| {
        h.iter()
            .find(|x| x.key == LINK_HEADER)
            .and_then(|x| x.value)
    });
    match value {
        None => Ok(Default::default()),
        Some(bytes) => Ok(serde_json::from_slice(bytes)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reading::Quality;
    use chrono::{DateTime, Utc};

    fn row() -> Reading {
        let t: DateTime<Utc> = "2026-10-01T00:15:00Z".parse().unwrap();
        let mut r = Reading::empty("000000001001".into(), t, "bus-0", "col-1");
        r.energy_fwd_total_kwh = Some(rust_decimal::Decimal::new(12345, 2));
        r.quality = Quality::Ok;
        r
    }

    #[test]
    fn arrow_and_json_values_decode_to_the_same_batch() {
        let batch = readings_to_batch(&[row()]).unwrap();
        let arrow = decode(&encode_arrow(&batch).unwrap(), None, Some("1")).unwrap();
        assert_eq!(arrow, vec![batch.clone()]);
        let json = serde_json::to_vec(&[row()]).unwrap();
        assert!(String::from_utf8_lossy(&json).contains("\"123.45\""));
        assert_eq!(decode(&json, Some(JSON), None).unwrap(), vec![batch]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(matches!(decode(b"", None, None), Err(MessageError::Empty)));
        assert!(decode(b"not arrow", None, None).is_err());
        assert!(decode(b"[{\"meter_id\":1}]", Some(JSON), None).is_err());
        assert!(matches!(
            decode(b"x", Some("text/csv"), None),
            Err(MessageError::ContentType(_))
        ));
        assert!(matches!(
            decode(b"x", None, Some("2")),
            Err(MessageError::SchemaVersion(_))
        ));
    }
}
