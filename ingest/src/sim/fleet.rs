//! A fleet of simulated meters grouped into buses (one DTU / RS-485 line each).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{LoadProfile, RelayState, SecurityMode, SimMeter};
use crate::dlt645::{Address, FrameError};

/// How to build a fleet.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Number of meters.
    pub meters: usize,
    /// Meters behind each DTU.
    pub meters_per_bus: usize,
    /// Address number of the first meter; the others follow consecutively.
    pub first_meter_number: u64,
    /// Seed for household scales and noise.
    pub seed: u64,
    /// `None` for residential profiles, `Some(w)` for a constant demand of `w` watts.
    pub constant_watts: Option<f64>,
    /// Security mode of every meter.
    pub security: SecurityMode,
    /// Local zone of the meters' clocks.
    pub zone: Tz,
    /// Id prefix for buses (`<prefix>-bus-<n>`).
    pub bus_prefix: String,
}

/// One bus: a DTU with meters behind it. Access is one request at a time (the lock).
#[derive(Debug, Clone)]
pub struct SimBus {
    /// Bus id.
    pub bus_id: String,
    /// The meters, in address order.
    pub meters: Arc<Mutex<Vec<SimMeter>>>,
    /// Their addresses (fixed at creation).
    pub addresses: Vec<Address>,
}

/// The fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The buses.
    pub buses: Vec<SimBus>,
}

impl Fleet {
    /// Builds the fleet with every meter's registers starting at `start`.
    pub fn new(config: &FleetConfig, start: DateTime<Utc>) -> Result<Self, FrameError> {
        let per_bus = config.meters_per_bus.max(1);
        let mut buses = Vec::new();
        for (bus_index, chunk_start) in (0..config.meters).step_by(per_bus).enumerate() {
            let mut meters = Vec::new();
            for i in chunk_start..(chunk_start + per_bus).min(config.meters) {
                let number = config.first_meter_number + i as u64;
                let address = Address::from_number(number)?;
                let profile = match config.constant_watts {
                    Some(watts) => LoadProfile::Constant { watts },
                    None => LoadProfile::Residential {
                        scale: 0.6 + 0.8 * super::profile::unit_hash(config.seed, number),
                        seed: config.seed ^ number,
                    },
                };
                meters.push(SimMeter::new(
                    address,
                    profile,
                    config.zone,
                    config.security,
                    start,
                ));
            }
            buses.push(SimBus {
                bus_id: format!("{}-bus-{bus_index}", config.bus_prefix),
                addresses: meters.iter().map(SimMeter::address).collect(),
                meters: Arc::new(Mutex::new(meters)),
            });
        }
        Ok(Self { buses })
    }

    /// Runs `f` on the meter with `address`, if the fleet has it.
    pub fn with_meter<T>(&self, address: Address, f: impl FnOnce(&mut SimMeter) -> T) -> Option<T> {
        let bus = self.buses.iter().find(|b| b.addresses.contains(&address))?;
        let mut meters = bus.meters.lock().ok()?;
        meters.iter_mut().find(|m| m.address() == address).map(f)
    }

    /// Presses the button of every meter whose relay waits for it; returns the addresses that closed.
    pub fn press_waiting_buttons(&self, now: DateTime<Utc>) -> Vec<Address> {
        let mut closed = Vec::new();
        for bus in &self.buses {
            if let Ok(mut meters) = bus.meters.lock() {
                for meter in meters.iter_mut() {
                    if meter.relay() == RelayState::OpenCloseAllowed && meter.press_button(now) {
                        closed.push(meter.address());
                    }
                }
            }
        }
        closed
    }
}
