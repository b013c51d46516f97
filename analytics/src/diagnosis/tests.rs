use std::collections::HashMap;

use super::*;
use crate::interval_rules::INTERVAL_US;

/// 2026-10-01 05:00 UTC, 13:00 in Shanghai.
const T0: i64 = 1_790_830_800_000_000;
const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// A healthy household reading at interval `k`: 0.5 kW, 0.13 kWh per interval.
fn normal(k: i64) -> Observation {
    Observation {
        meter_id: "000000000001".into(),
        boundary_us: T0 + k * INTERVAL_US,
        read_us: T0 + k * INTERVAL_US + 2_000_000,
        answered: true,
        forward_e2: Some(10_000 + 13 * k),
        tariff_e2: [Some(0), Some(10_000 + 13 * k), Some(0), Some(0)],
        reverse_e2: Some(0),
        voltage_v: Some(221.0),
        current_a: Some(2.4),
        power_kw: Some(0.5),
        power_factor: Some(0.95),
        frequency_hz: Some(50.01),
        status_1: Some(0),
        status_3: Some(0x0200),
        clock_offset_s: Some(3),
        late_replies: 0,
        noise_bytes: 0,
    }
}

fn watch() -> Watch {
    Watch::new(DiagnosisConfig::default(), ZONE, HashMap::new())
}

/// Feeds readings 0..n, `fault` changing those in `faulty`; the signals with their reading index.
fn run(
    watch: &mut Watch,
    n: i64,
    faulty: std::ops::Range<i64>,
    fault: impl Fn(&mut Observation),
) -> Vec<(i64, Signal)> {
    let mut out = Vec::new();
    for k in 0..n {
        let mut reading = normal(k);
        if faulty.contains(&k) {
            fault(&mut reading);
        }
        out.extend(watch.observe(&reading).into_iter().map(|s| (k, s)));
    }
    out
}

fn raised(signals: &[(i64, Signal)]) -> Vec<(i64, AlarmRule)> {
    signals
        .iter()
        .filter_map(|(k, s)| match s {
            Signal::Raised { rule, .. } => Some((*k, *rule)),
            Signal::Cleared { .. } => None,
        })
        .collect()
}

fn cleared(signals: &[(i64, Signal)]) -> Vec<(i64, AlarmRule)> {
    signals
        .iter()
        .filter_map(|(k, s)| match s {
            Signal::Cleared { rule, .. } => Some((*k, *rule)),
            Signal::Raised { .. } => None,
        })
        .collect()
}

#[test]
fn a_healthy_meter_raises_nothing() {
    assert!(run(&mut watch(), 200, 0..0, |_| {}).is_empty());
}

#[test]
fn a_voltage_sag_raises_after_n_readings_and_clears_after_it_ends() {
    let signals = run(&mut watch(), 20, 5..9, |r| r.voltage_v = Some(176.0));
    assert_eq!(raised(&signals), vec![(6, AlarmRule::VoltageLow)]);
    assert_eq!(cleared(&signals), vec![(10, AlarmRule::VoltageLow)]);
    let Signal::Raised {
        since_us, evidence, ..
    } = &signals[0].1
    else {
        panic!("{signals:?}")
    };
    assert_eq!(*since_us, T0 + 5 * INTERVAL_US);
    assert_eq!(evidence.len(), 2);
    assert_eq!(evidence[1].values["voltage_v"], 176.0);
    // One reading out of band is not enough.
    assert!(run(&mut watch(), 20, 5..6, |r| r.voltage_v = Some(176.0)).is_empty());
    let high = run(&mut watch(), 20, 5..9, |r| r.voltage_v = Some(246.0));
    assert_eq!(raised(&high), vec![(6, AlarmRule::VoltageHigh)]);
    let lost = run(&mut watch(), 20, 5..9, |r| {
        r.voltage_v = Some(0.0);
        r.current_a = Some(0.0);
        r.power_kw = Some(0.0);
        r.forward_e2 = Some(10_000 + 13 * 4);
        r.tariff_e2[1] = Some(10_000 + 13 * 4);
    });
    assert_eq!(raised(&lost), vec![(6, AlarmRule::VoltageLoss)]);
}

#[test]
fn silence_stuck_registers_and_bypasses_are_told_apart() {
    let silent = run(&mut watch(), 20, 5..10, |r| {
        *r = Observation {
            meter_id: r.meter_id.clone(),
            boundary_us: r.boundary_us,
            read_us: r.read_us,
            ..Observation::default()
        }
    });
    assert_eq!(raised(&silent), vec![(6, AlarmRule::MeterSilent)]);
    assert_eq!(cleared(&silent), vec![(11, AlarmRule::MeterSilent)]);
    // The register stops at reading 4's value while 0.5 kW flows.
    let stuck = run(&mut watch(), 20, 5..12, |r| {
        r.forward_e2 = Some(10_000 + 13 * 4);
        r.tariff_e2[1] = Some(10_000 + 13 * 4);
    });
    assert_eq!(raised(&stuck), vec![(7, AlarmRule::StuckRegister)]);
    // At night a 60 W base load owes 0.015 kWh an interval: the register is stuck after seven.
    let night = run(&mut watch(), 30, 5..30, |r| {
        r.power_kw = Some(0.06);
        r.current_a = Some(0.3);
        r.forward_e2 = Some(10_000 + 13 * 4);
        r.tariff_e2[1] = Some(10_000 + 13 * 4);
    });
    assert_eq!(raised(&night), vec![(11, AlarmRule::StuckRegister)]);
    // A tripped meter whose relay closes at reading 10: the load shows at that reading, but the
    // register had no time to move; nothing is owed for the interval before it.
    let mut w = watch();
    let mut reconnect = Vec::new();
    for k in 0..16 {
        let mut r = normal(k);
        let held = 10_000 + 13 * 4;
        match k {
            5..=9 => {
                (r.power_kw, r.current_a, r.status_3) = (Some(0.0), Some(0.0), Some(0x0210));
                (r.forward_e2, r.tariff_e2[1]) = (Some(held), Some(held));
            }
            10.. => {
                let moved = held + 13 * (k - 10);
                (r.forward_e2, r.tariff_e2[1]) = (Some(moved), Some(moved));
            }
            _ => {}
        }
        reconnect.extend(w.observe(&r).into_iter().map(|s| (k, s)));
    }
    assert!(
        raised(&reconnect)
            .iter()
            .all(|(_, rule)| *rule != AlarmRule::StuckRegister),
        "{reconnect:?}"
    );
    // Current flows, the meter shows no power and its register stops.
    let bypass = run(&mut watch(), 20, 5..12, |r| {
        r.power_kw = Some(0.0);
        r.forward_e2 = Some(10_000 + 13 * 4);
        r.tariff_e2[1] = Some(10_000 + 13 * 4);
    });
    assert_eq!(raised(&bypass), vec![(6, AlarmRule::Bypass)]);
}

#[test]
fn reverse_energy_counts_only_without_pv() {
    let reverse = |r: &mut Observation| {
        r.power_kw = Some(-0.5);
        r.status_1 = Some(1 << 4);
        r.reverse_e2 = Some(13 * (r.boundary_us - T0) / INTERVAL_US);
    };
    let signals = run(&mut watch(), 20, 5..12, reverse);
    assert_eq!(raised(&signals), vec![(6, AlarmRule::ReverseEnergy)]);
    let profiles = HashMap::from([(
        "000000000001".to_string(),
        MeterProfile {
            has_pv: true,
            ..MeterProfile::default()
        },
    )]);
    // T0 is 13:00 local: PV may export, so nothing is judged by day …
    let mut pv = Watch::new(DiagnosisConfig::default(), ZONE, profiles.clone());
    assert!(run(&mut pv, 20, 5..12, reverse).is_empty());
    // … but at night (from 20:00 local, reading 28) reverse energy on a PV meter is theft.
    let mut night = Watch::new(DiagnosisConfig::default(), ZONE, profiles);
    let signals = run(&mut night, 40, 30..40, reverse);
    assert_eq!(raised(&signals), vec![(31, AlarmRule::ReverseEnergy)]);
}

#[test]
fn energy_through_an_open_relay_is_a_failed_relay() {
    let failed = run(&mut watch(), 20, 5..12, |r| {
        r.status_3 = Some(0x0200 | 1 << 4)
    });
    assert_eq!(raised(&failed), vec![(6, AlarmRule::EnergyWhileRelayOpen)]);
    // A relay that opened and stopped the load is what a trip should do.
    let tripped = run(&mut watch(), 20, 5..12, |r| {
        r.status_3 = Some(0x0200 | 1 << 4);
        r.current_a = Some(0.0);
        r.power_kw = Some(0.0);
        r.forward_e2 = Some(10_000 + 13 * 4);
        r.tariff_e2[1] = Some(10_000 + 13 * 4);
    });
    assert!(raised(&tripped).is_empty(), "{tripped:?}");
}

#[test]
fn a_register_restart_is_a_replacement_only_when_registered() {
    let restart = |r: &mut Observation| {
        let k = (r.boundary_us - T0) / INTERVAL_US;
        r.forward_e2 = Some(13 * (k - 9));
        r.tariff_e2 = [Some(0), Some(13 * (k - 9)), Some(0), Some(0)];
    };
    let unexplained = run(&mut watch(), 20, 10..20, restart);
    assert_eq!(
        raised(&unexplained),
        vec![(10, AlarmRule::RegisterBackwards)]
    );
    assert_eq!(
        cleared(&unexplained),
        vec![(12, AlarmRule::RegisterBackwards)]
    );
    let profiles = HashMap::from([(
        "000000000001".to_string(),
        MeterProfile {
            installs: vec![0, T0 + 9 * INTERVAL_US + 60_000_000],
            ..MeterProfile::default()
        },
    )]);
    let mut registered = Watch::new(DiagnosisConfig::default(), ZONE, profiles);
    let replaced = run(&mut registered, 20, 10..20, restart);
    assert_eq!(raised(&replaced), vec![(10, AlarmRule::MeterReplaced)]);
}

#[test]
fn status_words_clock_and_tou_registers() {
    let battery = run(&mut watch(), 10, 3..10, |r| r.status_1 = Some(1 << 2));
    assert_eq!(raised(&battery), vec![(3, AlarmRule::BatteryLow)]);
    let hardware = run(&mut watch(), 10, 3..5, |r| {
        r.status_1 = Some(1 << 13 | 1 << 15)
    });
    assert_eq!(
        raised(&hardware),
        vec![
            (3, AlarmRule::ClockFault),
            (3, AlarmRule::MeterHardwareFault)
        ]
    );
    let drift = run(&mut watch(), 10, 3..10, |r| r.clock_offset_s = Some(-400));
    assert_eq!(raised(&drift), vec![(3, AlarmRule::ClockDrift)]);
    let tou = run(&mut watch(), 10, 3..10, |r| r.tariff_e2[0] = Some(50));
    assert_eq!(raised(&tou), vec![(4, AlarmRule::TouSumMismatch)]);
}

#[test]
fn late_replies_and_line_noise_come_from_the_link_counters() {
    let slow = run(&mut watch(), 10, 3..10, |r| {
        r.answered = false;
        r.late_replies = 1;
    });
    assert_eq!(
        raised(&slow),
        vec![(4, AlarmRule::MeterSilent), (4, AlarmRule::SlowReplies)]
    );
    let noisy = run(&mut watch(), 10, 3..6, |r| r.noise_bytes = 16);
    assert_eq!(raised(&noisy), vec![(4, AlarmRule::LineNoise)]);
    assert_eq!(cleared(&noisy), vec![(7, AlarmRule::LineNoise)]);
}

#[test]
fn redeliveries_are_ignored_and_open_alarms_clear_after_a_restart() {
    let mut w = watch();
    for k in 0..5 {
        let mut r = normal(k);
        r.voltage_v = Some(170.0);
        w.observe(&r);
    }
    // The same readings again (a Kafka redelivery) change nothing.
    for k in 0..5 {
        let mut r = normal(k);
        r.voltage_v = Some(170.0);
        assert!(w.observe(&r).is_empty());
    }
    // A fresh watch told the alarm is open clears it when the condition ends, without raising it again.
    let mut fresh = watch();
    fresh.mark_open("000000000001", AlarmRule::VoltageLow);
    let signals = run(&mut fresh, 4, 0..1, |r| r.voltage_v = Some(170.0));
    assert!(raised(&signals).is_empty());
    assert_eq!(cleared(&signals), vec![(2, AlarmRule::VoltageLow)]);
}

#[test]
fn readings_rows_become_observations() {
    use arrow::array::{ArrayRef, RecordBatch};
    let rows = [("000000000001", "ok"), ("000000000002", "no_response")];
    let schema = store::schema::wire_schema();
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| -> ArrayRef {
            use arrow::datatypes::DataType::*;
            match (field.name().as_str(), field.data_type()) {
                ("meter_id", _) => std::sync::Arc::new(arrow::array::StringArray::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
                ("quality", _) => std::sync::Arc::new(arrow::array::StringArray::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
                ("voltage_v", _) => {
                    std::sync::Arc::new(arrow::array::Float64Array::from(vec![Some(221.5), None]))
                }
                ("energy_fwd_total_kwh", Decimal128(p, s)) => std::sync::Arc::new(
                    arrow::array::Decimal128Array::from(vec![Some(123_456), None])
                        .with_precision_and_scale(*p, *s)
                        .unwrap(),
                ),
                (_, other) => arrow::array::new_null_array(other, rows.len()),
            }
        })
        .collect();
    // Timestamps are not nullable: fill them.
    let columns: Vec<ArrayRef> = columns
        .into_iter()
        .zip(schema.fields())
        .map(|(c, f)| -> ArrayRef {
            if f.name() == "boundary_ts" || f.name() == "read_ts" {
                std::sync::Arc::new(
                    arrow::array::TimestampMicrosecondArray::from(vec![T0, T0])
                        .with_timezone("UTC"),
                )
            } else if f.name() == "schema_version" {
                std::sync::Arc::new(arrow::array::Int32Array::from(vec![1, 1]))
            } else if matches!(f.name().as_str(), "bus_id" | "collector_id") {
                std::sync::Arc::new(arrow::array::StringArray::from(vec!["b", "b"]))
            } else {
                c
            }
        })
        .collect();
    let batch = RecordBatch::try_new(schema, columns).unwrap();
    let got = observations(&batch).unwrap();
    assert_eq!(got.len(), 2);
    assert!(got[0].answered && !got[1].answered);
    assert_eq!(got[0].forward_e2, Some(123_456));
    assert_eq!(got[0].voltage_v, Some(221.5));
    assert_eq!(got[1].boundary_us, T0);
}
