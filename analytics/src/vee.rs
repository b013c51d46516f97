//! Validation, estimation and editing (VEE) of interval data, as meter-data-management systems do it
//! (`docs/vee.md`): every meter's day of 15-minute intervals goes through a fixed order of rules —
//! remove what is invalid, check for gaps, estimate, apply people's edits — and lands in the lake's
//! `validated_intervals` table beside the raw readings, which are never overwritten.
//!
//! - [`rules`] judges one meter-day (pure: no I/O) and [`estimate`] fills what it removed or found
//!   missing (linear interpolation, or the meter's own profile of recent days of the same kind);
//! - [`history`] reads each meter's recent profile and average daily use from the lake;
//! - [`run`] validates a date range and writes the table ([`table`]); bills read it through
//!   [`crate::LakeSession::bill_validated_energy`].

pub mod config;
pub mod estimate;
pub mod history;
pub mod rules;
pub mod run;
pub mod table;

pub use config::{InvalidVeeConfig, KindLimits, VeeConfig};
pub use history::History;
pub use rules::{validate_day, MeterDay};
pub use run::{run, DaySummary};

use rust_decimal::Decimal;

/// What VEE concluded about an interval's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// The measured value passed every rule that removes values (it may still carry flags).
    Valid,
    /// The value is an estimate ([`Method`] says how).
    Estimated,
    /// A person set the value.
    Edited,
    /// Neither measured nor estimable (no neighbours, no profile).
    Unestimated,
}

impl Status {
    /// The `status` column's value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Estimated => "estimated",
            Self::Edited => "edited",
            Self::Unestimated => "unestimated",
        }
    }
}

/// How an interval's value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// Measured: the register difference of one interval.
    Measured,
    /// Linear: a register gap spread evenly, or interpolated between the neighbouring valid intervals.
    Linear,
    /// The meter's own profile of recent days of the same kind (workday or weekend), scaled to the
    /// register gap's energy when the registers bracket it.
    Profile,
    /// Set by a person.
    Edit,
    /// No value.
    None,
}

impl Method {
    /// The `method` column's value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Measured => "measured",
            Self::Linear => "linear",
            Self::Profile => "profile",
            Self::Edit => "edit",
            Self::None => "none",
        }
    }

    /// The method named `name` (as [`Method::name`] gives it).
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Measured,
            Self::Linear,
            Self::Profile,
            Self::Edit,
            Self::None,
        ]
        .into_iter()
        .find(|m| m.name() == name)
    }
}

/// A rule's mark on an interval. Rules that *remove* the value make it [`Flag::removes_value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// The register went backwards without a rollover or replacement.
    RegisterBackwards,
    /// Above the largest plausible energy of one interval for the meter's kind.
    AboveMaximum,
    /// The day's highest interval(s) against its third highest.
    Spike,
    /// The register did not move while current flowed at both ends.
    ZeroWithCurrent,
    /// No reading pair covers the interval (the meter was silent).
    Gap,
    /// Reverse energy on a meter without PV.
    ReverseWithoutPv,
    /// The four TOU registers' differences do not add up to the total register's.
    TouSumMismatch,
    /// Energy recorded while the relay was open at both ends (a bypass sign).
    EnergyWhileRelayOpen,
    /// The meter's clock was further off than allowed at the reading that closes the interval.
    ClockDrift,
    /// The meter was replaced inside the interval (the new register started at zero).
    Replaced,
    /// The readings around it are not a whole number of intervals apart.
    Unaligned,
    /// The day's energy is far above the meter's average daily use.
    HighUsage,
    /// The day's energy is far below the meter's average daily use.
    LowUsage,
    /// The meter has been estimated for more than the allowed consecutive days.
    ProlongedEstimation,
}

impl Flag {
    /// Every flag, in the order the rules run.
    pub const ALL: [Flag; 14] = [
        Self::RegisterBackwards,
        Self::AboveMaximum,
        Self::Spike,
        Self::ZeroWithCurrent,
        Self::Gap,
        Self::ReverseWithoutPv,
        Self::TouSumMismatch,
        Self::EnergyWhileRelayOpen,
        Self::ClockDrift,
        Self::Replaced,
        Self::Unaligned,
        Self::HighUsage,
        Self::LowUsage,
        Self::ProlongedEstimation,
    ];

    /// The name in the `flags` column.
    pub fn name(self) -> &'static str {
        match self {
            Self::RegisterBackwards => "register_backwards",
            Self::AboveMaximum => "above_maximum",
            Self::Spike => "spike",
            Self::ZeroWithCurrent => "zero_with_current",
            Self::Gap => "gap",
            Self::ReverseWithoutPv => "reverse_without_pv",
            Self::TouSumMismatch => "tou_sum_mismatch",
            Self::EnergyWhileRelayOpen => "energy_while_relay_open",
            Self::ClockDrift => "clock_drift",
            Self::Replaced => "replaced",
            Self::Unaligned => "unaligned",
            Self::HighUsage => "high_usage",
            Self::LowUsage => "low_usage",
            Self::ProlongedEstimation => "prolonged_estimation",
        }
    }

    /// Whether the rule removes the measured value (so it is estimated).
    pub fn removes_value(self) -> bool {
        matches!(
            self,
            Self::RegisterBackwards
                | Self::AboveMaximum
                | Self::Spike
                | Self::ZeroWithCurrent
                | Self::Gap
        )
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// A set of [`Flag`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u32);

impl Flags {
    /// Adds `flag`.
    pub fn insert(&mut self, flag: Flag) {
        self.0 |= flag.bit();
    }

    /// Whether `flag` is set.
    pub fn contains(self, flag: Flag) -> bool {
        self.0 & flag.bit() != 0
    }

    /// Whether any flag removes the measured value.
    pub fn removes_value(self) -> bool {
        Flag::ALL
            .iter()
            .any(|f| f.removes_value() && self.contains(*f))
    }

    /// The flags set, in rule order.
    pub fn iter(self) -> impl Iterator<Item = Flag> {
        Flag::ALL.into_iter().filter(move |f| self.contains(*f))
    }

    /// The `flags` column's text: names joined by commas, rule order (empty: none).
    pub fn names(self) -> String {
        self.iter().map(Flag::name).collect::<Vec<_>>().join(",")
    }
}

/// A person's correction of one interval, kept with who made it and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntervalEdit {
    /// Meter.
    pub meter_id: String,
    /// The interval's start, UTC µs.
    pub interval_start_us: i64,
    /// The value set, kWh (at most six decimals).
    pub kwh: Decimal,
    /// Who set it (a user name).
    pub edited_by: String,
    /// Why.
    pub reason: String,
    /// When, UTC µs.
    pub edited_at_us: i64,
}

/// One validated interval of a meter-day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedInterval {
    /// Start, UTC µs.
    pub start_us: i64,
    /// Position in the local day (0 at local midnight).
    pub slot: i32,
    /// The measured energy (register difference) in micro-kWh, when one interval's readings gave one.
    pub raw_e6: Option<i64>,
    /// The validated energy in micro-kWh (`None`: unestimated).
    pub value_e6: Option<i64>,
    /// What VEE concluded.
    pub status: Status,
    /// How the value was obtained.
    pub method: Method,
    /// What the rules marked.
    pub flags: Flags,
    /// The edit that set the value, if any.
    pub edit: Option<IntervalEdit>,
}

#[cfg(test)]
mod tests;
