//! Error words of abnormal replies: the 1-byte ERR, the 2-byte SERR of security (0x03) replies and the
//! 2-byte control error word of relay (0x1C) replies.

use serde::Serialize;

use super::{Frame, FrameError, Function};

/// Names of the ERR bits, bit 0 first.
const ERR_NAMES: [&str; 8] = [
    "other error",
    "no requested data",
    "password error / unauthorized",
    "baud rate cannot be changed",
    "too many year time zones",
    "too many daily time slots",
    "too many tariffs",
    "reserved",
];

/// Names of the SERR bits of security replies, bit 0 first (bits 10..15 unassigned).
const SERR_NAMES: [&str; 10] = [
    "other error",
    "repeated recharge",
    "ESAM verification failed",
    "identity authentication failed",
    "customer number mismatch",
    "recharge count error",
    "purchase exceeds hoarding limit",
    "address abnormal",
    "meter suspended",
    "close/restore failed",
];

/// Names of the control error word bits of relay replies, bit 0 first (bits 9..15 unassigned).
const CONTROL_NAMES: [&str; 9] = [
    "meter suspended",
    "MAC error",
    "password error / unauthorized",
    "identity authentication timed out",
    "execution time invalid",
    "trip refused (keep-power active)",
    "auto-restore error (bit 6)",
    "auto-restore error (bit 7)",
    "auto-restore error (bit 8)",
];

/// ERR bit 0x01: other error.
pub const ERR_OTHER: u8 = 0x01;
/// ERR bit 0x02: no requested data (unknown or unsupported DI).
pub const ERR_NO_DATA: u8 = 0x02;
/// ERR bit 0x04: password error / unauthorized.
pub const ERR_UNAUTHORIZED: u8 = 0x04;

/// The names of the set bits of `word`, using `names` for bits 0.. and "unassigned bit N" beyond.
fn bit_names(word: u16, names: &[&'static str]) -> Vec<String> {
    (0..16)
        .filter(|bit| word & (1 << bit) != 0)
        .map(|bit| match names.get(bit) {
            Some(name) => (*name).to_string(),
            None => format!("unassigned bit {bit}"),
        })
        .collect()
}

/// Names of the bits of the 1-byte error word (ERR) of abnormal replies.
pub fn error_bits(error: u8) -> Vec<&'static str> {
    (0..8)
        .filter(|bit| error & (1 << bit) != 0)
        .map(|bit| ERR_NAMES[bit])
        .collect()
}

/// The error word of an abnormal reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "word", rename_all = "snake_case")]
pub enum ErrorWord {
    /// The 1-byte ERR (any function; also seen on 0x03 replies).
    Err(u8),
    /// The 2-byte SERR of a security (0x03) reply.
    Security(u16),
    /// The 2-byte control error word of a relay (0x1C) reply.
    Control(u16),
}

impl ErrorWord {
    /// Reads the error word of an abnormal reply to `function` from its data field.
    ///
    /// One byte is ERR; two bytes are SERR for 0x03 and the control error word for 0x1C.
    pub fn from_data(function: Function, data: &[u8]) -> Result<Self, FrameError> {
        match (data, function) {
            ([err], _) => Ok(Self::Err(*err)),
            ([lo, hi], Function::Security) => Ok(Self::Security(u16::from_le_bytes([*lo, *hi]))),
            ([lo, hi], Function::Control) => Ok(Self::Control(u16::from_le_bytes([*lo, *hi]))),
            ([], _) => Err(FrameError::ShortData {
                what: "error word",
                needed: 1,
                have: 0,
            }),
            _ => Err(FrameError::TrailingData {
                what: "error word",
                extra: data.len() - 1,
            }),
        }
    }

    /// The data field bytes (low byte first).
    pub fn to_data(self) -> Vec<u8> {
        match self {
            Self::Err(err) => vec![err],
            Self::Security(word) | Self::Control(word) => word.to_le_bytes().to_vec(),
        }
    }

    /// The numeric word.
    pub fn word(self) -> u16 {
        match self {
            Self::Err(err) => u16::from(err),
            Self::Security(word) | Self::Control(word) => word,
        }
    }

    /// Which table the bits come from: `ERR`, `SERR` or `control error word`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Err(_) => "ERR",
            Self::Security(_) => "SERR",
            Self::Control(_) => "control error word",
        }
    }

    /// The names of the set bits.
    pub fn names(self) -> Vec<String> {
        match self {
            Self::Err(err) => bit_names(u16::from(err), &ERR_NAMES),
            Self::Security(word) => bit_names(word, &SERR_NAMES),
            Self::Control(word) => bit_names(word, &CONTROL_NAMES),
        }
    }

    /// True if the meter said it does not hold the requested data (ERR bit 0x02).
    pub fn is_no_data(self) -> bool {
        self == Self::Err(ERR_NO_DATA)
    }
}

impl Frame {
    /// An abnormal reply to `function` carrying `word`.
    pub fn abnormal_reply_with(
        address: super::Address,
        function: Function,
        word: ErrorWord,
    ) -> Self {
        Self {
            address,
            control: super::ControlCode::abnormal_reply(function),
            data: word.to_data(),
        }
    }

    /// The typed error word of an abnormal reply; `None` for other frames.
    pub fn error(&self) -> Option<Result<ErrorWord, FrameError>> {
        (self.control.reply && self.control.abnormal)
            .then(|| ErrorWord::from_data(self.control.function, &self.data))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlt645::{Address, ControlCode};

    #[test]
    fn one_and_two_byte_forms_are_named() {
        assert_eq!(
            error_bits(0x06),
            vec!["no requested data", "password error / unauthorized"]
        );
        let serr = ErrorWord::from_data(Function::Security, &[0x02, 0x01]).unwrap();
        assert_eq!(serr, ErrorWord::Security(0x0102));
        assert_eq!(serr.names(), vec!["repeated recharge", "meter suspended"]);
        let control = ErrorWord::from_data(Function::Control, &[0x30, 0x00]).unwrap();
        assert_eq!(
            control.names(),
            vec!["execution time invalid", "trip refused (keep-power active)"]
        );
        assert_eq!(
            ErrorWord::Security(0x8040).names(),
            vec!["purchase exceeds hoarding limit", "unassigned bit 15"]
        );
        // A real meter sends a 1-byte ERR to a 0x03 command.
        assert_eq!(
            ErrorWord::from_data(Function::Security, &[0x01]),
            Ok(ErrorWord::Err(0x01))
        );
        assert!(ErrorWord::from_data(Function::Read, &[0x01, 0x02]).is_err());
        assert!(ErrorWord::from_data(Function::Read, &[]).is_err());
    }

    #[test]
    fn abnormal_reply_frames_round_trip() {
        let address = Address::from_number(161).unwrap();
        let frame =
            Frame::abnormal_reply_with(address, Function::Read, ErrorWord::Err(ERR_NO_DATA));
        let bytes = frame.encode(0).unwrap();
        // 68 A 68 D1 01 ERR+33 CS 16
        assert_eq!(hex::encode(&bytes), "6861010000000068d101353916");
        let (decoded, _) = Frame::decode(&bytes).unwrap();
        assert_eq!(decoded.error(), Some(Ok(ErrorWord::Err(0x02))));
        assert!(decoded.error().unwrap().unwrap().is_no_data());
        let normal = Frame {
            address,
            control: ControlCode::normal_reply(Function::Read),
            data: vec![],
        };
        assert_eq!(normal.error(), None);
    }
}
