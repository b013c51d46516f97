//! Relay control (C = 0x1C): trip, close-allowed, direct close, alarm and keep-power (保电).

use chrono::NaiveDateTime;

use super::{timestamp, Address, ControlCode, Frame, FrameError, Function};

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
    /// Every action, in N1 order.
    pub const ALL: [RelayAction; 9] = [
        Self::Trip,
        Self::CloseAllowed,
        Self::Close,
        Self::PreTripAutoClose,
        Self::PreTripCloseAllowed,
        Self::AlarmOn,
        Self::AlarmOff,
        Self::KeepPowerOn,
        Self::KeepPowerOff,
    ];

    /// The wire and stored form (the JSON name in command messages, e.g. `close_allowed`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Trip => "trip",
            Self::CloseAllowed => "close_allowed",
            Self::Close => "close",
            Self::PreTripAutoClose => "pre_trip_auto_close",
            Self::PreTripCloseAllowed => "pre_trip_close_allowed",
            Self::AlarmOn => "alarm_on",
            Self::AlarmOff => "alarm_off",
            Self::KeepPowerOn => "keep_power_on",
            Self::KeepPowerOff => "keep_power_off",
        }
    }

    /// Parses [`RelayAction::as_str`]'s form.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// The English name of the N1 code, for display.
    pub fn name(self) -> &'static str {
        match self {
            Self::Trip => "trip",
            Self::CloseAllowed => "close allowed",
            Self::Close => "close directly",
            Self::PreTripAutoClose => "pre-trip, then close automatically",
            Self::PreTripCloseAllowed => "pre-trip, then close allowed",
            Self::AlarmOn => "alarm on",
            Self::AlarmOff => "alarm release",
            Self::KeepPowerOn => "keep-power on",
            Self::KeepPowerOff => "keep-power release",
        }
    }

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

    /// The 16 plaintext data bytes (PA, password, operator, N1, N2, valid-until).
    pub fn to_data(&self) -> Vec<u8> {
        let mut data = vec![self.privilege];
        data.extend_from_slice(&self.password);
        data.extend_from_slice(&self.operator);
        data.push(self.action.code());
        data.push(self.delay);
        data.extend(timestamp::encode(self.valid_until));
        data
    }

    /// The request frame to `address`.
    pub fn to_frame(&self, address: Address) -> Frame {
        Frame {
            address,
            control: ControlCode::request(Function::Control),
            data: self.to_data(),
        }
    }

    /// Reads a plaintext relay command from a 0x1C request's data field.
    pub fn from_data(data: &[u8]) -> Result<Self, FrameError> {
        let fixed: &[u8; 16] =
            data.get(..16)
                .and_then(|d| d.try_into().ok())
                .ok_or(FrameError::ShortData {
                    what: "relay command",
                    needed: 16,
                    have: data.len(),
                })?;
        let [pa, p0, p1, p2, c0, c1, c2, c3, n1, n2, ..] = *fixed;
        Ok(Self {
            privilege: pa,
            password: [p0, p1, p2],
            operator: [c0, c1, c2, c3],
            action: RelayAction::from_code(n1)?,
            delay: n2,
            valid_until: timestamp::decode(&fixed[10..], "relay valid-until")?,
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

    const ACTIONS: [RelayAction; 9] = RelayAction::ALL;

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
        let codes: Vec<u8> = RelayAction::ALL.iter().map(|a| a.code()).collect();
        assert_eq!(
            codes,
            vec![0x1A, 0x1B, 0x1C, 0x1D, 0x1E, 0x2A, 0x2B, 0x3A, 0x3B]
        );
        for action in RelayAction::ALL {
            assert_eq!(RelayAction::from_code(action.code()), Ok(action));
        }
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
