//! The households of a simulated history: usage classes with their daily shapes, household size, rooftop
//! PV, holidays (travel or at home), vacancies, moving in and out — the honest variety a theft model must
//! not mistake for theft.

use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};

use super::super::profile::{household_scale, household_size, season_factor, unit_hash};
use super::super::theft::SLOTS;

/// A household's usage class: the shape of its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UsageClass {
    /// Out at work on weekdays: morning and evening peaks, little at midday.
    Commuter,
    /// At home all day (retired, small children): a high midday and early evening.
    HomeDaytime,
    /// Late evenings: the peak after 21:00, into the night.
    EveningHeavy,
    /// A large always-on load (water heater, heating): a high flat base.
    AlwaysOn,
    /// A shop on a residential meter: flat 09:00–21:00, little at night.
    SmallShop,
}

impl UsageClass {
    /// Every class, in label order.
    pub const ALL: [UsageClass; 5] = [
        Self::Commuter,
        Self::HomeDaytime,
        Self::EveningHeavy,
        Self::AlwaysOn,
        Self::SmallShop,
    ];

    /// The label written to `households.csv`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Commuter => "commuter",
            Self::HomeDaytime => "home_daytime",
            Self::EveningHeavy => "evening_heavy",
            Self::AlwaysOn => "always_on",
            Self::SmallShop => "small_shop",
        }
    }

    /// The class of a uniform draw `u` (shares 40/25/15/12/8 %).
    fn draw(u: f64) -> Self {
        const CUMULATIVE: [f64; 4] = [0.40, 0.65, 0.80, 0.92];
        Self::ALL[CUMULATIVE.iter().filter(|c| u >= **c).count()]
    }

    /// Relative demand in W of an average household at `hour` (slot middle).
    fn watts(self, hour: f64, weekend: bool) -> f64 {
        let bump = |centre: f64, width: f64, height: f64| {
            height * (-((hour - centre) / width).powi(2)).exp()
        };
        match self {
            Self::Commuter if weekend => {
                110.0 + bump(9.0, 1.2, 400.0) + bump(13.0, 2.0, 400.0) + bump(20.0, 1.8, 800.0)
            }
            Self::Commuter => 100.0 + bump(7.2, 0.8, 500.0) + bump(19.8, 1.6, 950.0),
            Self::HomeDaytime => {
                130.0 + bump(8.0, 1.5, 350.0) + bump(12.0, 2.0, 600.0) + bump(18.5, 1.7, 750.0)
            }
            Self::EveningHeavy => 110.0 + bump(12.5, 1.5, 150.0) + bump(23.0, 2.0, 900.0),
            Self::AlwaysOn => 420.0 + bump(7.5, 1.0, 250.0) + bump(20.0, 2.0, 400.0),
            Self::SmallShop => {
                let open = if (9.0..21.0).contains(&hour) {
                    650.0
                } else {
                    0.0
                };
                70.0 + open + bump(19.0, 1.5, 250.0)
            }
        }
    }
}

impl fmt::Display for UsageClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Public holidays of 2026–2027 (approximate blocks off work); other years have none.
const HOLIDAYS: [(i32, u32, u32, u32); 11] = [
    (2026, 1, 1, 3),
    (2026, 2, 15, 23),
    (2026, 4, 4, 6),
    (2026, 5, 1, 5),
    (2026, 6, 19, 21),
    (2026, 9, 25, 27),
    (2026, 10, 1, 7),
    (2027, 1, 1, 3),
    (2027, 2, 5, 13),
    (2027, 4, 3, 5),
    (2027, 5, 1, 5),
];

/// Whether `day` is in a public holiday block.
pub fn is_holiday(day: NaiveDate) -> bool {
    HOLIDAYS.iter().any(|(y, m, first, last)| {
        day.year() == *y && day.month() == *m && (*first..=*last).contains(&day.day())
    })
}

/// Why a household's load differs from its class on a day (for `households.csv`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Occupancy {
    /// Empty (standby load only) over `[from, until)`.
    pub vacant: Option<(NaiveDate, NaiveDate)>,
    /// Moved in on this day (empty before).
    pub moved_in: Option<NaiveDate>,
    /// Moved out on this day (empty from then on).
    pub moved_out: Option<NaiveDate>,
    /// Away during holiday blocks of three days or more.
    pub travels: bool,
}

/// One simulated household.
#[derive(Debug, Clone, PartialEq)]
pub struct Household {
    /// Usage class.
    pub class: UsageClass,
    /// Persons (1..=6).
    pub persons: u8,
    /// Load scale from the household size and a personal factor.
    pub scale: f64,
    /// Rooftop PV peak in W (0 without).
    pub pv_watts: f64,
    /// Occupancy over the history.
    pub occupancy: Occupancy,
    /// Standby load when empty, W.
    pub standby: f64,
    /// Seed of its noise.
    pub seed: u64,
}

impl Household {
    /// The household of customer `index`, drawn from `seed`; `first`..`last` bound the history.
    pub fn draw(seed: u64, index: u64, first: NaiveDate, last: NaiveDate) -> Self {
        let s = seed.wrapping_mul(0x1000_0001).wrapping_add(index + 1);
        let u = |salt: u64| unit_hash(s, salt);
        let persons = household_size(u(1));
        let class = UsageClass::draw(u(2));
        let span = (last - first).num_days().max(1);
        let day_at = |v: f64| first + chrono::TimeDelta::days((v * span as f64) as i64);
        let occupancy = Occupancy {
            vacant: (u(3) < 0.04).then(|| {
                let from = day_at(u(4));
                (
                    from,
                    from + chrono::TimeDelta::days(5 + (u(5) * 25.0) as i64),
                )
            }),
            moved_in: (u(6) < 0.015).then(|| day_at(u(7))),
            moved_out: (u(8) < 0.015).then(|| day_at(u(9))),
            travels: u(10) < 0.3,
        };
        Self {
            class,
            persons,
            scale: household_scale(persons) * (0.7 + 0.6 * u(11)),
            pv_watts: if u(12) < 0.05 {
                2000.0 + 3000.0 * u(13)
            } else {
                0.0
            },
            occupancy,
            standby: 10.0 + 30.0 * u(14),
            seed: s,
        }
    }

    /// Whether nobody is home on `day`.
    pub fn empty_on(&self, day: NaiveDate) -> bool {
        let o = &self.occupancy;
        o.vacant
            .is_some_and(|(from, until)| day >= from && day < until)
            || o.moved_in.is_some_and(|d| day < d)
            || o.moved_out.is_some_and(|d| day >= d)
            || (o.travels && is_holiday(day) && holiday_block_is_long(day))
    }

    /// True demand per quarter-hour of `day` in Wh, before PV; `weather` is the area's factor of the day.
    pub fn day_wh(&self, day: NaiveDate, weather: f64) -> [f64; SLOTS] {
        if self.empty_on(day) {
            return [self.standby / 4.0; SLOTS];
        }
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun) || is_holiday(day);
        let day_key = u64::try_from(day.num_days_from_ce()).unwrap_or_default();
        // Day-to-day variation of the household itself (guests, laundry day).
        let daily = 0.8 + 0.4 * unit_hash(self.seed ^ 0xDA11, day_key);
        let factor = season_factor(day) * self.scale * weather * daily;
        std::array::from_fn(|slot| {
            let hour = slot as f64 * 0.25 + 0.125;
            let noise = 0.75 + 0.5 * unit_hash(self.seed, day_key * 96 + slot as u64);
            self.class.watts(hour, weekend) * factor * noise / 4.0
        })
    }
}

/// Whether the holiday block around `day` lasts three days or more.
fn holiday_block_is_long(day: NaiveDate) -> bool {
    HOLIDAYS.iter().any(|(y, m, first, last)| {
        day.year() == *y
            && day.month() == *m
            && (*first..=*last).contains(&day.day())
            && last - first >= 2
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    #[test]
    fn classes_have_their_shapes() {
        let share = |c: UsageClass, from: f64, to: f64| {
            let all: f64 = (0..96).map(|s| c.watts(s as f64 * 0.25, false)).sum();
            let part: f64 = (0..96)
                .map(|s| s as f64 * 0.25)
                .filter(|h| (from..to).contains(h))
                .map(|h| c.watts(h, false))
                .sum();
            part / all
        };
        assert!(share(UsageClass::SmallShop, 9.0, 21.0) > 0.8);
        assert!(
            share(UsageClass::EveningHeavy, 21.0, 24.0) > share(UsageClass::Commuter, 21.0, 24.0)
        );
        assert!(
            share(UsageClass::HomeDaytime, 10.0, 15.0)
                > 2.0 * share(UsageClass::Commuter, 10.0, 15.0)
        );
    }

    #[test]
    fn draws_are_deterministic_and_varied() {
        let (first, last) = (day(9, 1), day(10, 30));
        let all: Vec<Household> = (0..2000)
            .map(|i| Household::draw(5, i, first, last))
            .collect();
        assert_eq!(all[7], Household::draw(5, 7, first, last));
        for class in UsageClass::ALL {
            assert!(
                all.iter().filter(|h| h.class == class).count() > 100,
                "{class}"
            );
        }
        assert!(all.iter().filter(|h| h.pv_watts > 0.0).count() > 50);
        assert!(all.iter().filter(|h| h.occupancy.vacant.is_some()).count() > 40);
        let traveller = all.iter().find(|h| {
            h.occupancy.travels
                && h.occupancy
                    == Occupancy {
                        travels: true,
                        vacant: None,
                        moved_in: None,
                        moved_out: None,
                    }
        });
        let traveller = traveller.expect("a traveller");
        assert!(traveller.empty_on(day(10, 3)));
        assert!(!traveller.empty_on(day(10, 12)));
        let empty: f64 = traveller.day_wh(day(10, 3), 1.0).iter().sum();
        let home: f64 = traveller.day_wh(day(10, 12), 1.0).iter().sum();
        assert!(home > 5.0 * empty, "{home} vs {empty}");
    }
}
