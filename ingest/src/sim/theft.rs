//! Electricity theft (窃电) injected into simulated meters, with an onset date and an intensity, so that
//! theft models can be trained and scored against known answers (`theft.csv`, `docs/contracts.md`).
//!
//! The kinds follow the false-data attacks of Jokar et al. (IEEE TSG 2016) — a constant or random scaling,
//! a daily window cut to zero, the day flattened to its mean (scaled or not), the day's profile reversed —
//! plus whole days zeroed, a partial bypass (part of the load bypasses the meter while the neutral current
//! still shows all of it) and reverse wiring (part of the energy runs into the reverse register).

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use super::profile::unit_hash;

/// Quarter-hours in a day.
pub const SLOTS: usize = 96;

/// A kind of electricity theft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TheftKind {
    /// Every interval scaled by `1 − intensity` (h1: a slowed meter, a magnet).
    Scale,
    /// Every interval scaled by its own random factor averaging `1 − intensity` (h3).
    RandomScale,
    /// A daily window of `intensity × 58` quarter-hours (at least four) registers nothing (h2).
    DailyWindow,
    /// Every interval moved towards the day's mean by `intensity`: the same energy, less at peak (h5).
    Flatten,
    /// Every interval replaced by the day's mean scaled by `1 − intensity` (h4).
    FlattenScaled,
    /// The day's profile moved towards its reverse in time by `intensity` (h6: peak load billed as valley).
    Reversed,
    /// Each day registers nothing with probability `intensity` (zeroed windows of whole days).
    ZeroDays,
    /// A share `intensity` of the load bypasses the meter; the neutral current still carries all of it.
    Bypass,
    /// A share `intensity` of the energy runs into the reverse register (reverse wiring).
    ReverseWiring,
}

impl TheftKind {
    /// Every kind, in label order.
    pub const ALL: [TheftKind; 9] = [
        Self::Scale,
        Self::RandomScale,
        Self::DailyWindow,
        Self::Flatten,
        Self::FlattenScaled,
        Self::Reversed,
        Self::ZeroDays,
        Self::Bypass,
        Self::ReverseWiring,
    ];

    /// The label written to `theft.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Scale => "scale",
            Self::RandomScale => "random_scale",
            Self::DailyWindow => "daily_window",
            Self::Flatten => "flatten",
            Self::FlattenScaled => "flatten_scaled",
            Self::Reversed => "reversed",
            Self::ZeroDays => "zero_days",
            Self::Bypass => "bypass",
            Self::ReverseWiring => "reverse_wiring",
        }
    }

    /// The range "moderate" intensities are drawn from for this kind.
    pub fn moderate(self) -> (f64, f64) {
        match self {
            Self::Flatten | Self::Reversed => (0.6, 1.0),
            Self::ZeroDays => (0.2, 0.5),
            _ => (0.25, 0.6),
        }
    }

    fn salt(self) -> u64 {
        0x7E_F700 + self as u64
    }
}

impl fmt::Display for TheftKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown theft kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown theft kind {0:?} (expected one of scale, random_scale, daily_window, flatten, flatten_scaled, reversed, zero_days, bypass, reverse_wiring)")]
pub struct UnknownTheftKind(pub String);

impl FromStr for TheftKind {
    type Err = UnknownTheftKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| UnknownTheftKind(s.to_string()))
    }
}

/// One meter's theft: from `onset` on, every day is altered by `kind` at `intensity` (0 < intensity ≤ 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Theft {
    /// Kind.
    pub kind: TheftKind,
    /// First local day altered.
    pub onset: NaiveDate,
    /// Size, see [`TheftKind`].
    pub intensity: f64,
    /// Seed of the kind's random choices (window position, random factors).
    pub seed: u64,
}

/// What a meter registers of a day's true load, per quarter-hour, in Wh.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredDay {
    /// Forward active energy registered.
    pub forward: [f64; SLOTS],
    /// Reverse active energy registered.
    pub reverse: [f64; SLOTS],
    /// Whether the current the meter shows is the true load's (bypass: the neutral carries all of it).
    pub current_shows_truth: bool,
}

impl RegisteredDay {
    /// An honest day: everything registered forward.
    pub fn honest(truth: &[f64; SLOTS]) -> Self {
        Self {
            forward: *truth,
            reverse: [0.0; SLOTS],
            current_shows_truth: false,
        }
    }
}

impl Theft {
    /// Whether local day `day` is altered.
    pub fn active_on(&self, day: NaiveDate) -> bool {
        day >= self.onset
    }

    /// What the meter registers on `day` of the true per-quarter-hour energy `truth` (Wh).
    pub fn registered(&self, day: NaiveDate, truth: &[f64; SLOTS]) -> RegisteredDay {
        let mut out = RegisteredDay::honest(truth);
        if !self.active_on(day) {
            return out;
        }
        let i = self.intensity.clamp(0.0, 1.0);
        let day_key = u64::try_from(day.num_days_from_ce()).unwrap_or_default();
        let draw = |slot: u64| unit_hash(self.seed ^ self.kind.salt(), day_key * 128 + slot);
        let mean = truth.iter().sum::<f64>() / SLOTS as f64;
        let f = &mut out.forward;
        match self.kind {
            TheftKind::Scale | TheftKind::Bypass => f.iter_mut().for_each(|w| *w *= 1.0 - i),
            TheftKind::RandomScale => {
                for (slot, w) in f.iter_mut().enumerate() {
                    *w *= (1.0 - i * (0.5 + draw(slot as u64))).max(0.0);
                }
            }
            TheftKind::DailyWindow => {
                let len = ((i * 58.0).round() as usize).clamp(4, SLOTS);
                // The window starts at the same quarter-hour every day, somewhere in the afternoon or evening.
                let start = 56 + (unit_hash(self.seed, 0xD0) * 32.0) as usize;
                for k in 0..len {
                    f[(start + k) % SLOTS] = 0.0;
                }
            }
            TheftKind::Flatten => f.iter_mut().for_each(|w| *w += i * (mean - *w)),
            TheftKind::FlattenScaled => f.iter_mut().for_each(|w| *w = mean * (1.0 - i)),
            TheftKind::Reversed => {
                for (slot, w) in f.iter_mut().enumerate() {
                    *w += i * (truth[SLOTS - 1 - slot] - *w);
                }
            }
            TheftKind::ZeroDays => {
                if draw(200) < i {
                    *f = [0.0; SLOTS];
                }
            }
            TheftKind::ReverseWiring => {
                for (w, r) in f.iter_mut().zip(out.reverse.iter_mut()) {
                    *r = *w * i;
                    *w *= 1.0 - i;
                }
            }
        }
        out.current_shows_truth = self.kind == TheftKind::Bypass;
        out
    }
}

/// One row of `theft.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct TheftLabel {
    /// Communication address of the meter.
    pub meter_id: String,
    /// The theft.
    pub theft: Theft,
}

/// Header of `theft.csv`.
pub const THEFT_HEADER: &str = "meter_id,type,onset,intensity";

/// A malformed `theft.csv`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("theft.csv line {line}: {reason}")]
pub struct TheftCsvError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// `theft.csv` of `labels`.
pub fn theft_csv(labels: &[TheftLabel]) -> String {
    let mut text = format!("{THEFT_HEADER}\n");
    for l in labels {
        text.push_str(&format!(
            "{},{},{},{:.3}\n",
            l.meter_id, l.theft.kind, l.theft.onset, l.theft.intensity
        ));
    }
    text
}

/// Parses `theft.csv` (the header first; the seed is not kept and reads as 0).
pub fn parse_theft_csv(text: &str) -> Result<Vec<TheftLabel>, TheftCsvError> {
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.trim() == THEFT_HEADER => {}
        _ => {
            return Err(TheftCsvError {
                line: 1,
                reason: format!("the header must be {THEFT_HEADER:?}"),
            })
        }
    }
    let mut labels = Vec::new();
    for (index, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| TheftCsvError {
            line: index + 1,
            reason,
        };
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [meter, kind, onset, intensity] = fields[..] else {
            return Err(bad(format!("expected 4 fields, found {}", fields.len())));
        };
        let kind = kind.parse::<TheftKind>().map_err(|e| bad(e.to_string()))?;
        let onset = onset
            .parse::<NaiveDate>()
            .map_err(|e| bad(format!("onset {onset:?}: {e}")))?;
        let intensity = intensity
            .parse::<f64>()
            .ok()
            .filter(|i| *i > 0.0 && *i <= 1.0)
            .ok_or_else(|| bad(format!("intensity {intensity:?} is not in (0, 1]")))?;
        labels.push(TheftLabel {
            meter_id: meter.to_string(),
            theft: Theft {
                kind,
                onset,
                intensity,
                seed: 0,
            },
        });
    }
    Ok(labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> [f64; SLOTS] {
        std::array::from_fn(|s| if (72..88).contains(&s) { 300.0 } else { 40.0 })
    }

    fn theft(kind: TheftKind, intensity: f64) -> Theft {
        Theft {
            kind,
            onset: NaiveDate::from_ymd_opt(2026, 10, 10).unwrap(),
            intensity,
            seed: 9,
        }
    }

    #[test]
    fn nothing_changes_before_onset_and_every_kind_alters_after() {
        let before = NaiveDate::from_ymd_opt(2026, 10, 9).unwrap();
        let after = NaiveDate::from_ymd_opt(2026, 10, 12).unwrap();
        let t = truth();
        for kind in TheftKind::ALL {
            let th = theft(kind, 1.0);
            assert_eq!(
                th.registered(before, &t),
                RegisteredDay::honest(&t),
                "{kind}"
            );
            assert_ne!(th.registered(after, &t).forward, t, "{kind}");
        }
    }

    #[test]
    fn kinds_keep_or_steal_energy_as_described() {
        let day = NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
        let t = truth();
        let total: f64 = t.iter().sum();
        let sum = |k, i| theft(k, i).registered(day, &t).forward.iter().sum::<f64>();
        assert!((sum(TheftKind::Scale, 0.4) - 0.6 * total).abs() < 1e-6);
        assert!((sum(TheftKind::Flatten, 1.0) - total).abs() < 1e-6);
        assert!((sum(TheftKind::Reversed, 1.0) - total).abs() < 1e-6);
        assert!((sum(TheftKind::FlattenScaled, 0.5) - 0.5 * total).abs() < 1e-6);
        let wiring = theft(TheftKind::ReverseWiring, 0.3).registered(day, &t);
        let reverse: f64 = wiring.reverse.iter().sum();
        assert!((reverse - 0.3 * total).abs() < 1e-6);
        let window = theft(TheftKind::DailyWindow, 0.5).registered(day, &t);
        assert_eq!(window.forward.iter().filter(|w| **w == 0.0).count(), 29);
        assert!(
            theft(TheftKind::Bypass, 0.5)
                .registered(day, &t)
                .current_shows_truth
        );
    }

    #[test]
    fn labels_round_trip_and_bad_rows_are_named() {
        let labels = vec![TheftLabel {
            meter_id: "000000000001".into(),
            theft: Theft {
                seed: 0,
                ..theft(TheftKind::ZeroDays, 0.25)
            },
        }];
        assert_eq!(parse_theft_csv(&theft_csv(&labels)).unwrap(), labels);
        let err =
            parse_theft_csv(&format!("{THEFT_HEADER}\n1,magnet,2026-10-01,0.5\n")).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.reason.contains("magnet"));
        let err =
            parse_theft_csv(&format!("{THEFT_HEADER}\n1,scale,2026-10-01,1.5\n")).unwrap_err();
        assert!(err.reason.contains("intensity"));
        assert!(parse_theft_csv("meter,kind\n").is_err());
    }
}
