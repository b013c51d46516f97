//! How a relay command becomes the frame a meter accepts. Meters in the field (State Grid 费控 meters
//! with an ESAM security chip) accept relay control only as ciphertext at privilege level 98, with a
//! MAC computed by the utility's security module (加密机) from the meter's key and a session
//! random; lab meters and the simulator accept the plaintext form at privilege 02 or 04 with a
//! password and operator code. The collector calls [`RelaySecurity`] for every relay frame, so an
//! ESAM implementation (talking to the security module) plugs in without touching the command loop;
//! [`PlaintextLab`] is the implementation this repository ships.

use chrono::NaiveDateTime;

use crate::dlt645::relay::RelayAction;
use crate::dlt645::{Address, Frame, RelayCommand};

/// The password, privilege level and operator code one meter group's plaintext relay commands carry.
/// `Debug` never shows the password.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RelayAuth {
    /// Password privilege level PA (02 or 04 in plaintext).
    pub privilege: u8,
    /// Password P0..P2 (P0 the lowest byte).
    pub password: [u8; 3],
    /// Operator code C0..C3 (C0 the lowest byte).
    pub operator: [u8; 4],
}

impl Default for RelayAuth {
    /// The lab default: privilege 02, all-zero password and operator.
    fn default() -> Self {
        Self {
            privilege: 0x02,
            password: [0; 3],
            operator: [0; 4],
        }
    }
}

impl std::fmt::Debug for RelayAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayAuth")
            .field("privilege", &format_args!("{:02X}", self.privilege))
            .field("password", &"<redacted>")
            .field(
                "operator",
                &hex::encode_upper(self.operator.iter().rev().copied().collect::<Vec<u8>>()),
            )
            .finish()
    }
}

fn hex_bytes<const N: usize>(what: &str, text: &str) -> Result<[u8; N], String> {
    let bytes = hex::decode(text)
        .ok()
        .filter(|b| b.len() == N)
        .ok_or_else(|| {
            format!(
                "{what} must be {} hex digits, not {} digits",
                2 * N,
                text.len()
            )
        })?;
    let mut out = [0_u8; N];
    // Written most significant first; sent lowest byte first.
    for (slot, byte) in out.iter_mut().zip(bytes.iter().rev()) {
        *slot = *byte;
    }
    Ok(out)
}

impl RelayAuth {
    /// From the buses file's text: privilege `"02"` or `"04"`, password 6 hex digits, operator code 8.
    pub fn parse(privilege: &str, password: &str, operator: &str) -> Result<Self, String> {
        let privilege = match privilege {
            "02" => 0x02,
            "04" => 0x04,
            other => {
                return Err(format!(
                    "relay privilege {other:?}: plaintext levels are \"02\" and \"04\" (98 is the ESAM path)"
                ))
            }
        };
        Ok(Self {
            privilege,
            password: hex_bytes::<3>("relay password", password)?,
            operator: hex_bytes::<4>("operator code", operator)?,
        })
    }
}

/// Builds relay control frames for one meter group.
pub trait RelaySecurity: Send + Sync + std::fmt::Debug {
    /// The control frame telling the meter at `address` to do `action` until `valid_until` (the
    /// meter's local time).
    fn relay_frame(
        &self,
        address: Address,
        action: RelayAction,
        valid_until: NaiveDateTime,
    ) -> Result<Frame, String>;
}

/// Plaintext relay control with a configured password and operator code (lab meters, simulator).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlaintextLab {
    /// The group's credentials.
    pub auth: RelayAuth,
}

impl RelaySecurity for PlaintextLab {
    fn relay_frame(
        &self,
        address: Address,
        action: RelayAction,
        valid_until: NaiveDateTime,
    ) -> Result<Frame, String> {
        let command = RelayCommand {
            privilege: self.auth.privilege,
            password: self.auth.password,
            operator: self.auth.operator,
            action,
            delay: 0,
            valid_until,
        };
        Ok(command.to_frame(address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_parse_lowest_byte_first_and_the_password_never_prints() {
        let auth = RelayAuth::parse("04", "123456", "0000ABCD").unwrap();
        assert_eq!(auth.privilege, 0x04);
        assert_eq!(auth.password, [0x56, 0x34, 0x12]);
        assert_eq!(auth.operator, [0xCD, 0xAB, 0x00, 0x00]);
        assert!(!format!("{auth:?}").contains("123456"));
        assert!(format!("{auth:?}").contains("0000ABCD"));
        assert!(RelayAuth::parse("98", "000000", "00000000").is_err());
        assert!(RelayAuth::parse("02", "12345", "00000000").is_err());
        assert!(RelayAuth::parse("02", "123456", "zz000000").is_err());
    }

    #[test]
    fn the_lab_frame_carries_the_groups_credentials() {
        let auth = RelayAuth::parse("02", "123456", "00000001").unwrap();
        let until = chrono::NaiveDate::from_ymd_opt(2026, 12, 5)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let address: Address = "000000001001".parse().unwrap();
        let frame = PlaintextLab { auth }
            .relay_frame(address, RelayAction::Trip, until)
            .unwrap();
        assert_eq!(&frame.data[..8], &[0x02, 0x56, 0x34, 0x12, 0x01, 0, 0, 0]);
    }
}
