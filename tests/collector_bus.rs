//! Collector behaviour on the bus: silent meters, garbage on the line, clock drift, on-demand reads.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::{Array, StringArray};
use chrono::{DateTime, TimeDelta, Utc};
use ingest::collector::{Collector, CollectorConfig};
use ingest::command::{AckOutcome, CommandMessage};
use std::collections::BTreeMap;

use ingest::dlt645::{Address, DataId, MeterEvent, RelayAction};
use ingest::kafka::message::{EventReading, EVENTS_HEADER};
use ingest::kafka::{EmbeddedKafka, KafkaSettings, Topics};
use ingest::keyring::KeyRing;
use ingest::sim::grid::GridConfig;
use ingest::sim::{
    ClockDriftConfig, Fault, FaultConfig, FaultKind, Fleet, FleetConfig, ScheduledFault, SimClock,
};
use ingest::spool::{Spool, SpoolConfig};

/// The sum of a counter's series in a Prometheus text exposition.
fn counter(exposition: &str, name: &str) -> u64 {
    exposition
        .lines()
        .filter(|line| {
            line.starts_with(&format!("{name}{{")) || line.starts_with(&format!("{name} "))
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Noon in Shanghai: far from the midnight window in which meters ignore time syncs.
fn noon() -> DateTime<Utc> {
    "2026-10-01T04:00:00Z".parse().unwrap()
}

struct Rig {
    fleet: Fleet,
    clock: SimClock,
    collector: Collector,
    spool: Arc<Mutex<Spool>>,
    _kafka: EmbeddedKafka,
    _dir: tempfile::TempDir,
}

async fn rig(fleet_config: FleetConfig, timeout: Duration, clock_check_every: u64) -> Rig {
    rig_with(fleet_config, timeout, clock_check_every, 0).await
}

/// [`rig`] with event records read every `event_check_every` rounds.
async fn rig_with(
    fleet_config: FleetConfig,
    timeout: Duration,
    clock_check_every: u64,
    event_check_every: u64,
) -> Rig {
    let fleet = Fleet::new(&fleet_config, noon()).unwrap();
    let clock = SimClock::new(noon());
    let buses = ingest::sim::server::serve_fleet(&fleet, &clock, [127, 0, 0, 1].into())
        .await
        .unwrap()
        .buses;
    let topics = Topics::with_prefix("");
    let kafka = EmbeddedKafka::start(1, &topics, 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let spool = Arc::new(Mutex::new(
        Spool::open(SpoolConfig::new(dir.path(), 1 << 30)).unwrap(),
    ));
    let settings = KafkaSettings {
        brokers: kafka.bootstrap_servers(),
        properties: Default::default(),
    };
    let collector = Collector::new(
        CollectorConfig {
            collector_id: "c-bus".into(),
            buses,
            timeout,
            retries: 1,
            zone: chrono_tz::Asia::Shanghai,
            max_concurrent_buses: 8,
            clock_check_every,
            event_check_every,
            clock_threshold: Duration::from_secs(60),
            command_keys: Some(command_keys()),
        },
        spool.clone(),
        ingest::kafka::producer(&settings).unwrap(),
        topics,
        Arc::new(clock.clone()),
    );
    Rig {
        fleet,
        clock,
        collector,
        spool,
        _kafka: kafka,
        _dir: dir,
    }
}

fn one_bus(meters: usize) -> FleetConfig {
    FleetConfig {
        meters,
        meters_per_bus: meters,
        first_meter_number: 7001,
        grid: GridConfig {
            supply_meters: false,
            ..GridConfig::default()
        },
        pv_share: 0.0,
        ..FleetConfig::default()
    }
}

/// (meter, quality) of every spooled row.
fn spooled_quality(spool: &Mutex<Spool>) -> Vec<(String, String)> {
    let spool = spool.lock().unwrap();
    let mut out = Vec::new();
    for peeked in spool.peek(usize::MAX).unwrap() {
        for batch in ingest::kafka::message::decode(&peeked.record.payload, None, None).unwrap() {
            let column = |name: &str| {
                batch
                    .column_by_name(name)
                    .unwrap()
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap()
                    .clone()
            };
            let (meters, quality) = (column("meter_id"), column("quality"));
            for i in 0..meters.len() {
                out.push((meters.value(i).to_string(), quality.value(i).to_string()));
            }
        }
    }
    out.sort();
    out
}

/// The event records of every spooled record's `meterlake-events` header, by meter.
fn spooled_events(spool: &Mutex<Spool>) -> BTreeMap<String, Vec<EventReading>> {
    let spool = spool.lock().unwrap();
    let mut out = BTreeMap::new();
    for peeked in spool.peek(usize::MAX).unwrap() {
        for (name, value) in &peeked.record.headers {
            if name == EVENTS_HEADER {
                let by_meter: BTreeMap<String, Vec<EventReading>> =
                    serde_json::from_slice(value).unwrap();
                out.extend(by_meter);
            }
        }
    }
    out
}

#[tokio::test]
async fn event_records_are_read_daily_and_again_only_when_a_count_moves() {
    let mut config = one_bus(3);
    config.constant_watts = Some(500.0);
    let (opened, lost) = (noon() - TimeDelta::days(1), noon() - TimeDelta::hours(3));
    config.faults = FaultConfig {
        scheduled: vec![
            ScheduledFault {
                meter_number: 7001,
                fault: Fault::new(FaultKind::Bypass, opened, noon() + TimeDelta::days(1)),
            },
            ScheduledFault {
                meter_number: 7002,
                fault: Fault::new(FaultKind::VoltageLoss, lost, lost + TimeDelta::hours(1)),
            },
        ],
        random: Vec::new(),
    };
    let r = rig_with(config, Duration::from_millis(300), 0, 2).await;
    let first = r.collector.collect(noon()).await.unwrap();
    assert_eq!(
        first.event_records, 2,
        "one record per meter whose log is not empty"
    );
    let events = spooled_events(&r.spool);
    assert_eq!(events.len(), 2, "{events:?}");
    let near = |t: Option<DateTime<Utc>>, want: DateTime<Utc>| {
        t.is_some_and(|t| (t - want).num_minutes().abs() <= 10)
    };
    let cover = &events["000000007001"];
    assert_eq!(
        (cover[0].event, cover[0].count, cover[0].record),
        (MeterEvent::TerminalCoverOpen, 1, 1)
    );
    assert!(near(cover[0].at, opened), "{cover:?}");
    assert!(
        near(cover[0].end, opened + TimeDelta::minutes(6)),
        "{cover:?}"
    );
    let power = &events["000000007002"];
    assert_eq!(power[0].event, MeterEvent::PowerDown);
    assert!(near(power[0].at, lost) && near(power[0].end, lost + TimeDelta::hours(1)));
    // Not an event round; then an event round whose counts have not moved: nothing is read twice.
    for minutes in [15, 30] {
        let round = r
            .collector
            .collect(noon() + TimeDelta::minutes(minutes))
            .await
            .unwrap();
        assert_eq!(round.event_records, 0, "round at +{minutes} min");
    }
    // On demand, the count and any record can be read by identifier.
    let items = r
        .collector
        .read_now(
            Address::from_number(7001).unwrap(),
            &[
                DataId(0x0330_0E00),
                DataId(0x0330_0E01),
                DataId(0x0330_0E02),
            ],
        )
        .await
        .unwrap();
    assert_eq!(items[0].name, Some("terminal cover open count"));
    assert_eq!(items[0].value.as_deref(), Some("1"));
    assert!(
        items[1]
            .value
            .as_deref()
            .unwrap_or("")
            .starts_with("at 2026-09-30"),
        "{items:?}"
    );
    assert_eq!(items[2].value.as_deref(), Some("(empty)"));
}

#[tokio::test]
async fn a_silent_meter_costs_its_bus_one_timeout_and_garbage_on_the_line_is_skipped() {
    let whole_day = |kind| {
        Fault::new(
            kind,
            noon() - TimeDelta::days(1),
            noon() + TimeDelta::days(1),
        )
    };
    let mut config = one_bus(4);
    config.constant_watts = Some(500.0);
    config.faults = FaultConfig {
        scheduled: vec![
            ScheduledFault {
                meter_number: 7001,
                fault: whole_day(FaultKind::CommDropout),
            },
            ScheduledFault {
                meter_number: 7002,
                fault: whole_day(FaultKind::Garbage),
            },
        ],
        random: Vec::new(),
    };
    // The bus's request counters, taken from this test's own recorder (one thread: the runtime
    // is current-thread, so every bus task records here).
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let counters = recorder.handle();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let rig = rig(config, Duration::from_millis(250), 0).await;
    let stats = rig.collector.collect(noon()).await.unwrap();
    assert_eq!((stats.rows, stats.no_response), (4, 1));
    // The silent meter gets one identifier with its retry, not all nine: one failed request.
    let failures = || {
        counter(
            &counters.render(),
            "meterlake_collector_request_failures_total",
        )
    };
    assert_eq!(failures(), 1);
    assert_eq!(
        spooled_quality(&rig.spool),
        [
            ("000000007001".to_string(), "no_response".to_string()),
            ("000000007002".into(), "ok".into()),
            ("000000007003".into(), "ok".into()),
            ("000000007004".into(), "ok".into()),
        ]
    );
    let health = rig.collector.health().await.unwrap();
    assert_eq!((health.buses[0].meters, health.buses[0].answered), (4, 3));
    assert_eq!(health.areas[0].success_rate, 0.75);

    // On demand: a known identifier decodes, an unknown one is refused with the meter's error bits.
    let items = rig
        .collector
        .read_now(
            Address::from_number(7003).unwrap(),
            &[DataId::ACTIVE_POWER, DataId(0x1234_5678)],
        )
        .await
        .unwrap();
    assert_eq!(items[0].value.as_deref(), Some("0.5000 kW"));
    assert!(
        items[1].error.as_deref().unwrap_or("").contains("ERR 0x02"),
        "{items:?}"
    );
    assert!(rig
        .collector
        .read_now(Address::from_number(9999).unwrap(), &[DataId::VOLTAGE_A])
        .await
        .is_err());
    // The silent meter: one timeout, then the rest skipped and the bus given back.
    let items = rig
        .collector
        .read_now(Address::from_number(7001).unwrap(), &[DataId::VOLTAGE_A; 8])
        .await
        .unwrap();
    assert_eq!(failures(), 2, "one more request failed, not eight");
    assert!(
        items[0].error.as_deref().unwrap_or("").contains("timeout")
            || items[0].error.as_deref().unwrap_or("").contains("no reply"),
        "{items:?}"
    );
    assert!(
        items[1..]
            .iter()
            .all(|i| i.error.as_deref().unwrap_or("").starts_with("skipped")),
        "{items:?}"
    );
    // A list longer than one read may hold the bus for is refused before it starts.
    let too_many = rig
        .collector
        .read_now(
            Address::from_number(7003).unwrap(),
            &[DataId::VOLTAGE_A; 17],
        )
        .await
        .unwrap_err();
    assert!(too_many.to_string().contains("at most 16"), "{too_many}");
}

#[tokio::test]
async fn clocks_one_to_five_minutes_off_are_broadcast_back_and_larger_drifts_are_reported() {
    let mut config = one_bus(10);
    config.seed = 11;
    config.clock = ClockDriftConfig {
        max_offset_secs: 450.0,
        max_drift_ppm: 0.0,
        bad_share: 0.0,
        bad_drift_ppm: 0.0,
    };
    let rig = rig(config, Duration::from_millis(500), 1).await;
    let addresses = rig.fleet.buses[0].addresses.clone();
    let offsets = |now| {
        addresses
            .iter()
            .map(|a| {
                rig.fleet
                    .with_meter(*a, |m| m.clock_offset(now).num_seconds())
                    .unwrap()
            })
            .collect::<Vec<i64>>()
    };
    let before = offsets(noon());
    let in_window = before
        .iter()
        .filter(|s| (60..=300).contains(&s.abs()))
        .count();
    let beyond = before.iter().filter(|s| s.abs() > 300).count();
    assert!(in_window > 0 && beyond > 0, "seed gives a mix: {before:?}");

    let stats = rig.collector.collect(noon()).await.unwrap();
    assert_eq!(stats.time_syncs, 1);
    assert_eq!(stats.clocks_beyond_window, beyond as u64);
    let after = offsets(rig.clock.now());
    for (b, a) in before.iter().zip(&after) {
        if (60..=300).contains(&b.abs()) {
            assert!(a.abs() <= 2, "a meter {b} s off was synced to {a} s");
        } else {
            assert_eq!(a, b, "meters outside the window keep their clocks");
        }
    }
}

#[tokio::test]
async fn relay_commands_are_executed_refused_or_expired_and_acknowledged_as_such() {
    let mut config = one_bus(2);
    config.constant_watts = Some(500.0);
    let rig = rig(config, Duration::from_millis(300), 0).await;
    let command = |meter: &str, action: RelayAction, valid_minutes: i64| {
        signed(CommandMessage {
            command_id: format!("{meter}-{action:?}"),
            meter_id: meter.into(),
            collector_id: "c-bus".into(),
            action,
            issued_at: noon(),
            valid_until: noon() + TimeDelta::minutes(valid_minutes),
            reason: "test".into(),
            attempt: 1,
            key_id: String::new(),
            signature: String::new(),
        })
    };
    let meter = "000000007001";
    let run = |action, valid| {
        let message = command(meter, action, valid);
        let collector = &rig.collector;
        async move { collector.execute(&message).await }
    };

    assert_eq!(
        run(RelayAction::KeepPowerOn, 10).await.outcome,
        AckOutcome::Executed
    );
    let refused = run(RelayAction::Trip, 10).await;
    assert_eq!(
        refused.outcome,
        AckOutcome::Refused,
        "keep-power refuses trips"
    );
    assert!(
        refused.error.as_deref().unwrap_or("").starts_with("ERR"),
        "{refused:?}"
    );
    assert_eq!(refused.relay_open, Some(false));

    assert_eq!(
        run(RelayAction::KeepPowerOff, 10).await.outcome,
        AckOutcome::Executed
    );
    let tripped = run(RelayAction::Trip, 10).await;
    assert_eq!(
        (tripped.outcome, tripped.relay_open),
        (AckOutcome::Executed, Some(true))
    );

    assert_eq!(
        run(RelayAction::CloseAllowed, -1).await.outcome,
        AckOutcome::Expired
    );
    let unknown = rig
        .collector
        .execute(&command("000000009999", RelayAction::Trip, 10))
        .await;
    assert_eq!(unknown.outcome, AckOutcome::UnknownMeter);

    // A command Kafka delivers twice is executed once: the second delivery gets the first answer.
    let other = "000000007002";
    let trips_before = rig
        .fleet
        .with_meter(other.parse().unwrap(), |m| m.trips_received())
        .unwrap();
    let once = command(other, RelayAction::Trip, 10);
    let first = rig.collector.execute_once(&once).await;
    let again = rig.collector.execute_once(&once).await;
    assert_eq!(first.outcome, AckOutcome::Executed);
    assert_eq!(
        again, first,
        "the redelivery is answered with the first acknowledgement"
    );
    let trips_after = rig
        .fleet
        .with_meter(other.parse().unwrap(), |m| m.trips_received())
        .unwrap();
    assert_eq!(
        trips_after - trips_before,
        1,
        "the meter saw one trip frame"
    );
    // A new attempt of the same command is executed again.
    let retry = signed(CommandMessage { attempt: 2, ..once });
    assert_eq!(rig.collector.execute_once(&retry).await.attempt, 2);
}

fn command_keys() -> KeyRing {
    KeyRing::single("test-key", &[7; 32]).unwrap()
}

fn signed(mut command: CommandMessage) -> CommandMessage {
    command.sign(&command_keys());
    command
}

#[tokio::test]
async fn forged_altered_and_stale_commands_switch_nothing() {
    let rig = rig(one_bus(1), Duration::from_millis(300), 0).await;
    let meter = "000000007001";
    let trips = || {
        rig.fleet
            .with_meter(meter.parse().unwrap(), |m| m.trips_received())
            .unwrap()
    };
    let genuine = signed(CommandMessage {
        command_id: "c-1".into(),
        meter_id: meter.into(),
        collector_id: "c-bus".into(),
        action: RelayAction::Trip,
        issued_at: noon(),
        valid_until: noon() + TimeDelta::minutes(10),
        reason: "test".into(),
        attempt: 1,
        key_id: String::new(),
        signature: String::new(),
    });
    let before = trips();
    // Produced straight to Kafka without a signature.
    let unsigned = CommandMessage {
        key_id: String::new(),
        signature: String::new(),
        command_id: "c-2".into(),
        ..genuine.clone()
    };
    // Signed under a key the collector does not hold.
    let mut foreign = CommandMessage {
        command_id: "c-3".into(),
        ..genuine.clone()
    };
    foreign.sign(&KeyRing::single("test-key", &[8; 32]).unwrap());
    // A genuine command with its deadline stretched after signing.
    let altered = CommandMessage {
        valid_until: genuine.valid_until + TimeDelta::days(30),
        ..genuine.clone()
    };
    for forged in [&unsigned, &foreign, &altered] {
        let ack = rig.collector.execute_once(forged).await;
        assert_eq!(ack.outcome, AckOutcome::Rejected, "{forged:?}");
        assert!(ack.error.unwrap_or_default().starts_with("signature"));
    }
    assert_eq!(trips(), before, "no forged frame reached the meter");
    // A genuine command replayed after its deadline is refused as expired.
    let stale = signed(CommandMessage {
        command_id: "c-4".into(),
        valid_until: noon() - TimeDelta::minutes(1),
        ..genuine.clone()
    });
    assert_eq!(
        rig.collector.execute_once(&stale).await.outcome,
        AckOutcome::Expired
    );
    assert_eq!(trips(), before);
    // The genuine one runs, once, however often it is replayed.
    for _ in 0..3 {
        assert_eq!(
            rig.collector.execute_once(&genuine).await.outcome,
            AckOutcome::Executed
        );
    }
    assert_eq!(trips(), before + 1);
}
