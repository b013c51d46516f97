//! Tiered ladders (阶梯): accounting periods, settlement (阶梯结算) instants, inclusive thresholds
//! and the household-size bonus (一户多人口).

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

/// How ladder consumption is accumulated before it resets at settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Accounting {
    /// No ladder: one tier, nothing accumulates.
    None,
    /// Thresholds per month; reset every month at the settlement day and hour.
    Monthly,
    /// Thresholds per year; reset once a year at the settlement month, day and hour.
    Annual,
    /// Monthly accounting whose thresholds differ by season (e.g. Guangdong summer May–October).
    Seasonal,
}

/// The settlement instant (阶梯结算日) at which ladder consumption resets to zero, local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Settlement {
    /// Month (1–12); only meaningful for [`Accounting::Annual`].
    pub month: u32,
    /// Day of month, 1–28 (the meter accepts no later day).
    pub day: u32,
    /// Hour, 0–23.
    pub hour: u32,
}

/// Thresholds in force in some months.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LadderSeason {
    /// First and last month (inclusive, may wrap).
    pub months: [u32; 2],
    /// Inclusive upper bounds of tiers 1..n−1, kWh per accounting period, strictly increasing.
    pub thresholds: Vec<Decimal>,
}

/// Extra tier allowance for large households, a per-account option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HouseholdBonus {
    /// The documented allowance, kWh per month (scaled by the months of the accounting period).
    pub kwh_per_month: Decimal,
    /// Which thresholds (1-based) the allowance raises.
    pub thresholds: Vec<usize>,
    /// Who qualifies, as the source states it.
    pub eligibility: String,
}

/// A tier ladder: accounting, settlement and thresholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    /// How consumption accumulates.
    pub accounting: Accounting,
    /// When it resets ([`None`] without a ladder).
    pub settlement: Option<Settlement>,
    /// Thresholds by season; one season covering the year unless accounting is seasonal.
    pub seasons: Vec<LadderSeason>,
    /// Month − 1 → index into `seasons`.
    pub(crate) month_season: [u8; 12],
}

impl Ladder {
    /// No ladder: a single tier.
    pub fn none() -> Self {
        Self {
            accounting: Accounting::None,
            settlement: None,
            seasons: vec![LadderSeason {
                months: [1, 12],
                thresholds: Vec::new(),
            }],
            month_season: [0; 12],
        }
    }

    /// Number of tiers (thresholds + 1).
    pub fn tiers(&self) -> usize {
        self.seasons.first().map_or(0, |s| s.thresholds.len()) + 1
    }

    /// Months in one accounting period (scales a per-month household bonus).
    pub fn months_per_period(&self) -> u32 {
        match self.accounting {
            Accounting::Annual => 12,
            _ => 1,
        }
    }

    /// Settlement instants `s` with `from < s <= to`, local time, ascending.
    pub fn settlements_between(
        &self,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Vec<NaiveDateTime> {
        let Some(settlement) = self.settlement else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let at = |year: i32, month: u32| {
            NaiveDate::from_ymd_opt(year, month, settlement.day)
                .and_then(|d| d.and_hms_opt(settlement.hour, 0, 0))
        };
        match self.accounting {
            Accounting::None => {}
            Accounting::Annual => {
                for year in from.year()..=to.year() {
                    if let Some(s) = at(year, settlement.month) {
                        if from < s && s <= to {
                            out.push(s);
                        }
                    }
                }
            }
            Accounting::Monthly | Accounting::Seasonal => {
                let (mut year, mut month) = (from.year(), from.month());
                while (year, month) <= (to.year(), to.month()) {
                    if let Some(s) = at(year, month) {
                        if from < s && s <= to {
                            out.push(s);
                        }
                    }
                    (year, month) = if month == 12 {
                        (year + 1, 1)
                    } else {
                        (year, month + 1)
                    };
                }
            }
        }
        out
    }

    /// The last settlement instant at or before `at` (local time): where the ladder consumption of the
    /// accounting period containing `at` starts. `None` without a ladder.
    pub fn last_settlement_at_or_before(&self, at: NaiveDateTime) -> Option<NaiveDateTime> {
        let year_before = at.checked_sub_months(chrono::Months::new(13))?;
        self.settlements_between(year_before, at).last().copied()
    }

    /// The month (1–12) in which the accounting period containing `at` began.
    pub fn period_start_month(&self, at: NaiveDateTime) -> u32 {
        let Some(settlement) = self.settlement else {
            return at.month();
        };
        let started_this_month =
            (at.day(), at.time()) >= (settlement.day, chrono_hour(settlement.hour));
        match self.accounting {
            Accounting::Annual => settlement.month,
            _ if started_this_month => at.month(),
            _ if at.month() == 1 => 12,
            _ => at.month() - 1,
        }
    }

    /// The thresholds (without bonus) of the accounting period containing `at`.
    pub fn thresholds_at(&self, at: NaiveDateTime) -> &[Decimal] {
        let month = self.period_start_month(at);
        let index = self.month_season[(month.clamp(1, 12) - 1) as usize];
        &self.seasons[usize::from(index)].thresholds
    }
}

fn chrono_hour(hour: u32) -> chrono::NaiveTime {
    chrono::NaiveTime::from_hms_opt(hour.min(23), 0, 0).unwrap_or_default()
}

/// The tier (0-based) of consumption `used` under inclusive `thresholds`: the first `i` with
/// `used ≤ thresholds[i]`, or the last tier past every threshold.
pub fn tier_of<T: PartialOrd>(used: &T, thresholds: &[T]) -> usize {
    thresholds
        .iter()
        .position(|t| used <= t)
        .unwrap_or(thresholds.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn at(y: i32, m: u32, d: u32, h: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, 0, 0)
            .unwrap()
    }

    fn ladder(accounting: Accounting, settlement: Settlement) -> Ladder {
        Ladder {
            accounting,
            settlement: Some(settlement),
            seasons: vec![LadderSeason {
                months: [1, 12],
                thresholds: vec![dec!(240), dec!(400)],
            }],
            month_season: [0; 12],
        }
    }

    #[test]
    fn thresholds_are_inclusive() {
        let t = [dec!(240), dec!(400)];
        assert_eq!(tier_of(&dec!(240), &t), 0);
        assert_eq!(tier_of(&dec!(240.01), &t), 1);
        assert_eq!(tier_of(&dec!(400), &t), 1);
        assert_eq!(tier_of(&dec!(400.01), &t), 2);
    }

    #[test]
    fn the_last_settlement_starts_the_accounting_period() {
        let annual = ladder(
            Accounting::Annual,
            Settlement {
                month: 1,
                day: 1,
                hour: 0,
            },
        );
        assert_eq!(
            annual.last_settlement_at_or_before(at(2026, 10, 1, 0)),
            Some(at(2026, 1, 1, 0))
        );
        assert_eq!(
            annual.last_settlement_at_or_before(at(2026, 1, 1, 0)),
            Some(at(2026, 1, 1, 0))
        );
        let monthly = ladder(
            Accounting::Monthly,
            Settlement {
                month: 1,
                day: 15,
                hour: 8,
            },
        );
        assert_eq!(
            monthly.last_settlement_at_or_before(at(2026, 10, 1, 0)),
            Some(at(2026, 9, 15, 8))
        );
        assert_eq!(
            monthly.last_settlement_at_or_before(at(2026, 10, 15, 9)),
            Some(at(2026, 10, 15, 8))
        );
        assert_eq!(
            Ladder::none().last_settlement_at_or_before(at(2026, 10, 1, 0)),
            None
        );
    }

    #[test]
    fn settlement_instants() {
        let s = Settlement {
            month: 7,
            day: 1,
            hour: 0,
        };
        let annual = ladder(Accounting::Annual, s);
        assert_eq!(
            annual.settlements_between(at(2025, 7, 1, 0), at(2027, 7, 1, 0)),
            vec![at(2026, 7, 1, 0), at(2027, 7, 1, 0)]
        );
        assert_eq!(annual.period_start_month(at(2026, 3, 1, 0)), 7);
        let monthly = ladder(
            Accounting::Monthly,
            Settlement {
                month: 1,
                day: 15,
                hour: 8,
            },
        );
        assert_eq!(
            monthly.settlements_between(at(2026, 12, 15, 8), at(2027, 2, 1, 0)),
            vec![at(2027, 1, 15, 8)]
        );
        assert_eq!(monthly.period_start_month(at(2027, 1, 15, 7)), 12);
        assert_eq!(monthly.period_start_month(at(2027, 1, 15, 8)), 1);
    }
}
