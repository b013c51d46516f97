use super::*;
use crate::dlt645::data_id::Value;
use crate::dlt645::{DataId, Frame, RelayAction, RelayCommand};
use crate::sim::fault::ScheduledFault;
use crate::sim::meter::Registers;
use chrono::Duration;

fn start() -> DateTime<Utc> {
    "2026-07-14T16:00:00Z".parse().unwrap() // 2026-07-15 00:00 Shanghai
}

fn registers(fleet: &Fleet, now: DateTime<Utc>) -> Vec<Registers> {
    fleet
        .buses
        .iter()
        .flat_map(|b| {
            b.meters
                .lock()
                .unwrap()
                .iter_mut()
                .map(|m| m.registers(now))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn same_seed_gives_the_same_registers_and_another_seed_does_not() {
    let config = FleetConfig {
        meters: 12,
        pv_share: 0.5,
        faults: FaultConfig::random_share(0.2, start(), start() + Duration::hours(5)),
        ..Default::default()
    };
    let end = start() + Duration::hours(30);
    let a = registers(&Fleet::new(&config, start()).unwrap(), end);
    let b = registers(&Fleet::new(&config, start()).unwrap(), end);
    assert_eq!(a, b);
    assert!(a.iter().all(|r| r.forward > 0));
    assert!(a.iter().any(|r| r.reverse > 0), "someone exports or steals");
    let other = registers(
        &Fleet::new(&FleetConfig { seed: 2, ..config }, start()).unwrap(),
        end,
    );
    assert_ne!(a, other);
}

#[test]
fn supply_meter_reads_the_sum_of_its_customers_plus_two_to_eight_percent() {
    let config = FleetConfig {
        meters: 8,
        meters_per_bus: 4,
        pv_share: 0.0,
        ..Default::default()
    };
    let fleet = Fleet::new(&config, start()).unwrap();
    assert_eq!(fleet.buses.len(), 3);
    assert_eq!(fleet.buses[2].bus_id, "dtu-supply-0");
    let end = start() + Duration::days(1);
    let all = registers(&fleet, end);
    let customers: i64 = all[..8].iter().map(|r| r.forward - r.reverse).sum();
    let supply = all[8].forward - all[8].reverse;
    assert!(customers > 8 * 3_600_000, "{customers} J");
    let share = (supply - customers) as f64 / customers as f64;
    assert!((0.02..=0.08).contains(&share), "loss share {share}");
    // Over DL/T 645 too: the supply meter answers with its own address.
    let supply_address = Address::from_number(990_000_000_001).unwrap();
    assert_eq!(fleet.buses[2].addresses, vec![supply_address]);
    assert_eq!(
        fleet.areas[0].supply_meter_id.as_deref(),
        Some("990000000001")
    );
    let (energy, refused) = fleet
        .with_meter(supply_address, |m| {
            let read = Frame::read_request(supply_address, DataId::FORWARD_ACTIVE_TOTAL);
            let reply = m.handle(&read, end).unwrap();
            let trip =
                RelayCommand::plaintext(RelayAction::Trip, m.meter_time(end) + Duration::hours(1));
            let refused = m
                .handle(&trip.to_frame(supply_address), end)
                .unwrap()
                .error_word();
            (reply.data[4..].to_vec(), refused)
        })
        .unwrap();
    let (_, format) = DataId::FORWARD_ACTIVE_TOTAL.describe().unwrap();
    assert_eq!(
        format.decode(&energy).unwrap(),
        Value::Number(Registers::kwh(all[8].forward), "kWh")
    );
    assert_eq!(refused, Some(0x01), "a supply meter has no relay");
}

#[test]
fn registry_files_hold_one_row_per_installed_meter_area_and_fault() {
    let replaced_at = start() + Duration::hours(2);
    let config = FleetConfig {
        meters: 5,
        meters_per_bus: 2,
        grid: GridConfig {
            meters_per_area: 3,
            areas_per_feeder: 1,
            ..Default::default()
        },
        pv_share: 0.0,
        faults: FaultConfig {
            scheduled: vec![ScheduledFault {
                meter_number: 1002,
                fault: Fault::new(FaultKind::MeterReplacement, replaced_at, replaced_at),
            }],
            random: Vec::new(),
        },
        ..Default::default()
    };
    let fleet = Fleet::new(&config, start()).unwrap();
    let ids: Vec<&str> = fleet.buses.iter().map(|b| b.bus_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "dtu-bus-0",
            "dtu-bus-1",
            "dtu-supply-0",
            "dtu-bus-2",
            "dtu-supply-1"
        ]
    );
    let dir = tempfile::tempdir().unwrap();
    fleet.write_registry(dir.path()).unwrap();
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let meters = read("meters.csv");
    let lines: Vec<&str> = meters.lines().collect();
    assert_eq!(lines.len(), 1 + 5 + 2 + 1);
    assert_eq!(lines[0], super::super::registry::METERS_HEADER);
    let persons = fleet.meters[0].household_size.unwrap();
    assert_eq!(
        lines[1],
        format!("000000001001,C000000001001,customer,dtu-area-0,dtu-feeder-0,dtu-bus-0,shanghai-tou-tier1,{persons},false,2026-07-14T16:00:00Z,,000000001001")
    );
    assert!(
        lines[2].ends_with(",2026-07-14T16:00:00Z,2026-07-14T18:00:00Z,000000001002"),
        "{}",
        lines[2]
    );
    assert!(
        lines[3].ends_with(",2026-07-14T18:00:00Z,,010000001002"),
        "{}",
        lines[3]
    );
    assert_eq!(
        lines[5],
        "990000000001,,supply,dtu-area-0,dtu-feeder-0,dtu-supply-0,,,false,2026-07-14T16:00:00Z,,990000000001"
    );
    assert!(lines[8].starts_with("990000000002,,supply,dtu-area-1,dtu-feeder-1,dtu-supply-1,"));
    assert!(lines[6].contains(",dtu-bus-2,"), "{}", lines[6]);
    assert_eq!(
        read("areas.csv"),
        "area_id,feeder_id,supply_meter_id,customers\n\
         dtu-area-0,dtu-feeder-0,990000000001,3\n\
         dtu-area-1,dtu-feeder-1,990000000002,2\n"
    );
    assert_eq!(
        read("faults.csv"),
        "meter_id,fault,start,end,detail\n\
         000000001002,meter_replacement,2026-07-14T18:00:00Z,2026-07-14T18:00:00Z,new_meter_number=010000001002\n"
    );
}

#[test]
fn constant_meters_keep_exact_clocks_and_no_pv() {
    let config = FleetConfig {
        meters: 4,
        constant_watts: Some(1000.0),
        pv_share: 1.0,
        faults: FaultConfig::random_share(1.0, start(), start() + Duration::hours(1)),
        ..Default::default()
    };
    let fleet = Fleet::new(&config, start()).unwrap();
    assert!(fleet.faults.is_empty());
    assert!(fleet.meters.iter().all(|m| !m.has_pv));
    let end = start() + Duration::hours(6);
    let offset = fleet.with_meter(Address::from_number(1001).unwrap(), |m| m.clock_offset(end));
    assert_eq!(offset, Some(Duration::zero()));
    assert_eq!(registers(&fleet, end)[0].forward, 6 * 3_600_000);
}

#[test]
fn supply_meter_read_late_still_sees_when_a_customer_tripped() {
    let config = FleetConfig {
        meters: 2,
        constant_watts: Some(1000.0),
        ..Default::default()
    };
    let fleet = Fleet::new(&config, start()).unwrap();
    let customer = Address::from_number(1001).unwrap();
    let tripped = start() + Duration::hours(1);
    let reply = fleet
        .with_meter(customer, |m| {
            let trip = RelayCommand::plaintext(
                RelayAction::Trip,
                m.meter_time(tripped) + Duration::hours(1),
            );
            m.handle(&trip.to_frame(customer), tripped).unwrap()
        })
        .unwrap();
    assert_eq!(reply.error_word(), None);
    // First read of the supply meter, two hours after the trip: 1 kW × 3 h + 1 kW × 1 h through the area.
    let end = start() + Duration::hours(3);
    let supply = fleet
        .with_meter(Address::from_number(990_000_000_001).unwrap(), |m| {
            m.registers(end)
        })
        .unwrap();
    let customers = 4.0 * 3_600_000.0;
    // R = 3 kW. First hour 2 kW (loss 2 % + 6 % × 2/3 = 6 %), then 1 kW (2 % + 6 % × 1/3 = 4 %) for 2 h.
    let expected = 7_200_000.0 * 1.06 + 7_200_000.0 * 1.04;
    assert!(
        (supply.forward as f64 - expected).abs() < 10.0,
        "{} vs {expected}",
        supply.forward
    );
    assert!(supply.forward as f64 > customers * 1.02);
}
