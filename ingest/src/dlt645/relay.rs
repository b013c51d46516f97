//! Relay control (C = 0x1C): trip, close-allowed, direct close, alarm and keep-power (保电).

use chrono::{Datelike, NaiveDateTime, Timelike};

use super::{bcd, Address, ControlCode, Frame, FrameError, Function};

/// The N1 command code of a relay control request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayAction {
    /// 0x1A trip / disconnect (拉闸).
    Trip,
    /// 0x1B close allowed (合闸允许): the customer closes the relay with the button.
    CloseAllowed,
    /// 0x1C close directly (直接合闸).
    Close,
    /// 0x1D pre-trip, then close automatically after N2 × 5 min.
    PreTripAutoClose,
    /// 0x1E pre-trip, then return to close-allowed after N2 × 5 min.
    PreTripCloseAllowed,
    /// 0x2A alarm on (报警).
    AlarmOn,
    /// 0x2B alarm release.
    AlarmOff,
    /// 0x3A keep-power on (保电): trips are refused while set.
    KeepPowerOn,
    /// 0x3B keep-power release.
    KeepPowerOff,
}

impl RelayAction {
    /// The N1 byte.
    pub fn code(self) -> u8 {
        match self {
            Self::Trip => 0x1A,
            Self::CloseAllowed => 0x1B,
            Self::Close => 0x1C,
            Self::PreTripAutoClose => 0x1D,
            Self::PreTripCloseAllowed => 0x1E,
            Self::AlarmOn => 0x2A,
            Self::AlarmOff => 0x2B,
            Self::KeepPowerOn => 0x3A,
            Self::KeepPowerOff => 0x3B,
        }
    }

    /// The action of an N1 byte.
    pub fn from_code(code: u8) -> Result<Self, FrameError> {
        Ok(match code {
            0x1A => Self::Trip,
            0x1B => Self::CloseAllowed,
            0x1C => Self::Close,
            0x1D => Self::PreTripAutoClose,
            0x1E => Self::PreTripCloseAllowed,
            0x2A => Self::AlarmOn,
            0x2B => Self::AlarmOff,
            0x3A => Self::KeepPowerOn,
            0x3B => Self::KeepPowerOff,
            other => return Err(FrameError::RelayCode(other)),
        })
    }
}

/// A plaintext relay control request (L = 16).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayCommand {
    /// Password privilege level PA (02/04 plaintext, 98 ciphertext).
    pub privilege: u8,
    /// Password P0..P2.
    pub password: [u8; 3],
    /// Operator code C0..C3.
    pub operator: [u8; 4],
    /// N1.
    pub action: RelayAction,
    /// N2 (reserved, or the auto-restore delay in 5-minute units for pre-trips).
    pub delay: u8,
    /// Valid-until time in the meter's local time (N3..N8, `ss mm hh DD MM YY`).
    pub valid_until: NaiveDateTime,
}

impl RelayCommand {
    /// A plaintext command at privilege 02 with the all-zero password and operator.
    pub fn plaintext(action: RelayAction, valid_until: NaiveDateTime) -> Self {
        Self {
            privilege: 0x02,
            password: [0; 3],
            operator: [0; 4],
            action,
            delay: 0,
            valid_until,
        }
    }

    /// The request frame to `address`.
    pub fn to_frame(&self, address: Address) -> Frame {
        let t = self.valid_until;
        let mut data = vec![self.privilege];
        data.extend_from_slice(&self.password);
        data.extend_from_slice(&self.operator);
        data.push(self.action.code());
        data.push(self.delay);
        data.extend(
            [
                t.second(),
                t.minute(),
                t.hour(),
                t.day(),
                t.month(),
                (t.year().rem_euclid(100)) as u32,
            ]
            .iter()
            .map(|v| bcd::u8_to_byte(*v as u8)),
        );
        Frame {
            address,
            control: ControlCode::request(Function::Control),
            data,
        }
    }

    /// Reads a plaintext relay command from a 0x1C request's data field.
    pub fn from_data(data: &[u8]) -> Result<Self, FrameError> {
        if data.len() < 16 {
            return Err(FrameError::ShortData {
                what: "relay command",
                needed: 16,
                have: data.len(),
            });
        }
        let digits = data[10..16]
            .iter()
            .map(|b| bcd::byte_to_u8(*b))
            .collect::<Result<Vec<_>, _>>()?;
        let valid_until = chrono::NaiveDate::from_ymd_opt(
            2000 + i32::from(digits[5]),
            u32::from(digits[4]),
            u32::from(digits[3]),
        )
        .and_then(|d| {
            d.and_hms_opt(
                u32::from(digits[2]),
                u32::from(digits[1]),
                u32::from(digits[0]),
            )
        })
        .ok_or_else(|| FrameError::DateTime(format!("valid-until {:?}", &data[10..16])))?;
        Ok(Self {
            privilege: data[0],
            password: [data[1], data[2], data[3]],
            operator: [data[4], data[5], data[6], data[7]],
            action: RelayAction::from_code(data[8])?,
            delay: data[9],
            valid_until,
        })
    }
}

/// Status word 3 bit 4: relay open (断).
pub const STATUS3_RELAY_OPEN: u16 = 1 << 4;
/// Status word 3 bit 6: relay command state trip.
pub const STATUS3_RELAY_COMMAND_TRIP: u16 = 1 << 6;
/// Status word 3 bit 7: pre-trip alarm.
pub const STATUS3_ALARM: u16 = 1 << 7;
/// Status word 3 bit 12: keep-power (保电).
pub const STATUS3_KEEP_POWER: u16 = 1 << 12;

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ACTIONS: [RelayAction; 9] = [
        RelayAction::Trip,
        RelayAction::CloseAllowed,
        RelayAction::Close,
        RelayAction::PreTripAutoClose,
        RelayAction::PreTripCloseAllowed,
        RelayAction::AlarmOn,
        RelayAction::AlarmOff,
        RelayAction::KeepPowerOn,
        RelayAction::KeepPowerOff,
    ];

    #[test]
    fn valid_until_is_ss_mm_hh_dd_mm_yy() {
        let t = chrono::NaiveDate::from_ymd_opt(2099, 12, 31)
            .unwrap()
            .and_hms_opt(23, 59, 58)
            .unwrap();
        let frame =
            RelayCommand::plaintext(RelayAction::Trip, t).to_frame(Address([1, 0, 0, 0, 0, 0]));
        assert_eq!(frame.data.len(), 16);
        assert_eq!(
            &frame.data[8..],
            &[0x1A, 0x00, 0x58, 0x59, 0x23, 0x31, 0x12, 0x99]
        );
        assert_eq!(
            RelayAction::from_code(0x99),
            Err(FrameError::RelayCode(0x99))
        );
    }

    proptest! {
        #[test]
        fn every_command_round_trips_through_the_wire(pick in 0usize..9, secs in 0i64..3_000_000_000, delay in any::<u8>()) {
            let valid_until = chrono::DateTime::from_timestamp(946_684_800 + secs, 0).unwrap().naive_utc();
            let mut cmd = RelayCommand::plaintext(ACTIONS[pick], valid_until);
            cmd.delay = delay;
            let bytes = cmd.to_frame(Address([0x25, 4, 3, 2, 1, 0])).encode(4).unwrap();
            let (frame, _) = Frame::decode(&bytes).unwrap();
            prop_assert_eq!(frame.control.function, Function::Control);
            prop_assert_eq!(RelayCommand::from_data(&frame.data).unwrap(), cmd);
        }
    }
}
