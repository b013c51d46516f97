//! Data identifiers (DI3 DI2 DI1 DI0) and the value formats of the items a single-phase meter holds.

use std::fmt;

use chrono::{NaiveDate, NaiveTime};
use rust_decimal::Decimal;

use super::{bcd, FrameError};

/// A 4-byte data identifier, written as the number `0xDI3DI2DI1DI0` and sent DI0 first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataId(pub u32);

impl DataId {
    /// 00000000 combined active total energy (signed).
    pub const COMBINED_ACTIVE_TOTAL: DataId = DataId(0x0000_0000);
    /// 00010000 forward active total energy.
    pub const FORWARD_ACTIVE_TOTAL: DataId = DataId(0x0001_0000);
    /// 00010100 forward active energy, tariff 1 (尖, sharp peak).
    pub const FORWARD_ACTIVE_T1: DataId = DataId(0x0001_0100);
    /// 00010200 forward active energy, tariff 2 (峰, peak).
    pub const FORWARD_ACTIVE_T2: DataId = DataId(0x0001_0200);
    /// 00010300 forward active energy, tariff 3 (平, flat).
    pub const FORWARD_ACTIVE_T3: DataId = DataId(0x0001_0300);
    /// 00010400 forward active energy, tariff 4 (谷, valley).
    pub const FORWARD_ACTIVE_T4: DataId = DataId(0x0001_0400);
    /// 00020000 reverse active total energy.
    pub const REVERSE_ACTIVE_TOTAL: DataId = DataId(0x0002_0000);
    /// 02010100 phase-A voltage.
    pub const VOLTAGE_A: DataId = DataId(0x0201_0100);
    /// 02020100 phase-A current (signed).
    pub const CURRENT_A: DataId = DataId(0x0202_0100);
    /// 02030000 total active power (signed).
    pub const ACTIVE_POWER: DataId = DataId(0x0203_0000);
    /// 02060000 total power factor (signed).
    pub const POWER_FACTOR: DataId = DataId(0x0206_0000);
    /// 02800002 grid frequency.
    pub const FREQUENCY: DataId = DataId(0x0280_0002);
    /// 02800007 meter temperature (signed).
    pub const TEMPERATURE: DataId = DataId(0x0280_0007);
    /// 04000101 date and weekday.
    pub const DATE: DataId = DataId(0x0400_0101);
    /// 04000102 time of day.
    pub const TIME: DataId = DataId(0x0400_0102);
    /// 04000401 communication address.
    pub const COMM_ADDRESS: DataId = DataId(0x0400_0401);
    /// 04000402 meter number (表号).
    pub const METER_NUMBER: DataId = DataId(0x0400_0402);
    /// 04000501 running status word 1 (04000501..07 are words 1..7).
    pub const STATUS_WORD_1: DataId = DataId(0x0400_0501);
    /// 04000503 running status word 3 (relay state, keep-power).
    pub const STATUS_WORD_3: DataId = DataId(0x0400_0503);
    /// 00900200 remaining money (剩余金额).
    pub const BALANCE: DataId = DataId(0x0090_0200);
    /// 00900201 overdraft money (透支金额).
    pub const OVERDRAFT: DataId = DataId(0x0090_0201);

    /// The DI bytes in wire order (DI0 first), before the +0x33 offset.
    pub fn to_wire(self) -> [u8; 4] {
        self.0.to_le_bytes()
    }

    /// Reads a DI from wire-order bytes (already −0x33).
    pub fn from_wire(bytes: &[u8]) -> Result<Self, FrameError> {
        let array: [u8; 4] =
            bytes
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(FrameError::ShortData {
                    what: "data identifier",
                    needed: 4,
                    have: bytes.len(),
                })?;
        Ok(Self(u32::from_le_bytes(array)))
    }

    /// Status word `n` (1..=7).
    pub fn status_word(n: u8) -> Option<Self> {
        (1..=7)
            .contains(&n)
            .then(|| Self(0x0400_0500 + u32::from(n)))
    }

    /// The format and name of the item, if meterlake knows it.
    pub fn describe(self) -> Option<(&'static str, ValueFormat)> {
        use ValueFormat::*;
        let register = |signed: bool, unit: &'static str| Number {
            bytes: 4,
            decimals: 2,
            signed,
            unit,
        };
        let energy = register(false, "kWh");
        Some(match self.0 {
            0x0000_0000 => ("combined active total energy", register(true, "kWh")),
            0x0001_0000 => ("forward active total energy", energy),
            0x0001_0100 => ("forward active energy tariff 1 (sharp)", energy),
            0x0001_0200 => ("forward active energy tariff 2 (peak)", energy),
            0x0001_0300 => ("forward active energy tariff 3 (flat)", energy),
            0x0001_0400 => ("forward active energy tariff 4 (valley)", energy),
            0x0002_0000 => ("reverse active total energy", energy),
            0x0201_0100 => (
                "phase-A voltage",
                Number {
                    bytes: 2,
                    decimals: 1,
                    signed: false,
                    unit: "V",
                },
            ),
            0x0202_0100 => (
                "phase-A current",
                Number {
                    bytes: 3,
                    decimals: 3,
                    signed: true,
                    unit: "A",
                },
            ),
            0x0203_0000 => (
                "total active power",
                Number {
                    bytes: 3,
                    decimals: 4,
                    signed: true,
                    unit: "kW",
                },
            ),
            0x0206_0000 => (
                "total power factor",
                Number {
                    bytes: 2,
                    decimals: 3,
                    signed: true,
                    unit: "",
                },
            ),
            0x0280_0002 => (
                "grid frequency",
                Number {
                    bytes: 2,
                    decimals: 2,
                    signed: false,
                    unit: "Hz",
                },
            ),
            0x0280_0007 => (
                "meter temperature",
                Number {
                    bytes: 2,
                    decimals: 1,
                    signed: true,
                    unit: "°C",
                },
            ),
            0x0400_0101 => ("date and weekday", Date),
            0x0400_0102 => ("time", Time),
            0x0400_0401 => ("communication address", Digits12),
            0x0400_0402 => ("meter number", Digits12),
            0x0400_0501..=0x0400_0507 => ("running status word", BitField),
            0x0090_0200 => ("remaining money", register(false, "yuan")),
            0x0090_0201 => ("overdraft money", register(false, "yuan")),
            _ => return None,
        })
    }
}

impl fmt::Display for DataId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08X}", self.0)
    }
}

impl std::str::FromStr for DataId {
    type Err = FrameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim().trim_start_matches("0x");
        if trimmed.len() != 8 {
            return Err(FrameError::Hex(format!("DI must be 8 hex digits: {s:?}")));
        }
        u32::from_str_radix(trimmed, 16)
            .map(DataId)
            .map_err(|e| FrameError::Hex(format!("{s:?}: {e}")))
    }
}

/// How an item's value is laid out in the data field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueFormat {
    /// Packed BCD with implied decimals; `signed` uses bit 7 of the last byte.
    Number {
        /// Bytes on the wire.
        bytes: usize,
        /// Digits after the decimal point.
        decimals: u32,
        /// Whether bit 7 of the most significant byte is a sign.
        signed: bool,
        /// Unit for display.
        unit: &'static str,
    },
    /// A 16-bit bit field, little-endian (status words).
    BitField,
    /// YYMMDDWW (sent WW DD MM YY).
    Date,
    /// hhmmss (sent ss mm hh).
    Time,
    /// 12 BCD digits (addresses, meter numbers).
    Digits12,
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A number with its unit.
    Number(Decimal, &'static str),
    /// A bit field.
    Bits(u16),
    /// A date and weekday (0 = Sunday).
    Date(NaiveDate, u8),
    /// A time of day.
    Time(NaiveTime),
    /// 12 digits.
    Digits(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Number(v, "") => write!(f, "{v}"),
            Value::Number(v, unit) => write!(f, "{v} {unit}"),
            Value::Bits(b) => write!(f, "{b:#06x} ({b:016b})"),
            Value::Date(d, w) => write!(f, "{d} (weekday {w})"),
            Value::Time(t) => write!(f, "{t}"),
            Value::Digits(s) => f.write_str(s),
        }
    }
}

impl ValueFormat {
    /// Bytes the value occupies.
    pub fn len(self) -> usize {
        match self {
            Self::Number { bytes, .. } => bytes,
            Self::BitField => 2,
            Self::Date => 4,
            Self::Time => 3,
            Self::Digits12 => 6,
        }
    }

    /// Always false: every format has a length.
    pub fn is_empty(self) -> bool {
        false
    }

    /// Decodes the value from its bytes (already −0x33).
    pub fn decode(self, bytes: &[u8]) -> Result<Value, FrameError> {
        let need = self.len();
        let bytes = bytes.get(..need).ok_or(FrameError::ShortData {
            what: "value",
            needed: need,
            have: bytes.len(),
        })?;
        match self {
            Self::Number {
                decimals,
                signed,
                unit,
                ..
            } => Ok(Value::Number(
                Decimal::new(bcd::decode_le(bytes, signed)?, decimals),
                unit,
            )),
            Self::BitField => Ok(Value::Bits(u16::from_le_bytes([bytes[0], bytes[1]]))),
            Self::Date => {
                let (w, d, m, y) = (
                    bcd::byte_to_u8(bytes[0])?,
                    bcd::byte_to_u8(bytes[1])?,
                    bcd::byte_to_u8(bytes[2])?,
                    bcd::byte_to_u8(bytes[3])?,
                );
                let date = NaiveDate::from_ymd_opt(2000 + i32::from(y), m.into(), d.into())
                    .ok_or_else(|| FrameError::DateTime(format!("20{y:02}-{m:02}-{d:02}")))?;
                Ok(Value::Date(date, w))
            }
            Self::Time => {
                let (s, m, h) = (
                    bcd::byte_to_u8(bytes[0])?,
                    bcd::byte_to_u8(bytes[1])?,
                    bcd::byte_to_u8(bytes[2])?,
                );
                let time = NaiveTime::from_hms_opt(h.into(), m.into(), s.into())
                    .ok_or_else(|| FrameError::DateTime(format!("{h:02}:{m:02}:{s:02}")))?;
                Ok(Value::Time(time))
            }
            Self::Digits12 => Ok(Value::Digits(
                super::Address(
                    bytes
                        .try_into()
                        .map_err(|_| FrameError::Address(hex::encode(bytes)))?,
                )
                .to_string(),
            )),
        }
    }

    /// Encodes a number in this format; the number must have at most `decimals` decimals of precision
    /// (extra precision is truncated toward zero, as meters do).
    pub fn encode_number(self, value: Decimal) -> Result<Vec<u8>, FrameError> {
        let range = |format: String| FrameError::ValueRange {
            value: value.to_string(),
            format,
        };
        match self {
            Self::Number {
                bytes,
                decimals,
                signed,
                ..
            } => {
                let scaled = (value * Decimal::from(10i64.pow(decimals))).trunc();
                let int = i64::try_from(scaled).map_err(|_| range(format!("{self:?}")))?;
                bcd::encode_le(int, bytes, signed).ok_or_else(|| range(format!("{self:?}")))
            }
            Self::BitField => {
                let int = u16::try_from(value).map_err(|_| range("bit field".into()))?;
                Ok(int.to_le_bytes().to_vec())
            }
            other => Err(range(format!("{other:?} is not numeric"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn documented_voltage_reply_value() {
        // F4: value bytes `01 10` (after -0x33) in XXX.X are 100.1 V.
        let (_, format) = DataId::VOLTAGE_A.describe().unwrap();
        assert_eq!(
            format.decode(&[0x01, 0x10]).unwrap(),
            Value::Number(Decimal::new(1001, 1), "V")
        );
        assert_eq!(
            DataId::FORWARD_ACTIVE_TOTAL.to_wire(),
            [0x00, 0x00, 0x01, 0x00]
        );
        assert_eq!("02010100".parse::<DataId>().unwrap(), DataId::VOLTAGE_A);
        assert!("0201".parse::<DataId>().is_err());
    }

    #[test]
    fn documented_date_wire_order() {
        // 2026-08-02 weekday 03 is sent as 03 02 08 26.
        assert_eq!(
            ValueFormat::Date.decode(&[0x03, 0x02, 0x08, 0x26]).unwrap(),
            Value::Date(NaiveDate::from_ymd_opt(2026, 8, 2).unwrap(), 3)
        );
        assert!(ValueFormat::Date.decode(&[0x03, 0x32, 0x08, 0x26]).is_err());
        assert!(ValueFormat::Time.decode(&[0x00, 0x61, 0x10]).is_err());
    }

    proptest! {
        #[test]
        fn numbers_round_trip_for_every_numeric_di(raw in -799_999i64..=799_999, pick in 0usize..15) {
            let dis = [0x0000_0000u32, 0x0001_0000, 0x0001_0100, 0x0001_0200, 0x0001_0300, 0x0001_0400,
                0x0002_0000, 0x0201_0100, 0x0202_0100, 0x0203_0000, 0x0206_0000, 0x0280_0002,
                0x0280_0007, 0x0090_0200, 0x0090_0201];
            let (_, format) = DataId(dis[pick]).describe().unwrap();
            let ValueFormat::Number { bytes, decimals, signed, unit } = format else { unreachable!() };
            let max = 10i64.pow(2 * bytes as u32 - u32::from(signed)) - 1;
            let int = if signed { raw.clamp(-max, max) } else { raw.abs().min(max) };
            let value = Decimal::new(int, decimals);
            let encoded = format.encode_number(value).unwrap();
            prop_assert_eq!(format.decode(&encoded).unwrap(), Value::Number(value, unit));
        }
    }
}
