//! Fault injection: scheduled faults per meter, from an explicit list and/or a seeded random share per kind.
//! Every injected fault is also a label row (`faults.csv`, see `docs/contracts.md`) so models can be scored.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::profile::unit_hash;

/// A kind of injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    /// Voltage sag: the supply voltage drops (magnitude = voltage factor, default 0.80).
    VoltageSag,
    /// Voltage swell: the supply voltage rises (magnitude = voltage factor, default 1.12).
    VoltageSwell,
    /// Voltage loss (失压): no voltage, no load; the meter still answers on its auxiliary supply.
    VoltageLoss,
    /// Stuck register: power and current show, the energy registers stop.
    StuckRegister,
    /// Reverse-energy theft: consumption runs into the reverse register and power shows negative.
    ReverseTheft,
    /// Bypass (绕越): current flows, but power shows zero and the energy registers stop.
    Bypass,
    /// Relay failure: commanded open, status shows open, but current still flows and energy accumulates.
    RelayFailure,
    /// Meter replacement at the start time: registers restart from zero under a new meter number.
    MeterReplacement,
    /// Communication drop-out: the DTU sends nothing for the meter during the window.
    CommDropout,
    /// Communication timeout: replies leave the DTU late (magnitude = delay in ms, wall clock, default 3000).
    CommTimeout,
    /// Garbage bytes on the line before and after each reply (magnitude = bytes per side, default 8).
    Garbage,
}

impl FaultKind {
    /// Every kind, in label order.
    pub const ALL: [FaultKind; 11] = [
        Self::VoltageSag,
        Self::VoltageSwell,
        Self::VoltageLoss,
        Self::StuckRegister,
        Self::ReverseTheft,
        Self::Bypass,
        Self::RelayFailure,
        Self::MeterReplacement,
        Self::CommDropout,
        Self::CommTimeout,
        Self::Garbage,
    ];

    /// The label written to `faults.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Self::VoltageSag => "voltage_sag",
            Self::VoltageSwell => "voltage_swell",
            Self::VoltageLoss => "voltage_loss",
            Self::StuckRegister => "stuck_register",
            Self::ReverseTheft => "reverse_theft",
            Self::Bypass => "bypass",
            Self::RelayFailure => "relay_failure",
            Self::MeterReplacement => "meter_replacement",
            Self::CommDropout => "comm_dropout",
            Self::CommTimeout => "comm_timeout",
            Self::Garbage => "garbage",
        }
    }

    /// The magnitude used when none is given (see each kind).
    pub fn default_magnitude(self) -> f64 {
        match self {
            Self::VoltageSag => 0.80,
            Self::VoltageSwell => 1.12,
            Self::CommTimeout => 3000.0,
            Self::Garbage => 8.0,
            _ => 0.0,
        }
    }

    fn salt(self) -> u64 {
        0xFA17_0000 + self as u64
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown fault name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fault kind {0:?} (expected one of voltage_sag, voltage_swell, voltage_loss, stuck_register, reverse_theft, bypass, relay_failure, meter_replacement, comm_dropout, comm_timeout, garbage)")]
pub struct UnknownFaultKind(pub String);

impl FromStr for FaultKind {
    type Err = UnknownFaultKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| UnknownFaultKind(s.to_string()))
    }
}

/// One fault of one meter, active in `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fault {
    /// Kind.
    pub kind: FaultKind,
    /// First instant (true time).
    pub start: DateTime<Utc>,
    /// End, exclusive (a meter replacement happens at `start`; its `end` is ignored).
    pub end: DateTime<Utc>,
    /// Kind-specific size (see [`FaultKind`]); [`FaultKind::default_magnitude`] when built with [`Fault::new`].
    pub magnitude: f64,
}

impl Fault {
    /// A fault with the kind's default magnitude.
    pub fn new(kind: FaultKind, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            kind,
            start,
            end,
            magnitude: kind.default_magnitude(),
        }
    }

    /// Whether the fault is in effect at true time `t`.
    pub fn active(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }

    /// The `detail` column of the label row.
    pub fn detail(&self, meter_number: u64, replacement: usize) -> String {
        match self.kind {
            FaultKind::VoltageSag | FaultKind::VoltageSwell => {
                format!("voltage_factor={:.2}", self.magnitude)
            }
            FaultKind::CommTimeout => format!("delay_ms={:.0}", self.magnitude),
            FaultKind::Garbage => format!("bytes={:.0}", self.magnitude),
            FaultKind::MeterReplacement => format!(
                "new_meter_number={:012}",
                replacement_number(meter_number, replacement)
            ),
            _ => String::new(),
        }
    }
}

/// The meter number (表号) after the `k`-th replacement of the meter first numbered `original` (k = 0: itself).
pub fn replacement_number(original: u64, k: usize) -> u64 {
    (original + k as u64 * 10_000_000_000) % 1_000_000_000_000
}

/// A fault for one meter, named by its address number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScheduledFault {
    /// Address number of the meter (customer or supply).
    pub meter_number: u64,
    /// The fault.
    pub fault: Fault,
}

/// A seeded random share of customer meters that get one fault of a kind in a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RandomFaults {
    /// Kind.
    pub kind: FaultKind,
    /// Share of customer meters, 0..=1.
    pub share: f64,
    /// Window start.
    pub start: DateTime<Utc>,
    /// Window end.
    pub end: DateTime<Utc>,
    /// Kind-specific size of every drawn fault ([`FaultKind::default_magnitude`] from
    /// [`FaultConfig::random_share`]).
    pub magnitude: f64,
}

impl RandomFaults {
    /// The fault of a drawn meter: it starts at a seeded point of the window's first half and lasts half the
    /// window (a meter replacement happens at that point).
    fn fault_for(&self, seed: u64, number: u64) -> Fault {
        let half = (self.end - self.start) / 2;
        let offset = unit_hash(seed ^ self.kind.salt() ^ 0x57A7, number);
        let micros = (half.num_microseconds().unwrap_or(0) as f64 * offset) as i64;
        let start = self.start + chrono::Duration::microseconds(micros);
        let end = if self.kind == FaultKind::MeterReplacement {
            start
        } else {
            start + half
        };
        Fault {
            magnitude: self.magnitude,
            ..Fault::new(self.kind, start, end)
        }
    }
}

/// Which faults to inject.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Explicit faults.
    pub scheduled: Vec<ScheduledFault>,
    /// Random shares per kind (customer meters only).
    pub random: Vec<RandomFaults>,
}

impl FaultConfig {
    /// The same share of every kind in one window.
    pub fn random_share(share: f64, start: DateTime<Utc>, end: DateTime<Utc>) -> Self {
        Self {
            scheduled: Vec::new(),
            random: FaultKind::ALL
                .into_iter()
                .map(|kind| RandomFaults {
                    kind,
                    share,
                    start,
                    end,
                    magnitude: kind.default_magnitude(),
                })
                .collect(),
        }
    }

    /// The faults of meter `number`, sorted by start; `random` says whether the random shares apply.
    pub fn faults_for(&self, seed: u64, number: u64, random: bool) -> Vec<Fault> {
        let mut faults: Vec<Fault> = self
            .scheduled
            .iter()
            .filter(|s| s.meter_number == number)
            .map(|s| s.fault)
            .collect();
        if random {
            faults.extend(
                self.random
                    .iter()
                    .filter(|r| unit_hash(seed ^ r.kind.salt(), number) < r.share)
                    .map(|r| r.fault_for(seed, number)),
            );
        }
        faults.sort_by_key(|f| f.start);
        faults
    }
}

/// Whether any fault of `kind` is active at `t`.
pub fn any_active(faults: &[Fault], kind: FaultKind, t: DateTime<Utc>) -> Option<&Fault> {
    faults.iter().find(|f| f.kind == kind && f.active(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_shares_are_seeded_and_explicit_faults_kept() {
        let start: DateTime<Utc> = "2026-10-01T00:00:00Z".parse().unwrap();
        let end = start + chrono::Duration::hours(6);
        let mut config = FaultConfig::random_share(0.1, start, end);
        config.scheduled.push(ScheduledFault {
            meter_number: 5,
            fault: Fault::new(FaultKind::Bypass, end, end + chrono::Duration::hours(1)),
        });
        let total: usize = (0..1000).map(|n| config.faults_for(9, n, true).len()).sum();
        assert!(
            (800..1400).contains(&total),
            "{total} faults for 1000 meters × 11 kinds × 10 %"
        );
        assert_eq!(
            config.faults_for(9, 77, true),
            config.faults_for(9, 77, true)
        );
        let five = config.faults_for(9, 5, false);
        assert_eq!(five.len(), 1);
        assert_eq!(five[0].magnitude, 0.0);
        assert!(five[0].active(end) && !five[0].active(end + chrono::Duration::hours(1)));
        assert_eq!(
            "comm_timeout".parse::<FaultKind>(),
            Ok(FaultKind::CommTimeout)
        );
        assert!("nope".parse::<FaultKind>().is_err());
        assert_eq!(replacement_number(1001, 1), 10_000_001_001);
        assert_eq!(
            Fault::new(FaultKind::VoltageSag, start, end).detail(1, 0),
            "voltage_factor=0.80"
        );
    }
}
