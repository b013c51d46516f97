//! One simulated single-phase prepaid meter: registers, relay, keep-power and its DL/T 645 answers.

use chrono::{DateTime, Duration, NaiveDateTime, Timelike, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::LoadProfile;
use crate::dlt645::frame::error_bits;
use crate::dlt645::relay::{
    STATUS3_ALARM, STATUS3_KEEP_POWER, STATUS3_RELAY_COMMAND_TRIP, STATUS3_RELAY_OPEN,
};
use crate::dlt645::{Address, DataId, Frame, Function, RelayAction, RelayCommand};

/// Joules per 0.01 kWh, the register resolution.
const JOULES_PER_CENTI_KWH: i64 = 36_000;
/// Integration step of the simulated energy registers.
const STEP_SECONDS: i64 = 60;
/// ERR bit: no requested data.
const ERR_NO_DATA: u8 = 0x02;
/// ERR bit: password error / unauthorized.
const ERR_UNAUTHORIZED: u8 = 0x04;
/// ERR bit: other error.
const ERR_OTHER: u8 = 0x01;

/// Whether plaintext trips are accepted (see `docs/contracts.md` §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityMode {
    /// Plaintext (PA 02/04) relay commands accepted, trips included.
    #[default]
    Lab,
    /// Plaintext trips refused with ERR 04, as State Grid meters do without the ESAM path.
    Strict,
}

/// The relay as the meter holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayState {
    /// Closed (通): power flows.
    Closed,
    /// Open (断) after a trip.
    Open,
    /// Open, close allowed: closes when the customer presses the button.
    OpenCloseAllowed,
}

/// A simulated meter.
#[derive(Debug, Clone)]
pub struct SimMeter {
    address: Address,
    profile: LoadProfile,
    zone: Tz,
    security: SecurityMode,
    forward_joules: i64,
    tariff_joules: [i64; 4],
    integrated_until: DateTime<Utc>,
    relay: RelayState,
    keep_power: bool,
    alarm: bool,
    trip_commanded: bool,
    trips_received: u32,
}

impl SimMeter {
    /// A meter with closed relay and registers at zero, integrating from `start`.
    pub fn new(
        address: Address,
        profile: LoadProfile,
        zone: Tz,
        security: SecurityMode,
        start: DateTime<Utc>,
    ) -> Self {
        Self {
            address,
            profile,
            zone,
            security,
            forward_joules: 0,
            tariff_joules: [0; 4],
            integrated_until: start,
            relay: RelayState::Closed,
            keep_power: false,
            alarm: false,
            trip_commanded: false,
            trips_received: 0,
        }
    }

    /// The meter's address.
    pub fn address(&self) -> Address {
        self.address
    }

    /// The relay state.
    pub fn relay(&self) -> RelayState {
        self.relay
    }

    /// How many trip commands the meter has executed.
    pub fn trips_received(&self) -> u32 {
        self.trips_received
    }

    /// The simulated customer presses the button: closes a close-allowed relay. Returns whether it closed.
    pub fn press_button(&mut self, now: DateTime<Utc>) -> bool {
        self.advance(now);
        if self.relay == RelayState::OpenCloseAllowed {
            self.relay = RelayState::Closed;
            true
        } else {
            false
        }
    }

    /// The tariff register (0-based: 尖, 峰, 平, 谷) that accumulates at local time `t`:
    /// peak 06:00–22:00, valley otherwise.
    fn tariff_index(t: NaiveDateTime) -> usize {
        if (6..22).contains(&t.hour()) {
            1
        } else {
            3
        }
    }

    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.zone).naive_local()
    }

    /// Integrates energy up to `now`.
    pub fn advance(&mut self, now: DateTime<Utc>) {
        while self.integrated_until < now {
            let step = (now - self.integrated_until).min(Duration::seconds(STEP_SECONDS));
            let local = self.local(self.integrated_until);
            let joules = (self.power_watts(local) * step.num_microseconds().unwrap_or(0) as f64
                / 1e6)
                .round() as i64;
            self.forward_joules += joules;
            self.tariff_joules[Self::tariff_index(local)] += joules;
            self.integrated_until += step;
        }
    }

    fn power_watts(&self, local: NaiveDateTime) -> f64 {
        if self.relay == RelayState::Closed {
            self.profile.watts(local)
        } else {
            0.0
        }
    }

    fn status_word_3(&self) -> u16 {
        let mut word = 0b10 << 8; // meter type: money prepaid
        if self.relay != RelayState::Closed {
            word |= STATUS3_RELAY_OPEN;
        }
        if self.trip_commanded {
            word |= STATUS3_RELAY_COMMAND_TRIP;
        }
        if self.alarm {
            word |= STATUS3_ALARM;
        }
        if self.keep_power {
            word |= STATUS3_KEEP_POWER;
        }
        word | (1 << 15)
    }

    fn register(joules: i64) -> Decimal {
        Decimal::new(joules / JOULES_PER_CENTI_KWH, 2)
    }

    /// The value of `di` at `now`, encoded, or `None` if the meter does not hold it.
    fn read_value(&self, di: DataId, now: DateTime<Utc>) -> Option<Vec<u8>> {
        let (_, format) = di.describe()?;
        let local = self.local(now);
        let watts = self.power_watts(local);
        let volts = 220.0
            + 4.0
                * (super::profile::unit_hash(
                    u64::from(self.address.0[0]),
                    now.timestamp() as u64 / 900,
                ) - 0.5);
        let value = match di {
            DataId::FORWARD_ACTIVE_TOTAL => Self::register(self.forward_joules),
            DataId::FORWARD_ACTIVE_T1 => Self::register(self.tariff_joules[0]),
            DataId::FORWARD_ACTIVE_T2 => Self::register(self.tariff_joules[1]),
            DataId::FORWARD_ACTIVE_T3 => Self::register(self.tariff_joules[2]),
            DataId::FORWARD_ACTIVE_T4 => Self::register(self.tariff_joules[3]),
            DataId::REVERSE_ACTIVE_TOTAL => Decimal::ZERO,
            DataId::VOLTAGE_A => Decimal::from_f64_retain(volts)?,
            DataId::CURRENT_A => Decimal::from_f64_retain(watts / (volts * 0.95))?,
            DataId::ACTIVE_POWER => Decimal::from_f64_retain(watts / 1000.0)?,
            DataId::POWER_FACTOR => Decimal::new(950, 3),
            DataId::FREQUENCY => Decimal::new(5000, 2),
            DataId::STATUS_WORD_3 => Decimal::from(self.status_word_3()),
            DataId(0x0400_0501..=0x0400_0507) => Decimal::ZERO,
            _ => return None,
        };
        format.encode_number(value).ok()
    }

    /// Answers a request frame at simulated time `now`; `None` when the meter stays silent.
    pub fn handle(&mut self, request: &Frame, now: DateTime<Utc>) -> Option<Frame> {
        if request.control.reply || !request.address.addresses(&self.address) {
            return None;
        }
        self.advance(now);
        let broadcast = request.address.is_broadcast();
        let function = request.control.function;
        let reply = match function {
            Function::Read => match request.data_id() {
                Ok(di) => match self.read_value(di, now) {
                    Some(value) => Frame::read_reply(self.address, di, &value),
                    None => Frame::abnormal_reply(self.address, function, ERR_NO_DATA),
                },
                Err(_) => Frame::abnormal_reply(self.address, function, ERR_OTHER),
            },
            Function::ReadAddress
                if request.address == Address::WILDCARD && request.data.is_empty() =>
            {
                Frame {
                    data: self.address.0.to_vec(),
                    ..Frame::empty_reply(self.address, function)
                }
            }
            Function::Control => match self.control(&request.data, now) {
                Ok(()) => Frame::empty_reply(self.address, function),
                Err(err) => Frame::abnormal_reply(self.address, function, err),
            },
            _ => Frame::abnormal_reply(self.address, function, ERR_OTHER),
        };
        if let Some(err) = reply.error_word() {
            tracing::debug!(meter = %self.address, ?function, errors = ?error_bits(err), "abnormal reply");
        }
        (!broadcast).then_some(reply)
    }

    /// Executes a plaintext relay command; `Err` carries the ERR byte of the abnormal reply.
    fn control(&mut self, data: &[u8], now: DateTime<Utc>) -> Result<(), u8> {
        let cmd = RelayCommand::from_data(data).map_err(|_| ERR_OTHER)?;
        let plaintext = matches!(cmd.privilege, 0x02 | 0x04);
        let lab_ciphertext = cmd.privilege == 0x98 && self.security == SecurityMode::Lab;
        if !(plaintext || lab_ciphertext) {
            return Err(ERR_UNAUTHORIZED);
        }
        if plaintext && cmd.password != [0; 3] {
            return Err(ERR_UNAUTHORIZED);
        }
        if self.local(now) > cmd.valid_until {
            return Err(ERR_UNAUTHORIZED);
        }
        let trip = matches!(
            cmd.action,
            RelayAction::Trip | RelayAction::PreTripAutoClose | RelayAction::PreTripCloseAllowed
        );
        if trip && (self.keep_power || (plaintext && self.security == SecurityMode::Strict)) {
            return Err(ERR_UNAUTHORIZED);
        }
        match cmd.action {
            RelayAction::Trip
            | RelayAction::PreTripAutoClose
            | RelayAction::PreTripCloseAllowed => {
                self.relay = RelayState::Open;
                self.trip_commanded = true;
                self.trips_received += 1;
            }
            RelayAction::CloseAllowed => {
                self.trip_commanded = false;
                if self.relay == RelayState::Open {
                    self.relay = RelayState::OpenCloseAllowed;
                }
            }
            RelayAction::Close => {
                self.trip_commanded = false;
                self.relay = RelayState::Closed;
            }
            RelayAction::AlarmOn => self.alarm = true,
            RelayAction::AlarmOff => self.alarm = false,
            RelayAction::KeepPowerOn => self.keep_power = true,
            RelayAction::KeepPowerOff => self.keep_power = false,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlt645::data_id::Value;

    fn meter() -> (SimMeter, DateTime<Utc>) {
        let start = DateTime::parse_from_rfc3339("2026-10-01T00:00:00Z")
            .unwrap()
            .to_utc();
        let m = SimMeter::new(
            Address::from_number(1001).unwrap(),
            LoadProfile::Constant { watts: 1000.0 },
            chrono_tz::Asia::Shanghai,
            SecurityMode::Lab,
            start,
        );
        (m, start)
    }

    fn read(m: &mut SimMeter, di: DataId, now: DateTime<Utc>) -> Value {
        let reply = m
            .handle(&Frame::read_request(m.address(), di), now)
            .unwrap();
        assert!(!reply.control.abnormal);
        di.describe().unwrap().1.decode(&reply.data[4..]).unwrap()
    }

    fn command(m: &mut SimMeter, action: RelayAction, now: DateTime<Utc>) -> Frame {
        let until = m.local(now) + Duration::hours(1);
        m.handle(
            &RelayCommand::plaintext(action, until).to_frame(m.address()),
            now,
        )
        .unwrap()
    }

    #[test]
    fn constant_kilowatt_adds_a_quarter_kwh_per_interval_and_trip_stops_it() {
        let (mut m, start) = meter();
        let t1 = start + Duration::minutes(15);
        assert_eq!(
            read(&mut m, DataId::FORWARD_ACTIVE_TOTAL, t1),
            Value::Number(Decimal::new(25, 2), "kWh")
        );
        assert_eq!(
            command(&mut m, RelayAction::Trip, t1).control.to_byte(),
            0x9C
        );
        let t2 = t1 + Duration::hours(2);
        assert_eq!(
            read(&mut m, DataId::FORWARD_ACTIVE_TOTAL, t2),
            Value::Number(Decimal::new(25, 2), "kWh")
        );
        assert_eq!(
            read(&mut m, DataId::ACTIVE_POWER, t2),
            Value::Number(Decimal::ZERO, "kW")
        );
        let Value::Bits(word) = read(&mut m, DataId::STATUS_WORD_3, t2) else {
            panic!()
        };
        assert_ne!(word & STATUS3_RELAY_OPEN, 0);
        // Close-allowed keeps the relay open until the button is pressed.
        command(&mut m, RelayAction::CloseAllowed, t2);
        assert_eq!(m.relay(), RelayState::OpenCloseAllowed);
        assert!(m.press_button(t2));
        assert_eq!(m.relay(), RelayState::Closed);
    }

    #[test]
    fn keep_power_strict_mode_expiry_and_unknown_di_are_refused() {
        let (mut m, start) = meter();
        command(&mut m, RelayAction::KeepPowerOn, start);
        assert_eq!(
            command(&mut m, RelayAction::Trip, start).error_word(),
            Some(ERR_UNAUTHORIZED)
        );
        command(&mut m, RelayAction::KeepPowerOff, start);
        let expired =
            RelayCommand::plaintext(RelayAction::Trip, m.local(start) - Duration::minutes(1));
        assert!(
            m.handle(&expired.to_frame(m.address()), start)
                .unwrap()
                .control
                .abnormal
        );
        m.security = SecurityMode::Strict;
        assert_eq!(
            command(&mut m, RelayAction::Trip, start).error_word(),
            Some(ERR_UNAUTHORIZED)
        );
        assert_eq!(
            command(&mut m, RelayAction::Close, start).error_word(),
            None
        );
        let reply = m
            .handle(
                &Frame::read_request(m.address(), DataId(0x1234_5678)),
                start,
            )
            .unwrap();
        assert_eq!(reply.error_word(), Some(ERR_NO_DATA));
        let other = Frame::read_request(Address::from_number(9).unwrap(), DataId::VOLTAGE_A);
        assert!(m.handle(&other, start).is_none());
    }
}
