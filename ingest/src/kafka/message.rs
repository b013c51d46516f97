//! Reading-batch message values: Arrow IPC streams (default) or JSON arrays (third-party producers).

use arrow::array::RecordBatch;
use arrow::buffer::Buffer;
use arrow::ipc::reader::StreamDecoder;
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
/// Header with the event records (`03xx`) the round read, by meter: JSON
/// `{"<meter_id>": [{"event": "cover_open", "count": 3, "record": 1, "at": "…Z", "end": null, "operator": null}]}`
/// (`docs/contracts.md` §4). Present only on the rounds that read events (daily).
pub const EVENTS_HEADER: &str = "meterlake-events";
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
    /// The Arrow reader gave up on malformed bytes by panicking (caught: the message is refused).
    #[error("malformed Arrow IPC stream: {0}")]
    Malformed(String),
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

/// Decodes an Arrow IPC stream of wire-schema batches.
///
/// The push decoder is used rather than `StreamReader`: the reader allocates each message's body at
/// the length its header claims before reading it, so one flipped byte in a header (a body of
/// petabytes) aborted the whole process; the decoder only ever holds bytes the value really has.
fn decode_arrow(value: &[u8]) -> Result<Vec<RecordBatch>, MessageError> {
    let mut decoder = StreamDecoder::new();
    let mut buffer = Buffer::from(value);
    let expected = wire_schema();
    let mut batches = Vec::new();
    while !buffer.is_empty() {
        let batch = decoder.decode(&mut buffer)?;
        // The schema message comes first: refuse a foreign one before decoding any batch by it.
        if let Some(schema) = decoder.schema() {
            if schema.fields() != expected.fields() {
                return Err(MessageError::Schema(format!("{schema:?}")));
            }
        }
        batches.extend(batch);
    }
    decoder.finish()?;
    if decoder.schema().is_none() {
        return Err(MessageError::Malformed("no schema message".to_string()));
    }
    Ok(batches)
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
            // arrow-ipc panics on some malformed schemas (an integer type of an impossible width):
            // a message from the wire must never stop the sink, so such a panic is a refused message.
            std::panic::catch_unwind(|| decode_arrow(value)).unwrap_or_else(|panic| {
                let why = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("the reader panicked");
                Err(MessageError::Malformed(why.to_string()))
            })
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

/// One event record a collector read from a meter (the [`EVENTS_HEADER`] entries). Times are the
/// meter's local times in UTC (converted in the collector's zone).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventReading {
    /// The event.
    pub event: crate::dlt645::MeterEvent,
    /// The meter's count of this event when read.
    pub count: u32,
    /// Which record (1: the newest); the event's sequence number is `count − record + 1`.
    pub record: u8,
    /// When it happened.
    pub at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it ended (`None` while it lasts, or for events without an end).
    pub end: Option<chrono::DateTime<chrono::Utc>>,
    /// The operator code, for programming and clearing.
    pub operator: Option<u32>,
}

impl EventReading {
    /// The event's sequence number on its meter (1 for the first ever).
    pub fn sequence(&self) -> u32 {
        (self.count + 1).saturating_sub(u32::from(self.record))
    }
}

/// A JSON header of a readings message by name: `None` when absent, an error when unreadable.
fn json_header<M: rdkafka::Message, T: serde::de::DeserializeOwned + Default>(
    message: &M,
    name: &str,
) -> Result<T, MessageError> {
    use rdkafka::message::Headers;
    let value = message
        .headers()
        .and_then(|h| h.iter().find(|x| x.key == name).and_then(|x| x.value));
    match value {
        None => Ok(T::default()),
        Some(bytes) => Ok(serde_json::from_slice(bytes)?),
    }
}

/// The link counters a readings message carries ([`LINK_HEADER`]); none when the header is absent,
/// an error when it is present but unreadable.
pub fn link_counters<M: rdkafka::Message>(
    message: &M,
) -> Result<
    std::collections::BTreeMap<String, crate::collector::bus_client::LinkCounters>,
    MessageError,
> {
    json_header(message, LINK_HEADER)
}

/// The event records a readings message carries ([`EVENTS_HEADER`]), by meter; none when the header
/// is absent, an error when it is present but unreadable.
pub fn event_readings<M: rdkafka::Message>(
    message: &M,
) -> Result<std::collections::BTreeMap<String, Vec<EventReading>>, MessageError> {
    json_header(message, EVENTS_HEADER)
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

    fn message_with(headers: &[(&str, &[u8])]) -> rdkafka::message::OwnedMessage {
        let mut owned = rdkafka::message::OwnedHeaders::new();
        for (key, value) in headers {
            owned = owned.insert(rdkafka::message::Header {
                key,
                value: Some(*value),
            });
        }
        rdkafka::message::OwnedMessage::new(
            Some(b"x".to_vec()),
            None,
            "meterlake.readings.v1".into(),
            rdkafka::Timestamp::NotAvailable,
            0,
            0,
            Some(owned),
        )
    }

    #[test]
    fn link_and_event_headers_decode_or_fail_clearly() {
        let events = br#"{"000000001001": [{"event": "cover_open", "count": 4, "record": 2,
            "at": "2026-10-01T02:00:00Z", "end": null, "operator": null}]}"#;
        let good = message_with(&[
            (
                LINK_HEADER,
                br#"{"000000001001": {"late_replies": 2, "noise_bytes": 0}}"#,
            ),
            (EVENTS_HEADER, events),
        ]);
        assert_eq!(
            link_counters(&good).unwrap()["000000001001"].late_replies,
            2
        );
        let read = &event_readings(&good).unwrap()["000000001001"][0];
        assert_eq!(read.event, crate::dlt645::MeterEvent::CoverOpen);
        assert_eq!(read.sequence(), 3, "the second-newest of four");
        let none = message_with(&[]);
        assert!(link_counters(&none).unwrap().is_empty());
        assert!(event_readings(&none).unwrap().is_empty());
        for bad in [
            &b"not json"[..],
            br#"{"000000001001": 7}"#,
            br#"{"m": [{"event": "x"}]}"#,
        ] {
            let message = message_with(&[(LINK_HEADER, bad), (EVENTS_HEADER, bad)]);
            assert!(matches!(
                link_counters(&message),
                Err(MessageError::Json(_))
            ));
            assert!(matches!(
                event_readings(&message),
                Err(MessageError::Json(_))
            ));
        }
    }

    /// The record-batch header of a valid stream is made to claim a body of 2^53 bytes: the message is
    /// refused with an error (arrow's `StreamReader` allocated the claimed body first and aborted the
    /// process — found by the mutation test in CI).
    #[test]
    fn a_header_claiming_a_huge_body_is_refused_without_allocating_it() {
        let good = encode_arrow(&readings_to_batch(&[row()]).unwrap()).unwrap();
        let meta_len = |at: usize| {
            assert_eq!(good[at..at + 4], [0xff; 4], "continuation marker");
            u32::from_le_bytes(good[at + 4..at + 8].try_into().unwrap()) as usize
        };
        let schema_len = meta_len(0);
        let batch_at = 8 + schema_len;
        let batch_meta = batch_at + 8..batch_at + 8 + meta_len(batch_at);
        let message = arrow::ipc::root_as_message(&good[batch_meta.clone()]).unwrap();
        let claimed = message.bodyLength().to_le_bytes();
        let places: Vec<usize> = good[batch_meta.clone()]
            .windows(8)
            .enumerate()
            .filter(|(_, w)| *w == claimed)
            .map(|(i, _)| batch_meta.start + i)
            .collect();
        assert_eq!(
            places.len(),
            1,
            "the body length appears once in the header"
        );
        let mut bad = good.clone();
        bad[places[0]..places[0] + 8].copy_from_slice(&(1i64 << 53).to_le_bytes());
        let err = decode(&bad, None, None).unwrap_err();
        assert!(matches!(err, MessageError::Arrow(_)), "{err}");
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

    mod mutated {
        use super::*;
        use proptest::prelude::*;

        fn readings(n: usize) -> Vec<Reading> {
            (0..n)
                .map(|i| {
                    let mut r = row();
                    r.meter_id = format!("{:012}", 1000 + i);
                    r
                })
                .collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(crate::mutation::cases(200)))]
            /// Valid Arrow and JSON messages, mutated (bytes flipped, cut short, garbage inserted): the
            /// decoder never panics; what it accepts has the wire schema, and an untouched message gives
            /// back its rows.
            #[test]
            fn mutated_messages_decode_to_the_wire_schema_or_fail_clearly(
                rows in 1usize..5,
                json in any::<bool>(),
                damage in crate::mutation::damage(16),
            ) {
                let readings = readings(rows);
                let (good, content_type) = if json {
                    (serde_json::to_vec(&readings).unwrap(), JSON)
                } else {
                    (encode_arrow(&readings_to_batch(&readings).unwrap()).unwrap(), ARROW_STREAM)
                };
                let bytes = damage.apply(&good);
                let untouched = bytes == good;
                match decode(&bytes, Some(content_type), None) {
                    Ok(batches) => {
                        for batch in &batches {
                            let (got, wanted) = (batch.schema(), wire_schema());
                            prop_assert_eq!(got.fields(), wanted.fields());
                        }
                        if untouched {
                            let total: usize = batches.iter().map(|b| b.num_rows()).sum();
                            prop_assert_eq!(total, rows);
                        }
                    }
                    Err(err) => {
                        prop_assert!(!untouched, "an untouched message refused: {}", err);
                        prop_assert!(!err.to_string().is_empty());
                    }
                }
            }
        }
    }
}
