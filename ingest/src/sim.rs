//! The simulated meter fleet: meters that answer DL/T 645 over TCP with a daily load profile.

pub mod clock;
pub mod fleet;
pub mod meter;
pub mod profile;
pub mod server;

pub use clock::SimClock;
pub use fleet::{Fleet, FleetConfig, SimBus};
pub use meter::{RelayState, SecurityMode, SimMeter};
pub use profile::LoadProfile;
