//! Tariff plans as data and the pricing engine.
//!
//! - [`plan`]: the plan model read from TOML ([`TariffPlan`]) with versions, ladders, TOU schedules,
//!   the tier × class price matrix and the household bonus; validation names file and line.
//! - [`tou`]: time-of-use periods (尖/峰/平/谷) and their seasons.
//! - [`ladder`]: tiered ladders (阶梯), accounting periods and settlement.
//! - [`engine`]: [`Pricer`] prices a meter's intervals into [`LineItem`]s and a [`TariffBill`].
//! - [`daily`]: daily charges with a true-up to the monthly bill.
//! - [`usage`]: usage files for `meterlake tariff quote`.
//! - [`exact`]: exact numbers and the rounding rule: line items keep full precision, the bill
//!   total is rounded half-up to the fen ([`FEN_ROUNDING`]).
//!
//! The allocation rules are argued in `docs/billing.md`.

pub mod bill;
pub mod daily;
pub mod engine;
pub mod exact;
pub mod ladder;
pub mod plan;
pub mod tou;
pub mod usage;

pub use bill::{AccountTerms, BillingPeriod, Interval, LineItem, TariffBill};
pub use daily::{daily_charges, DailyCharges, DailySplit, DayCharge};
pub use engine::{PreparedPeriod, Pricer, PricingError};
pub use exact::{round_to_fen, KwhE6, FEN_ROUNDING};
pub use ladder::{Accounting, HouseholdBonus, Ladder, Settlement};
pub use plan::{Allocation, PlanError, PlanVersion, PriceMatrix, TariffPlan};
pub use usage::{parse_usage, quote, UsageError};

/// The plans shipped in `tariffs/`: (name, file, text).
const BUILTIN: [(&str, &str, &str); 9] = [
    (
        "beijing-residential",
        "tariffs/beijing-residential.toml",
        include_str!("../../tariffs/beijing-residential.toml"),
    ),
    (
        "shanghai-residential",
        "tariffs/shanghai-residential.toml",
        include_str!("../../tariffs/shanghai-residential.toml"),
    ),
    (
        "zhejiang-residential",
        "tariffs/zhejiang-residential.toml",
        include_str!("../../tariffs/zhejiang-residential.toml"),
    ),
    (
        "zhejiang-residential-tou",
        "tariffs/zhejiang-residential-tou.toml",
        include_str!("../../tariffs/zhejiang-residential-tou.toml"),
    ),
    (
        "zhejiang-shared-meter",
        "tariffs/zhejiang-shared-meter.toml",
        include_str!("../../tariffs/zhejiang-shared-meter.toml"),
    ),
    (
        "zhejiang-shared-meter-10kv",
        "tariffs/zhejiang-shared-meter-10kv.toml",
        include_str!("../../tariffs/zhejiang-shared-meter-10kv.toml"),
    ),
    (
        "guangdong-residential",
        "tariffs/guangdong-residential.toml",
        include_str!("../../tariffs/guangdong-residential.toml"),
    ),
    (
        "shanghai-tou-tier1",
        "tariffs/shanghai-tou-tier1.toml",
        include_str!("../../tariffs/shanghai-tou-tier1.toml"),
    ),
    (
        "beijing-flat-tier1",
        "tariffs/beijing-flat-tier1.toml",
        include_str!("../../tariffs/beijing-flat-tier1.toml"),
    ),
];

/// Names of the plans shipped with meterlake.
pub fn builtin_names() -> impl Iterator<Item = &'static str> {
    BUILTIN.iter().map(|(name, _, _)| *name)
}

/// A plan shipped with meterlake, by name.
pub fn builtin(name: &str) -> Result<TariffPlan, PlanError> {
    let Some((_, file, text)) = BUILTIN.iter().find(|(n, _, _)| *n == name) else {
        return Err(PlanError::UnknownBuiltin {
            name: name.to_string(),
            known: builtin_names().collect::<Vec<_>>().join(", "),
        });
    };
    TariffPlan::from_toml(text, file)
}

/// A built-in plan by name, or a plan file when `name_or_path` ends in `.toml`.
pub fn resolve(name_or_path: &str) -> Result<TariffPlan, PlanError> {
    if name_or_path.ends_with(".toml") {
        TariffPlan::load(std::path::Path::new(name_or_path))
    } else {
        builtin(name_or_path)
    }
}

#[cfg(test)]
mod hand_tests;
#[cfg(test)]
mod plan_tests;
#[cfg(test)]
mod prop_tests;
