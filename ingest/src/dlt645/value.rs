//! Value formats of DL/T 645 items (BCD numbers, bit fields, dates, times, 12-digit numbers) and decoded values.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use rust_decimal::Decimal;

use super::event::{EventLayout, EventRecord};
use super::{bcd, FrameError};

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
    /// An event record's leading fields ([`super::event`]).
    Event(EventLayout),
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
    /// An event record.
    Event(EventRecord),
}

impl Value {
    /// The unit of a number (empty for other values).
    pub fn unit(&self) -> &'static str {
        match self {
            Value::Number(_, unit) => unit,
            _ => "",
        }
    }

    /// The value without its unit, as shown in tables and JSON (`0x8200` for bit fields).
    pub fn plain(&self) -> String {
        match self {
            Value::Number(v, _) => v.to_string(),
            Value::Bits(b) => format!("{b:#06x}"),
            Value::Date(d, w) => format!("{d} {w}"),
            Value::Time(t) => t.to_string(),
            Value::Digits(s) => s.clone(),
            Value::Event(r) => r.to_string(),
        }
    }
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
            Value::Event(r) => write!(f, "{r}"),
        }
    }
}

/// Decodes `N` BCD bytes into 0..=99 each.
fn bcd_digits<const N: usize>(bytes: &[u8]) -> Result<[u8; N], FrameError> {
    let mut out = [0u8; N];
    for (slot, byte) in out.iter_mut().zip(bytes) {
        *slot = bcd::byte_to_u8(*byte)?;
    }
    Ok(out)
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
            Self::Event(layout) => layout.len(),
        }
    }

    /// The unit of a number format (empty for other formats).
    pub fn unit(self) -> &'static str {
        match self {
            Self::Number { unit, .. } => unit,
            _ => "",
        }
    }

    /// Always false: every format has a length.
    pub fn is_empty(self) -> bool {
        false
    }

    /// The format as the standard writes it, e.g. `XXXXXX.XX` or `YYMMDDWW`.
    pub fn pattern(self) -> String {
        match self {
            Self::Number {
                bytes, decimals, ..
            } => {
                let int = (2 * bytes).saturating_sub(decimals as usize);
                let mut s = "X".repeat(int);
                if decimals > 0 {
                    s.push('.');
                    s.push_str(&"X".repeat(decimals as usize));
                }
                s
            }
            Self::BitField => "XXXX".into(),
            Self::Date => "YYMMDDWW".into(),
            Self::Time => "hhmmss".into(),
            Self::Digits12 => "NNNNNNNNNNNN".into(),
            Self::Event(layout) => layout.pattern().into(),
        }
    }

    /// Decodes the value from its bytes (already −0x33); extra bytes are ignored.
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
                let [w, d, m, y] = bcd_digits::<4>(bytes)?;
                let date = NaiveDate::from_ymd_opt(2000 + i32::from(y), m.into(), d.into())
                    .ok_or_else(|| FrameError::DateTime(format!("20{y:02}-{m:02}-{d:02}")))?;
                if w > 6 {
                    return Err(FrameError::DateTime(format!("weekday {w}")));
                }
                Ok(Value::Date(date, w))
            }
            Self::Time => {
                let [s, m, h] = bcd_digits::<3>(bytes)?;
                let time = NaiveTime::from_hms_opt(h.into(), m.into(), s.into())
                    .ok_or_else(|| FrameError::DateTime(format!("{h:02}:{m:02}:{s:02}")))?;
                Ok(Value::Time(time))
            }
            Self::Digits12 => {
                bcd_digits::<6>(bytes)?;
                let mut digits = [0u8; 6];
                digits.copy_from_slice(bytes);
                Ok(Value::Digits(super::Address(digits).to_string()))
            }
            Self::Event(layout) => Ok(Value::Event(layout.decode(bytes)?)),
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
                let scaled = value
                    .checked_mul(Decimal::from(10i64.pow(decimals)))
                    .ok_or_else(|| range(self.pattern()))?
                    .trunc();
                let int = i64::try_from(scaled).map_err(|_| range(self.pattern()))?;
                bcd::encode_le(int, bytes, signed).ok_or_else(|| range(self.pattern()))
            }
            Self::BitField => {
                let int = u16::try_from(value).map_err(|_| range("bit field".into()))?;
                Ok(int.to_le_bytes().to_vec())
            }
            other => Err(range(format!("{} (not numeric)", other.pattern()))),
        }
    }

    /// Encodes any value of this format (the inverse of [`ValueFormat::decode`]).
    pub fn encode(self, value: &Value) -> Result<Vec<u8>, FrameError> {
        let mismatch = || FrameError::ValueRange {
            value: value.to_string(),
            format: self.pattern(),
        };
        match (self, value) {
            (Self::Number { .. }, Value::Number(v, _)) => self.encode_number(*v),
            (Self::BitField, Value::Bits(b)) => Ok(b.to_le_bytes().to_vec()),
            (Self::Date, Value::Date(d, w)) if *w <= 6 && (2000..2100).contains(&d.year()) => {
                Ok([*w as u32, d.day(), d.month(), (d.year() - 2000) as u32]
                    .iter()
                    .map(|v| bcd::u8_to_byte(*v as u8))
                    .collect())
            }
            (Self::Time, Value::Time(t)) => Ok([t.second(), t.minute(), t.hour()]
                .iter()
                .map(|v| bcd::u8_to_byte(*v as u8))
                .collect()),
            (Self::Digits12, Value::Digits(s)) => {
                let address: super::Address = s.parse().map_err(|_| mismatch())?;
                bcd_digits::<6>(&address.0).map_err(|_| mismatch())?;
                Ok(address.0.to_vec())
            }
            (Self::Event(layout), Value::Event(record)) => Ok(layout.encode(record)),
            _ => Err(mismatch()),
        }
    }

    /// Parses a value typed by a person: `1.2345` for numbers, `0x8200` (or decimal) for bit fields,
    /// `2026-08-02` (weekday computed) or `2026-08-02 3` for dates, `10:22:51` for times, 12 digits.
    pub fn parse(self, text: &str) -> Result<Value, FrameError> {
        let text = text.trim();
        let bad = || FrameError::ValueRange {
            value: text.to_string(),
            format: self.pattern(),
        };
        let value = match self {
            Self::Number { unit, .. } => {
                Value::Number(text.parse::<Decimal>().map_err(|_| bad())?, unit)
            }
            Self::BitField => Value::Bits(match text.strip_prefix("0x") {
                Some(hex) => u16::from_str_radix(hex, 16).map_err(|_| bad())?,
                None => text.parse().map_err(|_| bad())?,
            }),
            Self::Date => {
                let mut parts = text.split_whitespace();
                let date = parts
                    .next()
                    .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .ok_or_else(bad)?;
                let weekday = match parts.next() {
                    Some(w) => w.parse().map_err(|_| bad())?,
                    None => date.weekday().num_days_from_sunday() as u8,
                };
                Value::Date(date, weekday)
            }
            Self::Time => {
                Value::Time(NaiveTime::parse_from_str(text, "%H:%M:%S").map_err(|_| bad())?)
            }
            Self::Digits12 => Value::Digits(text.to_string()),
            Self::Event(_) => return Err(bad()),
        };
        // Check that it fits now, so callers get the error at parse time.
        self.encode(&value)?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_date_wire_order() {
        // 2026-08-02 weekday 03 is sent as 03 02 08 26.
        let date = Value::Date(NaiveDate::from_ymd_opt(2026, 8, 2).unwrap(), 3);
        assert_eq!(
            ValueFormat::Date.decode(&[0x03, 0x02, 0x08, 0x26]).unwrap(),
            date
        );
        assert_eq!(
            ValueFormat::Date.encode(&date).unwrap(),
            vec![0x03, 0x02, 0x08, 0x26]
        );
        assert!(ValueFormat::Date.decode(&[0x03, 0x32, 0x08, 0x26]).is_err());
        assert!(ValueFormat::Date.decode(&[0x07, 0x02, 0x08, 0x26]).is_err());
        assert!(ValueFormat::Time.decode(&[0x00, 0x61, 0x10]).is_err());
    }

    #[test]
    fn documented_meter_number_wire_order() {
        // Meter number 250619510017 is sent as 17 00 51 19 06 25.
        let bytes = [0x17, 0x00, 0x51, 0x19, 0x06, 0x25];
        let value = Value::Digits("250619510017".into());
        assert_eq!(ValueFormat::Digits12.decode(&bytes).unwrap(), value);
        assert_eq!(ValueFormat::Digits12.encode(&value).unwrap(), bytes);
        assert!(ValueFormat::Digits12
            .decode(&[0xAA, 0, 0, 0, 0, 0])
            .is_err());
    }

    #[test]
    fn typed_values_parse_and_encode() {
        let power = ValueFormat::Number {
            bytes: 3,
            decimals: 4,
            signed: true,
            unit: "kW",
        };
        assert_eq!(power.pattern(), "XX.XXXX");
        assert_eq!(
            power.parse("-1.5").unwrap(),
            Value::Number(Decimal::new(-15, 1), "kW")
        );
        assert_eq!(
            power.encode(&Value::Number(Decimal::new(-15, 1), "kW")),
            Ok(vec![0x00, 0x50, 0x81])
        );
        assert!(power.parse("80").is_err());
        assert_eq!(
            ValueFormat::BitField.parse("0x8200").unwrap(),
            Value::Bits(0x8200)
        );
        assert_eq!(
            ValueFormat::Date.parse("2026-08-02").unwrap(),
            Value::Date(NaiveDate::from_ymd_opt(2026, 8, 2).unwrap(), 0)
        );
        assert_eq!(
            ValueFormat::Time.parse("10:22:51").unwrap(),
            Value::Time(NaiveTime::from_hms_opt(10, 22, 51).unwrap())
        );
        assert!(ValueFormat::Digits12.parse("12AB").is_err());
        assert!(ValueFormat::Time.parse("25:00:00").is_err());
    }
}
