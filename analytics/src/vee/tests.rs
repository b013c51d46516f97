//! The rules on hand-made meter-days: each rule marks what it should, estimates add up, edits win.

use rust_decimal::Decimal;

use super::config::{Estimation, VeeConfig};
use super::history::MeterHistory;
use super::rules::{validate_day, MeterDay};
use super::{Flag, IntervalEdit, Method, Status};
use crate::diagnosis::Observation;
use crate::interval_rules::INTERVAL_US;

/// A day starting at 0 µs; readings at boundaries 0..=96 (the last closes the day).
fn readings(step_e2: impl Fn(usize) -> i64) -> Vec<Observation> {
    let mut register = 100_000;
    (0..=96)
        .map(|k| {
            if k > 0 {
                register += step_e2(k - 1);
            }
            Observation {
                meter_id: "000000000001".into(),
                boundary_us: k as i64 * INTERVAL_US,
                read_us: k as i64 * INTERVAL_US + 2_000_000,
                answered: true,
                forward_e2: Some(register),
                tariff_e2: [Some(register), Some(0), Some(0), Some(0)],
                reverse_e2: Some(0),
                current_a: Some(0.5),
                status_3: Some(0),
                clock_offset_s: Some(2),
                ..Observation::default()
            }
        })
        .collect()
}

fn day<'a>(readings: &'a [Observation], history: Option<&'a MeterHistory>) -> MeterDay<'a> {
    MeterDay {
        supply: false,
        has_pv: false,
        installs: &[],
        day_start_us: 0,
        day_end_us: 96 * INTERVAL_US,
        weekend: false,
        readings,
        history,
        edits: &[],
        estimated_days_before: 0,
    }
}

fn flat(_: usize) -> i64 {
    25
}

#[test]
fn a_clean_day_is_all_valid_and_adds_up() {
    let r = readings(flat);
    let out = validate_day(&day(&r, None), &VeeConfig::default());
    assert_eq!(out.intervals.len(), 96);
    assert!(out
        .intervals
        .iter()
        .all(|i| i.status == Status::Valid && i.flags.names().is_empty()));
    let total: i64 = out.intervals.iter().filter_map(|i| i.value_e6).sum();
    assert_eq!(total, 24_000_000);
    assert_eq!(out.estimated_days, 0);
}

fn history(average_kwh: i64) -> MeterHistory {
    let mut profile = vec![100_000; 96];
    for slot in profile.iter_mut().skip(72).take(12) {
        *slot = 900_000;
    }
    MeterHistory {
        average_day_e6: Some(average_kwh * 1_000_000),
        workday: Some(profile),
        weekend: None,
    }
}

#[test]
fn a_long_bracketed_gap_takes_the_profile_and_keeps_its_energy() {
    let mut r = readings(flat);
    r.retain(|o| !(68..80).contains(&(o.boundary_us / INTERVAL_US)));
    let h = history(24);
    let out = validate_day(&day(&r, Some(&h)), &VeeConfig::default());
    let gap: Vec<_> = out.intervals[67..80].iter().collect();
    assert!(gap.iter().all(|i| i.flags.contains(Flag::Gap)));
    assert!(gap.iter().all(|i| i.method == Method::Profile));
    let energy: i64 = gap.iter().filter_map(|i| i.value_e6).sum();
    assert_eq!(energy, 13 * 250_000, "the registers' energy is kept");
    assert!(
        gap[10].value_e6 > gap[0].value_e6,
        "the evening peak shapes it"
    );
    let linear = VeeConfig {
        estimation: Estimation::Linear,
        ..VeeConfig::default()
    };
    let out = validate_day(&day(&r, Some(&h)), &linear);
    assert!(out.intervals[67..80]
        .iter()
        .all(|i| i.method == Method::Linear && i.value_e6 == Some(250_000)));
}

#[test]
fn removed_values_are_estimated_and_flagged() {
    let mut r = readings(|k| match k {
        10 => 600,
        20..=22 => 0,
        _ => 25,
    });
    for o in &mut r[21..=23] {
        o.current_a = Some(8.0);
    }
    r[40].forward_e2 = r[40].forward_e2.map(|v| v - 500);
    let out = validate_day(&day(&r, None), &VeeConfig::default());
    let spike = &out.intervals[10];
    assert!(spike.flags.contains(Flag::Spike));
    assert_eq!(spike.raw_e6, Some(6_000_000));
    assert_eq!(
        (spike.status, spike.value_e6),
        (Status::Estimated, Some(250_000))
    );
    for (i, estimate) in [(21, 83_333), (22, 166_666)] {
        assert!(
            out.intervals[i].flags.contains(Flag::ZeroWithCurrent),
            "{i}"
        );
        assert_eq!(
            out.intervals[i].value_e6,
            Some(estimate),
            "between 0 and 0.25 kWh"
        );
    }
    assert!(!out.intervals[20].flags.contains(Flag::ZeroWithCurrent));
    // A PV meter exporting: current flows, the forward register stands, the reverse one moves.
    let mut export = readings(|_| 0);
    for (k, o) in export.iter_mut().enumerate() {
        o.current_a = Some(-6.0);
        o.reverse_e2 = Some(k as i64 * 30);
    }
    let mut pv = day(&export, None);
    pv.has_pv = true;
    let exported = validate_day(&pv, &VeeConfig::default());
    assert!(exported.intervals.iter().all(|i| i.status == Status::Valid));
    assert!(out.intervals[39].flags.contains(Flag::RegisterBackwards));
    assert_eq!(out.intervals[39].status, Status::Estimated);
}

#[test]
fn informational_rules_flag_without_removing() {
    let mut r = readings(flat);
    r[5].reverse_e2 = Some(10);
    r[30].tariff_e2[1] = Some(40);
    for o in &mut r[50..=51] {
        o.status_3 = Some(1 << 4);
    }
    r[60].clock_offset_s = Some(-900);
    let out = validate_day(&day(&r, None), &VeeConfig::default());
    assert!(out.intervals[4].flags.contains(Flag::ReverseWithoutPv));
    assert!(out.intervals[29].flags.contains(Flag::TouSumMismatch));
    assert!(out.intervals[50].flags.contains(Flag::EnergyWhileRelayOpen));
    assert!(out.intervals[59].flags.contains(Flag::ClockDrift));
    assert!(out.intervals.iter().all(|i| i.status == Status::Valid));
    let mut pv = day(&r, None);
    pv.has_pv = true;
    let out = validate_day(&pv, &VeeConfig::default());
    assert!(!out.intervals[4].flags.contains(Flag::ReverseWithoutPv));
}

#[test]
fn limits_follow_the_meter_kind() {
    let r = readings(|_| 2_000);
    let customer = validate_day(&day(&r, None), &VeeConfig::default());
    assert!(customer.intervals[0].flags.contains(Flag::AboveMaximum));
    let mut supply = day(&r, None);
    supply.supply = true;
    let supply = validate_day(&supply, &VeeConfig::default());
    assert!(supply.intervals.iter().all(|i| i.status == Status::Valid));
}

#[test]
fn a_silent_tail_takes_the_profile_or_the_last_value() {
    let mut r = readings(flat);
    r.truncate(73);
    let h = history(24);
    let out = validate_day(&day(&r, Some(&h)), &VeeConfig::default());
    assert!(out.intervals[72..]
        .iter()
        .all(|i| i.method == Method::Profile && i.flags.contains(Flag::Gap)));
    assert_eq!(out.intervals[75].value_e6, Some(900_000));
    let out = validate_day(&day(&r, None), &VeeConfig::default());
    assert!(out.intervals[72..]
        .iter()
        .all(|i| i.method == Method::Linear && i.value_e6 == Some(250_000)));
    let out = validate_day(&day(&[], None), &VeeConfig::default());
    assert!(out
        .intervals
        .iter()
        .all(|i| i.status == Status::Unestimated));
    assert_eq!(out.estimated_days, 1);
}

#[test]
fn the_latest_edit_sets_the_value_with_who_and_why() {
    let r = readings(flat);
    let edit = |kwh: Decimal, at: i64, by: &str| IntervalEdit {
        meter_id: "000000000001".into(),
        interval_start_us: 3 * INTERVAL_US,
        kwh,
        edited_by: by.into(),
        reason: "field reading".into(),
        edited_at_us: at,
    };
    let edits = [
        edit(Decimal::new(5, 1), 2, "li.lei"),
        edit(Decimal::new(75, 2), 1, "han.mei"),
    ];
    let mut d = day(&r, None);
    d.edits = &edits;
    let out = validate_day(&d, &VeeConfig::default());
    let edited = &out.intervals[3];
    assert_eq!(
        (edited.status, edited.method, edited.value_e6),
        (Status::Edited, Method::Edit, Some(500_000))
    );
    assert_eq!(
        edited.raw_e6,
        Some(250_000),
        "the raw value stays beside it"
    );
    assert_eq!(
        edited.edit.as_ref().map(|e| e.edited_by.as_str()),
        Some("li.lei")
    );
}

#[test]
fn usage_against_the_average_and_prolonged_estimation() {
    let r = readings(flat);
    let high = history(5);
    let out = validate_day(&day(&r, Some(&high)), &VeeConfig::default());
    assert!(out
        .intervals
        .iter()
        .all(|i| i.flags.contains(Flag::HighUsage)));
    let low = history(300);
    let out = validate_day(&day(&r, Some(&low)), &VeeConfig::default());
    assert!(out
        .intervals
        .iter()
        .all(|i| i.flags.contains(Flag::LowUsage)));
    let usual = history(24);
    let out = validate_day(&day(&r, Some(&usual)), &VeeConfig::default());
    assert!(out.intervals.iter().all(|i| i.flags.names().is_empty()));
    let mut silent = day(&r[..20], Some(&usual));
    silent.estimated_days_before = 2;
    let out = validate_day(&silent, &VeeConfig::default());
    assert_eq!(out.estimated_days, 3);
    assert!(out.intervals[50].flags.contains(Flag::ProlongedEstimation));
    assert!(!out.intervals[5].flags.contains(Flag::ProlongedEstimation));
}

#[test]
fn configuration_is_checked() {
    assert!(VeeConfig::default().validate().is_ok());
    let mut bad = VeeConfig::default();
    bad.customer.spike_ratio = f64::NAN;
    assert!(bad
        .validate()
        .unwrap_err()
        .to_string()
        .contains("spike_ratio"));
    let bad = VeeConfig {
        history_days: 0,
        ..VeeConfig::default()
    };
    assert!(bad.validate().is_err());
    let toml_text = "estimation = \"profile\"\n[supply]\nmax_interval_kwh = 500.0\n";
    let parsed: VeeConfig = toml::from_str(toml_text).expect("parses");
    assert_eq!(parsed.estimation, Estimation::Profile);
    assert_eq!(parsed.supply.max_interval_kwh, 500.0);
    assert_eq!(
        parsed.supply.spike_min_kwh,
        VeeConfig::default().supply.spike_min_kwh,
        "a partial supply section keeps the supply defaults"
    );
    assert_eq!(parsed.customer, VeeConfig::default().customer);
    assert!(toml::from_str::<VeeConfig>("[customer]\nspike = 3.0\n").is_err());
}
