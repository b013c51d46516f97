//! A fleet's history written straight into a lake (no DTU, no Kafka): the readings every 15 minutes of
//! customer meters and their areas' supply meters over weeks or months, with the answers a model is
//! judged against — `theft.csv` (who steals, how, from when, how much), `faults.csv` (failing meters),
//! `households.csv` (usage class and occupancy) — beside the registry (`meters.csv`, `areas.csv`).
//!
//! The meter physics are the simulator's: the same load-profile building blocks, PV, TOU registers that
//! truncate to 0.01 kWh, clocks that drift. The supply meter sees the true load plus line loss, so theft
//! shows up as area line loss, as it does in the field.

pub mod health;
pub mod household;
mod meters;
pub mod rows;

use std::path::Path;

use chrono::{NaiveDate, TimeDelta};
use chrono_tz::Tz;

use super::registry::{write_registry_files, RegistryError};
use super::theft::{theft_csv, TheftLabel};
use crate::dlt645::MeterEvent;
pub use health::{Failing, Health};
pub use household::{Household, UsageClass};
pub use meters::HistoryFleet;
pub use rows::{WireRow, WireRows};

/// What to simulate.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryPlan {
    /// Transformer areas; each has one supply meter.
    pub areas: usize,
    /// Customer meters per area.
    pub customers_per_area: usize,
    /// The first local day.
    pub first_day: NaiveDate,
    /// Days of readings.
    pub days: u32,
    /// Seed of every draw; two seeds give two different fleets.
    pub seed: u64,
    /// Share of customer meters that steal (0–1).
    pub theft_share: f64,
    /// Share of meters that fail during the history (0–1).
    pub failing_share: f64,
    /// Readings lost per 10,000.
    pub lost_per_10k: u32,
    /// Local zone of the meters.
    pub zone: Tz,
    /// Tariff plan of the customer meters.
    pub tariff_plan: String,
    /// First digits of the meter addresses (meter `i` is `prefix × 10⁸ + i`, 12 digits).
    pub address_prefix: u64,
}

impl Default for HistoryPlan {
    fn default() -> Self {
        Self {
            areas: 10,
            customers_per_area: 50,
            first_day: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap_or_default(),
            days: 60,
            seed: 1,
            theft_share: 0.05,
            failing_share: 0.02,
            lost_per_10k: 5,
            zone: chrono_tz::Asia::Shanghai,
            tariff_plan: "shanghai-residential".into(),
            address_prefix: 3,
        }
    }
}

/// A plan that cannot be simulated.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// A number out of range.
    #[error("invalid history plan: {0}")]
    Plan(String),
    /// Writing a label or registry file failed.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Building a batch failed.
    #[error("building readings: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Writing the lake failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl HistoryPlan {
    /// Checks the numbers: at least one area and customer, 1–3660 days, shares in [0, 1], addresses that
    /// fit 12 digits.
    pub fn validate(&self) -> Result<(), HistoryError> {
        let bad = |m: String| Err(HistoryError::Plan(m));
        if self.areas == 0 || self.customers_per_area == 0 {
            return bad("a history needs at least one area and one customer per area".into());
        }
        if !(1..=3660).contains(&self.days) {
            return bad(format!("days must be in 1..=3660, not {}", self.days));
        }
        for (name, share) in [("theft", self.theft_share), ("failing", self.failing_share)] {
            if !(0.0..=1.0).contains(&share) {
                return bad(format!("the {name} share must be in [0, 1], not {share}"));
            }
        }
        let meters = self
            .areas
            .checked_mul(self.customers_per_area + 1)
            .and_then(|m| u64::try_from(m).ok());
        match meters {
            Some(m) if m < 100_000_000 && self.address_prefix < 10_000 => Ok(()),
            _ => bad("too many meters for 12-digit addresses".into()),
        }
    }

    /// The last local day.
    pub fn last_day(&self) -> NaiveDate {
        self.first_day + TimeDelta::days(i64::from(self.days) - 1)
    }
}

/// One event record a simulated meter wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEvent {
    /// Meter address.
    pub meter_id: String,
    /// The event.
    pub event: MeterEvent,
    /// The meter's count of this event after it.
    pub sequence: i64,
    /// When it happened, UTC µs.
    pub at_us: i64,
}

/// What [`write_history`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistorySummary {
    /// Readings appended.
    pub readings: u64,
    /// Customer meters.
    pub customers: usize,
    /// Thieves among them.
    pub thieves: usize,
    /// Meters that fail.
    pub failing: usize,
    /// Event records, by local date (`YYYY-MM-DD`), for the `meter_events` table.
    pub events: Vec<(NaiveDate, Vec<HistoryEvent>)>,
}

/// Writes the registry and label files of `fleet` into `dir`: `meters.csv`, `areas.csv`, `faults.csv`,
/// `theft.csv`, `households.csv`.
pub fn write_labels(fleet: &HistoryFleet, dir: &Path) -> Result<(), HistoryError> {
    let (meters, areas, faults) = fleet.registry();
    write_registry_files(dir, &meters, &areas, &faults)?;
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|source| RegistryError { path, source })
    };
    let labels: Vec<TheftLabel> = fleet.theft_labels();
    write("theft.csv", theft_csv(&labels))?;
    write("households.csv", fleet.households_csv())?;
    Ok(())
}

/// Simulates `plan`, appends its readings to the lake at `location` (about a million rows per commit)
/// and writes the registry and labels into `dir`; `progress` is told the rows of each commit.
pub async fn write_history(
    plan: &HistoryPlan,
    location: &store::LakeLocation,
    dir: &Path,
    mut progress: impl FnMut(u64),
) -> Result<HistorySummary, HistoryError> {
    plan.validate()?;
    let mut fleet = HistoryFleet::new(plan.clone());
    write_labels(&fleet, dir)?;
    let mut lake = store::Lake::open(location, plan.zone).await?;
    let block = (1_000_000 / (96 * (plan.customers_per_area + 1))).max(1);
    let mut summary = HistorySummary {
        readings: 0,
        customers: plan.areas * plan.customers_per_area,
        thieves: fleet.theft_labels().len(),
        failing: fleet.failing_count(),
        events: Vec::new(),
    };
    for day_index in 0..plan.days {
        let day = plan.first_day + TimeDelta::days(i64::from(day_index));
        let mut events = Vec::new();
        for start in (0..plan.areas).step_by(block) {
            let (batch, mut day_events) =
                fleet.day_rows(day, start..(start + block).min(plan.areas))?;
            events.append(&mut day_events);
            let rows = batch.num_rows() as u64;
            lake.append(vec![batch], &[]).await?;
            summary.readings += rows;
            progress(rows);
        }
        if !events.is_empty() {
            summary.events.push((day, events));
        }
    }
    Ok(summary)
}
