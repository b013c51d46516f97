//! Errors of the DL/T 645 codec.

/// Why bytes could not be read as a DL/T 645 frame or value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer bytes than the frame needs; more may arrive.
    #[error("incomplete frame: need {needed} bytes, have {have}")]
    Incomplete {
        /// Bytes the frame needs in total.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// No 0x68 start byte where a frame must begin.
    #[error("no frame start (0x68) at offset {0}")]
    NoStart(usize),
    /// The second 0x68 is missing after the address.
    #[error("second start byte missing: found {0:#04x} instead of 0x68")]
    NoSecondStart(u8),
    /// The checksum byte does not match.
    #[error("checksum mismatch: frame says {found:#04x}, computed {computed:#04x}")]
    Checksum {
        /// Checksum in the frame.
        found: u8,
        /// Checksum computed over the frame.
        computed: u8,
    },
    /// The frame does not end with 0x16.
    #[error("frame end byte is {0:#04x}, expected 0x16")]
    NoEnd(u8),
    /// The data field is longer than the protocol allows.
    #[error("data length {len} exceeds the limit of {limit} bytes")]
    TooLong {
        /// Data bytes.
        len: usize,
        /// The limit (200 for reads and replies, 50 for writes).
        limit: usize,
    },
    /// An address is not 12 BCD digits (or AA wildcards).
    #[error("invalid meter address {0:?}: expected 12 decimal digits")]
    Address(String),
    /// A byte that should be BCD holds a nibble above 9.
    #[error("invalid BCD byte {0:#04x}")]
    Bcd(u8),
    /// A value does not fit its DL/T 645 format.
    #[error("value {value} does not fit format {format}")]
    ValueRange {
        /// The value.
        value: String,
        /// The format, e.g. `XXX.X`.
        format: String,
    },
    /// The data field is shorter than its content requires.
    #[error("data field too short: {what} needs {needed} bytes, have {have}")]
    ShortData {
        /// What was being decoded.
        what: &'static str,
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        have: usize,
    },
    /// A hexadecimal string could not be parsed.
    #[error("invalid hex: {0}")]
    Hex(String),
    /// An unknown relay command code N1.
    #[error("unknown relay command code N1={0:#04x}")]
    RelayCode(u8),
    /// A timestamp field holds an impossible date or time.
    #[error("invalid date/time in frame: {0}")]
    DateTime(String),
    /// A data identifier meterlake does not know the format of.
    #[error("unknown data identifier {0:08X}")]
    UnknownDataId(u32),
    /// Bytes left over after the content of a data field.
    #[error("{extra} unexpected bytes after the {what}")]
    TrailingData {
        /// What was being decoded.
        what: &'static str,
        /// Bytes left over.
        extra: usize,
    },
    /// The number of values does not match the DI (one for a single DI, up to the block size for a block).
    #[error("data identifier {di:08X} takes {expected} value(s), got {found}")]
    ItemCount {
        /// The DI.
        di: u32,
        /// Values the DI takes (at most).
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// A frame is not the kind the caller asked to read (e.g. not a time sync).
    #[error("expected {expected}, found control code {control:#04x} with {len} data bytes")]
    WrongFrame {
        /// What was expected.
        expected: &'static str,
        /// The frame's control code.
        control: u8,
        /// The frame's data length.
        len: usize,
    },
}
