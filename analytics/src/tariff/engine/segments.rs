//! Cutting a billing period into segments: at plan version switches, ladder settlements, TOU
//! season changes and caller-given splits (local midnights for daily charges). Within a segment
//! version, TOU table and thresholds are fixed.

use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc};
use rust_decimal::Decimal;

use super::{utc_micros, PreparedPeriod, Pricer, PricingError};
use crate::tariff::bill::{AccountTerms, BillingPeriod};
use crate::tariff::exact::{kwh_to_e6, KwhE6};

/// A stretch of the period with fixed version, TOU table and thresholds.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    /// UTC µs, inclusive.
    pub(crate) start: i64,
    /// UTC µs, exclusive.
    pub(crate) end: i64,
    /// Plan version index.
    pub(crate) version: usize,
    /// Month of the TOU table.
    pub(crate) month: u32,
    /// Thresholds including the household bonus.
    pub(crate) thresholds: Vec<KwhE6>,
    /// Ladder consumption resets to zero at `start`.
    pub(crate) reset: bool,
    /// Index of the caller's split part (e.g. the day) the segment belongs to.
    pub(crate) part: usize,
}

impl Pricer {
    fn local(&self, t: DateTime<Utc>) -> NaiveDateTime {
        t.with_timezone(&self.zone).naive_local()
    }

    /// The UTC instant of a local time: the earlier one when ambiguous, the first valid minute
    /// after a gap (a DST spring-forward) when it does not exist.
    fn utc_of(&self, local: NaiveDateTime) -> i64 {
        let mut probe = local;
        for _ in 0..=24 * 60 {
            if let Some(t) = self.zone.from_local_datetime(&probe).earliest() {
                return utc_micros(t.with_timezone(&Utc));
            }
            probe += chrono::Duration::minutes(1);
        }
        utc_micros(local.and_utc())
    }

    /// Prepares `period`, also cutting it at the local instants `splits` (ascending) without
    /// resetting the ladder; each segment records how many splits precede it.
    pub(crate) fn prepare_split(
        &self,
        period: BillingPeriod,
        terms: &AccountTerms,
        splits: &[NaiveDateTime],
    ) -> Result<PreparedPeriod<'_>, PricingError> {
        if period.end <= period.start {
            return Err(PricingError::EmptyPeriod {
                start: period.start,
                end: period.end,
            });
        }
        let plan = &self.plan;
        let (start, end) = (self.local(period.start), self.local(period.end));
        let no_version = |at| PricingError::NoVersion {
            plan: plan.name.clone(),
            at,
        };
        plan.version_at(start).ok_or_else(|| no_version(start))?;
        // (local instant, resets the ladder, is a split)
        let mut cuts: Vec<(NaiveDateTime, bool, bool)> = Vec::new();
        for (index, version) in plan.versions.iter().enumerate() {
            let from = version.effective_from;
            let until = plan.versions.get(index + 1).map(|v| v.effective_from);
            if until.is_some_and(|u| u <= start) || from >= end {
                continue;
            }
            if from > start {
                cuts.push((from, false, false));
            }
            let lo = if from > start {
                from - chrono::Duration::seconds(1)
            } else {
                start
            };
            let hi = until.map_or(end, |u| (u - chrono::Duration::seconds(1)).min(end));
            for s in version.ladder.settlements_between(lo, hi) {
                cuts.push((s, true, false));
            }
            if let Some(tou) = &version.tou {
                let mut month = chrono::NaiveDate::from_ymd_opt(lo.year(), lo.month(), 1)
                    .unwrap_or_default()
                    .and_time(chrono::NaiveTime::MIN);
                while month <= hi {
                    let previous = if month.month() == 1 {
                        12
                    } else {
                        month.month() - 1
                    };
                    if month > lo
                        && month > start
                        && tou.table_index(month.month()) != tou.table_index(previous)
                    {
                        cuts.push((month, false, false));
                    }
                    month = month
                        .checked_add_months(chrono::Months::new(1))
                        .unwrap_or(chrono::NaiveDateTime::MAX);
                }
            }
        }
        cuts.extend(
            splits
                .iter()
                .filter(|s| **s > start && **s < end)
                .map(|s| (*s, false, true)),
        );
        cuts.sort();
        let mut merged: Vec<(NaiveDateTime, bool, bool)> = Vec::with_capacity(cuts.len());
        for cut in cuts {
            match merged.last_mut() {
                Some(last) if last.0 == cut.0 => {
                    last.1 |= cut.1;
                    last.2 |= cut.2;
                }
                _ => merged.push(cut),
            }
        }
        let (period_start, period_end) = (utc_micros(period.start), utc_micros(period.end));
        let mut segments: Vec<Segment> = Vec::with_capacity(merged.len() + 1);
        let mut unverified: Vec<String> = plan.unverified.clone();
        let mut starts = vec![(start, period_start, false, false)];
        for (local, reset, split) in merged {
            let utc = self.utc_of(local).clamp(period_start, period_end);
            starts.push((local, utc, reset, split));
        }
        let mut part = 0;
        for (i, &(local, utc, reset, split)) in starts.iter().enumerate() {
            let next = starts.get(i + 1).map_or(period_end, |s| s.1).max(utc);
            part += usize::from(split);
            let (index, version) = plan.version_at(local).ok_or_else(|| no_version(local))?;
            let unverified_what = |what: &str| PricingError::Unverified {
                plan: plan.name.clone(),
                effective_from: version.effective_from,
                what: what.to_string(),
            };
            if version.tou.is_none() {
                return Err(unverified_what("TOU hours"));
            }
            if !version.prices.is_complete() {
                return Err(unverified_what("a price in the tier × class matrix"));
            }
            for u in &version.unverified {
                let tagged = format!("{} (version {})", u, version.effective_from);
                if !unverified.contains(&tagged) {
                    unverified.push(tagged);
                }
            }
            let thresholds = self.thresholds(index, local, terms)?;
            segments.push(Segment {
                start: utc,
                end: next,
                version: index,
                month: local.month(),
                thresholds,
                reset,
                part,
            });
        }
        Ok(PreparedPeriod {
            pricer: self,
            period,
            segments,
            unverified,
        })
    }

    fn thresholds(
        &self,
        version: usize,
        at: NaiveDateTime,
        terms: &AccountTerms,
    ) -> Result<Vec<KwhE6>, PricingError> {
        let plan = &self.plan;
        let version = &plan.versions[version];
        let ladder = &version.ladder;
        let mut thresholds = ladder.thresholds_at(at).to_vec();
        if let Some(bonus) = terms.household_bonus_kwh_per_month {
            if !thresholds.is_empty() {
                let Some(rule) = &version.household_bonus else {
                    return Err(PricingError::NoHouseholdBonus {
                        plan: plan.name.clone(),
                    });
                };
                let extra = bonus * Decimal::from(ladder.months_per_period());
                for index in &rule.thresholds {
                    if let Some(t) = thresholds.get_mut(index - 1) {
                        *t += extra;
                    }
                }
                if thresholds.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(PricingError::BonusBreaksLadder {
                        plan: plan.name.clone(),
                        bonus,
                    });
                }
            }
        }
        thresholds
            .into_iter()
            .map(|t| {
                kwh_to_e6(t).map_err(|source| PricingError::Energy {
                    index: usize::MAX,
                    source,
                })
            })
            .collect()
    }
}
