//! A structured, serde-serializable description of any frame, for people (`Display`) and tools (JSON).

use std::fmt;

use serde::Serialize;

use super::{decode_items, DataId, ErrorWord, Frame, FreezeTime, Function, RelayCommand};

/// Everything meterlake can read from one frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// Address in the header, 12 characters (`AA` for wildcard bytes).
    pub address: String,
    /// The address contains AA wildcard bytes.
    pub wildcard: bool,
    /// The wildcard bytes fill the high side (a shortened address, 缩位寻址).
    pub shortened: bool,
    /// The address is the broadcast 99×6.
    pub broadcast: bool,
    /// `master_to_meter` (request) or `meter_to_master` (reply).
    pub direction: &'static str,
    /// D6: abnormal reply.
    pub abnormal: bool,
    /// D5: more frames follow.
    pub follow_up: bool,
    /// The control byte, e.g. `0x91`.
    pub control: String,
    /// The function code D4..D0, e.g. `0x11`.
    pub function_code: String,
    /// The function's name.
    pub function: &'static str,
    /// The data field after −0x33, in hex.
    pub data: String,
    /// The data identifier, for frames that carry one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub di: Option<String>,
    /// The DI's name, if known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub di_name: Option<&'static str>,
    /// Decoded values of a read reply (every item of a block).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<ExplainedValue>,
    /// SEQ of a follow-up read request or reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u8>,
    /// The error word of an abnormal reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ExplainedError>,
    /// The fields of a relay control request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<ExplainedRelay>,
    /// The time of a broadcast time sync, `YYYY-MM-DD hh:mm:ss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_sync: Option<String>,
    /// The time spec of a freeze request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeze: Option<String>,
    /// The meter address carried by a read-address reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replied_address: Option<String>,
    /// Why the content could not be decoded further, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// One decoded value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainedValue {
    /// The item's DI.
    pub di: String,
    /// The item's name.
    pub name: &'static str,
    /// The value without unit (`1.0000`, `0x8200`, `2026-08-02 0`, `10:22:51`, 12 digits).
    pub value: String,
    /// The unit (empty if none).
    pub unit: &'static str,
}

/// The error word of an abnormal reply, with the names of its bits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainedError {
    /// `ERR`, `SERR` or `control error word`.
    pub kind: &'static str,
    /// The word in hex.
    pub word: String,
    /// Names of the set bits.
    pub bits: Vec<String>,
}

/// The fields of a relay control request (0x1C).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExplainedRelay {
    /// Privilege level PA in hex (`02`, `04`, `98`).
    pub privilege: String,
    /// Password P0..P2 in hex.
    pub password: String,
    /// Operator code C0..C3 in hex.
    pub operator: String,
    /// N1 in hex, e.g. `0x1A` (plaintext only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n1: Option<String>,
    /// N1's name (plaintext only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    /// N2 (plaintext only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n2: Option<u8>,
    /// Valid-until time (plaintext only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    /// The opaque ESAM block of a PA=98 command, in hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ciphertext: Option<String>,
}

/// Describes `frame`; content that cannot be decoded is named in [`Explanation::problem`].
pub fn explain(frame: &Frame) -> Explanation {
    let control = frame.control;
    let mut out = Explanation {
        address: frame.address.to_string(),
        wildcard: frame.address.is_wildcard(),
        shortened: frame.address.is_shortened(),
        broadcast: frame.address.is_broadcast(),
        direction: if control.reply {
            "meter_to_master"
        } else {
            "master_to_meter"
        },
        abnormal: control.abnormal,
        follow_up: control.follow_up,
        control: format!("{:#04x}", control.to_byte()),
        function_code: format!("{:#04x}", control.function.code()),
        function: control.function.name(),
        data: hex::encode(&frame.data),
        di: None,
        di_name: None,
        values: Vec::new(),
        seq: None,
        error: None,
        relay: None,
        time_sync: None,
        freeze: None,
        replied_address: None,
        problem: None,
    };
    if let Err(problem) = fill(frame, &mut out) {
        out.problem = Some(problem.to_string());
    }
    out
}

fn fill(frame: &Frame, out: &mut Explanation) -> Result<(), super::FrameError> {
    let control = frame.control;
    if let Some(word) = frame.error() {
        let word: ErrorWord = word?;
        out.error = Some(ExplainedError {
            kind: word.kind(),
            word: format!("{:#04x}", word.word()),
            bits: word.names(),
        });
        return Ok(());
    }
    let set_di = |out: &mut Explanation, di: DataId| {
        out.di = Some(di.to_string());
        out.di_name = di.name();
    };
    match (control.function, control.reply) {
        (Function::Read | Function::ReadFollowUp, true) => {
            let reply = frame.read_reply_parts()?;
            set_di(out, reply.di);
            out.seq = reply.seq;
            out.values = decode_items(reply.di, &reply.value)?
                .into_iter()
                .map(|(di, value)| ExplainedValue {
                    di: di.to_string(),
                    name: di.name().unwrap_or("unknown"),
                    value: value.plain(),
                    unit: value.unit(),
                })
                .collect();
        }
        (Function::ReadFollowUp, false) => {
            let (di, seq) = frame.follow_up_seq()?;
            set_di(out, di);
            out.seq = Some(seq);
        }
        (Function::Read | Function::Write, false) | (Function::Security, _) => {
            set_di(out, frame.data_id()?);
        }
        (Function::ReadAddress, true) => {
            out.replied_address = Some(frame.replied_address()?.to_string());
        }
        (Function::BroadcastTimeSync, false) => {
            out.time_sync = Some(frame.time_sync_time()?.to_string());
        }
        (Function::Freeze, false) => {
            let when: FreezeTime = frame.freeze_time()?;
            out.freeze = Some(when.to_string());
        }
        (Function::Control, false) => out.relay = Some(relay(&frame.data)?),
        _ => {}
    }
    Ok(())
}

fn relay(data: &[u8]) -> Result<ExplainedRelay, super::FrameError> {
    if data.first() == Some(&0x98) && data.len() >= 8 {
        return Ok(ExplainedRelay {
            privilege: "98".into(),
            password: hex::encode(&data[1..4]),
            operator: hex::encode(&data[4..8]),
            n1: None,
            action: None,
            n2: None,
            valid_until: None,
            ciphertext: Some(hex::encode(&data[8..])),
        });
    }
    let cmd = RelayCommand::from_data(data)?;
    Ok(ExplainedRelay {
        privilege: format!("{:02x}", cmd.privilege),
        password: hex::encode(cmd.password),
        operator: hex::encode(cmd.operator),
        n1: Some(format!("{:#04x}", cmd.action.code())),
        action: Some(cmd.action.name()),
        n2: Some(cmd.delay),
        valid_until: Some(cmd.valid_until.to_string()),
        ciphertext: None,
    })
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut address = self.address.clone();
        if self.broadcast {
            address.push_str(" (broadcast)");
        } else if self.wildcard {
            address.push_str(" (wildcard)");
        }
        writeln!(f, "{:<13}{address}", "address")?;
        let direction = if self.direction == "meter_to_master" {
            "meter → master (reply)"
        } else {
            "master → meter (request)"
        };
        writeln!(f, "{:<13}{direction}", "direction")?;
        let flags = match (self.abnormal, self.follow_up) {
            (true, true) => ", abnormal, follow-up",
            (true, false) => ", abnormal",
            (false, true) => ", follow-up",
            (false, false) => "",
        };
        writeln!(
            f,
            "{:<13}{} {} (control {}{flags})",
            "function", self.function_code, self.function, self.control
        )?;
        let bytes = self.data.len() / 2;
        writeln!(
            f,
            "{:<13}{} ({bytes} bytes, after −0x33)",
            "data", self.data
        )?;
        if let Some(di) = &self.di {
            writeln!(
                f,
                "{:<13}{di} {}",
                "DI",
                self.di_name.unwrap_or("(unknown)")
            )?;
        }
        if let Some(seq) = self.seq {
            writeln!(f, "{:<13}{seq}", "SEQ")?;
        }
        for v in &self.values {
            let unit = if v.unit.is_empty() { "" } else { " " };
            writeln!(
                f,
                "{:<13}{} {:<40} {}{unit}{}",
                "value", v.di, v.name, v.value, v.unit
            )?;
        }
        if let Some(error) = &self.error {
            writeln!(
                f,
                "{:<13}{} {}: {}",
                "error",
                error.kind,
                error.word,
                error.bits.join(", ")
            )?;
        }
        if let Some(r) = &self.relay {
            writeln!(
                f,
                "{:<13}PA {} password {} operator {}",
                "relay", r.privilege, r.password, r.operator
            )?;
            if let (Some(n1), Some(action), Some(n2)) = (&r.n1, r.action, r.n2) {
                writeln!(f, "{:<13}N1 {n1} {action}, N2 {n2}", "")?;
            }
            if let Some(t) = &r.valid_until {
                writeln!(f, "{:<13}{t}", "valid until")?;
            }
            if let Some(c) = &r.ciphertext {
                writeln!(f, "{:<13}{c} (ESAM, opaque)", "ciphertext")?;
            }
        }
        if let Some(t) = &self.time_sync {
            writeln!(f, "{:<13}{t}", "time sync")?;
        }
        if let Some(t) = &self.freeze {
            writeln!(f, "{:<13}{t}", "freeze")?;
        }
        if let Some(a) = &self.replied_address {
            writeln!(f, "{:<13}{a}", "meter")?;
        }
        if let Some(p) = &self.problem {
            writeln!(f, "{:<13}{p}", "problem")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlt645::frame::parse_hex;
    use crate::dlt645::{Address, RelayAction};
    use chrono::NaiveDate;

    fn explain_hex(text: &str) -> Explanation {
        explain(&Frame::decode(&parse_hex(text).unwrap()).unwrap().0)
    }

    #[test]
    fn documented_voltage_reply_is_explained() {
        // F4: 100.1 V from meter 000000000161.
        let e = explain_hex("68 61 01 00 00 00 00 68 91 06 33 34 34 35 34 43 10 16");
        assert_eq!(e.address, "000000000161");
        assert_eq!(e.direction, "meter_to_master");
        assert_eq!(e.function_code, "0x11");
        assert_eq!(e.di.as_deref(), Some("02010100"));
        assert_eq!(
            e.values,
            vec![ExplainedValue {
                di: "02010100".into(),
                name: "phase-A voltage",
                value: "100.1".into(),
                unit: "V"
            }]
        );
        let text = e.to_string();
        assert!(text.contains("100.1 V"), "{text}");
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["values"][0]["value"], "100.1");
        assert!(json.get("relay").is_none());
    }

    #[test]
    fn wildcard_block_request_and_relay_command() {
        // F6: block read 028022FF; F5: wildcard read.
        let e = explain_hex("FE FE FE FE 68 02 00 31 08 22 20 68 11 04 32 55 B3 35 D1 16");
        assert_eq!(e.di.as_deref(), Some("028022FF"));
        assert_eq!(e.di_name, None);
        assert!(explain_hex("68 AA AA AA AA AA AA 68 11 04 33 33 34 33 AE 16").wildcard);
        let t = NaiveDate::from_ymd_opt(2099, 12, 31)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        let mut cmd = RelayCommand::plaintext(RelayAction::PreTripAutoClose, t);
        cmd.delay = 3;
        let e = explain(&cmd.to_frame(Address::from_number(1).unwrap()));
        let relay = e.relay.unwrap();
        assert_eq!(relay.n1.as_deref(), Some("0x1d"));
        assert_eq!(relay.n2, Some(3));
        assert_eq!(relay.valid_until.as_deref(), Some("2099-12-31 23:59:59"));
    }

    #[test]
    fn abnormal_and_undecodable_frames() {
        let e = explain(&Frame::abnormal_reply(
            Address::from_number(1).unwrap(),
            Function::Control,
            0x04,
        ));
        let error = e.error.unwrap();
        assert_eq!(error.kind, "ERR");
        assert_eq!(error.bits, vec!["password error / unauthorized"]);
        let bad = Frame::read_reply(
            Address::from_number(1).unwrap(),
            DataId::VOLTAGE_A,
            &[0x1A, 0],
        );
        assert_eq!(
            explain(&bad).problem.as_deref(),
            Some("invalid BCD byte 0x1a")
        );
    }
}
