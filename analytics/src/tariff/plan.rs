//! The tariff plan model, read from TOML and validated. Every fault names the file and the line.
//!
//! A plan file holds one or more versions, each effective from a local date (and time); a version
//! carries the ladder, the TOU schedule, the full tier × class price matrix and the household bonus.
//! See `tariffs/README.md` for the format.

mod file;

use std::ops::Range;

use chrono::NaiveDateTime;
use rust_decimal::Decimal;
use toml::Spanned;

use super::ladder::{HouseholdBonus, Ladder};
use super::tou::TouSchedule;

/// Most thresholds a ladder may have (the meter holds 6, §1.2).
pub const MAX_THRESHOLDS: usize = 6;

/// A plan that cannot be read or is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error("{file}: {reason}")]
    Read {
        /// The plan file.
        file: String,
        /// Why.
        reason: String,
    },
    /// The file is not valid TOML, does not fit the plan format or breaks a rule.
    #[error("{file}:{line}: {reason}")]
    Invalid {
        /// The plan file.
        file: String,
        /// 1-based line of the offending value.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// No built-in plan has this name.
    #[error("no built-in tariff plan {name:?} (known: {known})")]
    UnknownBuiltin {
        /// The name asked for.
        name: String,
        /// The names that exist.
        known: String,
    },
}

/// A fault at a byte span of the plan text, before the file name and line are attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fault {
    pub(crate) span: Range<usize>,
    pub(crate) reason: String,
}

impl Fault {
    pub(crate) fn new(span: Range<usize>, reason: impl Into<String>) -> Self {
        Self {
            span,
            reason: reason.into(),
        }
    }

    fn at<T>(spanned: &Spanned<T>, reason: impl Into<String>) -> Self {
        Self::new(spanned.span(), reason)
    }

    fn locate(self, text: &str, file: &str) -> PlanError {
        PlanError::Invalid {
            file: file.to_string(),
            line: line_of(text, self.span.start),
            reason: self.reason,
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// How tier boundaries inside a billing period are allocated to TOU classes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allocation {
    /// Intervals fill the tiers in time order, as the meter does (the default).
    #[default]
    Chronological,
    /// Each tier's kWh is split across classes in proportion to the period's class shares.
    ProRata,
}

/// The tier × class price matrix, yuan/kWh. A cell the sources lack is `None` (unverified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceMatrix {
    /// Column names, in display order (sharp, peak, flat, valley, then others).
    pub classes: Vec<String>,
    /// Number of tiers (rows).
    pub tiers: usize,
    cells: Vec<Option<Decimal>>,
}

impl PriceMatrix {
    /// The price of (`tier`, `class`), both 0-based; `None` if unverified or out of range.
    pub fn price(&self, tier: usize, class: usize) -> Option<Decimal> {
        if tier >= self.tiers || class >= self.classes.len() {
            return None;
        }
        self.cells[tier * self.classes.len() + class]
    }

    /// The column of a class name.
    pub fn class_index(&self, class: &str) -> Option<usize> {
        self.classes.iter().position(|c| c == class)
    }

    /// Whether every cell has a price.
    pub fn is_complete(&self) -> bool {
        self.cells.iter().all(Option::is_some)
    }
}

/// One version of a plan, in force from `effective_from` until the next version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanVersion {
    /// Local date and time from which this version applies.
    pub effective_from: NaiveDateTime,
    /// Fields of this version the sources do not give (see the file's comments).
    pub unverified: Vec<String>,
    /// The ladder.
    pub ladder: Ladder,
    /// The household-size bonus, if the plan has one.
    pub household_bonus: Option<HouseholdBonus>,
    /// The TOU schedule; `None` when the hours are unverified (the version cannot be priced).
    pub tou: Option<TouSchedule>,
    /// The price matrix.
    pub prices: PriceMatrix,
}

/// A validated tariff plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TariffPlan {
    /// Plan name, e.g. `zhejiang-residential`.
    pub name: String,
    /// Region it applies to.
    pub region: String,
    /// Where the numbers come from.
    pub source: String,
    /// The file it was read from.
    pub file: String,
    /// Allocation of tier boundaries within a billing period.
    pub allocation: Allocation,
    /// Whether export (reverse energy) offsets later consumption; see `docs/billing.md`.
    pub net_metering: bool,
    /// Plan-level fields the sources do not give.
    pub unverified: Vec<String>,
    /// Versions, by strictly increasing `effective_from`.
    pub versions: Vec<PlanVersion>,
}

impl TariffPlan {
    /// Parses and validates a plan; `file` names it in error messages.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, PlanError> {
        let raw: file::RawPlan = toml::from_str(text).map_err(|e| PlanError::Invalid {
            file: file.to_string(),
            line: e.span().map_or(1, |s| line_of(text, s.start)),
            reason: e.message().to_string(),
        })?;
        raw.validate(file).map_err(|fault| fault.locate(text, file))
    }

    /// Reads and validates a plan file.
    pub fn load(path: &std::path::Path) -> Result<Self, PlanError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PlanError::Read {
            file: file.clone(),
            reason: e.to_string(),
        })?;
        Self::from_toml(&text, &file)
    }

    /// The version in force at local time `at`, with its index.
    pub fn version_at(&self, at: NaiveDateTime) -> Option<(usize, &PlanVersion)> {
        let index = self
            .versions
            .partition_point(|v| v.effective_from <= at)
            .checked_sub(1)?;
        Some((index, &self.versions[index]))
    }
}
