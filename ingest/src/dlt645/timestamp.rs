//! The 6-byte BCD timestamp `ss mm hh DD MM YY` used by broadcast time sync and relay valid-until.

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};

use super::{bcd, FrameError};

/// Bytes of an encoded timestamp.
pub const LEN: usize = 6;

/// Encodes `t` as `ss mm hh DD MM YY` (years 2000..=2099; other centuries keep their last two digits).
pub fn encode(t: NaiveDateTime) -> [u8; LEN] {
    [
        t.second(),
        t.minute(),
        t.hour(),
        t.day(),
        t.month(),
        t.year().rem_euclid(100) as u32,
    ]
    .map(|v| bcd::u8_to_byte(v as u8))
}

/// Decodes `ss mm hh DD MM YY` at the start of `bytes` into a time in 2000..=2099.
pub fn decode(bytes: &[u8], what: &'static str) -> Result<NaiveDateTime, FrameError> {
    let raw = bytes.get(..LEN).ok_or(FrameError::ShortData {
        what,
        needed: LEN,
        have: bytes.len(),
    })?;
    let mut d = [0u8; LEN];
    for (slot, byte) in d.iter_mut().zip(raw) {
        *slot = bcd::byte_to_u8(*byte)?;
    }
    let [ss, mm, hh, day, month, yy] = d.map(u32::from);
    NaiveDate::from_ymd_opt(2000 + yy as i32, month, day)
        .and_then(|date| date.and_hms_opt(hh, mm, ss))
        .ok_or_else(|| {
            FrameError::DateTime(format!(
                "{what} 20{yy:02}-{month:02}-{day:02} {hh:02}:{mm:02}:{ss:02}"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_order_is_seconds_first() {
        let t = NaiveDate::from_ymd_opt(2017, 6, 5)
            .unwrap()
            .and_hms_opt(10, 22, 51)
            .unwrap();
        assert_eq!(encode(t), [0x51, 0x22, 0x10, 0x05, 0x06, 0x17]);
        assert_eq!(decode(&encode(t), "time").unwrap(), t);
        assert!(matches!(
            decode(&[0x60, 0, 0, 1, 1, 0], "time"),
            Err(FrameError::DateTime(_))
        ));
        assert!(matches!(
            decode(&[0, 0, 0, 0x31, 0x02, 0x26], "time"),
            Err(FrameError::DateTime(_))
        ));
        assert_eq!(
            decode(&[0; 5], "time"),
            Err(FrameError::ShortData {
                what: "time",
                needed: 6,
                have: 5
            })
        );
    }
}
