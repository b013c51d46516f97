//! Read replies (0x91, 0xB1 with follow-up), follow-up reads (0x12 with SEQ) and read address (0x13).

use super::{Address, ControlCode, DataId, Frame, FrameError, Function};

/// The parts of a normal reply to a read (0x11) or follow-up read (0x12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadReply {
    /// The DI the reply is for.
    pub di: DataId,
    /// The value bytes (after −0x33), without DI and SEQ.
    pub value: Vec<u8>,
    /// The frame sequence number of a follow-up reply.
    pub seq: Option<u8>,
    /// D5: more frames follow (read them with [`Frame::read_follow_up_request`]).
    pub more: bool,
}

impl Frame {
    /// A follow-up read request (0x12): DI and frame sequence number SEQ, L = 5.
    pub fn read_follow_up_request(address: Address, di: DataId, seq: u8) -> Self {
        let mut data = di.to_wire().to_vec();
        data.push(seq);
        Self {
            address,
            control: ControlCode::request(Function::ReadFollowUp),
            data,
        }
    }

    /// A normal reply to a read (0x11, no `seq`) or follow-up read (0x12, with `seq`); `more` sets D5.
    pub fn read_reply_with(address: Address, reply: &ReadReply) -> Self {
        let function = if reply.seq.is_some() {
            Function::ReadFollowUp
        } else {
            Function::Read
        };
        let mut data = reply.di.to_wire().to_vec();
        data.extend_from_slice(&reply.value);
        data.extend(reply.seq);
        Self {
            address,
            control: ControlCode {
                follow_up: reply.more,
                ..ControlCode::normal_reply(function)
            },
            data,
        }
    }

    /// The SEQ of a follow-up read request.
    pub fn follow_up_seq(&self) -> Result<(DataId, u8), FrameError> {
        match (
            self.control.reply,
            self.control.function,
            self.data.as_slice(),
        ) {
            (false, Function::ReadFollowUp, [a, b, c, d, seq]) => {
                Ok((DataId::from_wire(&[*a, *b, *c, *d])?, *seq))
            }
            _ => Err(self.wrong("a follow-up read request (DI + SEQ)")),
        }
    }

    /// Splits a normal reply to 0x11 or 0x12 into DI, value, SEQ and the follow-up flag.
    pub fn read_reply_parts(&self) -> Result<ReadReply, FrameError> {
        let follow_up = match self.control.function {
            _ if !self.control.reply || self.control.abnormal => {
                return Err(self.wrong("a normal read reply"))
            }
            Function::Read => false,
            Function::ReadFollowUp => true,
            _ => return Err(self.wrong("a normal read reply")),
        };
        let di = self.data_id()?;
        let mut value = self.data[4..].to_vec();
        let seq = if follow_up {
            Some(value.pop().ok_or(FrameError::ShortData {
                what: "follow-up reply SEQ",
                needed: 5,
                have: self.data.len(),
            })?)
        } else {
            None
        };
        Ok(ReadReply {
            di,
            value,
            seq,
            more: self.control.follow_up,
        })
    }

    /// The reply of a meter to a read-address request: its address in both the header and the data.
    pub fn read_address_reply(address: Address) -> Self {
        Self {
            address,
            control: ControlCode::normal_reply(Function::ReadAddress),
            data: address.0.to_vec(),
        }
    }

    /// The address carried by a read-address reply (0x93).
    pub fn replied_address(&self) -> Result<Address, FrameError> {
        match (
            self.control.reply,
            self.control.abnormal,
            self.control.function,
        ) {
            (true, false, Function::ReadAddress) => {
                let bytes: [u8; 6] =
                    self.data
                        .as_slice()
                        .try_into()
                        .map_err(|_| FrameError::ShortData {
                            what: "read-address reply",
                            needed: 6,
                            have: self.data.len(),
                        })?;
                Ok(Address(bytes))
            }
            _ => Err(self.wrong("a read-address reply")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_up_request_and_reply() {
        let address = Address::from_number(202208310002).unwrap();
        let di = DataId(0x0280_22FF);
        let request = Frame::read_follow_up_request(address, di, 3);
        assert_eq!(request.data, vec![0xFF, 0x22, 0x80, 0x02, 0x03]);
        assert_eq!(request.follow_up_seq(), Ok((di, 3)));
        let part = ReadReply {
            di,
            value: vec![1, 2, 3],
            seq: Some(3),
            more: true,
        };
        let reply = Frame::read_reply_with(address, &part);
        assert_eq!(reply.control.to_byte(), 0xB2);
        assert_eq!(reply.read_reply_parts(), Ok(part));
        let plain = Frame::read_reply(address, DataId::VOLTAGE_A, &[0x01, 0x10]);
        assert_eq!(
            plain.read_reply_parts(),
            Ok(ReadReply {
                di: DataId::VOLTAGE_A,
                value: vec![0x01, 0x10],
                seq: None,
                more: false
            })
        );
        assert!(request.read_reply_parts().is_err());
    }

    #[test]
    fn read_address_reply_carries_the_real_address() {
        // F1 is the request; the reply is 68 A 68 93 06 A+33 CS 16.
        let address: Address = "000102030425".parse().unwrap();
        let reply = Frame::read_address_reply(address);
        let bytes = reply.encode(0).unwrap();
        assert_eq!(&bytes[8..10], &[0x93, 0x06]);
        assert_eq!(&bytes[10..16], &[0x58, 0x37, 0x36, 0x35, 0x34, 0x33]);
        assert_eq!(
            Frame::decode(&bytes).unwrap().0.replied_address(),
            Ok(address)
        );
        assert!(Frame::read_address_request().replied_address().is_err());
    }
}
