//! The simulated meter fleet: customer and area supply meters that answer DL/T 645 over TCP or a serial
//! line, with realistic residential load, rooftop PV, drifting clocks, line loss and injected faults.

pub mod clock;
pub mod fault;
pub mod fleet;
pub mod grid;
pub mod history;
pub mod meter;
pub mod meter_clock;
pub mod profile;
pub mod pv;
pub mod registry;
pub mod serial;
pub mod server;
pub mod site;
pub mod theft;
pub mod tou;
pub mod wire;

pub use clock::SimClock;
pub use fault::{Fault, FaultConfig, FaultKind, RandomFaults, ScheduledFault};
pub use fleet::{Fleet, FleetConfig, SimBus};
pub use grid::{AreaFeed, GridConfig};
pub use meter::{MeterSpec, RelayState, SecurityMode, SimMeter};
pub use meter_clock::{ClockDriftConfig, MeterClock};
pub use profile::LoadProfile;
pub use pv::PvSystem;
pub use registry::{AreaRecord, FaultLabel, MeterKind, MeterRecord};
pub use serial::serve_bus_serial;
pub use site::Site;
pub use theft::{Theft, TheftKind, TheftLabel};
pub use tou::{TouSchedule, TouSwitch};
