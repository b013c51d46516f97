//! Fault diagnosis on readings: alarm rules judged reading by reading, the same way whether the readings
//! stream from Kafka or are re-read from the lake for a date range (`docs/diagnosis.md`).
//!
//! The rules are pure: [`Watch::observe`] takes one reading and returns the alarms it raises or clears.
//! [`profiles`] and [`day_readings`] read what the rules need from the lake (the registry, and history
//! for a re-run over a date range).
//! Keeping alarms (their lifecycle, acknowledgement, notification) is the control service's job.

pub mod area;
pub mod config;
pub mod kinds;
pub mod lake_tables;
pub mod observation;
pub mod profiles;
pub mod watch;

pub use config::{DiagnosisConfig, InvalidDiagnosisConfig};
pub use kinds::{AlarmRule, Severity};
pub use observation::{observations, Observation};
pub use profiles::{day_readings, profiles, registry_profiles};
pub use watch::{Evidence, MeterProfile, Signal, Watch};

#[cfg(test)]
mod tests;
