//! Alarms for maintenance staff: what they are about and their lifecycle (raised → acknowledged →
//! cleared). Reading rules come from [`analytics::diagnosis`]; the command kinds are the control
//! service's own.

use std::fmt;
use std::str::FromStr;

use analytics::diagnosis::{AlarmRule, Severity};

/// What an alarm is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlarmKind {
    /// A rule on the meter's readings.
    Reading(AlarmRule),
    /// A relay command failed (refused, silent, expired).
    CommandFailed,
    /// The relay state the meter reports disagrees with what the account needs.
    RelayMismatch,
}

impl AlarmKind {
    /// The stored name (the rule's name for reading rules).
    pub fn name(self) -> &'static str {
        match self {
            Self::Reading(rule) => rule.name(),
            Self::CommandFailed => "command_failed",
            Self::RelayMismatch => "relay_mismatch",
        }
    }

    /// How serious it is.
    pub fn severity(self) -> Severity {
        match self {
            Self::Reading(rule) => rule.severity(),
            Self::CommandFailed | Self::RelayMismatch => Severity::Critical,
        }
    }
}

impl AlarmKind {
    /// Its names (中文, English), for pages and staff e-mails.
    pub fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Reading(rule) => rule_names(rule),
            Self::CommandFailed => ("控制命令失败", "command failed"),
            Self::RelayMismatch => ("继电器状态不符", "relay mismatch"),
        }
    }
}

fn rule_names(rule: AlarmRule) -> (&'static str, &'static str) {
    match rule {
        AlarmRule::VoltageLow => ("低电压", "voltage low"),
        AlarmRule::VoltageHigh => ("过电压", "voltage high"),
        AlarmRule::VoltageLoss => ("失压", "voltage loss"),
        AlarmRule::PowerFactorLow => ("功率因数低", "power factor low"),
        AlarmRule::FrequencyOutOfBand => ("频率越限", "frequency out of band"),
        AlarmRule::MeterSilent => ("电表无应答", "meter silent"),
        AlarmRule::StuckRegister => ("电量不走字", "register stuck"),
        AlarmRule::Bypass => ("疑似绕越计量", "bypass suspected"),
        AlarmRule::ReverseEnergy => ("反向电量", "reverse energy"),
        AlarmRule::EnergyWhileRelayOpen => ("拉闸后仍有电量", "energy while relay open"),
        AlarmRule::RegisterBackwards => ("电量倒走", "register backwards"),
        AlarmRule::MeterReplaced => ("换表", "meter replaced"),
        AlarmRule::TouSumMismatch => ("分时电量之和不符", "TOU sum mismatch"),
        AlarmRule::ClockDrift => ("时钟偏差", "clock drift"),
        AlarmRule::BatteryLow => ("电池欠压", "battery low"),
        AlarmRule::ClockFault => ("时钟故障", "clock fault"),
        AlarmRule::MeterHardwareFault => ("电表硬件故障", "meter hardware fault"),
        AlarmRule::SlowReplies => ("应答超时", "slow replies"),
        AlarmRule::LineNoise => ("线路干扰", "line noise"),
        AlarmRule::CoverOpened => ("开表盖", "cover opened"),
        AlarmRule::LineLossHigh => ("台区高损", "line loss high"),
        AlarmRule::LineLossNegative => ("台区负损", "line loss negative"),
        AlarmRule::CollectionLow => ("采集成功率低", "collection low"),
        AlarmRule::TheftSuspected => ("窃电嫌疑", "theft suspected"),
    }
}

impl fmt::Display for AlarmKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AlarmKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "command_failed" => Ok(Self::CommandFailed),
            "relay_mismatch" => Ok(Self::RelayMismatch),
            other => other
                .parse::<AlarmRule>()
                .map(Self::Reading)
                .map_err(|_| format!("unknown alarm kind {other:?}")),
        }
    }
}

/// Where an alarm is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmState {
    /// Raised, nobody has taken it yet.
    Raised,
    /// Someone has taken it.
    Acknowledged,
    /// Over: the condition ended or someone closed it with a note.
    Cleared,
}

impl AlarmState {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Raised => "raised",
            Self::Acknowledged => "acknowledged",
            Self::Cleared => "cleared",
        }
    }

    /// The state after acknowledging, or why not.
    pub fn acknowledge(self) -> Result<Self, String> {
        match self {
            Self::Raised => Ok(Self::Acknowledged),
            Self::Acknowledged => Err("the alarm is already acknowledged".into()),
            Self::Cleared => Err("the alarm is already cleared".into()),
        }
    }

    /// The state after clearing, or why not.
    pub fn clear(self) -> Result<Self, String> {
        match self {
            Self::Raised | Self::Acknowledged => Ok(Self::Cleared),
            Self::Cleared => Err("the alarm is already cleared".into()),
        }
    }
}

impl FromStr for AlarmState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Raised, Self::Acknowledged, Self::Cleared]
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| format!("unknown alarm state {s:?} (raised, acknowledged, cleared)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_round_trip() {
        for rule in AlarmRule::ALL {
            let kind = AlarmKind::Reading(rule);
            assert_eq!(kind.name().parse::<AlarmKind>(), Ok(kind));
        }
        for kind in [AlarmKind::CommandFailed, AlarmKind::RelayMismatch] {
            assert_eq!(kind.name().parse::<AlarmKind>(), Ok(kind));
        }
        assert!("nonsense".parse::<AlarmKind>().is_err());
    }

    #[test]
    fn the_lifecycle_only_moves_forward() {
        let raised = AlarmState::Raised;
        assert_eq!(raised.acknowledge(), Ok(AlarmState::Acknowledged));
        assert_eq!(raised.clear(), Ok(AlarmState::Cleared));
        assert!(AlarmState::Acknowledged.acknowledge().is_err());
        assert_eq!(AlarmState::Acknowledged.clear(), Ok(AlarmState::Cleared));
        assert!(AlarmState::Cleared.clear().is_err());
        assert!(AlarmState::Cleared.acknowledge().is_err());
    }
}
