//! The link-layer frame: `[FE×0..4] 68 A0..A5 68 C L DATA CS 16`, DATA offset by +0x33 on the wire.

use super::{Address, ControlCode, DataId, FrameError, Function};

/// Start byte.
pub const START: u8 = 0x68;
/// End byte.
pub const END: u8 = 0x16;
/// Wake-up preamble byte, not covered by the checksum.
pub const PREAMBLE: u8 = 0xFE;
/// Largest data field meterlake accepts (reads allow 200 bytes).
pub const MAX_DATA_LEN: usize = 200;
/// Largest data field of a write request (0x14) per the standard; the codec itself accepts up to
/// [`MAX_DATA_LEN`] for every function so that decode and encode stay symmetric.
pub const MAX_WRITE_DATA_LEN: usize = 50;
/// Bytes of a frame without data and preamble.
pub const MIN_FRAME_LEN: usize = 12;

/// A DL/T 645 frame with its data field in plain form (the ±0x33 offset is applied by the codec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Meter address (for replies, the meter's real address).
    pub address: Address,
    /// Control code.
    pub control: ControlCode,
    /// Data field, without the +0x33 offset.
    pub data: Vec<u8>,
}

/// Sum mod 256 of the bytes.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, b| acc.wrapping_add(*b))
}

impl Frame {
    /// A read request (0x11) for one data identifier.
    pub fn read_request(address: Address, di: DataId) -> Self {
        Self {
            address,
            control: ControlCode::request(Function::Read),
            data: di.to_wire().to_vec(),
        }
    }

    /// A normal read reply: the DI followed by the value bytes.
    pub fn read_reply(address: Address, di: DataId, value: &[u8]) -> Self {
        let mut data = di.to_wire().to_vec();
        data.extend_from_slice(value);
        Self {
            address,
            control: ControlCode::normal_reply(Function::Read),
            data,
        }
    }

    /// A read-address request (0x13) to the wildcard address.
    pub fn read_address_request() -> Self {
        Self {
            address: Address::WILDCARD,
            control: ControlCode::request(Function::ReadAddress),
            data: Vec::new(),
        }
    }

    /// An abnormal reply to `function` carrying a 1-byte error word.
    pub fn abnormal_reply(address: Address, function: Function, error: u8) -> Self {
        Self {
            address,
            control: ControlCode::abnormal_reply(function),
            data: vec![error],
        }
    }

    /// A normal reply without data (e.g. 0x9C to a relay command).
    pub fn empty_reply(address: Address, function: Function) -> Self {
        Self {
            address,
            control: ControlCode::normal_reply(function),
            data: Vec::new(),
        }
    }

    /// Encodes the frame with `preamble` leading FE bytes.
    pub fn encode(&self, preamble: usize) -> Result<Vec<u8>, FrameError> {
        if self.data.len() > MAX_DATA_LEN {
            return Err(FrameError::TooLong {
                len: self.data.len(),
                limit: MAX_DATA_LEN,
            });
        }
        let mut out = Vec::with_capacity(preamble + MIN_FRAME_LEN + self.data.len());
        out.extend(std::iter::repeat_n(PREAMBLE, preamble));
        let start = out.len();
        out.push(START);
        out.extend_from_slice(&self.address.0);
        out.push(START);
        out.push(self.control.to_byte());
        out.push(self.data.len() as u8);
        out.extend(self.data.iter().map(|b| b.wrapping_add(0x33)));
        out.push(checksum(&out[start..]));
        out.push(END);
        Ok(out)
    }

    /// Decodes one frame at the start of `bytes` (after any FE preamble).
    ///
    /// Returns the frame and the number of bytes consumed, or an error; [`FrameError::Incomplete`]
    /// means more bytes may complete it.
    pub fn decode(bytes: &[u8]) -> Result<(Frame, usize), FrameError> {
        let skip = bytes.iter().take_while(|b| **b == PREAMBLE).count();
        let body = &bytes[skip..];
        let incomplete = |needed: usize| FrameError::Incomplete {
            needed: skip + needed,
            have: bytes.len(),
        };
        match body.first() {
            None => return Err(incomplete(MIN_FRAME_LEN)),
            Some(&START) => {}
            Some(_) => return Err(FrameError::NoStart(skip)),
        }
        if body.len() < 10 {
            return Err(incomplete(MIN_FRAME_LEN));
        }
        if body[7] != START {
            return Err(FrameError::NoSecondStart(body[7]));
        }
        let len = usize::from(body[9]);
        if len > MAX_DATA_LEN {
            return Err(FrameError::TooLong {
                len,
                limit: MAX_DATA_LEN,
            });
        }
        let total = MIN_FRAME_LEN + len;
        if body.len() < total {
            return Err(incomplete(total));
        }
        let computed = checksum(&body[..10 + len]);
        let found = body[10 + len];
        if computed != found {
            return Err(FrameError::Checksum { found, computed });
        }
        if body[11 + len] != END {
            return Err(FrameError::NoEnd(body[11 + len]));
        }
        let mut address = [0u8; 6];
        address.copy_from_slice(&body[1..7]);
        let frame = Frame {
            address: Address(address),
            control: ControlCode::from_byte(body[8]),
            data: body[10..10 + len]
                .iter()
                .map(|b| b.wrapping_sub(0x33))
                .collect(),
        };
        Ok((frame, skip + total))
    }

    /// The data identifier at the start of the data field (reads and their replies).
    pub fn data_id(&self) -> Result<DataId, FrameError> {
        DataId::from_wire(&self.data)
    }

    /// The first byte (the ERR word) of an abnormal reply; see [`Frame::error`] for the typed 1- or 2-byte form.
    pub fn error_word(&self) -> Option<u8> {
        (self.control.abnormal).then(|| self.data.first().copied().unwrap_or(0))
    }
}

pub use super::error_word::error_bits;

/// Parses a hex string with optional spaces (and an optional `0x` prefix) into bytes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, FrameError> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let compact = compact.strip_prefix("0x").unwrap_or(&compact);
    if compact.is_empty() {
        return Err(FrameError::Hex("no hex digits".into()));
    }
    hex::decode(compact).map_err(|e| FrameError::Hex(format!("{text:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex_frame(text: &str) -> Vec<u8> {
        parse_hex(text).unwrap()
    }

    #[test]
    fn documented_frames_decode() {
        // F2: read 00010000 from meter 000102030425.
        let (f, used) = Frame::decode(&hex_frame(
            "68 25 04 03 02 01 00 68 11 04 33 33 34 33 E1 16",
        ))
        .unwrap();
        assert_eq!(used, 16);
        assert_eq!(f.address.to_string(), "000102030425");
        assert_eq!(f.control.function, Function::Read);
        assert_eq!(f.data_id().unwrap(), DataId::FORWARD_ACTIVE_TOTAL);
        assert_eq!(
            f.encode(0).unwrap(),
            hex_frame("68 25 04 03 02 01 00 68 11 04 33 33 34 33 E1 16")
        );
        // F1 with preamble: read address.
        let bytes = hex_frame("FE FE FE FE 68 AA AA AA AA AA AA 68 13 00 DF 16");
        let (f, used) = Frame::decode(&bytes).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(f, Frame::read_address_request());
        assert_eq!(f.encode(4).unwrap(), bytes);
        // F4: voltage reply 100.1 V.
        let (f, _) = Frame::decode(&hex_frame(
            "68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16",
        ))
        .unwrap();
        assert!(f.control.reply && !f.control.abnormal);
        assert_eq!(f.data_id().unwrap(), DataId::VOLTAGE_A);
        assert_eq!(&f.data[4..], &[0x01, 0x10]);
    }

    #[test]
    fn documented_bad_checksum_is_rejected() {
        // F8: sent CS 0x24, correct 0x23.
        let err = Frame::decode(&hex_frame(
            "68 61 57 85 09 03 24 68 11 04 33 33 36 35 24 16",
        ))
        .unwrap_err();
        assert_eq!(
            err,
            FrameError::Checksum {
                found: 0x24,
                computed: 0x23
            }
        );
    }

    #[test]
    fn truncated_and_malformed_frames_give_typed_errors() {
        let good = hex_frame("68 25 04 03 02 01 00 68 11 04 33 33 34 33 E1 16");
        for cut in 0..good.len() {
            assert!(matches!(
                Frame::decode(&good[..cut]),
                Err(FrameError::Incomplete { .. })
            ));
        }
        let mut bad_end = good.clone();
        bad_end[15] = 0x17;
        assert_eq!(
            Frame::decode(&bad_end).unwrap_err(),
            FrameError::NoEnd(0x17)
        );
        let mut bad_second = good.clone();
        bad_second[7] = 0x00;
        assert_eq!(
            Frame::decode(&bad_second).unwrap_err(),
            FrameError::NoSecondStart(0)
        );
        assert_eq!(
            Frame::decode(&[0x00, 0x68]).unwrap_err(),
            FrameError::NoStart(0)
        );
        assert_eq!(
            error_bits(0x06),
            vec!["no requested data", "password error / unauthorized"]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::mutation::cases(256)))]
        #[test]
        fn encode_decode_round_trip(addr in any::<[u8; 6]>(), control in any::<u8>(),
                                    data in proptest::collection::vec(any::<u8>(), 0..=200),
                                    preamble in 0usize..=4) {
            let frame = Frame { address: Address(addr), control: ControlCode::from_byte(control), data };
            let bytes = frame.encode(preamble).unwrap();
            let (decoded, used) = Frame::decode(&bytes).unwrap();
            prop_assert_eq!(used, bytes.len());
            prop_assert_eq!(decoded, frame);
        }

        /// Valid frames, mutated (bytes flipped, cut short, garbage inserted, trailing bytes): the
        /// decoder never panics, accepts only what re-encodes to exactly the bytes it consumed, says
        /// how many bytes an incomplete frame needs, and never accepts a frame whose checksum fails.
        #[test]
        fn mutated_frames_are_decoded_exactly_or_refused_with_a_reason(
            addr in any::<[u8; 6]>(), control in any::<u8>(),
            data in proptest::collection::vec(any::<u8>(), 0..=60),
            preamble in 0usize..=4,
            damage in crate::mutation::damage(8),
            trailing in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let frame = Frame { address: Address(addr), control: ControlCode::from_byte(control), data };
            let good = frame.encode(preamble).unwrap();
            let mut bytes = damage.apply(&good);
            let untouched = bytes == good;
            bytes.extend_from_slice(&trailing);
            match Frame::decode(&bytes) {
                Ok((decoded, used)) => {
                    prop_assert!(used <= bytes.len());
                    let skip = bytes.iter().take_while(|b| **b == PREAMBLE).count();
                    prop_assert_eq!(decoded.encode(skip).unwrap(), bytes[..used].to_vec());
                    if untouched {
                        prop_assert_eq!(decoded, frame);
                        prop_assert_eq!(used, good.len());
                    }
                }
                Err(FrameError::Incomplete { needed, have }) => {
                    prop_assert!(!untouched, "a whole frame reported incomplete");
                    prop_assert!(needed > have, "needs {} but has {}", needed, have);
                }
                Err(FrameError::Checksum { found, computed }) => prop_assert_ne!(found, computed),
                Err(other) => prop_assert!(!untouched, "a whole frame refused: {}", other),
            }
        }
    }
}
