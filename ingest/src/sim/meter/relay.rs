//! Plaintext relay control (0x1C): password, valid-until against the meter clock, keep-power and strict mode.

use chrono::{DateTime, Utc};

use super::{RelayState, SecurityMode, SimMeter, ERR_OTHER, ERR_UNAUTHORIZED};
use crate::dlt645::{RelayAction, RelayCommand};

impl SimMeter {
    /// Executes a plaintext relay command; `Err` carries the ERR byte of the abnormal reply.
    /// A supply meter has no relay: it refuses every 0x1C command with ERR 01.
    pub(super) fn control(&mut self, data: &[u8], now: DateTime<Utc>) -> Result<(), u8> {
        if self.is_supply() {
            return Err(ERR_OTHER);
        }
        let cmd = RelayCommand::from_data(data).map_err(|_| ERR_OTHER)?;
        let plaintext = matches!(cmd.privilege, 0x02 | 0x04);
        let lab_ciphertext = cmd.privilege == 0x98 && self.spec.security == SecurityMode::Lab;
        if !(plaintext || lab_ciphertext) {
            return Err(ERR_UNAUTHORIZED);
        }
        if plaintext && cmd.password != [0; 3] {
            return Err(ERR_UNAUTHORIZED);
        }
        if self.meter_time(now) > cmd.valid_until {
            return Err(ERR_UNAUTHORIZED);
        }
        let trip = matches!(
            cmd.action,
            RelayAction::Trip | RelayAction::PreTripAutoClose | RelayAction::PreTripCloseAllowed
        );
        if trip && (self.keep_power || (plaintext && self.spec.security == SecurityMode::Strict)) {
            return Err(ERR_UNAUTHORIZED);
        }
        match cmd.action {
            RelayAction::Trip
            | RelayAction::PreTripAutoClose
            | RelayAction::PreTripCloseAllowed => {
                self.set_relay(RelayState::Open, now);
                self.trip_commanded = true;
                self.trips_received += 1;
            }
            RelayAction::CloseAllowed => {
                self.trip_commanded = false;
                if self.relay == RelayState::Open {
                    self.set_relay(RelayState::OpenCloseAllowed, now);
                }
            }
            RelayAction::Close => {
                self.trip_commanded = false;
                self.set_relay(RelayState::Closed, now);
            }
            RelayAction::AlarmOn => self.alarm = true,
            RelayAction::AlarmOff => self.alarm = false,
            RelayAction::KeepPowerOn => self.keep_power = true,
            RelayAction::KeepPowerOff => self.keep_power = false,
        }
        Ok(())
    }
}
