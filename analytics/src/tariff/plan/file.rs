//! The plan file format: serde types that keep the span of every value, and their validation
//! into the model of [`super`]. Every fault carries the byte span it is about.

use std::collections::BTreeMap;
use std::ops::Range;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use rust_decimal::Decimal;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use super::{Allocation, Fault, PlanVersion, PriceMatrix, TariffPlan, MAX_THRESHOLDS};
use crate::tariff::exact::Exact;
use crate::tariff::ladder::{Accounting, HouseholdBonus, Ladder, LadderSeason, Settlement};
use crate::tariff::tou::{months_of, TouPeriod, TouSchedule, TouSeason, CLASS_ORDER};

/// The highest price a plan may set, yuan/kWh: far above any real tariff (China's are below 2), low
/// enough that no bill's arithmetic can overflow.
pub(crate) const MAX_PRICE: Decimal = Decimal::from_parts(100, 0, 0, false, 0);

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlan {
    name: Spanned<String>,
    #[serde(default)]
    region: String,
    source: Spanned<String>,
    #[serde(default)]
    allocation: Allocation,
    #[serde(default)]
    net_metering: bool,
    #[serde(default)]
    unverified: Vec<String>,
    versions: Spanned<Vec<Spanned<RawVersion>>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVersion {
    effective_from: Spanned<toml::value::Datetime>,
    #[serde(default)]
    unverified: Vec<String>,
    ladder: Option<Spanned<RawLadder>>,
    household_bonus: Option<Spanned<RawBonus>>,
    #[serde(default)]
    tou: Vec<Spanned<RawTouSeason>>,
    prices: Spanned<BTreeMap<String, Spanned<Vec<Spanned<PriceCell>>>>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLadder {
    accounting: Spanned<Accounting>,
    settlement: Option<Spanned<RawSettlement>>,
    thresholds: Option<Spanned<Vec<Spanned<Exact>>>>,
    #[serde(default)]
    seasons: Vec<Spanned<RawLadderSeason>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettlement {
    month: Option<u32>,
    day: u32,
    hour: u32,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLadderSeason {
    months: Spanned<[u32; 2]>,
    thresholds: Spanned<Vec<Spanned<Exact>>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBonus {
    kwh_per_month: Spanned<Exact>,
    thresholds: Spanned<Vec<usize>>,
    #[serde(default)]
    eligibility: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTouSeason {
    months: Option<Spanned<[u32; 2]>>,
    periods: Vec<Spanned<TouPeriod>>,
}

/// A price cell: a decimal, or the word `"unverified"` when the sources lack it.
enum PriceCell {
    Price(Decimal),
    Unverified,
}

impl<'de> serde::Deserialize<'de> for PriceCell {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CellVisitor;
        impl Visitor<'_> for CellVisitor {
            type Value = PriceCell;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a price as a decimal string, e.g. \"0.4883\", or \"unverified\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<PriceCell, E> {
                if text == "unverified" {
                    return Ok(PriceCell::Unverified);
                }
                text.trim()
                    .parse::<Decimal>()
                    .map(PriceCell::Price)
                    .map_err(|_| E::custom(format!("{text:?} is not a decimal price")))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<PriceCell, E> {
                Ok(PriceCell::Price(Decimal::from(value)))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<PriceCell, E> {
                Ok(PriceCell::Price(Decimal::from(value)))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<PriceCell, E> {
                Err(E::custom(format!(
                    "{value} is a TOML float; write prices as strings (\"{value}\") so they stay exact"
                )))
            }
        }
        deserializer.deserialize_any(CellVisitor)
    }
}

fn class_rank(class: &str) -> (usize, String) {
    let rank = CLASS_ORDER
        .iter()
        .position(|c| *c == class)
        .unwrap_or(CLASS_ORDER.len());
    (rank, class.to_string())
}

fn effective_from(value: &Spanned<toml::value::Datetime>) -> Result<NaiveDateTime, Fault> {
    let dt = value.get_ref();
    let bad = |why: &str| Fault::at(value, format!("effective_from {dt}: {why}"));
    if dt.offset.is_some() {
        return Err(bad(
            "give a local date or date-time (the caller's time zone applies), not an offset",
        ));
    }
    let Some(date) = dt.date else {
        return Err(bad("a date is required"));
    };
    let date = NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )
    .ok_or_else(|| bad("no such date"))?;
    let time = match dt.time {
        Some(t) => {
            NaiveTime::from_hms_opt(u32::from(t.hour), u32::from(t.minute), u32::from(t.second))
                .ok_or_else(|| bad("no such time"))?
        }
        None => NaiveTime::MIN,
    };
    Ok(date.and_time(time))
}

fn thresholds(raw: &Spanned<Vec<Spanned<Exact>>>) -> Result<Vec<Decimal>, Fault> {
    if raw.get_ref().is_empty() {
        return Err(Fault::at(raw, "a ladder needs at least one threshold"));
    }
    if raw.get_ref().len() > MAX_THRESHOLDS {
        return Err(Fault::at(
            raw,
            format!("at most {MAX_THRESHOLDS} thresholds (the meter holds six)"),
        ));
    }
    let mut out: Vec<Decimal> = Vec::with_capacity(raw.get_ref().len());
    for value in raw.get_ref() {
        let Exact(kwh) = *value.get_ref();
        if kwh <= Decimal::ZERO {
            return Err(Fault::at(
                value,
                format!("threshold {kwh} kWh must be positive"),
            ));
        }
        if let Some(previous) = out.last() {
            if kwh <= *previous {
                return Err(Fault::at(
                    value,
                    format!("thresholds must increase: {kwh} kWh follows {previous} kWh"),
                ));
            }
        }
        if crate::tariff::exact::kwh_to_e6(kwh).is_err() {
            return Err(Fault::at(
                value,
                format!("threshold {kwh} kWh has more than 6 decimals"),
            ));
        }
        out.push(kwh);
    }
    Ok(out)
}

impl RawLadder {
    fn validate(&self, span: Range<usize>) -> Result<Ladder, Fault> {
        let accounting = *self.accounting.get_ref();
        if accounting == Accounting::None {
            if self.thresholds.is_some() || !self.seasons.is_empty() || self.settlement.is_some() {
                return Err(Fault::at(
                    &self.accounting,
                    "accounting \"none\" takes no thresholds, seasons or settlement",
                ));
            }
            return Ok(Ladder::none());
        }
        let Some(settlement) = &self.settlement else {
            return Err(Fault::new(
                span,
                "a ladder needs a settlement date (month, day, hour)",
            ));
        };
        let s = settlement.get_ref();
        if !(1..=28).contains(&s.day) {
            return Err(Fault::at(
                settlement,
                format!("settlement day {} must be 1–28", s.day),
            ));
        }
        if s.hour > 23 {
            return Err(Fault::at(
                settlement,
                format!("settlement hour {} must be 0–23", s.hour),
            ));
        }
        let month = match (accounting, s.month) {
            (Accounting::Annual, Some(m)) if (1..=12).contains(&m) => m,
            (Accounting::Annual, Some(m)) => {
                return Err(Fault::at(
                    settlement,
                    format!("settlement month {m} must be 1–12"),
                ))
            }
            (Accounting::Annual, None) => {
                return Err(Fault::at(
                    settlement,
                    "an annual ladder needs a settlement month",
                ))
            }
            (_, Some(_)) => {
                return Err(Fault::at(
                    settlement,
                    "a monthly ladder resets every month: give day and hour only",
                ))
            }
            (_, None) => 1,
        };
        let settlement = Settlement {
            month,
            day: s.day,
            hour: s.hour,
        };
        let mut seasons = Vec::new();
        let mut month_season: [Option<u8>; 12] = [None; 12];
        if accounting == Accounting::Seasonal {
            if self.thresholds.is_some() || self.seasons.is_empty() {
                return Err(Fault::at(
                    &self.accounting,
                    "a seasonal ladder gives thresholds per season ([[…ladder.seasons]]), not `thresholds`",
                ));
            }
            for (index, season) in self.seasons.iter().enumerate() {
                let raw = season.get_ref();
                let months = *raw.months.get_ref();
                for m in months_of(months, &raw.months.span())? {
                    if month_season[m as usize - 1].replace(index as u8).is_some() {
                        return Err(Fault::at(
                            &raw.months,
                            format!("month {m} is in two ladder seasons"),
                        ));
                    }
                }
                let values = thresholds(&raw.thresholds)?;
                if let Some(first) = seasons.first() {
                    let first: &LadderSeason = first;
                    if first.thresholds.len() != values.len() {
                        return Err(Fault::at(
                            &raw.thresholds,
                            "every ladder season needs the same number of thresholds",
                        ));
                    }
                }
                seasons.push(LadderSeason {
                    months,
                    thresholds: values,
                });
            }
            if let Some(m) = month_season.iter().position(Option::is_none) {
                return Err(Fault::at(
                    &self.accounting,
                    format!("no ladder season covers month {}", m + 1),
                ));
            }
        } else {
            if !self.seasons.is_empty() {
                return Err(Fault::at(
                    &self.seasons[0],
                    "only a seasonal ladder has seasons",
                ));
            }
            let Some(raw) = &self.thresholds else {
                return Err(Fault::at(&self.accounting, "a ladder needs `thresholds`"));
            };
            seasons.push(LadderSeason {
                months: [1, 12],
                thresholds: thresholds(raw)?,
            });
            month_season = [Some(0); 12];
        }
        Ok(Ladder {
            accounting,
            settlement: Some(settlement),
            seasons,
            month_season: month_season.map(|m| m.unwrap_or(0)),
        })
    }
}

impl RawVersion {
    fn validate(&self, span: Range<usize>) -> Result<PlanVersion, Fault> {
        let effective_from = effective_from(&self.effective_from)?;
        let ladder = match &self.ladder {
            Some(ladder) => ladder.get_ref().validate(ladder.span())?,
            None => Ladder::none(),
        };
        let tiers = ladder.tiers();
        let mut classes: Vec<&String> = self.prices.get_ref().keys().collect();
        classes.sort_by_key(|c| class_rank(c));
        if classes.is_empty() {
            return Err(Fault::at(
                &self.prices,
                "a version needs prices for at least one class",
            ));
        }
        if classes.len() > usize::from(u8::MAX) {
            return Err(Fault::at(&self.prices, "too many price classes"));
        }
        let mut cells = vec![None; tiers * classes.len()];
        for (column, class) in classes.iter().enumerate() {
            let row = &self.prices.get_ref()[*class];
            if row.get_ref().len() != tiers {
                return Err(Fault::at(
                    row,
                    format!(
                        "class {class:?} has {} prices but the ladder has {tiers} tiers: the tier × class matrix needs every cell",
                        row.get_ref().len()
                    ),
                ));
            }
            for (tier, cell) in row.get_ref().iter().enumerate() {
                cells[tier * classes.len() + column] = match cell.get_ref() {
                    PriceCell::Price(p) if p.is_sign_negative() && !p.is_zero() => {
                        return Err(Fault::at(
                            cell,
                            format!("class {class:?} tier {} has a negative price {p}", tier + 1),
                        ))
                    }
                    PriceCell::Price(p) if *p > MAX_PRICE => {
                        return Err(Fault::at(
                            cell,
                            format!(
                                "class {class:?} tier {} price {p} is above the {MAX_PRICE} yuan/kWh a plan may set",
                                tier + 1
                            ),
                        ))
                    }
                    PriceCell::Price(p) => Some(*p),
                    PriceCell::Unverified => None,
                };
            }
        }
        let prices = PriceMatrix {
            classes: classes.iter().map(|c| c.to_string()).collect(),
            tiers,
            cells,
        };
        let tou = if self.tou.is_empty() {
            if prices.classes.len() == 1 {
                Some(TouSchedule::all_day(&prices.classes[0]))
            } else if self.unverified.iter().any(|u| u == "tou_hours") {
                None
            } else {
                return Err(Fault::at(
                    &self.prices,
                    "prices name several classes but no [[versions.tou]] periods are given \
                     (list \"tou_hours\" in `unverified` if the sources lack them)",
                ));
            }
        } else {
            let seasons = self
                .tou
                .iter()
                .map(|season| {
                    let raw = season.get_ref();
                    (
                        TouSeason {
                            months: raw.months.as_ref().map_or([1, 12], |m| *m.get_ref()),
                            periods: raw.periods.iter().map(|p| p.get_ref().clone()).collect(),
                        },
                        raw.months.as_ref().map_or(season.span(), |m| m.span()),
                        raw.periods.iter().map(|p| p.span()).collect(),
                    )
                })
                .collect();
            let schedule =
                TouSchedule::build(seasons, |class| prices.class_index(class).map(|i| i as u8))?;
            for class in &prices.classes {
                let used = schedule
                    .seasons
                    .iter()
                    .any(|s| s.periods.iter().any(|p| &p.class == class));
                if !used {
                    return Err(Fault::at(
                        &self.prices.get_ref()[class],
                        format!("class {class:?} has prices but no TOU period"),
                    ));
                }
            }
            Some(schedule)
        };
        let household_bonus = match &self.household_bonus {
            None => None,
            Some(bonus) => {
                let raw = bonus.get_ref();
                let Exact(kwh) = *raw.kwh_per_month.get_ref();
                if kwh.is_sign_negative() {
                    return Err(Fault::at(
                        &raw.kwh_per_month,
                        "a household bonus cannot be negative",
                    ));
                }
                let count = tiers - 1;
                if count == 0 {
                    return Err(Fault::at(bonus, "a household bonus needs a ladder"));
                }
                if raw.thresholds.get_ref().is_empty()
                    || raw
                        .thresholds
                        .get_ref()
                        .iter()
                        .any(|t| *t == 0 || *t > count)
                {
                    return Err(Fault::at(
                        &raw.thresholds,
                        format!("household bonus thresholds must be 1-based indices up to {count}"),
                    ));
                }
                Some(HouseholdBonus {
                    kwh_per_month: kwh,
                    thresholds: raw.thresholds.get_ref().clone(),
                    eligibility: raw.eligibility.clone(),
                })
            }
        };
        let _ = span;
        Ok(PlanVersion {
            effective_from,
            unverified: self.unverified.clone(),
            ladder,
            household_bonus,
            tou,
            prices,
        })
    }
}

impl RawPlan {
    pub(super) fn validate(self, file: &str) -> Result<TariffPlan, Fault> {
        if self.name.get_ref().trim().is_empty() {
            return Err(Fault::at(&self.name, "name must not be empty"));
        }
        if self.source.get_ref().trim().is_empty() {
            return Err(Fault::at(&self.source, "every plan cites its source"));
        }
        if self.versions.get_ref().is_empty() {
            return Err(Fault::at(
                &self.versions,
                "a plan needs at least one [[versions]]",
            ));
        }
        let mut versions: Vec<PlanVersion> = Vec::new();
        for raw in self.versions.get_ref() {
            let version = raw.get_ref().validate(raw.span())?;
            if let Some(previous) = versions.last() {
                if version.effective_from <= previous.effective_from {
                    return Err(Fault::at(
                        &raw.get_ref().effective_from,
                        format!(
                            "versions must be in order: effective_from {} is not after {}",
                            version.effective_from, previous.effective_from
                        ),
                    ));
                }
            }
            versions.push(version);
        }
        Ok(TariffPlan {
            name: self.name.into_inner(),
            region: self.region,
            source: self.source.into_inner(),
            file: file.to_string(),
            allocation: self.allocation,
            net_metering: self.net_metering,
            unverified: self.unverified,
            versions,
        })
    }
}
