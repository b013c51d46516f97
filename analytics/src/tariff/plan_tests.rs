//! Plan files: the shipped plans load with the documented numbers; invalid plans are rejected with
//! the file and the line of the fault.

use chrono::NaiveDate;
use rust_decimal_macros::dec;

use super::*;

/// A valid two-tier TOU plan; tests break one line of it. Line numbers matter below.
const BASE: &str = r#"name = "test"
source = "test fixture, not a tariff"

[[versions]]
effective_from = 2026-01-01

[versions.ladder]
accounting = "monthly"
settlement = { day = 1, hour = 0 }
thresholds = ["240", "400"]

[[versions.tou]]
periods = [
  { class = "peak", start = "06:00", end = "22:00" },
  { class = "valley", start = "22:00", end = "06:00" },
]

[versions.prices]
peak = ["0.6", "0.65", "0.9"]
valley = ["0.3", "0.33", "0.6"]
"#;

fn error_of(text: &str) -> String {
    TariffPlan::from_toml(text, "p.toml")
        .expect_err("the plan should be rejected")
        .to_string()
}

#[test]
fn the_base_fixture_is_valid() {
    let plan = TariffPlan::from_toml(BASE, "p.toml").unwrap();
    assert_eq!(plan.versions[0].prices.classes, ["peak", "valley"]);
    assert_eq!(plan.versions[0].prices.price(1, 1), Some(dec!(0.33)));
}

#[test]
fn every_builtin_plan_loads() {
    for name in builtin_names() {
        let plan = builtin(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(plan.name, name);
        assert!(!plan.source.is_empty());
    }
    assert!(builtin("atlantis")
        .unwrap_err()
        .to_string()
        .contains("beijing-residential"));
}

#[test]
fn shipped_plans_carry_the_documented_numbers() {
    let zj = builtin("zhejiang-residential").unwrap();
    let v = &zj.versions[0];
    assert_eq!(v.ladder.accounting, Accounting::Annual);
    assert_eq!(v.ladder.seasons[0].thresholds, [dec!(2760), dec!(4800)]);
    assert_eq!(
        (0..3)
            .map(|t| v.prices.price(t, 0).unwrap())
            .collect::<Vec<_>>(),
        [dec!(0.538), dec!(0.588), dec!(0.838)]
    );
    let zj_tou = builtin("zhejiang-residential-tou").unwrap();
    let v = &zj_tou.versions[0];
    assert!(v.tou.is_none(), "TOU hours are unverified");
    assert_eq!(
        v.prices.price(2, v.prices.class_index("peak").unwrap()),
        Some(dec!(0.868))
    );
    assert_eq!(
        v.prices.price(0, v.prices.class_index("valley").unwrap()),
        Some(dec!(0.288))
    );

    let sh = builtin("shanghai-residential").unwrap();
    let v = &sh.versions[0];
    assert_eq!(v.ladder.seasons[0].thresholds, [dec!(3120), dec!(4800)]);
    let (peak, valley) = (
        v.prices.class_index("peak").unwrap(),
        v.prices.class_index("valley").unwrap(),
    );
    assert_eq!(v.prices.price(1, peak), Some(dec!(0.677)));
    assert_eq!(v.prices.price(1, valley), Some(dec!(0.337)));
    assert_eq!(v.household_bonus.as_ref().unwrap().kwh_per_month, dec!(100));
    assert!(v.unverified.iter().any(|u| u == "prices.tier3"));

    let bj = builtin("beijing-residential").unwrap();
    assert_eq!(bj.versions[0].ladder.accounting, Accounting::Monthly);
    assert_eq!(bj.versions[0].prices.price(2, 0), Some(dec!(0.7883)));

    let gd = builtin("guangdong-residential").unwrap();
    let ladder = &gd.versions[0].ladder;
    let at = |m| {
        NaiveDate::from_ymd_opt(2026, m, 15)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap()
    };
    assert_eq!(ladder.thresholds_at(at(5)), [dec!(260), dec!(600)]);
    assert_eq!(ladder.thresholds_at(at(10)), [dec!(260), dec!(600)]);
    assert_eq!(ladder.thresholds_at(at(11)), [dec!(200), dec!(400)]);
    assert_eq!(ladder.thresholds_at(at(4)), [dec!(200), dec!(400)]);
    assert!(
        !gd.versions[0].prices.is_complete(),
        "the base price is unverified"
    );
}

#[test]
fn overlapping_periods_name_the_line() {
    let text = BASE.replace(
        r#"start = "22:00", end = "06:00""#,
        r#"start = "21:00", end = "06:00""#,
    );
    let err = error_of(&text);
    assert!(
        err.starts_with("p.toml:15: period valley 21:00–06:00 overlaps period peak"),
        "{err}"
    );
}

#[test]
fn a_gap_in_the_day_names_the_line() {
    let text = BASE.replace(
        r#"start = "22:00", end = "06:00""#,
        r#"start = "23:00", end = "06:00""#,
    );
    let err = error_of(&text);
    assert!(
        err.starts_with("p.toml:12: gap in the day: no period covers 22:00–23:00"),
        "{err}"
    );
}

#[test]
fn non_increasing_thresholds_name_the_line() {
    let err = error_of(&BASE.replace(r#"["240", "400"]"#, r#"["240", "240"]"#));
    assert_eq!(
        err,
        "p.toml:10: thresholds must increase: 240 kWh follows 240 kWh"
    );
    let err = error_of(&BASE.replace(r#"["240", "400"]"#, r#"["0", "400"]"#));
    assert_eq!(err, "p.toml:10: threshold 0 kWh must be positive");
}

#[test]
fn prices_that_would_overflow_a_bill_are_refused() {
    let huge = "79228162514264337593543950335";
    let err = error_of(&BASE.replace(
        r#"["0.3", "0.33", "0.6"]"#,
        &format!(r#"["0.3", "{huge}", "0.6"]"#),
    ));
    assert_eq!(
        err,
        format!("p.toml:20: class \"valley\" tier 2 price {huge} is above the 100 yuan/kWh a plan may set")
    );
    let err = error_of(&BASE.replace(r#"["0.3", "0.33", "0.6"]"#, r#"["0.3", "100.01", "0.6"]"#));
    assert!(err.contains("above the 100 yuan/kWh"), "{err}");
}

#[test]
fn negative_prices_name_the_line() {
    let err = error_of(&BASE.replace(r#"["0.3", "0.33", "0.6"]"#, r#"["0.3", "-0.33", "0.6"]"#));
    assert_eq!(
        err,
        "p.toml:20: class \"valley\" tier 2 has a negative price -0.33"
    );
}

#[test]
fn missing_matrix_cells_name_the_line() {
    let err = error_of(&BASE.replace(r#"["0.6", "0.65", "0.9"]"#, r#"["0.6", "0.65"]"#));
    assert!(
        err.starts_with("p.toml:19: class \"peak\" has 2 prices but the ladder has 3 tiers"),
        "{err}"
    );
}

#[test]
fn bad_dates_name_the_line() {
    let err = error_of(&BASE.replace("2026-01-01", "2026-02-30"));
    assert!(err.starts_with("p.toml:5:"), "{err}");
    let err = error_of(&BASE.replace("2026-01-01", "2026-13-01"));
    assert!(err.starts_with("p.toml:5:"), "{err}");
    let err = error_of(&BASE.replace("2026-01-01", "2026-01-01T00:00:00+08:00"));
    assert!(
        err.starts_with("p.toml:5: effective_from") && err.contains("offset"),
        "{err}"
    );
    let err = error_of(&BASE.replace("day = 1, hour = 0", "day = 31, hour = 0"));
    assert_eq!(err, "p.toml:9: settlement day 31 must be 1–28");
    let err = error_of(&BASE.replace("day = 1, hour = 0", "month = 3, day = 1, hour = 0"));
    assert!(
        err.starts_with("p.toml:9: a monthly ladder resets every month"),
        "{err}"
    );
    let two = format!(
        "{BASE}\n[[versions]]\neffective_from = 2025-06-01\n[versions.prices]\nflat = [\"0.5\"]\n"
    );
    let err = error_of(&two);
    assert_eq!(
        err,
        "p.toml:23: versions must be in order: effective_from 2025-06-01 00:00:00 is not after 2026-01-01 00:00:00"
    );
}

#[test]
fn floats_and_unknown_fields_name_the_line() {
    let err = error_of(&BASE.replace(r#"["0.6", "0.65", "0.9"]"#, r#"[0.6, "0.65", "0.9"]"#));
    assert!(
        err.starts_with("p.toml:19:") && err.contains("write prices as strings"),
        "{err}"
    );
    let err = error_of(&BASE.replace("accounting = \"monthly\"", "accounting = \"weekly\""));
    assert!(err.starts_with("p.toml:8:"), "{err}");
    let err = error_of(&BASE.replace("[versions.ladder]", "[versions.ladder]\ncolour = \"red\""));
    assert!(
        err.starts_with("p.toml:8:") && err.contains("colour"),
        "{err}"
    );
}

#[test]
fn unused_classes_and_missing_hours_are_faults() {
    let text = BASE.replace("valley = [", "sharp = [\"1\", \"1\", \"1\"]\nvalley = [");
    let err = error_of(&text);
    assert!(
        err.starts_with("p.toml:20: class \"sharp\" has prices but no TOU period"),
        "{err}"
    );
    let start = BASE.find("[[versions.tou]]").unwrap();
    let end = BASE.find("[versions.prices]").unwrap();
    let no_tou = format!("{}{}", &BASE[..start], &BASE[end..]);
    let err = error_of(&no_tou);
    assert!(err.contains("tou_hours"), "{err}");
}

/// A fixture, not a tariff: a summer season (July–August) with a sharp (尖) hour inside the peak,
/// and the rest of the year peak/valley.
const SEASONAL_TOU: &str = r#"name = "seasonal-tou-fixture"
source = "test fixture, not a tariff"

[[versions]]
effective_from = 2026-01-01

[[versions.tou]]
months = [7, 8]
periods = [
  { class = "peak", start = "08:00", end = "11:00" },
  { class = "sharp", start = "11:00", end = "12:00" },
  { class = "peak", start = "12:00", end = "22:00" },
  { class = "valley", start = "22:00", end = "08:00" },
]

[[versions.tou]]
months = [9, 6]
periods = [
  { class = "peak", start = "08:00", end = "22:00" },
  { class = "valley", start = "22:00", end = "08:00" },
]

[versions.prices]
sharp = ["1.0"]
peak = ["0.6"]
valley = ["0.3"]
"#;

#[test]
fn seasonal_tou_periods_follow_the_month() {
    let plan = TariffPlan::from_toml(SEASONAL_TOU, "s.toml").unwrap();
    let v = &plan.versions[0];
    assert_eq!(v.prices.classes, ["sharp", "peak", "valley"]);
    let tou = v.tou.as_ref().unwrap();
    let at = |m, h| {
        NaiveDate::from_ymd_opt(2026, m, 10)
            .unwrap()
            .and_hms_opt(h, 30, 0)
            .unwrap()
    };
    let class = |m, h| v.prices.classes[usize::from(tou.class_index_at(at(m, h)))].as_str();
    assert_eq!(class(7, 11), "sharp");
    assert_eq!(class(8, 11), "sharp");
    assert_eq!(class(9, 11), "peak");
    assert_eq!(class(6, 11), "peak");
    assert_eq!(class(1, 23), "valley");
    // Pricing across the season change: 31 August 11:30 is sharp, 1 September 11:30 is peak.
    let zone = chrono_tz::Asia::Shanghai;
    let utc = |m, d| {
        use chrono::TimeZone;
        zone.with_ymd_and_hms(2026, m, d, 11, 30, 0)
            .single()
            .unwrap()
            .with_timezone(&chrono::Utc)
    };
    let bill = Pricer::new(plan.clone(), zone)
        .price(
            BillingPeriod {
                start: utc(8, 31),
                end: utc(9, 2),
            },
            &AccountTerms::default(),
            rust_decimal::Decimal::ZERO,
            &[
                Interval {
                    start: utc(8, 31),
                    kwh: dec!(1),
                },
                Interval {
                    start: utc(9, 1),
                    kwh: dec!(1),
                },
            ],
        )
        .unwrap();
    let got: Vec<_> = bill
        .lines
        .iter()
        .map(|l| (l.class.as_str(), l.amount))
        .collect();
    // 1 × 1.0 + 1 × 0.6 = 1.6
    assert_eq!(got, [("sharp", dec!(1.0)), ("peak", dec!(0.6))]);
    assert_eq!(bill.total, dec!(1.60));
}

#[test]
fn tou_seasons_must_cover_each_month_once() {
    let gap = SEASONAL_TOU.replace("months = [9, 6]", "months = [9, 5]");
    let err = error_of(&gap);
    assert!(
        err.starts_with("p.toml:17: no TOU season covers month 6"),
        "{err}"
    );
    let overlap = SEASONAL_TOU.replace("months = [9, 6]", "months = [8, 6]");
    let err = error_of(&overlap);
    assert!(
        err.starts_with("p.toml:17: TOU seasons overlap: month 8"),
        "{err}"
    );
}
