//! One spooled Kafka record and its on-disk framing.
//!
//! Layout of a framed record (all integers little-endian):
//!
//! ```text
//! magic 0xA5 | body length u32 | CRC-32 of body u32 | body
//! body = key length u16 | key | header count u8 | (name length u8 | name | value length u16 | value)* | payload
//! ```
//!
//! The CRC lets [`super::Spool::open`] tell a complete record from one torn by a crash mid-write.

use super::SpoolError;

/// First byte of every framed record.
pub const MAGIC: u8 = 0xA5;
/// Bytes before the body: magic, length, CRC.
pub const FRAME_HEADER_LEN: usize = 9;
/// Largest body accepted (a reading batch for one bus is far smaller).
pub const MAX_BODY_LEN: usize = 64 * 1024 * 1024;

/// A Kafka record waiting in the spool: key, headers and payload, exactly as it will be produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpooledRecord {
    /// Record key (the bus id for readings).
    pub key: String,
    /// Record headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Record value.
    pub payload: Vec<u8>,
}

impl SpooledRecord {
    /// Appends the framed record to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), SpoolError> {
        let too_long = |what: &str| SpoolError::RecordTooLarge(what.to_string());
        let mut body = Vec::with_capacity(self.payload.len() + self.key.len() + 64);
        let key_len = u16::try_from(self.key.len()).map_err(|_| too_long("key"))?;
        body.extend_from_slice(&key_len.to_le_bytes());
        body.extend_from_slice(self.key.as_bytes());
        let count = u8::try_from(self.headers.len()).map_err(|_| too_long("header count"))?;
        body.push(count);
        for (name, value) in &self.headers {
            body.push(u8::try_from(name.len()).map_err(|_| too_long("header name"))?);
            body.extend_from_slice(name.as_bytes());
            let value_len = u16::try_from(value.len()).map_err(|_| too_long("header value"))?;
            body.extend_from_slice(&value_len.to_le_bytes());
            body.extend_from_slice(value);
        }
        body.extend_from_slice(&self.payload);
        if body.len() > MAX_BODY_LEN {
            return Err(too_long("record"));
        }
        out.push(MAGIC);
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        Ok(())
    }

    /// Encoded length of this record, framing included.
    pub fn framed_len(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(n, v)| 1 + n.len() + 2 + v.len())
            .sum();
        FRAME_HEADER_LEN + 2 + self.key.len() + 1 + headers + self.payload.len()
    }
}

/// What the next bytes of a segment hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Framed {
    /// A complete, intact record and the bytes it used.
    Record(SpooledRecord, usize),
    /// The bytes end inside a record (a torn write at the tail).
    Incomplete,
    /// The bytes are not a record (bad magic, length or checksum).
    Corrupt(String),
}

/// Reads one framed record from the start of `bytes`.
pub fn decode(bytes: &[u8]) -> Framed {
    let Some(header) = bytes.get(..FRAME_HEADER_LEN) else {
        return Framed::Incomplete;
    };
    if header[0] != MAGIC {
        return Framed::Corrupt(format!("bad magic byte {:#04x}", header[0]));
    }
    let len = u32::from_le_bytes([header[1], header[2], header[3], header[4]]) as usize;
    let crc = u32::from_le_bytes([header[5], header[6], header[7], header[8]]);
    if len > MAX_BODY_LEN {
        return Framed::Corrupt(format!("record length {len} exceeds the limit"));
    }
    let Some(body) = bytes.get(FRAME_HEADER_LEN..FRAME_HEADER_LEN + len) else {
        return Framed::Incomplete;
    };
    if crc32fast::hash(body) != crc {
        return Framed::Corrupt("checksum mismatch".into());
    }
    match parse_body(body) {
        Some(record) => Framed::Record(record, FRAME_HEADER_LEN + len),
        None => Framed::Corrupt("malformed record body".into()),
    }
}

fn parse_body(body: &[u8]) -> Option<SpooledRecord> {
    let mut cursor = Cursor { bytes: body, at: 0 };
    let key_len = cursor.u16()?;
    let key = String::from_utf8(cursor.take(key_len.into())?.to_vec()).ok()?;
    let count = cursor.u8()?;
    let mut headers = Vec::with_capacity(count.into());
    for _ in 0..count {
        let name_len = cursor.u8()?;
        let name = String::from_utf8(cursor.take(name_len.into())?.to_vec()).ok()?;
        let value_len = cursor.u16()?;
        headers.push((name, cursor.take(value_len.into())?.to_vec()));
    }
    Some(SpooledRecord {
        key,
        headers,
        payload: cursor.bytes.get(cursor.at..)?.to_vec(),
    })
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record() -> impl Strategy<Value = SpooledRecord> {
        (
            "[a-z0-9-]{0,40}",
            proptest::collection::vec(
                (
                    "[a-z-]{1,20}",
                    proptest::collection::vec(any::<u8>(), 0..30),
                ),
                0..4,
            ),
            proptest::collection::vec(any::<u8>(), 0..2000),
        )
            .prop_map(|(key, headers, payload)| SpooledRecord {
                key,
                headers,
                payload,
            })
    }

    proptest! {
        #[test]
        fn framed_records_round_trip_and_truncation_is_incomplete(r in record(), cut in 0usize..100) {
            let mut bytes = Vec::new();
            r.encode_into(&mut bytes).unwrap();
            prop_assert_eq!(bytes.len(), r.framed_len());
            prop_assert_eq!(decode(&bytes), Framed::Record(r.clone(), bytes.len()));
            let cut = cut.min(bytes.len() - 1);
            prop_assert_eq!(decode(&bytes[..bytes.len() - 1 - cut]), Framed::Incomplete);
        }

        #[test]
        fn a_flipped_body_byte_is_caught_by_the_checksum(r in record(), at in any::<prop::sample::Index>()) {
            let mut bytes = Vec::new();
            r.encode_into(&mut bytes).unwrap();
            let i = FRAME_HEADER_LEN + at.index(bytes.len() - FRAME_HEADER_LEN);
            bytes[i] ^= 0x40;
            prop_assert!(matches!(decode(&bytes), Framed::Corrupt(_)));
        }
    }
}
