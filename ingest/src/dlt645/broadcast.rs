//! Broadcast time sync (0x08, `ss mm hh DD MM YY` to 99×6, never answered) and freeze (0x16).

use chrono::NaiveDateTime;
use serde::Serialize;

use super::{bcd, timestamp, Address, ControlCode, Frame, FrameError, Function};

impl Frame {
    /// A broadcast time sync (0x08) setting the meters' clocks to `t` (local time of the meters).
    pub fn time_sync(t: NaiveDateTime) -> Self {
        Self {
            address: Address::BROADCAST,
            control: ControlCode::request(Function::BroadcastTimeSync),
            data: timestamp::encode(t).to_vec(),
        }
    }

    /// The time a broadcast time-sync request carries.
    pub fn time_sync_time(&self) -> Result<NaiveDateTime, FrameError> {
        if self.control.reply
            || self.control.function != Function::BroadcastTimeSync
            || self.data.len() != timestamp::LEN
        {
            return Err(self.wrong("a broadcast time-sync request"));
        }
        timestamp::decode(&self.data, "time sync")
    }

    /// A freeze request (0x16) to `address` (a meter, or 99×6 for a broadcast freeze).
    pub fn freeze(address: Address, when: FreezeTime) -> Self {
        Self {
            address,
            control: ControlCode::request(Function::Freeze),
            data: when.to_data().to_vec(),
        }
    }

    /// The freeze time a freeze request carries.
    pub fn freeze_time(&self) -> Result<FreezeTime, FrameError> {
        if self.control.reply || self.control.function != Function::Freeze {
            return Err(self.wrong("a freeze request"));
        }
        FreezeTime::from_data(&self.data)
    }

    /// A [`FrameError::WrongFrame`] describing this frame.
    pub(crate) fn wrong(&self, expected: &'static str) -> FrameError {
        FrameError::WrongFrame {
            expected,
            control: self.control.to_byte(),
            len: self.data.len(),
        }
    }
}

/// The 4-byte time spec of a freeze: minute, hour, day, month; each field 99 (`None`) means "every".
///
/// All four `None` (`99 99 99 99`) means freeze now. The wire order `mm hh DD MM` follows FW1; it is
/// unverified for other meters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FreezeTime {
    /// Minute 0..=59, or every minute.
    pub minute: Option<u8>,
    /// Hour 0..=23, or every hour.
    pub hour: Option<u8>,
    /// Day 1..=31, or every day.
    pub day: Option<u8>,
    /// Month 1..=12, or every month.
    pub month: Option<u8>,
}

impl FreezeTime {
    /// `99 99 99 99`: freeze now.
    pub const NOW: FreezeTime = FreezeTime {
        minute: None,
        hour: None,
        day: None,
        month: None,
    };

    /// True for an immediate freeze.
    pub fn is_now(&self) -> bool {
        *self == Self::NOW
    }

    /// The 4 data bytes `mm hh DD MM`.
    pub fn to_data(self) -> [u8; 4] {
        [self.minute, self.hour, self.day, self.month]
            .map(|field| field.map(bcd::u8_to_byte).unwrap_or(0x99))
    }

    /// Reads the 4 data bytes, checking every field's range.
    pub fn from_data(data: &[u8]) -> Result<Self, FrameError> {
        let raw: [u8; 4] = data.try_into().map_err(|_| FrameError::ShortData {
            what: "freeze time",
            needed: 4,
            have: data.len(),
        })?;
        let mut fields = [None; 4];
        let ranges = [(0, 59), (0, 23), (1, 31), (1, 12)];
        for ((slot, byte), (lo, hi)) in fields.iter_mut().zip(raw).zip(ranges) {
            if byte == 0x99 {
                continue;
            }
            let v = bcd::byte_to_u8(byte)?;
            if !(lo..=hi).contains(&v) {
                return Err(FrameError::DateTime(format!(
                    "freeze field {v} outside {lo}..={hi}"
                )));
            }
            *slot = Some(v);
        }
        let [minute, hour, day, month] = fields;
        Ok(Self {
            minute,
            hour,
            day,
            month,
        })
    }
}

impl std::fmt::Display for FreezeTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_now() {
            return f.write_str("now");
        }
        let field = |v: Option<u8>| v.map_or_else(|| "**".to_string(), |v| format!("{v:02}"));
        write!(
            f,
            "month {} day {} at {}:{}",
            field(self.month),
            field(self.day),
            field(self.hour),
            field(self.minute)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn time_sync_is_seconds_first_to_broadcast() {
        let t = NaiveDate::from_ymd_opt(2017, 6, 5)
            .unwrap()
            .and_hms_opt(10, 22, 51)
            .unwrap();
        let frame = Frame::time_sync(t);
        let bytes = frame.encode(0).unwrap();
        // 68 99×6 68 08 06 (51 22 10 05 06 17)+33 CS 16
        assert_eq!(hex::encode(&bytes), "6899999999999968080684554338394a4b16");
        let (decoded, _) = Frame::decode(&bytes).unwrap();
        assert_eq!(decoded.time_sync_time(), Ok(t));
        assert!(matches!(
            Frame::freeze(Address::BROADCAST, FreezeTime::NOW).time_sync_time(),
            Err(FrameError::WrongFrame { .. })
        ));
    }

    #[test]
    fn freeze_now_is_four_99s() {
        let frame = Frame::freeze(Address::from_number(1).unwrap(), FreezeTime::NOW);
        assert_eq!(frame.data, vec![0x99; 4]);
        assert_eq!(frame.freeze_time(), Ok(FreezeTime::NOW));
        assert_eq!(FreezeTime::NOW.to_string(), "now");
        let daily = FreezeTime {
            minute: Some(0),
            hour: Some(0),
            day: None,
            month: None,
        };
        assert_eq!(daily.to_data(), [0x00, 0x00, 0x99, 0x99]);
        assert_eq!(FreezeTime::from_data(&daily.to_data()), Ok(daily));
        assert_eq!(daily.to_string(), "month ** day ** at 00:00");
        assert!(FreezeTime::from_data(&[0x60, 0, 0x99, 0x99]).is_err());
        assert!(FreezeTime::from_data(&[0, 0, 0x99]).is_err());
    }
}
