//! Packed BCD, little-endian on the wire, with the DL/T 645 sign bit in the most significant byte.

use super::FrameError;

/// Decodes one BCD byte into 0..=99.
pub fn byte_to_u8(byte: u8) -> Result<u8, FrameError> {
    let (hi, lo) = (byte >> 4, byte & 0x0F);
    if hi > 9 || lo > 9 {
        return Err(FrameError::Bcd(byte));
    }
    Ok(hi * 10 + lo)
}

/// Encodes 0..=99 as one BCD byte (values above 99 keep their last two digits).
pub fn u8_to_byte(value: u8) -> u8 {
    let v = value % 100;
    ((v / 10) << 4) | (v % 10)
}

/// Decodes little-endian BCD bytes; with `signed`, bit 7 of the last byte is the sign (1 = negative).
pub fn decode_le(bytes: &[u8], signed: bool) -> Result<i64, FrameError> {
    let mut value: i64 = 0;
    let mut negative = false;
    for (i, &byte) in bytes.iter().enumerate().rev() {
        let mut b = byte;
        if signed && i + 1 == bytes.len() {
            negative = b & 0x80 != 0;
            b &= 0x7F;
        }
        value = value * 100 + i64::from(byte_to_u8(b)?);
    }
    Ok(if negative { -value } else { value })
}

/// Encodes an integer magnitude as `len` little-endian BCD bytes, setting the sign bit if negative.
///
/// Returns `None` if the value does not fit (or is negative when `signed` is false).
pub fn encode_le(value: i64, len: usize, signed: bool) -> Option<Vec<u8>> {
    if value < 0 && !signed {
        return None;
    }
    let mut magnitude = value.unsigned_abs();
    let mut out = Vec::with_capacity(len);
    for _ in 0..len {
        out.push(u8_to_byte((magnitude % 100) as u8));
        magnitude /= 100;
    }
    if magnitude != 0 {
        return None;
    }
    if signed {
        let last = out.last_mut()?;
        if *last & 0x80 != 0 {
            return None;
        }
        if value < 0 {
            *last |= 0x80;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn documented_negative_current_example() {
        // -1.234 A in XXX.XXX is `34 12 80` before +0x33.
        assert_eq!(encode_le(-1234, 3, true).unwrap(), vec![0x34, 0x12, 0x80]);
        assert_eq!(decode_le(&[0x34, 0x12, 0x80], true).unwrap(), -1234);
        assert_eq!(decode_le(&[0x1A], false), Err(FrameError::Bcd(0x1A)));
        assert_eq!(encode_le(100, 1, false), None);
        assert_eq!(encode_le(-1, 1, false), None);
    }

    proptest! {
        #[test]
        fn round_trip(value in -7_999_999i64..=7_999_999, signed in any::<bool>()) {
            let value = if signed { value } else { value.abs() };
            let bytes = encode_le(value, 4, signed).unwrap();
            prop_assert_eq!(decode_le(&bytes, signed).unwrap(), value);
        }
    }
}
