use super::*;
use crate::dlt645::data_id::Value;
use crate::dlt645::relay::STATUS3_RELAY_OPEN;
use crate::dlt645::{ControlCode, DataId, RelayAction, RelayCommand};
use crate::sim::meter_clock::encode_sync_time;
use crate::sim::PvSystem;
use answer::STATUS1_REVERSE;
use rust_decimal::Decimal;

const ZONE: Tz = chrono_tz::Asia::Shanghai;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn meter() -> (SimMeter, DateTime<Utc>) {
    let start = t("2026-10-01T00:00:00Z");
    let m = SimMeter::new(
        Address::from_number(1001).unwrap(),
        LoadProfile::Constant { watts: 1000.0 },
        ZONE,
        SecurityMode::Lab,
        start,
    );
    (m, start)
}

/// A customer meter with a given load, PV, faults and clock.
fn custom(
    profile: LoadProfile,
    pv: Option<PvSystem>,
    faults: Vec<Fault>,
    clock: MeterClock,
    start: DateTime<Utc>,
) -> SimMeter {
    let faults: Arc<[Fault]> = faults.into();
    let spec = MeterSpec {
        address: Address::from_number(2002).unwrap(),
        number: 2002,
        zone: ZONE,
        security: SecurityMode::Lab,
        clock,
        tou: TouSchedule::default(),
        faults: faults.clone(),
    };
    SimMeter::customer(spec, Site::new(profile, pv, faults, ZONE), start)
}

fn read(m: &mut SimMeter, di: DataId, now: DateTime<Utc>) -> Value {
    let reply = m
        .handle(&Frame::read_request(m.address(), di), now)
        .unwrap();
    assert!(!reply.control.abnormal, "{di} refused");
    di.describe().unwrap().1.decode(&reply.data[4..]).unwrap()
}

fn number(m: &mut SimMeter, di: DataId, now: DateTime<Utc>) -> Decimal {
    match read(m, di, now) {
        Value::Number(v, _) => v,
        other => panic!("{di}: {other:?}"),
    }
}

fn bits(m: &mut SimMeter, di: DataId, now: DateTime<Utc>) -> u16 {
    match read(m, di, now) {
        Value::Bits(v) => v,
        other => panic!("{di}: {other:?}"),
    }
}

fn command(m: &mut SimMeter, action: RelayAction, now: DateTime<Utc>) -> Frame {
    let until = m.meter_time(now) + Duration::hours(1);
    m.handle(
        &RelayCommand::plaintext(action, until).to_frame(m.address()),
        now,
    )
    .unwrap()
}

#[test]
fn constant_kilowatt_adds_a_quarter_kwh_per_interval_and_trip_stops_it() {
    let (mut m, start) = meter();
    let t1 = start + Duration::minutes(15);
    assert_eq!(
        read(&mut m, DataId::FORWARD_ACTIVE_TOTAL, t1),
        Value::Number(Decimal::new(25, 2), "kWh")
    );
    assert_eq!(
        command(&mut m, RelayAction::Trip, t1).control.to_byte(),
        0x9C
    );
    let t2 = t1 + Duration::hours(2);
    assert_eq!(
        read(&mut m, DataId::FORWARD_ACTIVE_TOTAL, t2),
        Value::Number(Decimal::new(25, 2), "kWh")
    );
    assert_eq!(
        read(&mut m, DataId::ACTIVE_POWER, t2),
        Value::Number(Decimal::ZERO, "kW")
    );
    assert_ne!(
        bits(&mut m, DataId::STATUS_WORD_3, t2) & STATUS3_RELAY_OPEN,
        0
    );
    // Close-allowed keeps the relay open until the button is pressed.
    command(&mut m, RelayAction::CloseAllowed, t2);
    assert_eq!(m.relay(), RelayState::OpenCloseAllowed);
    assert!(m.press_button(t2));
    assert_eq!(m.relay(), RelayState::Closed);
}

#[test]
fn keep_power_strict_mode_expiry_and_unknown_di_are_refused() {
    let (mut m, start) = meter();
    command(&mut m, RelayAction::KeepPowerOn, start);
    assert_eq!(
        command(&mut m, RelayAction::Trip, start).error_word(),
        Some(ERR_UNAUTHORIZED)
    );
    command(&mut m, RelayAction::KeepPowerOff, start);
    let expired = RelayCommand::plaintext(
        RelayAction::Trip,
        m.meter_time(start) - Duration::minutes(1),
    );
    assert!(
        m.handle(&expired.to_frame(m.address()), start)
            .unwrap()
            .control
            .abnormal
    );
    m.spec.security = SecurityMode::Strict;
    assert_eq!(
        command(&mut m, RelayAction::Trip, start).error_word(),
        Some(ERR_UNAUTHORIZED)
    );
    assert_eq!(
        command(&mut m, RelayAction::Close, start).error_word(),
        None
    );
    let reply = m
        .handle(
            &Frame::read_request(m.address(), DataId(0x1234_5678)),
            start,
        )
        .unwrap();
    assert_eq!(reply.error_word(), Some(ERR_NO_DATA));
    let other = Frame::read_request(Address::from_number(9).unwrap(), DataId::VOLTAGE_A);
    assert!(m.handle(&other, start).is_none());
}

#[test]
fn pv_exports_at_noon_with_negative_power_and_current_and_the_reverse_register_grows() {
    // 2026-06-21 00:00 Shanghai; a 300 W household with a 4 kWp roof.
    let start = t("2026-06-20T16:00:00Z");
    let pv = PvSystem {
        peak_watts: 4000.0,
        weather_seed: 3,
    };
    let mut m = custom(
        LoadProfile::Constant { watts: 300.0 },
        Some(pv),
        Vec::new(),
        MeterClock::ideal(start),
        start,
    );
    let night = start + Duration::hours(3);
    assert_eq!(
        number(&mut m, DataId::REVERSE_ACTIVE_TOTAL, night),
        Decimal::ZERO
    );
    assert_eq!(
        number(&mut m, DataId::ACTIVE_POWER, night),
        Decimal::new(3000, 4)
    );
    assert_eq!(bits(&mut m, DataId::STATUS_WORD_1, night), 0);
    let noon = start + Duration::hours(12);
    let power = number(&mut m, DataId::ACTIVE_POWER, noon);
    assert!(power < Decimal::new(-3, 1), "{power} kW at noon");
    assert!(number(&mut m, DataId::CURRENT_A, noon) < Decimal::ZERO);
    assert!(number(&mut m, DataId::POWER_FACTOR, noon) < Decimal::ZERO);
    assert_eq!(
        bits(&mut m, DataId::STATUS_WORD_1, noon) & STATUS1_REVERSE,
        STATUS1_REVERSE
    );
    let reverse = number(&mut m, DataId::REVERSE_ACTIVE_TOTAL, noon);
    assert!(reverse > Decimal::ONE, "{reverse} kWh exported by noon");
    let forward = number(&mut m, DataId::FORWARD_ACTIVE_TOTAL, noon);
    assert_eq!(
        number(&mut m, DataId::COMBINED_ACTIVE_TOTAL, noon),
        forward - reverse
    );
    // Before sunrise nothing was exported: the night's 0.3 kW × ~4.8 h stayed forward.
    assert!(forward >= Decimal::new(140, 2), "{forward}");
}

#[test]
fn tou_registers_sum_to_the_total_within_truncation() {
    let start = t("2026-01-13T16:00:00Z");
    let mut m = custom(
        LoadProfile::Residential {
            scale: 1.2,
            seed: 11,
        },
        None,
        Vec::new(),
        MeterClock::ideal(start),
        start,
    );
    let end = start + Duration::days(2) + Duration::minutes(7);
    let total = number(&mut m, DataId::FORWARD_ACTIVE_TOTAL, end);
    let tariffs: Decimal = [
        DataId::FORWARD_ACTIVE_T1,
        DataId::FORWARD_ACTIVE_T2,
        DataId::FORWARD_ACTIVE_T3,
        DataId::FORWARD_ACTIVE_T4,
    ]
    .into_iter()
    .map(|di| number(&mut m, di, end))
    .sum();
    assert!(total > Decimal::from(10), "{total}");
    // Each register truncates to 0.01 kWh on its own; the joules add up exactly.
    assert!(
        (total - tariffs).abs() <= Decimal::new(3, 2),
        "{total} vs {tariffs}"
    );
    let r = m.registers(end);
    assert_eq!(r.tariff.iter().sum::<i64>(), r.forward);
    assert!(r.tariff[1] > 0 && r.tariff[3] > 0 && r.tariff[0] == 0 && r.tariff[2] == 0);
}

#[test]
fn clock_identity_and_broadcast_time_sync_follow_the_meter_clock() {
    let start = t("2026-10-01T02:00:00Z"); // 10:00 Shanghai
    let clock = MeterClock::new(start, Duration::seconds(-90), 0.0);
    let mut m = custom(
        LoadProfile::Constant { watts: 100.0 },
        None,
        Vec::new(),
        clock,
        start,
    );
    assert_eq!(
        read(&mut m, DataId::TIME, start),
        Value::Time(chrono::NaiveTime::from_hms_opt(9, 58, 30).unwrap())
    );
    assert_eq!(
        read(&mut m, DataId::DATE, start),
        Value::Date(chrono::NaiveDate::from_ymd_opt(2026, 10, 1).unwrap(), 4)
    );
    assert_eq!(
        read(&mut m, DataId::COMM_ADDRESS, start),
        Value::Digits("000000002002".into())
    );
    assert_eq!(
        read(&mut m, DataId::METER_NUMBER, start),
        Value::Digits("000000002002".into())
    );
    let sync = |m: &mut SimMeter, shift: i64| {
        let target = m.meter_time(start) + Duration::seconds(shift);
        let frame = Frame {
            address: Address::BROADCAST,
            control: ControlCode::request(Function::BroadcastTimeSync),
            data: encode_sync_time(target).to_vec(),
        };
        assert!(
            m.handle(&frame, start).is_none(),
            "a broadcast is never answered"
        );
        m.clock_offset(start)
    };
    assert_eq!(sync(&mut m, 30), Duration::seconds(-90));
    assert_eq!(sync(&mut m, 600), Duration::seconds(-90));
    assert_eq!(sync(&mut m, 120), Duration::seconds(30));
    // The relay's valid-until is checked against the meter clock, now 30 s ahead of true time.
    let true_local = start.with_timezone(&ZONE).naive_local();
    let cmd = RelayCommand::plaintext(RelayAction::AlarmOn, true_local + Duration::seconds(10));
    assert_eq!(
        m.handle(&cmd.to_frame(m.address()), start)
            .unwrap()
            .error_word(),
        Some(ERR_UNAUTHORIZED)
    );
}

fn faulty(kind: FaultKind, start: DateTime<Utc>) -> SimMeter {
    let fault = Fault::new(kind, start + Duration::hours(1), start + Duration::hours(3));
    custom(
        LoadProfile::Constant { watts: 1200.0 },
        None,
        vec![fault],
        MeterClock::ideal(start),
        start,
    )
}

#[test]
fn register_faults_are_observable_over_dlt645() {
    let start = t("2026-10-01T00:00:00Z");
    let before = start + Duration::hours(1);
    let during = start + Duration::hours(2);
    let after = start + Duration::hours(4);
    let hour = Decimal::new(120, 2); // 1.2 kWh per hour

    let mut stuck = faulty(FaultKind::StuckRegister, start);
    assert_eq!(
        number(&mut stuck, DataId::FORWARD_ACTIVE_TOTAL, before),
        hour
    );
    assert_eq!(
        number(&mut stuck, DataId::FORWARD_ACTIVE_TOTAL, during),
        hour
    );
    assert_eq!(
        number(&mut stuck, DataId::ACTIVE_POWER, during),
        Decimal::new(12_000, 4)
    );
    assert_eq!(
        number(&mut stuck, DataId::FORWARD_ACTIVE_TOTAL, after),
        hour * Decimal::TWO
    );

    let mut bypass = faulty(FaultKind::Bypass, start);
    assert_eq!(
        number(&mut bypass, DataId::FORWARD_ACTIVE_TOTAL, during),
        hour
    );
    assert!(number(&mut bypass, DataId::CURRENT_A, during) > Decimal::new(5, 0));
    assert_eq!(
        number(&mut bypass, DataId::ACTIVE_POWER, during),
        Decimal::ZERO
    );

    let mut theft = faulty(FaultKind::ReverseTheft, start);
    assert_eq!(
        number(&mut theft, DataId::FORWARD_ACTIVE_TOTAL, during),
        hour
    );
    assert_eq!(
        number(&mut theft, DataId::REVERSE_ACTIVE_TOTAL, during),
        hour
    );
    assert!(number(&mut theft, DataId::ACTIVE_POWER, during) < Decimal::ZERO);
    assert_eq!(
        bits(&mut theft, DataId::STATUS_WORD_1, during),
        STATUS1_REVERSE
    );
    assert_eq!(
        number(&mut theft, DataId::COMBINED_ACTIVE_TOTAL, during),
        Decimal::ZERO
    );

    let mut relay = faulty(FaultKind::RelayFailure, start);
    command(&mut relay, RelayAction::Trip, before);
    assert_ne!(
        bits(&mut relay, DataId::STATUS_WORD_3, during) & STATUS3_RELAY_OPEN,
        0
    );
    assert!(number(&mut relay, DataId::CURRENT_A, during) > Decimal::new(5, 0));
    assert_eq!(
        number(&mut relay, DataId::FORWARD_ACTIVE_TOTAL, during),
        hour * Decimal::TWO
    );
    // After the failure window the open relay finally cuts the load.
    assert_eq!(
        number(&mut relay, DataId::FORWARD_ACTIVE_TOTAL, after),
        hour * Decimal::new(3, 0)
    );
    assert_eq!(number(&mut relay, DataId::CURRENT_A, after), Decimal::ZERO);

    let mut replaced = faulty(FaultKind::MeterReplacement, start);
    assert_eq!(
        number(&mut replaced, DataId::FORWARD_ACTIVE_TOTAL, during),
        hour
    );
    assert_eq!(
        read(&mut replaced, DataId::METER_NUMBER, during),
        Value::Digits("010000002002".into())
    );
}

#[test]
fn voltage_faults_are_observable_over_dlt645() {
    let start = t("2026-10-01T00:00:00Z");
    let during = start + Duration::hours(2);
    let volts = |kind| number(&mut faulty(kind, start), DataId::VOLTAGE_A, during);
    assert!((Decimal::from(174)..Decimal::from(178)).contains(&volts(FaultKind::VoltageSag)));
    assert!((Decimal::from(244)..Decimal::from(249)).contains(&volts(FaultKind::VoltageSwell)));
    let mut lost = faulty(FaultKind::VoltageLoss, start);
    assert_eq!(number(&mut lost, DataId::VOLTAGE_A, during), Decimal::ZERO);
    assert_eq!(number(&mut lost, DataId::CURRENT_A, during), Decimal::ZERO);
    assert_eq!(
        number(&mut lost, DataId::FORWARD_ACTIVE_TOTAL, during),
        Decimal::new(120, 2)
    );
}

#[test]
fn injected_faults_leave_the_event_records_that_explain_them() {
    use crate::dlt645::{EventRecord, MeterEvent};
    let start = t("2026-10-01T00:00:00Z");
    let bypass = Fault::new(
        FaultKind::Bypass,
        start + Duration::hours(2),
        start + Duration::hours(30),
    );
    let loss = Fault::new(
        FaultKind::VoltageLoss,
        start + Duration::hours(4),
        start + Duration::hours(5),
    );
    let mut m = custom(
        LoadProfile::Constant { watts: 500.0 },
        None,
        vec![bypass, loss],
        MeterClock::ideal(start),
        start,
    );
    let local = |t: DateTime<Utc>| Some(t.with_timezone(&ZONE).naive_local());
    let cover = MeterEvent::TerminalCoverOpen;
    let before = start + Duration::hours(1);
    assert_eq!(number(&mut m, cover.count_id(), before), Decimal::ZERO);
    let later = start + Duration::hours(4) + Duration::minutes(30);
    assert_eq!(number(&mut m, cover.count_id(), later), Decimal::ONE);
    assert_eq!(
        read(&mut m, cover.record_id(1).unwrap(), later),
        Value::Event(EventRecord {
            at: local(bypass.start),
            end: local(bypass.start + Duration::minutes(6)),
            operator: None,
        })
    );
    assert_eq!(
        read(&mut m, cover.record_id(2).unwrap(), later),
        Value::Event(EventRecord::default()),
        "an empty record slot"
    );
    // The power-down is still going on: it has no end yet; an hour later it has.
    let power = MeterEvent::PowerDown.record_id(1).unwrap();
    let ongoing = read(&mut m, power, later);
    assert_eq!(
        ongoing,
        Value::Event(EventRecord {
            at: local(loss.start),
            end: None,
            operator: None,
        })
    );
    let after = start + Duration::hours(6);
    let Value::Event(ended) = read(&mut m, power, after) else {
        panic!("not an event record")
    };
    assert_eq!(ended.end, local(loss.end));
    assert_eq!(
        number(&mut m, MeterEvent::CoverOpen.count_id(), after),
        Decimal::ZERO
    );
}
