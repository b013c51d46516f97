//! What a meter answers to a read: registers, instantaneous values (as the meter measures them, faults
//! included), its clock, identity and status words.

use chrono::{DateTime, Datelike, Utc};
use rust_decimal::Decimal;

use super::{Registers, RelayState, SimMeter};
use crate::dlt645::relay::{
    STATUS3_ALARM, STATUS3_KEEP_POWER, STATUS3_RELAY_COMMAND_TRIP, STATUS3_RELAY_OPEN,
};
use crate::dlt645::{Address, DataId, Value};
use crate::sim::fault::FaultKind;
use crate::sim::profile::unit_hash;

/// Status word 1, bit 4: active power direction reverse.
pub const STATUS1_REVERSE: u16 = 1 << 4;
/// Power factor the simulated loads run at.
const POWER_FACTOR: f64 = 0.95;

/// Instantaneous values as the meter shows them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Instant {
    volts: f64,
    watts: f64,
    amps: f64,
}

impl SimMeter {
    fn instant(&self, now: DateTime<Utc>) -> Instant {
        let noise = unit_hash(
            u64::from(self.spec.address.0[0]),
            now.timestamp() as u64 / 900,
        );
        let mut volts = 220.0 + 4.0 * (noise - 0.5);
        if self.fault(FaultKind::VoltageLoss, now).is_some() {
            volts = 0.0;
        } else if let Some(f) = self
            .fault(FaultKind::VoltageSag, now)
            .or_else(|| self.fault(FaultKind::VoltageSwell, now))
        {
            volts *= f.magnitude;
        }
        if volts <= 0.0 {
            return Instant {
                volts: 0.0,
                watts: 0.0,
                amps: 0.0,
            };
        }
        let physical = self.physical_watts(now);
        let amps = physical / (volts * POWER_FACTOR);
        if self.fault(FaultKind::Bypass, now).is_some() {
            // The load current flows around the metering element: the meter sees current, no power.
            return Instant {
                volts,
                watts: 0.0,
                amps: amps.abs(),
            };
        }
        if physical > 0.0 && self.fault(FaultKind::ReverseTheft, now).is_some() {
            return Instant {
                volts,
                watts: -physical,
                amps: -amps,
            };
        }
        Instant {
            volts,
            watts: physical,
            amps,
        }
    }

    fn status_word_1(&self, instant: &Instant) -> u16 {
        if instant.watts < 0.0 {
            STATUS1_REVERSE
        } else {
            0
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

    /// The value of `di` at `now`, encoded, or `None` if the meter does not hold it.
    pub(super) fn read_value(&self, di: DataId, now: DateTime<Utc>) -> Option<Vec<u8>> {
        if let Some(event) = self.read_event(di, now) {
            return Some(event);
        }
        let (_, format) = di.describe()?;
        let clock = self.meter_time(now);
        match di {
            DataId::DATE => {
                let weekday = clock.weekday().num_days_from_sunday() as u8;
                return format.encode(&Value::Date(clock.date(), weekday)).ok();
            }
            DataId::TIME => return format.encode(&Value::Time(clock.time())).ok(),
            DataId::COMM_ADDRESS => return Some(self.spec.address.0.to_vec()),
            DataId::METER_NUMBER => {
                return Address::from_number(self.meter_number())
                    .ok()
                    .map(|a| a.0.to_vec())
            }
            _ => {}
        }
        let instant = self.instant(now);
        // Round away binary noise (0.3 is 0.29999…) before the format truncates to its decimals.
        let number = |v: f64| Decimal::from_f64_retain(v).map(|d| d.round_dp(6));
        let r = &self.registers;
        let value = match di {
            DataId::COMBINED_ACTIVE_TOTAL => r.combined_kwh(),
            DataId::FORWARD_ACTIVE_TOTAL => Registers::kwh(r.forward),
            DataId::FORWARD_ACTIVE_T1 => Registers::kwh(r.tariff[0]),
            DataId::FORWARD_ACTIVE_T2 => Registers::kwh(r.tariff[1]),
            DataId::FORWARD_ACTIVE_T3 => Registers::kwh(r.tariff[2]),
            DataId::FORWARD_ACTIVE_T4 => Registers::kwh(r.tariff[3]),
            DataId::REVERSE_ACTIVE_TOTAL => Registers::kwh(r.reverse),
            DataId::VOLTAGE_A => number(instant.volts)?,
            DataId::CURRENT_A => number(instant.amps)?,
            DataId::ACTIVE_POWER => number(instant.watts / 1000.0)?,
            DataId::POWER_FACTOR => {
                let pf = Decimal::new(950, 3);
                if instant.watts < 0.0 {
                    -pf
                } else {
                    pf
                }
            }
            DataId::FREQUENCY => {
                let slot = now.timestamp() as u64 / 60;
                Decimal::new(4995 + (unit_hash(0xF2E9, slot) * 10.0) as i64, 2)
            }
            DataId::TEMPERATURE => {
                let ambient =
                    18.0 + 8.0 * unit_hash(self.spec.number, now.timestamp() as u64 / 3600);
                number(ambient + instant.amps.abs() * 0.3)?
            }
            DataId::STATUS_WORD_1 => Decimal::from(self.status_word_1(&instant)),
            DataId::STATUS_WORD_3 => Decimal::from(self.status_word_3()),
            DataId(0x0400_0502..=0x0400_0507) => Decimal::ZERO,
            _ => return None,
        };
        format.encode_number(value).ok()
    }
}
