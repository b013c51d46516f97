//! Bills computed by hand from the published numbers (docs/prepaid-and-tariffs.md §1.3); each test
//! writes its hand computation in a comment.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

use super::*;

const ZONE: Tz = chrono_tz::Asia::Shanghai;

/// Local time in Shanghai → UTC.
fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    ZONE.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn period(from: DateTime<Utc>, to: DateTime<Utc>) -> BillingPeriod {
    BillingPeriod {
        start: from,
        end: to,
    }
}

fn october() -> BillingPeriod {
    period(local(2026, 10, 1, 0, 0), local(2026, 11, 1, 0, 0))
}

fn usage(rows: &[(DateTime<Utc>, Decimal)]) -> Vec<Interval> {
    rows.iter()
        .map(|(start, kwh)| Interval {
            start: *start,
            kwh: *kwh,
        })
        .collect()
}

fn pricer(name: &str) -> Pricer {
    Pricer::new(builtin(name).unwrap(), ZONE)
}

/// (tier, class, kWh, price, amount) of each line.
fn lines(bill: &TariffBill) -> Vec<(u8, &str, Decimal, Decimal, Decimal)> {
    bill.lines
        .iter()
        .map(|l| (l.tier, l.class.as_str(), l.kwh, l.price, l.amount))
        .collect()
}

#[test]
fn beijing_crossing_one_threshold() {
    // Beijing monthly 240 / 400 kWh, 0.4883 / 0.5383 / 0.7883 yuan/kWh. 200 + 60 = 260 kWh:
    // tier 1 240 × 0.4883 = 117.192; tier 2 20 × 0.5383 = 10.766; total 127.958 → 127.96.
    let bill = pricer("beijing-residential")
        .price(
            october(),
            &AccountTerms::default(),
            Decimal::ZERO,
            &usage(&[
                (local(2026, 10, 1, 0, 0), dec!(200)),
                (local(2026, 10, 10, 12, 0), dec!(60)),
            ]),
        )
        .unwrap();
    assert_eq!(
        lines(&bill),
        [
            (1, "flat", dec!(240), dec!(0.4883), dec!(117.192)),
            (2, "flat", dec!(20), dec!(0.5383), dec!(10.766)),
        ]
    );
    assert_eq!(bill.unrounded_total, dec!(127.958));
    assert_eq!(bill.total, dec!(127.96));
    // The period ends at the monthly settlement (1 November 00:00): the next month starts at zero.
    assert_eq!(bill.ladder_end_kwh, Decimal::ZERO);
}

#[test]
fn beijing_crossing_two_thresholds_rounds_half_up() {
    // 200 + 100 + 150 = 450 kWh: tier 1 240 × 0.4883 = 117.192; tier 2 160 × 0.5383 = 86.128;
    // tier 3 50 × 0.7883 = 39.415; total 242.735 → 242.74 (half-up at the fen).
    let bill = pricer("beijing-residential")
        .price(
            october(),
            &AccountTerms::default(),
            Decimal::ZERO,
            &usage(&[
                (local(2026, 10, 2, 0, 0), dec!(200)),
                (local(2026, 10, 12, 0, 0), dec!(100)),
                (local(2026, 10, 22, 0, 0), dec!(150)),
            ]),
        )
        .unwrap();
    assert_eq!(
        lines(&bill),
        [
            (1, "flat", dec!(240), dec!(0.4883), dec!(117.192)),
            (2, "flat", dec!(160), dec!(0.5383), dec!(86.128)),
            (3, "flat", dec!(50), dec!(0.7883), dec!(39.415)),
        ]
    );
    assert_eq!(bill.total, dec!(242.74));
}

#[test]
fn consumption_exactly_at_a_threshold_stays_in_the_lower_tier() {
    // 240.00 kWh exactly: all tier 1, 240 × 0.4883 = 117.192 → 117.19. Then from 240 on the ladder,
    // 0.01 kWh more is tier 2: 0.01 × 0.5383 = 0.005383 → 0.01.
    let p = pricer("beijing-residential");
    let at_threshold = p
        .price(
            october(),
            &AccountTerms::default(),
            dec!(100),
            &usage(&[(local(2026, 10, 3, 0, 0), dec!(140.00))]),
        )
        .unwrap();
    assert_eq!(
        lines(&at_threshold),
        [(1, "flat", dec!(140), dec!(0.4883), dec!(68.362))]
    );
    let past = p
        .price(
            october(),
            &AccountTerms::default(),
            dec!(240),
            &usage(&[(local(2026, 10, 3, 0, 0), dec!(0.01))]),
        )
        .unwrap();
    assert_eq!(
        lines(&past),
        [(2, "flat", dec!(0.01), dec!(0.5383), dec!(0.005383))]
    );
    assert_eq!(past.total, dec!(0.01));
}

#[test]
fn shanghai_tou_matrix_with_a_straddling_interval() {
    // Annual ladder, 3,100 kWh already used this year (tier 1 ends at 3,120).
    // 08:00 peak 15 kWh → tier 1 (3,115); 12:00 peak 3 → tier 1 (3,118);
    // 23:00 valley 10 → 2 in tier 1 (exactly 3,120) and 8 in tier 2.
    // tier 1 peak 18 × 0.617 = 11.106; tier 1 valley 2 × 0.307 = 0.614; tier 2 valley 8 × 0.337 = 2.696;
    // total 14.416 → 14.42.
    let day = period(local(2026, 3, 10, 0, 0), local(2026, 3, 11, 0, 0));
    let intervals = usage(&[
        (local(2026, 3, 10, 8, 0), dec!(15)),
        (local(2026, 3, 10, 12, 0), dec!(3)),
        (local(2026, 3, 10, 23, 0), dec!(10)),
    ]);
    let bill = pricer("shanghai-residential")
        .price(day, &AccountTerms::default(), dec!(3100), &intervals)
        .unwrap();
    assert_eq!(
        lines(&bill),
        [
            (1, "peak", dec!(18), dec!(0.617), dec!(11.106)),
            (1, "valley", dec!(2), dec!(0.307), dec!(0.614)),
            (2, "valley", dec!(8), dec!(0.337), dec!(2.696)),
        ]
    );
    assert_eq!(bill.total, dec!(14.42));
    assert!(bill
        .unverified
        .iter()
        .any(|u| u.starts_with("prices.tier3")));

    // Pro-rata: 28 kWh, peak share 18/28, valley 10/28; tiers 20 (to 3,120) and 8.
    // tier 1: peak 20 × 18/28 = 12.857142.857…, valley 7.142857.142… → largest remainder to peak:
    //   12.857143 and 7.142857; tier 2: peak 8 × 18/28 = 5.142857.142…, valley 2.857142.857… → valley
    //   gets the unit: 5.142857 and 2.857143.
    // 12.857143 × 0.617 = 7.932857231; 7.142857 × 0.307 = 2.192857099;
    // 5.142857 × 0.677 = 3.481714189; 2.857143 × 0.337 = 0.962857191; total 14.570285710 → 14.57.
    let text = include_str!("../../../tariffs/shanghai-residential.toml").replace(
        "allocation = \"chronological\"",
        "allocation = \"pro_rata\"",
    );
    let plan = TariffPlan::from_toml(&text, "pro-rata.toml").unwrap();
    let bill = Pricer::new(plan, ZONE)
        .price(day, &AccountTerms::default(), dec!(3100), &intervals)
        .unwrap();
    assert_eq!(
        lines(&bill),
        [
            (1, "peak", dec!(12.857143), dec!(0.617), dec!(7.932857231)),
            (1, "valley", dec!(7.142857), dec!(0.307), dec!(2.192857099)),
            (2, "peak", dec!(5.142857), dec!(0.677), dec!(3.481714189)),
            (2, "valley", dec!(2.857143), dec!(0.337), dec!(0.962857191)),
        ]
    );
    assert_eq!(bill.unrounded_total, dec!(14.570285710));
    assert_eq!(bill.total, dec!(14.57));
}

#[test]
fn zhejiang_annual_ladder_resets_at_settlement() {
    // Annual ladder 2,760 / 4,800, settlement 1 January 00:00; 2,700 kWh used before 15 December.
    // 20 December 100 kWh: 60 in tier 1 (to 2,760), 40 in tier 2.
    // 1 January resets the ladder; 5 January 100 kWh: tier 1.
    // tier 1 160 × 0.538 = 86.08; tier 2 40 × 0.588 = 23.52; total 109.60; ladder ends at 100.
    let bill = pricer("zhejiang-residential")
        .price(
            period(local(2026, 12, 15, 0, 0), local(2027, 1, 15, 0, 0)),
            &AccountTerms::default(),
            dec!(2700),
            &usage(&[
                (local(2026, 12, 20, 12, 0), dec!(100)),
                (local(2027, 1, 5, 12, 0), dec!(100)),
            ]),
        )
        .unwrap();
    assert_eq!(
        lines(&bill),
        [
            (1, "flat", dec!(160), dec!(0.538), dec!(86.080)),
            (2, "flat", dec!(40), dec!(0.588), dec!(23.520)),
        ]
    );
    assert_eq!(bill.total, dec!(109.60));
    assert_eq!(bill.ladder_end_kwh, dec!(100));
    // A period ending exactly at settlement hands the next period an empty ladder.
    let december = pricer("zhejiang-residential")
        .price(
            period(local(2026, 12, 1, 0, 0), local(2027, 1, 1, 0, 0)),
            &AccountTerms::default(),
            dec!(2700),
            &usage(&[(local(2026, 12, 20, 12, 0), dec!(100))]),
        )
        .unwrap();
    assert_eq!(december.ladder_end_kwh, Decimal::ZERO);
}

/// A test fixture, not a tariff: Beijing's published 2012 ladder (240 / 400 kWh monthly,
/// 0.4883 / 0.5383 / 0.7883) followed by a hypothetical change on 16 October 2026 to Zhejiang's
/// published flat prices (0.538 / 0.588 / 0.838) on the same thresholds.
const CHANGE: &str = r#"name = "change-fixture"
source = "test fixture built from published numbers; the change date is hypothetical"

[[versions]]
effective_from = 2012-07-01
[versions.ladder]
accounting = "monthly"
settlement = { day = 1, hour = 0 }
thresholds = ["240", "400"]
[versions.prices]
flat = ["0.4883", "0.5383", "0.7883"]

[[versions]]
effective_from = 2026-10-16
[versions.ladder]
accounting = "monthly"
settlement = { day = 1, hour = 0 }
thresholds = ["240", "400"]
[versions.prices]
flat = ["0.538", "0.588", "0.838"]
"#;

#[test]
fn a_mid_period_tariff_change_bills_each_side_at_its_own_prices() {
    // 10 October 200 kWh under the old version: tier 1 200 × 0.4883 = 97.66.
    // 20 October 100 kWh under the new version; the ladder carries on from 200 (no settlement):
    // 40 in tier 1 × 0.538 = 21.52, 60 in tier 2 × 0.588 = 35.28. Total 154.46.
    let plan = TariffPlan::from_toml(CHANGE, "change.toml").unwrap();
    let bill = Pricer::new(plan, ZONE)
        .price(
            october(),
            &AccountTerms::default(),
            Decimal::ZERO,
            &usage(&[
                (local(2026, 10, 10, 12, 0), dec!(200)),
                (local(2026, 10, 20, 12, 0), dec!(100)),
            ]),
        )
        .unwrap();
    let old = NaiveDate::from_ymd_opt(2012, 7, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let new = NaiveDate::from_ymd_opt(2026, 10, 16)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let got: Vec<_> = bill
        .lines
        .iter()
        .map(|l| (l.effective_from, l.tier, l.kwh, l.amount))
        .collect();
    assert_eq!(
        got,
        [
            (old, 1, dec!(200), dec!(97.6600)),
            (new, 1, dec!(40), dec!(21.520)),
            (new, 2, dec!(60), dec!(35.280)),
        ]
    );
    assert_eq!(bill.total, dec!(154.46));
}

#[test]
fn shanghai_household_bonus_raises_tier_one() {
    // +100 kWh/month × 12 on the annual tier-1 threshold: 3,120 → 4,320 kWh.
    // 4,300 kWh used; 50 kWh at 10:00 (peak).
    // Without the bonus: tier 2, 50 × 0.677 = 33.85.
    // With it: 20 × 0.617 = 12.34 in tier 1 and 30 × 0.677 = 20.31 in tier 2: 32.65.
    let p = pricer("shanghai-residential");
    let day = period(local(2026, 6, 1, 0, 0), local(2026, 6, 2, 0, 0));
    let intervals = usage(&[(local(2026, 6, 1, 10, 0), dec!(50))]);
    let plain = p
        .price(day, &AccountTerms::default(), dec!(4300), &intervals)
        .unwrap();
    assert_eq!(plain.total, dec!(33.85));
    let large = AccountTerms {
        household_bonus_kwh_per_month: Some(dec!(100)),
    };
    let bonus = p.price(day, &large, dec!(4300), &intervals).unwrap();
    assert_eq!(
        lines(&bonus),
        [
            (1, "peak", dec!(20), dec!(0.617), dec!(12.340)),
            (2, "peak", dec!(30), dec!(0.677), dec!(20.310)),
        ]
    );
    assert_eq!(bonus.total, dec!(32.65));
    // Beijing defines no bonus.
    let err = pricer("beijing-residential")
        .price(october(), &large, Decimal::ZERO, &[])
        .unwrap_err();
    assert!(
        matches!(err, PricingError::NoHouseholdBonus { .. }),
        "{err}"
    );
}

#[test]
fn daily_charges_and_true_up() {
    // Beijing, October: day 1 100 kWh → 100 × 0.4883 = 48.83;
    // day 2 150 kWh → 140 × 0.4883 = 68.362 + 10 × 0.5383 = 5.383 = 73.745 → 73.75;
    // day 3 0.5 kWh → 0.5 × 0.5383 = 0.26915 → 0.27. Σ daily charges = 122.85.
    // Month: 240 × 0.4883 + 10.5 × 0.5383 = 122.84415 → 122.84, so the true-up is −0.01.
    let charges = daily_charges(
        &pricer("beijing-residential"),
        october(),
        &AccountTerms::default(),
        Decimal::ZERO,
        &usage(&[
            (local(2026, 10, 1, 0, 0), dec!(100)),
            (local(2026, 10, 2, 23, 45), dec!(150)),
            (local(2026, 10, 3, 0, 0), dec!(0.5)),
        ]),
    )
    .unwrap();
    assert_eq!(charges.days.len(), 31);
    let first: Vec<_> = charges.days[..4]
        .iter()
        .map(|d| (d.kwh, d.charge))
        .collect();
    assert_eq!(
        first,
        [
            (dec!(100), dec!(48.83)),
            (dec!(150), dec!(73.75)),
            (dec!(0.5), dec!(0.27)),
            (dec!(0), dec!(0))
        ]
    );
    assert_eq!(charges.days[2].amount, dec!(0.26915));
    assert_eq!(charges.bill_total, dec!(122.84));
    assert_eq!(charges.true_up, dec!(-0.01));
}

/// A fixture with net metering switched on (shipped plans leave it off).
#[test]
fn export_is_never_negative_consumption_and_net_metering_offsets_later_imports() {
    // 10:00 export 5 kWh, 11:00 import 8 kWh. Without net metering 8 kWh are billed at
    // 0.4883 = 3.9064 → 3.91 and the 5 kWh export is reported, not subtracted. With net metering
    // the credit offsets 5 of the 8: 3 × 0.4883 = 1.4649 → 1.46.
    let intervals = usage(&[
        (local(2026, 10, 5, 10, 0), dec!(-5)),
        (local(2026, 10, 5, 11, 0), dec!(8)),
    ]);
    let plain = pricer("beijing-residential")
        .price(
            october(),
            &AccountTerms::default(),
            Decimal::ZERO,
            &intervals,
        )
        .unwrap();
    assert_eq!(
        (plain.billed_kwh, plain.export_kwh, plain.total),
        (dec!(8), dec!(5), dec!(3.91))
    );
    let text = include_str!("../../../tariffs/beijing-residential.toml")
        .replace("net_metering = false", "net_metering = true");
    let net = Pricer::new(TariffPlan::from_toml(&text, "net.toml").unwrap(), ZONE)
        .price(
            october(),
            &AccountTerms::default(),
            Decimal::ZERO,
            &intervals,
        )
        .unwrap();
    assert_eq!(
        (net.billed_kwh, net.netted_kwh, net.total),
        (dec!(3), dec!(5), dec!(1.46))
    );
}

#[test]
fn unverified_plans_are_refused_and_bad_input_is_named() {
    let err = pricer("zhejiang-residential-tou")
        .price(october(), &AccountTerms::default(), Decimal::ZERO, &[])
        .unwrap_err();
    assert!(err.to_string().contains("TOU hours unverified"), "{err}");
    let err = pricer("guangdong-residential")
        .price(october(), &AccountTerms::default(), Decimal::ZERO, &[])
        .unwrap_err();
    assert!(err.to_string().contains("price"), "{err}");
    let err = pricer("shanghai-residential")
        .price(
            period(local(2012, 10, 1, 0, 0), local(2012, 11, 1, 0, 0)),
            &AccountTerms::default(),
            Decimal::ZERO,
            &[],
        )
        .unwrap_err();
    assert!(matches!(err, PricingError::NoVersion { .. }), "{err}");
    let p = pricer("beijing-residential");
    let unordered = usage(&[
        (local(2026, 10, 5, 0, 0), dec!(1)),
        (local(2026, 10, 4, 0, 0), dec!(1)),
    ]);
    assert!(matches!(
        p.price(
            october(),
            &AccountTerms::default(),
            Decimal::ZERO,
            &unordered
        ),
        Err(PricingError::OutOfOrder { index: 1, .. })
    ));
    let outside = usage(&[(local(2026, 11, 1, 0, 0), dec!(1))]);
    assert!(matches!(
        p.price(october(), &AccountTerms::default(), Decimal::ZERO, &outside),
        Err(PricingError::OutsidePeriod { index: 0, .. })
    ));
}

#[test]
fn quote_prices_a_usage_file() {
    // The crossing-one-threshold bill again, from a CSV with local timestamps: 127.96.
    let text = "timestamp,kwh\n2026-10-01 00:00,200\n2026-10-10 12:00,60\n";
    let bill = quote(
        &pricer("beijing-residential"),
        text,
        "usage.csv",
        Decimal::ZERO,
        &AccountTerms::default(),
        None,
    )
    .unwrap();
    assert_eq!(bill.total, dec!(127.96));
    // With 100 kWh already on the ladder: tier 1 140 × 0.4883 = 68.362, tier 2 120 × 0.5383 = 64.596;
    // total 132.958 → 132.96.
    let bill = quote(
        &pricer("beijing-residential"),
        text,
        "usage.csv",
        dec!(100),
        &AccountTerms::default(),
        None,
    )
    .unwrap();
    assert_eq!(bill.total, dec!(132.96));
}

#[test]
fn tou_classes_follow_local_time_across_a_dst_change() {
    // The Shanghai tier-1 TOU plan (peak 06:00–22:00 0.617, valley 0.307) used in New York, where
    // clocks spring forward at 02:00 on 8 March 2026 (EST −5 → EDT −4).
    // 05:45Z = 00:45 EST → valley 1 kWh; 11:00Z = 07:00 EDT → peak 2 kWh; 02:30Z on 9 March =
    // 22:30 EDT on 8 March → valley 4 kWh. Valley 5 × 0.307 = 1.535, peak 2 × 0.617 = 1.234;
    // total 2.769 → 2.77. The local day of 8 March has 23 hours; 8 and 9 March are two days.
    let zone = chrono_tz::America::New_York;
    let utc = |text: &str| text.parse::<DateTime<Utc>>().unwrap();
    let at = |d: u32| {
        zone.with_ymd_and_hms(2026, 3, d, 0, 0, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    };
    let pricer = Pricer::new(builtin("shanghai-tou-tier1").unwrap(), zone);
    let intervals = usage(&[
        (utc("2026-03-08T05:45:00Z"), dec!(1)),
        (utc("2026-03-08T11:00:00Z"), dec!(2)),
        (utc("2026-03-09T02:30:00Z"), dec!(4)),
    ]);
    let span = period(at(8), at(10));
    let bill = pricer
        .price(span, &AccountTerms::default(), Decimal::ZERO, &intervals)
        .unwrap();
    assert_eq!(
        lines(&bill),
        [
            (1, "peak", dec!(2), dec!(0.617), dec!(1.234)),
            (1, "valley", dec!(5), dec!(0.307), dec!(1.535)),
        ]
    );
    assert_eq!(bill.total, dec!(2.77));
    let daily = daily_charges(
        &pricer,
        span,
        &AccountTerms::default(),
        Decimal::ZERO,
        &intervals,
    )
    .unwrap();
    let days: Vec<_> = daily
        .days
        .iter()
        .map(|d| (d.date.to_string(), d.kwh))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-03-08".to_string(), dec!(7)),
            ("2026-03-09".to_string(), dec!(0))
        ]
    );
}

#[test]
fn absurd_input_is_refused() {
    let p = pricer("beijing-residential");
    let err = p
        .price(october(), &AccountTerms::default(), dec!(-1), &[])
        .unwrap_err();
    assert!(matches!(err, PricingError::NegativeLadderStart(_)), "{err}");
    let huge = usage(&[(local(2026, 10, 5, 0, 0), dec!(2000000))]);
    let err = p
        .price(october(), &AccountTerms::default(), Decimal::ZERO, &huge)
        .unwrap_err();
    assert!(matches!(err, PricingError::Implausible { .. }), "{err}");
}
