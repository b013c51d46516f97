//! The control code C: direction, abnormal flag, follow-up flag and function.

/// The function in bits D4..D0 of the control code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// 0x03 security authentication (ESAM).
    Security,
    /// 0x08 broadcast time synchronisation.
    BroadcastTimeSync,
    /// 0x11 read data.
    Read,
    /// 0x12 read follow-up data.
    ReadFollowUp,
    /// 0x13 read communication address.
    ReadAddress,
    /// 0x14 write data.
    Write,
    /// 0x15 write communication address.
    WriteAddress,
    /// 0x16 freeze.
    Freeze,
    /// 0x17 change baud rate.
    ChangeBaud,
    /// 0x18 change password.
    ChangePassword,
    /// 0x19 max-demand reset.
    MaxDemandReset,
    /// 0x1A meter clear.
    MeterClear,
    /// 0x1B event clear.
    EventClear,
    /// 0x1C relay control, alarm and keep-power (拉合闸、报警、保电).
    Control,
    /// Any other function code.
    Other(u8),
}

impl Function {
    /// The 5-bit function code.
    pub fn code(self) -> u8 {
        match self {
            Self::Security => 0x03,
            Self::BroadcastTimeSync => 0x08,
            Self::Read => 0x11,
            Self::ReadFollowUp => 0x12,
            Self::ReadAddress => 0x13,
            Self::Write => 0x14,
            Self::WriteAddress => 0x15,
            Self::Freeze => 0x16,
            Self::ChangeBaud => 0x17,
            Self::ChangePassword => 0x18,
            Self::MaxDemandReset => 0x19,
            Self::MeterClear => 0x1A,
            Self::EventClear => 0x1B,
            Self::Control => 0x1C,
            Self::Other(code) => code & 0x1F,
        }
    }

    /// The function of a 5-bit code.
    pub fn from_code(code: u8) -> Self {
        match code & 0x1F {
            0x03 => Self::Security,
            0x08 => Self::BroadcastTimeSync,
            0x11 => Self::Read,
            0x12 => Self::ReadFollowUp,
            0x13 => Self::ReadAddress,
            0x14 => Self::Write,
            0x15 => Self::WriteAddress,
            0x16 => Self::Freeze,
            0x17 => Self::ChangeBaud,
            0x18 => Self::ChangePassword,
            0x19 => Self::MaxDemandReset,
            0x1A => Self::MeterClear,
            0x1B => Self::EventClear,
            0x1C => Self::Control,
            other => Self::Other(other),
        }
    }

    /// A short English name for display.
    pub fn name(self) -> &'static str {
        match self {
            Self::Security => "security authentication",
            Self::BroadcastTimeSync => "broadcast time sync",
            Self::Read => "read data",
            Self::ReadFollowUp => "read follow-up data",
            Self::ReadAddress => "read address",
            Self::Write => "write data",
            Self::WriteAddress => "write address",
            Self::Freeze => "freeze",
            Self::ChangeBaud => "change baud rate",
            Self::ChangePassword => "change password",
            Self::MaxDemandReset => "max-demand reset",
            Self::MeterClear => "meter clear",
            Self::EventClear => "event clear",
            Self::Control => "relay control",
            Self::Other(_) => "unknown function",
        }
    }
}

/// A decoded control code byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ControlCode {
    /// D7: true for slave→master replies.
    pub reply: bool,
    /// D6: true for abnormal (error) replies.
    pub abnormal: bool,
    /// D5: true when follow-up frames follow.
    pub follow_up: bool,
    /// D4..D0.
    pub function: Function,
}

impl ControlCode {
    /// A master→slave request.
    pub fn request(function: Function) -> Self {
        Self {
            reply: false,
            abnormal: false,
            follow_up: false,
            function,
        }
    }

    /// A normal reply to `function`.
    pub fn normal_reply(function: Function) -> Self {
        Self {
            reply: true,
            ..Self::request(function)
        }
    }

    /// An abnormal reply to `function`.
    pub fn abnormal_reply(function: Function) -> Self {
        Self {
            reply: true,
            abnormal: true,
            ..Self::request(function)
        }
    }

    /// The byte on the wire.
    pub fn to_byte(self) -> u8 {
        (u8::from(self.reply) << 7)
            | (u8::from(self.abnormal) << 6)
            | (u8::from(self.follow_up) << 5)
            | self.function.code()
    }

    /// Decodes a control byte.
    pub fn from_byte(byte: u8) -> Self {
        Self {
            reply: byte & 0x80 != 0,
            abnormal: byte & 0x40 != 0,
            follow_up: byte & 0x20 != 0,
            function: Function::from_code(byte),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips() {
        for byte in 0..=255u8 {
            assert_eq!(ControlCode::from_byte(byte).to_byte(), byte);
        }
        assert_eq!(ControlCode::normal_reply(Function::Read).to_byte(), 0x91);
        assert_eq!(
            ControlCode::abnormal_reply(Function::Control).to_byte(),
            0xDC
        );
    }
}
