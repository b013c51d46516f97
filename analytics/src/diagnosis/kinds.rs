//! What an alarm is about: its rule and how serious it is.

use std::fmt;
use std::str::FromStr;

/// How urgently maintenance staff should act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; no field visit by itself.
    Info,
    /// Degraded supply or metering; plan a visit.
    Warning,
    /// Revenue or safety at stake; act today.
    Critical,
}

impl Severity {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

impl FromStr for Severity {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Info, Self::Warning, Self::Critical]
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| UnknownName(s.to_string()))
    }
}

/// A name that is not one of the enum's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown name {0:?}")]
pub struct UnknownName(pub String);

/// The rule an alarm was raised by (`docs/diagnosis.md` lists each with its parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmRule {
    /// Voltage below the band (GB/T 12325: −10 % of nominal) for N readings.
    VoltageLow,
    /// Voltage above the band (+7 % of nominal) for N readings.
    VoltageHigh,
    /// No voltage (失压) while the meter still answers.
    VoltageLoss,
    /// Power factor below the limit while a load flows.
    PowerFactorLow,
    /// Frequency outside the band.
    FrequencyOutOfBand,
    /// No answer for N consecutive collection rounds.
    MeterSilent,
    /// Power flows but the energy register does not move.
    StuckRegister,
    /// Current flows but the meter measures no power: the load bypasses the metering element (绕越).
    Bypass,
    /// Reverse energy on a meter without PV (reverse wiring or theft).
    ReverseEnergy,
    /// Energy or current while the relay reports open: a failed relay or a bypass around it.
    EnergyWhileRelayOpen,
    /// The register went backwards without a rollover or a registered replacement.
    RegisterBackwards,
    /// The register restarted at a registered meter replacement.
    MeterReplaced,
    /// The TOU registers' sum disagrees with the total register.
    TouSumMismatch,
    /// The meter's clock is off by more than the limit.
    ClockDrift,
    /// Status word 1 reports a low clock or reading battery.
    BatteryLow,
    /// Status word 1 reports a clock fault.
    ClockFault,
    /// Status word 1 reports a control-loop, ESAM, program or memory fault.
    MeterHardwareFault,
    /// Replies reach the collector after its timeout.
    SlowReplies,
    /// Line noise: bytes around the meter's replies that are not part of a frame.
    LineNoise,
    /// The meter's cover or terminal cover was opened (event record).
    CoverOpened,
    /// A transformer area lost more of its supply than allowed over a day (高损台区), on its supply
    /// meter.
    LineLossHigh,
    /// A transformer area's customers recorded more than its supply meter over a day (负损台区).
    LineLossNegative,
    /// Too few of an area's scheduled readings answered over a day, on its supply meter.
    CollectionLow,
    /// The meter is at the top of the daily theft inspection list (`docs/prediction.md`).
    TheftSuspected,
}

impl AlarmRule {
    /// Every rule, in documentation order.
    pub const ALL: [AlarmRule; 24] = [
        Self::VoltageLow,
        Self::VoltageHigh,
        Self::VoltageLoss,
        Self::PowerFactorLow,
        Self::FrequencyOutOfBand,
        Self::MeterSilent,
        Self::StuckRegister,
        Self::Bypass,
        Self::ReverseEnergy,
        Self::EnergyWhileRelayOpen,
        Self::RegisterBackwards,
        Self::MeterReplaced,
        Self::TouSumMismatch,
        Self::ClockDrift,
        Self::BatteryLow,
        Self::ClockFault,
        Self::MeterHardwareFault,
        Self::SlowReplies,
        Self::LineNoise,
        Self::CoverOpened,
        Self::LineLossHigh,
        Self::LineLossNegative,
        Self::CollectionLow,
        Self::TheftSuspected,
    ];

    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::VoltageLow => "voltage_low",
            Self::VoltageHigh => "voltage_high",
            Self::VoltageLoss => "voltage_loss",
            Self::PowerFactorLow => "power_factor_low",
            Self::FrequencyOutOfBand => "frequency_out_of_band",
            Self::MeterSilent => "meter_silent",
            Self::StuckRegister => "stuck_register",
            Self::Bypass => "bypass",
            Self::ReverseEnergy => "reverse_energy",
            Self::EnergyWhileRelayOpen => "energy_while_relay_open",
            Self::RegisterBackwards => "register_backwards",
            Self::MeterReplaced => "meter_replaced",
            Self::TouSumMismatch => "tou_sum_mismatch",
            Self::ClockDrift => "clock_drift",
            Self::BatteryLow => "battery_low",
            Self::ClockFault => "clock_fault",
            Self::MeterHardwareFault => "meter_hardware_fault",
            Self::SlowReplies => "slow_replies",
            Self::LineNoise => "line_noise",
            Self::CoverOpened => "cover_opened",
            Self::LineLossHigh => "line_loss_high",
            Self::LineLossNegative => "line_loss_negative",
            Self::CollectionLow => "collection_low",
            Self::TheftSuspected => "theft_suspected",
        }
    }

    /// How serious an alarm of this rule is.
    pub fn severity(self) -> Severity {
        match self {
            Self::VoltageLoss
            | Self::Bypass
            | Self::ReverseEnergy
            | Self::EnergyWhileRelayOpen
            | Self::StuckRegister
            | Self::CoverOpened => Severity::Critical,
            Self::MeterReplaced | Self::FrequencyOutOfBand | Self::LineNoise => Severity::Info,
            _ => Severity::Warning,
        }
    }
}

impl fmt::Display for AlarmRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AlarmRule {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| UnknownName(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for rule in AlarmRule::ALL {
            assert_eq!(rule.name().parse::<AlarmRule>(), Ok(rule));
        }
        let names: std::collections::HashSet<_> = AlarmRule::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), AlarmRule::ALL.len());
        assert_eq!("critical".parse::<Severity>(), Ok(Severity::Critical));
        assert!("loud".parse::<Severity>().is_err());
    }
}
