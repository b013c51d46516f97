//! The pricing engine: a plan compiled for a time zone prices a meter's intervals.
//!
//! The billing period is cut into *segments* at plan version switches, ladder settlements and TOU
//! season changes (and, for daily charges, local midnights). Within a segment the price matrix,
//! the minute → class table and the thresholds are fixed, so the loop over intervals does integer
//! work only: energy is counted in [`KwhE6`] units (exact for ≤ 6 decimals), so every kWh sum
//! equals the [`Decimal`] sum; amounts are formed once per line as `Decimal` kWh × price.

use chrono::{DateTime, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::bill::{AccountTerms, BillingPeriod, Interval, LineItem, TariffBill};
use super::exact::{e6_to_kwh, kwh_to_e6, round_to_fen, EnergyError, KwhE6};
use super::plan::{Allocation, TariffPlan};

mod segments;

use segments::Segment;

/// Why a bill could not be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// The period ends before it starts.
    #[error("empty billing period {start} – {end}")]
    EmptyPeriod {
        /// Start.
        start: DateTime<Utc>,
        /// End.
        end: DateTime<Utc>,
    },
    /// No plan version is in force at a local time inside the period.
    #[error("plan {plan} has no version in force at {at} (local)")]
    NoVersion {
        /// Plan name.
        plan: String,
        /// Local time.
        at: NaiveDateTime,
    },
    /// A version in force lacks a value the sources do not give.
    #[error("plan {plan} version {effective_from} cannot be priced: {what} unverified")]
    Unverified {
        /// Plan name.
        plan: String,
        /// The version.
        effective_from: NaiveDateTime,
        /// What is missing.
        what: String,
    },
    /// The account has a household bonus but the plan defines none.
    #[error("plan {plan} has no household bonus")]
    NoHouseholdBonus {
        /// Plan name.
        plan: String,
    },
    /// The household bonus would make thresholds non-increasing.
    #[error("plan {plan}: household bonus {bonus} kWh/month makes the thresholds non-increasing")]
    BonusBreaksLadder {
        /// Plan name.
        plan: String,
        /// The bonus.
        bonus: Decimal,
    },
    /// Intervals are not in time order.
    #[error("interval {index} ({start}) starts before the one before it")]
    OutOfOrder {
        /// 0-based position.
        index: usize,
        /// Its start.
        start: DateTime<Utc>,
    },
    /// An interval starts outside the billing period.
    #[error("interval {index} ({start}) is outside the billing period")]
    OutsidePeriod {
        /// 0-based position.
        index: usize,
        /// Its start.
        start: DateTime<Utc>,
    },
    /// An energy value cannot be counted exactly.
    #[error("interval {index}: {source}")]
    Energy {
        /// 0-based position (`usize::MAX` for the ladder start).
        index: usize,
        /// Why.
        source: EnergyError,
    },
    /// A ladder start below zero.
    #[error("ladder start {0} kWh is negative")]
    NegativeLadderStart(Decimal),
    /// An interval's energy is beyond any plausible meter reading.
    #[error(
        "interval {index} ({start}): {kwh} kWh is beyond the plausible ±1,000,000 kWh per interval"
    )]
    Implausible {
        /// 0-based position.
        index: usize,
        /// Its start.
        start: DateTime<Utc>,
        /// The energy.
        kwh: Decimal,
    },
    /// Start and energy slices differ in length.
    #[error("{starts} interval starts but {energies} energies")]
    LengthMismatch {
        /// Starts given.
        starts: usize,
        /// Energies given.
        energies: usize,
    },
}

/// A plan compiled for a local time zone.
#[derive(Debug, Clone)]
pub struct Pricer {
    plan: TariffPlan,
    zone: Tz,
}

/// A billing period prepared for one set of account terms; price any number of meters with it.
#[derive(Debug, Clone)]
pub struct PreparedPeriod<'a> {
    pricer: &'a Pricer,
    period: BillingPeriod,
    segments: Vec<Segment>,
    unverified: Vec<String>,
}

/// Energy per (tier, class) of one segment, after allocation.
#[derive(Debug, Clone)]
pub(crate) struct SegmentLines {
    pub(crate) version: usize,
    pub(crate) part: usize,
    pub(crate) lines: Vec<KwhE6>,
}

/// The outcome of the loop, before prices are applied.
#[derive(Debug, Clone, Default)]
pub(crate) struct Usage {
    pub(crate) segments: Vec<SegmentLines>,
    intervals: u64,
    export: i128,
    netted: i128,
    ladder_start: KwhE6,
    ladder_end: KwhE6,
}

const MICROS: i64 = 1_000_000;

/// Largest |energy| of one interval, [`KwhE6`] units (10⁶ kWh): keeps every integer sum of a
/// period far from overflow.
const MAX_INTERVAL_E6: KwhE6 = 1_000_000 * 1_000_000;

fn utc_micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

impl Pricer {
    /// Compiles `plan` for the local time zone `zone` (TOU hours and settlements are local).
    pub fn new(plan: TariffPlan, zone: Tz) -> Self {
        Self { plan, zone }
    }

    /// The plan.
    pub fn plan(&self) -> &TariffPlan {
        &self.plan
    }

    /// The local time zone.
    pub fn zone(&self) -> Tz {
        self.zone
    }

    /// Prepares `period` for `terms`.
    pub fn prepare(
        &self,
        period: BillingPeriod,
        terms: &AccountTerms,
    ) -> Result<PreparedPeriod<'_>, PricingError> {
        self.prepare_split(period, terms, &[])
    }

    /// Prices `intervals` (time order) in `period`, starting from `ladder_start_kwh` already
    /// accumulated in the accounting period in force at the period's start.
    pub fn price(
        &self,
        period: BillingPeriod,
        terms: &AccountTerms,
        ladder_start_kwh: Decimal,
        intervals: &[Interval],
    ) -> Result<TariffBill, PricingError> {
        self.prepare(period, terms)?
            .price(ladder_start_kwh, intervals)
    }
}

/// Converts intervals to the engine's integer columns.
pub(crate) fn columns(intervals: &[Interval]) -> Result<(Vec<i64>, Vec<KwhE6>), PricingError> {
    let mut starts = Vec::with_capacity(intervals.len());
    let mut kwh = Vec::with_capacity(intervals.len());
    for (index, interval) in intervals.iter().enumerate() {
        starts.push(utc_micros(interval.start));
        kwh.push(kwh_to_e6(interval.kwh).map_err(|source| PricingError::Energy { index, source })?);
    }
    Ok((starts, kwh))
}

/// Caches the UTC offset over windows in which it is constant.
struct OffsetCache {
    zone: Tz,
    from: i64,
    until: i64,
    offset: i64,
}

impl OffsetCache {
    /// Offsets are assumed constant over a 12-hour window whose two ends agree (no zone changes
    /// its offset twice within 12 hours); otherwise each instant is looked up.
    const WINDOW: i64 = 12 * 3600 * MICROS;

    fn offset_at(&self, us: i64) -> i64 {
        let t = from_micros(us).naive_utc();
        i64::from(
            self.zone
                .offset_from_utc_datetime(&t)
                .fix()
                .local_minus_utc(),
        ) * MICROS
    }

    #[inline]
    fn get(&mut self, us: i64) -> i64 {
        if us < self.from || us >= self.until {
            self.offset = self.offset_at(us);
            self.from = us;
            self.until = if self.offset_at(us.saturating_add(Self::WINDOW)) == self.offset {
                us.saturating_add(Self::WINDOW)
            } else {
                us.saturating_add(1)
            };
        }
        self.offset
    }
}

/// Adds `x` (> 0) to the ladder from `acc`, tier by tier; `put(tier, kWh)` records each piece.
#[inline]
fn fill(
    acc: &mut KwhE6,
    tier: &mut usize,
    thresholds: &[KwhE6],
    mut x: KwhE6,
    mut put: impl FnMut(usize, KwhE6),
) {
    loop {
        let room = thresholds.get(*tier).map_or(KwhE6::MAX, |t| t - *acc);
        if room <= 0 {
            *tier += 1;
            continue;
        }
        if x <= room {
            put(*tier, x);
            *acc = acc.saturating_add(x);
            return;
        }
        put(*tier, room);
        *acc += room;
        x -= room;
        *tier += 1;
    }
}

/// Splits `total` units across `weights` in proportion (largest remainder, ties to the lower index),
/// so the parts sum exactly to `total`.
fn apportion(total: KwhE6, weights: &[KwhE6], out: &mut [KwhE6]) {
    let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if sum <= 0 || total == 0 {
        return;
    }
    let mut given: i128 = 0;
    let mut remainders: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    for (i, w) in weights.iter().enumerate() {
        let product = i128::from(total) * i128::from(*w);
        let share = product / sum;
        out[i] = share as KwhE6;
        given += share;
        remainders.push((product % sum, i));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let left = i128::from(total) - given;
    for (_, i) in remainders.iter().take(left as usize) {
        out[*i] += 1;
    }
}

impl PreparedPeriod<'_> {
    /// Prices `intervals` (time order) starting from `ladder_start_kwh`.
    pub fn price(
        &self,
        ladder_start_kwh: Decimal,
        intervals: &[Interval],
    ) -> Result<TariffBill, PricingError> {
        let ladder_start = kwh_to_e6(ladder_start_kwh).map_err(|source| PricingError::Energy {
            index: usize::MAX,
            source,
        })?;
        let (starts, kwh) = columns(intervals)?;
        self.price_e6(ladder_start, &starts, &kwh)
    }

    /// Prices integer columns: interval starts in UTC µs and energy in [`KwhE6`] units.
    pub fn price_e6(
        &self,
        ladder_start: KwhE6,
        starts: &[i64],
        kwh: &[KwhE6],
    ) -> Result<TariffBill, PricingError> {
        let usage = self.run(ladder_start, starts, kwh)?;
        Ok(self.bill(&usage))
    }

    /// The loop: allocates every interval's energy to (segment, tier, class).
    pub(crate) fn run(
        &self,
        ladder_start: KwhE6,
        starts: &[i64],
        kwh: &[KwhE6],
    ) -> Result<Usage, PricingError> {
        if starts.len() != kwh.len() {
            return Err(PricingError::LengthMismatch {
                starts: starts.len(),
                energies: kwh.len(),
            });
        }
        if ladder_start < 0 {
            return Err(PricingError::NegativeLadderStart(e6_to_kwh(i128::from(
                ladder_start,
            ))));
        }
        let plan = &self.pricer.plan;
        let net_metering = plan.net_metering;
        let pro_rata = plan.allocation == Allocation::ProRata;
        let (period_start, period_end) =
            (utc_micros(self.period.start), utc_micros(self.period.end));
        let mut usage = Usage {
            ladder_start,
            intervals: starts.len() as u64,
            segments: Vec::with_capacity(self.segments.len()),
            ..Usage::default()
        };
        let mut offsets = OffsetCache {
            zone: self.pricer.zone,
            from: 0,
            until: 0,
            offset: 0,
        };
        let mut acc = ladder_start;
        let mut credit: KwhE6 = 0;
        let mut i = 0;
        let mut previous = i64::MIN;
        let mut class_totals: Vec<KwhE6> = Vec::new();
        for segment in &self.segments {
            if segment.reset {
                acc = 0;
                credit = 0;
            }
            let version = &plan.versions[segment.version];
            let classes = version.prices.classes.len();
            let thresholds = segment.thresholds.as_slice();
            let tiers = thresholds.len() + 1;
            let table = match &version.tou {
                Some(tou) => tou.table_for_month(segment.month),
                None => &[],
            };
            let mut lines = vec![0 as KwhE6; tiers * classes];
            class_totals.clear();
            class_totals.resize(classes, 0);
            let mut tier = 0usize;
            while i < starts.len() && starts[i] < segment.end {
                let (ts, mut x) = (starts[i], kwh[i]);
                if ts < previous {
                    return Err(PricingError::OutOfOrder {
                        index: i,
                        start: from_micros(ts),
                    });
                }
                if ts < period_start || ts >= period_end || ts < segment.start {
                    return Err(PricingError::OutsidePeriod {
                        index: i,
                        start: from_micros(ts),
                    });
                }
                if !(-MAX_INTERVAL_E6..=MAX_INTERVAL_E6).contains(&x) {
                    return Err(PricingError::Implausible {
                        index: i,
                        start: from_micros(ts),
                        kwh: e6_to_kwh(i128::from(x)),
                    });
                }
                previous = ts;
                i += 1;
                if x <= 0 {
                    if net_metering {
                        credit -= x;
                    }
                    usage.export -= i128::from(x);
                    continue;
                }
                if credit > 0 {
                    let offset = credit.min(x);
                    credit -= offset;
                    x -= offset;
                    usage.netted += i128::from(offset);
                    if x == 0 {
                        continue;
                    }
                }
                let minute = (ts + offsets.get(ts))
                    .div_euclid(60 * MICROS)
                    .rem_euclid(1440) as usize;
                let class = usize::from(table.get(minute).copied().unwrap_or(0));
                if pro_rata {
                    class_totals[class] += x;
                } else {
                    fill(&mut acc, &mut tier, thresholds, x, |t, e| {
                        lines[t * classes + class] += e
                    });
                }
            }
            if pro_rata {
                let total: KwhE6 = class_totals.iter().sum();
                let mut per_tier = vec![0 as KwhE6; tiers];
                if total > 0 {
                    fill(&mut acc, &mut tier, thresholds, total, |t, e| {
                        per_tier[t] += e
                    });
                }
                let mut parts = vec![0 as KwhE6; classes];
                for (t, energy) in per_tier.iter().enumerate() {
                    parts.iter_mut().for_each(|p| *p = 0);
                    apportion(*energy, &class_totals, &mut parts);
                    lines[t * classes..(t + 1) * classes].copy_from_slice(&parts);
                }
            }
            usage.segments.push(SegmentLines {
                version: segment.version,
                part: segment.part,
                lines,
            });
        }
        if i < starts.len() {
            return Err(PricingError::OutsidePeriod {
                index: i,
                start: from_micros(starts[i]),
            });
        }
        usage.ladder_end = acc;
        Ok(usage)
    }

    /// Applies prices to the energy of `segments` (a subset of a run's segments).
    pub(crate) fn lines(&self, segments: &[SegmentLines]) -> Vec<LineItem> {
        let plan = &self.pricer.plan;
        // (version, tier, class) → energy
        let mut energy: std::collections::BTreeMap<(usize, usize, usize), i128> =
            Default::default();
        for segment in segments {
            let classes = plan.versions[segment.version].prices.classes.len();
            for (cell, e) in segment.lines.iter().enumerate() {
                if *e != 0 {
                    *energy
                        .entry((segment.version, cell / classes, cell % classes))
                        .or_default() += i128::from(*e);
                }
            }
        }
        energy
            .into_iter()
            .map(|((version, tier, class), e)| {
                let v = &plan.versions[version];
                let price = v.prices.price(tier, class).unwrap_or_default();
                let kwh = e6_to_kwh(e);
                LineItem {
                    effective_from: v.effective_from,
                    tier: u8::try_from(tier + 1).unwrap_or(u8::MAX),
                    class: v.prices.classes[class].clone(),
                    kwh,
                    price,
                    amount: kwh * price,
                }
            })
            .collect()
    }

    pub(crate) fn bill(&self, usage: &Usage) -> TariffBill {
        let lines = self.lines(&usage.segments);
        let unrounded_total: Decimal = lines.iter().map(|l| l.amount).sum();
        TariffBill {
            plan: self.pricer.plan.name.clone(),
            period: self.period,
            intervals: usage.intervals,
            billed_kwh: lines.iter().map(|l| l.kwh).sum(),
            lines,
            export_kwh: e6_to_kwh(usage.export),
            netted_kwh: e6_to_kwh(usage.netted),
            ladder_start_kwh: e6_to_kwh(i128::from(usage.ladder_start)),
            ladder_end_kwh: e6_to_kwh(i128::from(usage.ladder_end)),
            total: round_to_fen(unrounded_total),
            unrounded_total,
            unverified: self.unverified.clone(),
        }
    }
}
