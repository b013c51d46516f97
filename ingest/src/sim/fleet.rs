//! A fleet of simulated meters: customers grouped into transformer areas and feeders, behind buses (one DTU
//! / RS-485 line each), plus one supply meter per area on a bus of its own.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::fault::{Fault, FaultConfig, FaultKind};
use super::grid::{AreaFeed, GridConfig};
use super::meter::MeterSpec;
use super::meter_clock::{ClockDriftConfig, MeterClock};
use super::profile::{household_scale, household_size, unit_hash};
use super::registry::{AreaRecord, FaultLabel, MeterKind, MeterRecord};
use super::{LoadProfile, PvSystem, RelayState, SecurityMode, SimMeter, Site, TouSchedule};
use crate::dlt645::{Address, FrameError};

/// Salts separating the fleet's random draws.
const PERSONS_SALT: u64 = 0x9E45;
const SCALE_SALT: u64 = 0x5CA1;
const PV_SALT: u64 = 0x50FA;
const PV_SIZE_SALT: u64 = 0x512E;

/// How to build a fleet. `FleetConfig { meters: 40, ..Default::default() }` is a realistic residential fleet.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Number of customer meters.
    pub meters: usize,
    /// Customer meters behind each DTU (a bus never spans two areas).
    pub meters_per_bus: usize,
    /// Address number of the first customer meter; the others follow consecutively.
    pub first_meter_number: u64,
    /// Seed of every random draw (household size, noise, PV, weather, clocks, faults).
    pub seed: u64,
    /// `None` for residential profiles, `Some(w)` for a constant demand of `w` watts. Constant meters are
    /// lab meters: exact clocks, no PV and no random faults (scheduled faults still apply).
    pub constant_watts: Option<f64>,
    /// Security mode of every meter.
    pub security: SecurityMode,
    /// Local zone of the meters' clocks.
    pub zone: Tz,
    /// Id prefix for buses (`<prefix>-bus-<n>`), areas and feeders.
    pub bus_prefix: String,
    /// Areas, feeders, supply meters and line loss.
    pub grid: GridConfig,
    /// Share of customer meters with rooftop PV (2–5 kWp each).
    pub pv_share: f64,
    /// Meter clock offsets and drift.
    pub clock: ClockDriftConfig,
    /// Injected faults.
    pub faults: FaultConfig,
    /// Tariff-period schedule of every meter's TOU registers.
    pub tou: TouSchedule,
    /// Tariff plan written to the registry for customer meters.
    pub tariff_plan: String,
}

impl Default for FleetConfig {
    fn default() -> Self {
        Self {
            meters: 10,
            meters_per_bus: 10,
            first_meter_number: 1001,
            seed: 1,
            constant_watts: None,
            security: SecurityMode::Lab,
            zone: chrono_tz::Asia::Shanghai,
            bus_prefix: "dtu".into(),
            grid: GridConfig::default(),
            pv_share: 0.1,
            clock: ClockDriftConfig::default(),
            faults: FaultConfig::default(),
            tou: TouSchedule::default(),
            tariff_plan: "shanghai-tou-tier1".into(),
        }
    }
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

/// The fleet and its registry.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// The buses: each area's customer buses, then (if enabled) its supply bus.
    pub buses: Vec<SimBus>,
    /// The meter registry (`meters.csv`).
    pub meters: Vec<MeterRecord>,
    /// The areas (`areas.csv`).
    pub areas: Vec<AreaRecord>,
    /// The injected faults (`faults.csv`).
    pub faults: Vec<FaultLabel>,
}

/// Builds the fleet area by area.
struct Builder<'a> {
    config: &'a FleetConfig,
    start: DateTime<Utc>,
    fleet: Fleet,
    customer_buses: usize,
}

impl Builder<'_> {
    fn lab(&self) -> bool {
        self.config.constant_watts.is_some()
    }

    fn spec(
        &self,
        number: u64,
        random_faults: bool,
    ) -> Result<(MeterSpec, Arc<[Fault]>), FrameError> {
        let c = self.config;
        let faults: Arc<[Fault]> = c.faults.faults_for(c.seed, number, random_faults).into();
        let clock = if self.lab() {
            MeterClock::ideal(self.start)
        } else {
            c.clock.clock_for(c.seed, number, self.start)
        };
        let spec = MeterSpec {
            address: Address::from_number(number)?,
            number,
            zone: c.zone,
            security: c.security,
            clock,
            tou: c.tou.clone(),
            faults: faults.clone(),
        };
        Ok((spec, faults))
    }

    fn customer(&self, number: u64, area: usize) -> Result<(SimMeter, Site, u8), FrameError> {
        let c = self.config;
        let persons = household_size(unit_hash(c.seed ^ PERSONS_SALT, number));
        let (profile, pv) = match c.constant_watts {
            Some(watts) => (LoadProfile::Constant { watts }, None),
            None => {
                let scale = household_scale(persons)
                    * (0.85 + 0.3 * unit_hash(c.seed ^ SCALE_SALT, number));
                let pv = (unit_hash(c.seed ^ PV_SALT, number) < c.pv_share).then(|| PvSystem {
                    peak_watts: 2000.0 + 3000.0 * unit_hash(c.seed ^ PV_SIZE_SALT, number),
                    weather_seed: c.seed.wrapping_add(area as u64),
                });
                (
                    LoadProfile::Residential {
                        scale,
                        seed: c.seed ^ number,
                    },
                    pv,
                )
            }
        };
        let (spec, faults) = self.spec(number, !self.lab())?;
        let site = Site::new(profile, pv, faults, c.zone);
        Ok((
            SimMeter::customer(spec, site.clone(), self.start),
            site,
            persons,
        ))
    }

    fn record(
        &mut self,
        meter: &SimMeter,
        kind: MeterKind,
        ids: [&str; 3],
        persons: Option<u8>,
        has_pv: bool,
    ) {
        let number = meter.meter_number();
        let faults = meter.faults().to_vec();
        let meter_id = meter.address().to_string();
        let [area_id, feeder_id, bus_id] = ids;
        let base = MeterRecord {
            meter_id: meter_id.clone(),
            meter_number: format!("{number:012}"),
            customer_id: (kind == MeterKind::Customer).then(|| format!("C{number:012}")),
            kind,
            area_id: area_id.into(),
            feeder_id: feeder_id.into(),
            bus_id: bus_id.into(),
            tariff_plan: (kind == MeterKind::Customer).then(|| self.config.tariff_plan.clone()),
            household_size: persons,
            has_pv,
            installed_on: self.start,
            removed_on: None,
        };
        let mut current = base.clone();
        let mut replacement = 0;
        for fault in &faults {
            if fault.kind == FaultKind::MeterReplacement {
                replacement += 1;
                current.removed_on = Some(fault.start);
                self.fleet.meters.push(current.clone());
                current = MeterRecord {
                    meter_number: format!(
                        "{:012}",
                        super::fault::replacement_number(number, replacement)
                    ),
                    installed_on: fault.start,
                    removed_on: None,
                    ..base.clone()
                };
            }
            self.fleet.faults.push(FaultLabel {
                meter_id: meter_id.clone(),
                fault: *fault,
                detail: fault.detail(number, replacement),
            });
        }
        self.fleet.meters.push(current);
    }

    fn area(&mut self, area: usize, numbers: std::ops::Range<u64>) -> Result<(), FrameError> {
        let c = self.config;
        let prefix = &c.bus_prefix;
        let area_id = format!("{prefix}-area-{area}");
        let feeder_id = format!("{prefix}-feeder-{}", area / c.grid.areas_per_feeder.max(1));
        let mut sites = Vec::new();
        let per_bus = c.meters_per_bus.max(1) as u64;
        let mut first = numbers.start;
        while first < numbers.end {
            let bus_id = format!("{prefix}-bus-{}", self.customer_buses);
            self.customer_buses += 1;
            let mut meters = Vec::new();
            for number in first..(first + per_bus).min(numbers.end) {
                let (meter, site, persons) = self.customer(number, area)?;
                self.record(
                    &meter,
                    MeterKind::Customer,
                    [&area_id, &feeder_id, &bus_id],
                    Some(persons),
                    site.has_pv(),
                );
                sites.push(site);
                meters.push(meter);
            }
            self.push_bus(bus_id, meters);
            first += per_bus;
        }
        let customers = sites.len();
        let supply_meter_id = if c.grid.supply_meters {
            let number = c.grid.first_supply_number + area as u64;
            let (spec, _) = self.spec(number, false)?;
            let feed = Arc::new(AreaFeed::new(sites, &c.grid));
            let meter = SimMeter::supply(spec, feed, self.start);
            let bus_id = format!("{prefix}-supply-{area}");
            self.record(
                &meter,
                MeterKind::Supply,
                [&area_id, &feeder_id, &bus_id],
                None,
                false,
            );
            let id = meter.address().to_string();
            self.push_bus(bus_id, vec![meter]);
            Some(id)
        } else {
            None
        };
        self.fleet.areas.push(AreaRecord {
            area_id,
            feeder_id,
            supply_meter_id,
            customers,
        });
        Ok(())
    }

    fn push_bus(&mut self, bus_id: String, meters: Vec<SimMeter>) {
        self.fleet.buses.push(SimBus {
            bus_id,
            addresses: meters.iter().map(SimMeter::address).collect(),
            meters: Arc::new(Mutex::new(meters)),
        });
    }
}

impl Fleet {
    /// Builds the fleet with every meter's registers starting at `start`.
    pub fn new(config: &FleetConfig, start: DateTime<Utc>) -> Result<Self, FrameError> {
        let mut builder = Builder {
            config,
            start,
            fleet: Fleet {
                buses: Vec::new(),
                meters: Vec::new(),
                areas: Vec::new(),
                faults: Vec::new(),
            },
            customer_buses: 0,
        };
        let per_area = config.grid.meters_per_area.max(1) as u64;
        let first = config.first_meter_number;
        let end = first + config.meters as u64;
        for (area, area_first) in (first..end).step_by(per_area as usize).enumerate() {
            builder.area(area, area_first..(area_first + per_area).min(end))?;
        }
        Ok(builder.fleet)
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

#[cfg(test)]
mod tests;
