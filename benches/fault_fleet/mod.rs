//! A simulated fleet with labelled faults, collected through the real path and judged by the streaming
//! diagnosis, then every injected fault scored against the alarms it raised.
//!
//! The path: simulated meters answer DL/T 645 over loopback TCP (late replies and line noise included);
//! the collector polls them each 15 minutes of a simulated clock, spools and forwards the rounds to
//! Kafka (librdkafka's mock cluster); the control service's diagnosis [`Judge`] consumes the readings
//! topic and keeps alarms in SQLite. A share of every fault kind is injected; relay failures only show
//! when the relay is opened, so their meters are tripped at the fault's start with a real relay frame,
//! and as many healthy meters are tripped too (a correct trip must raise nothing).
//!
//! Shared by `benches/diagnosis_faults.rs` (10,000 meters × 7 days) and `tests/diagnosis_faults.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use analytics::diagnosis::{AlarmRule, DiagnosisConfig, MeterProfile};
use chrono::{DateTime, TimeDelta, Utc};
use control::domain::alarm::AlarmKind;
use control::store::alarms::{AlarmFilter, MeterAlarm};
use control::workers::diagnosis::Judge;
use ingest::collector::{Collector, CollectorConfig};
use ingest::dlt645::{Address, RelayAction, RelayCommand};
use ingest::kafka::{EmbeddedKafka, KafkaSettings, Topics};
use ingest::sim::{FaultConfig, FaultKind, Fleet, FleetConfig, SecurityMode, SimClock};
use ingest::spool::{Spool, SpoolConfig};
use rdkafka::consumer::Consumer;

/// The size of a run.
#[derive(Debug, Clone, Copy)]
pub struct FaultRun {
    /// Customer meters.
    pub meters: usize,
    /// Meters per DTU.
    pub meters_per_bus: usize,
    /// The first collection boundary (UTC); faults are injected after it.
    pub start: DateTime<Utc>,
    /// Collection rounds after the first (15 simulated minutes each; 96 a day).
    pub rounds: u32,
    /// The collector's reply timeout per attempt (one retry follows); the injected late replies come
    /// after 3 s, so it must stay below 1.5 s.
    pub timeout: Duration,
    /// Share of meters that get each fault kind.
    pub share: f64,
    /// How late a communication-timeout meter answers, ms (more than two timeouts).
    pub late_reply_ms: u64,
    /// Seed of the fleet.
    pub seed: u64,
}

/// The alarm rule that detects each fault kind.
pub fn detecting_rule(kind: FaultKind) -> AlarmRule {
    match kind {
        FaultKind::VoltageSag => AlarmRule::VoltageLow,
        FaultKind::VoltageSwell => AlarmRule::VoltageHigh,
        FaultKind::VoltageLoss => AlarmRule::VoltageLoss,
        FaultKind::StuckRegister => AlarmRule::StuckRegister,
        FaultKind::ReverseTheft => AlarmRule::ReverseEnergy,
        FaultKind::Bypass => AlarmRule::Bypass,
        FaultKind::RelayFailure => AlarmRule::EnergyWhileRelayOpen,
        FaultKind::MeterReplacement => AlarmRule::MeterReplaced,
        FaultKind::CommDropout => AlarmRule::MeterSilent,
        FaultKind::CommTimeout => AlarmRule::SlowReplies,
        FaultKind::Garbage => AlarmRule::LineNoise,
    }
}

/// Rules whose alarm is a true consequence of a fault of `kind` (a meter whose replies all come too
/// late is also silent; tampering opens a cover, which the meter's event records show).
fn consequences(kind: FaultKind) -> Vec<AlarmRule> {
    match kind {
        FaultKind::CommTimeout => vec![AlarmRule::SlowReplies, AlarmRule::MeterSilent],
        FaultKind::StuckRegister | FaultKind::Bypass | FaultKind::ReverseTheft => {
            vec![detecting_rule(kind), AlarmRule::CoverOpened]
        }
        other => vec![detecting_rule(other)],
    }
}

/// How one fault kind fared.
#[derive(Debug, Clone, Default)]
pub struct KindScore {
    /// Faults injected (and not masked).
    pub injected: usize,
    /// Faults hidden by other faults of the same meter for all but less than an hour.
    pub masked: usize,
    /// Faults whose detecting rule raised an alarm on their meter during the fault.
    pub detected: usize,
    /// Alarms of the detecting rule.
    pub alarms: usize,
    /// Of those, alarms no fault explains.
    pub false_alarms: usize,
    /// Onset → alarm delays of the detected faults, minutes.
    pub delays_min: Vec<i64>,
}

impl KindScore {
    /// Detected / injected.
    pub fn recall(&self) -> f64 {
        if self.injected == 0 {
            return f64::NAN;
        }
        self.detected as f64 / self.injected as f64
    }

    /// True alarms / alarms.
    pub fn precision(&self) -> f64 {
        if self.alarms == 0 {
            return f64::NAN;
        }
        (self.alarms - self.false_alarms) as f64 / self.alarms as f64
    }

    /// The median delay, minutes.
    pub fn median_delay(&self) -> Option<i64> {
        let mut d = self.delays_min.clone();
        d.sort_unstable();
        d.get(d.len() / 2).copied()
    }
}

/// What a run produced.
#[derive(Debug, Clone, Default)]
pub struct FaultScores {
    /// Per fault kind.
    pub kinds: BTreeMap<String, KindScore>,
    /// Alarms of rules no injected fault kind maps to, by rule (with how many no fault explains).
    pub other_alarms: BTreeMap<String, (usize, usize)>,
    /// Readings judged.
    pub readings: u64,
    /// Healthy meters tripped (no alarm expected).
    pub healthy_trips: usize,
    /// Wall time.
    pub elapsed: Duration,
    /// Each missed fault and each alarm no fault explains, with the meter's faults and alarms.
    pub notes: Vec<String>,
    /// Per round, wall time after collecting, after forwarding to Kafka, and after judging.
    pub round_times: Vec<[Duration; 3]>,
}

/// A fault of one meter, as the scoring sees it.
struct Label {
    kind: FaultKind,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// How long after a fault's end an alarm of it still counts (the condition needs a few readings).
const GRACE: TimeDelta = TimeDelta::hours(2);
/// A fault visible for less than this (the rest hidden by another fault) cannot be judged.
const LEAST_VISIBLE: TimeDelta = TimeDelta::hours(1);

fn is_comm(kind: FaultKind) -> bool {
    matches!(kind, FaultKind::CommDropout | FaultKind::CommTimeout)
}

/// Until when an alarm of `label` counts: the fault's end plus the grace, extended past every
/// communication fault of the same meter that hides it (the meter is judged again when it answers).
fn counts_until(label: &Label, meter_labels: &[Label]) -> DateTime<Utc> {
    let mut until = label.end.max(label.start) + GRACE;
    if is_comm(label.kind) {
        return until;
    }
    for c in meter_labels.iter().filter(|c| is_comm(c.kind)) {
        if c.start <= until && c.end >= label.start {
            until = until.max(c.end + GRACE);
        }
    }
    until
}

/// Whether a fault of `hider` on a meter hides a fault of `hidden` on it: a silent meter shows
/// nothing; without voltage nothing flows to judge; a bypass shows no power, so a stuck register
/// behind it owes nothing.
fn hides(hider: FaultKind, hidden: FaultKind) -> bool {
    use FaultKind as K;
    match hider {
        K::CommDropout | K::CommTimeout => !is_comm(hidden),
        K::VoltageLoss => matches!(
            hidden,
            K::StuckRegister
                | K::Bypass
                | K::ReverseTheft
                | K::RelayFailure
                | K::VoltageSag
                | K::VoltageSwell
        ),
        K::Bypass => hidden == K::StuckRegister,
        _ => false,
    }
}

/// Whether other faults of the same meter hide all but less than [`LEAST_VISIBLE`] of `label`, or
/// hide the instant of an instant fault (a replacement).
fn masked(label: &Label, meter_labels: &[Label]) -> bool {
    if is_comm(label.kind) {
        return false;
    }
    if label.end <= label.start {
        // A replacement while the meter is silent shows only if the new register is still below the
        // old one when the meter answers again; the simulator starts registers at zero, so after a
        // long silence it may not be.
        return meter_labels
            .iter()
            .any(|c| hides(c.kind, label.kind) && c.start <= label.start && label.start < c.end);
    }
    let step = TimeDelta::minutes(15);
    let mut visible = TimeDelta::zero();
    let mut t = label.start;
    while t < label.end {
        let hidden = meter_labels
            .iter()
            .any(|c| hides(c.kind, label.kind) && c.start <= t && t < c.end);
        if !hidden {
            visible += step;
        }
        t += step;
    }
    visible < LEAST_VISIBLE
}

fn explained(alarm: &MeterAlarm, labels: Option<&Vec<Label>>) -> bool {
    let AlarmKind::Reading(rule) = alarm.kind else {
        return false;
    };
    // An event record carries the meter's own clock, which may be some minutes off.
    let slack = if rule == AlarmRule::CoverOpened {
        TimeDelta::hours(1)
    } else {
        TimeDelta::zero()
    };
    labels.is_some_and(|labels| {
        labels.iter().any(|l| {
            consequences(l.kind).contains(&rule)
                && alarm.since_at + slack >= l.start
                && alarm.since_at <= counts_until(l, labels)
        })
    })
}

/// Runs the fleet for `run.rounds` and scores it; `progress` is called every 16 rounds (4 simulated
/// hours) with the rounds done.
pub async fn run(
    run: FaultRun,
    progress: impl Fn(u32, &FaultScores),
) -> anyhow::Result<FaultScores> {
    let began = Instant::now();
    let start = run.start;
    let rounds = i64::from(run.rounds);
    let end = start + TimeDelta::minutes(15 * rounds);
    let fleet = Fleet::new(
        &FleetConfig {
            meters: run.meters,
            meters_per_bus: run.meters_per_bus,
            first_meter_number: 1,
            seed: run.seed,
            security: SecurityMode::Lab,
            bus_prefix: "faults".into(),
            grid: ingest::sim::grid::GridConfig {
                supply_meters: false,
                ..Default::default()
            },
            faults: {
                // Faults begin after the first hour, once every register holds some energy (the
                // simulator starts them at zero, so an earlier replacement would not show).
                let mut faults =
                    FaultConfig::random_share(run.share, start + TimeDelta::hours(1), end);
                for random in &mut faults.random {
                    if random.kind == FaultKind::CommTimeout {
                        random.magnitude = run.late_reply_ms as f64;
                    }
                }
                faults
            },
            ..FleetConfig::default()
        },
        start,
    )?;
    let clock = SimClock::new(start);
    let topics = Topics::with_prefix("faults.");
    let kafka = EmbeddedKafka::start(1, &topics, 1)?;
    let settings = KafkaSettings {
        brokers: kafka.bootstrap_servers(),
        properties: Default::default(),
    };
    // Each DTU holds a socket on both sides.
    ingest::collector::limits::raise_open_files_limit((fleet.buses.len() as u64) * 3 + 1024)?;
    let buses = ingest::sim::server::serve_fleet(&fleet, &clock, [127, 0, 0, 1].into())
        .await?
        .buses;
    let bus_count = buses.len();
    let work = tempfile::tempdir()?;
    let collector = Arc::new(Collector::new(
        CollectorConfig {
            collector_id: "faults".into(),
            buses,
            timeout: run.timeout,
            retries: 1,
            zone: chrono_tz::Asia::Shanghai,
            max_concurrent_buses: bus_count,
            clock_check_every: 0,
            event_check_every: 96,
            clock_threshold: Duration::from_secs(60),
            command_keys: None,
        },
        Arc::new(std::sync::Mutex::new(Spool::open(SpoolConfig::new(
            work.path().join("spool"),
            1 << 34,
        ))?)),
        ingest::kafka::producer(&settings)?,
        topics.clone(),
        Arc::new(clock.clone()),
    ));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let forwarder = {
        let forwarder = collector.forwarder();
        tokio::spawn(async move { forwarder.run(stop_rx, Duration::from_secs(10)).await })
    };
    let control_config = control::Config {
        database: format!("sqlite://{}", work.path().join("control.db").display()),
        audit_keys_dir: work.path().join("keys/audit").display().to_string(),
        command_keys_dir: work.path().join("keys/commands").display().to_string(),
        ..control::Config::default()
    };
    let control = control::open(
        &control_config,
        topics.clone(),
        chrono_tz::Asia::Shanghai,
        Arc::new(clock.clone()),
    )
    .await?;
    let profiles: HashMap<String, MeterProfile> = {
        let mut profiles: HashMap<String, MeterProfile> = HashMap::new();
        for record in &fleet.meters {
            let p = profiles.entry(record.meter_id.clone()).or_default();
            p.has_pv |= record.has_pv;
            p.installs.push(record.installed_on.timestamp_micros());
            p.installs.sort_unstable();
            p.area_id = Some(record.area_id.clone());
            p.bus_id = Some(record.bus_id.clone());
        }
        profiles
    };
    let mut judge = Judge::resume(control.clone(), DiagnosisConfig::default(), profiles).await?;
    let consumer = ingest::kafka::consumer(&settings, "faults-diagnosis")?;
    consumer.subscribe(&[&topics.readings])?;

    // Labels by meter; relay-failure meters are tripped at their fault's start, and as many healthy ones.
    let mut labels: HashMap<String, Vec<Label>> = HashMap::new();
    let mut trips: Vec<(DateTime<Utc>, String)> = Vec::new();
    for label in &fleet.faults {
        labels
            .entry(label.meter_id.clone())
            .or_default()
            .push(Label {
                kind: label.fault.kind,
                start: label.fault.start,
                end: label.fault.end,
            });
        if label.fault.kind == FaultKind::RelayFailure {
            trips.push((label.fault.start, label.meter_id.clone()));
        }
    }
    let healthy: Vec<String> = fleet
        .meters
        .iter()
        .map(|m| m.meter_id.clone())
        .filter(|m| !labels.contains_key(m))
        .take(trips.len().max(1))
        .collect();
    let healthy_trips = healthy.len();
    for (i, meter) in healthy.into_iter().enumerate() {
        let at = start + TimeDelta::minutes(15 * (1 + (i as i64 * 37) % rounds));
        trips.push((at, meter));
    }
    trips.sort();

    let mut scores = FaultScores {
        healthy_trips,
        ..FaultScores::default()
    };
    let mut next_trip = 0;
    // Rounds are 15 minutes apart in the field, so a late reply lands long before the next round asks
    // the meter again; in compressed time the next round waits until the last request of this one has
    // had its lateness (else a late reply could be taken for the next round's answer).
    let settle = Duration::from_millis(run.late_reply_ms + 100);
    for round in 0..=rounds {
        let round_began = Instant::now();
        let boundary = start + TimeDelta::minutes(15 * round);
        clock.set(boundary);
        while next_trip < trips.len() && trips[next_trip].0 <= boundary {
            let meter = &trips[next_trip].1;
            let address = Address::from_number(meter.parse()?)?;
            let valid_until = (boundary + TimeDelta::days(1))
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .naive_local();
            let frame = RelayCommand::plaintext(RelayAction::Trip, valid_until).to_frame(address);
            fleet.with_meter(address, |m| m.handle(&frame, boundary));
            next_trip += 1;
        }
        let stats = collector.collect(boundary).await?;
        let collected = round_began.elapsed();
        collector.wait_forwarded(Duration::from_secs(60)).await?;
        let forwarded = round_began.elapsed();
        for _ in 0..stats.messages {
            let message = tokio::time::timeout(Duration::from_secs(30), consumer.recv())
                .await
                .map_err(|_| {
                    anyhow::anyhow!("round {round}: a readings message did not arrive")
                })??;
            judge.message(&message).await?;
        }
        scores.readings += stats.rows;
        let judged = round_began.elapsed();
        scores.round_times.push([collected, forwarded, judged]);
        tokio::time::sleep(settle.saturating_sub(round_began.elapsed() - collected)).await;
        if (round > 0 && round % 16 == 0) || round == rounds {
            scores.elapsed = began.elapsed();
            progress(u32::try_from(round).unwrap_or(u32::MAX), &scores);
        }
    }
    let _ = stop.send(true);
    let _ = forwarder.await;

    // Score every injected fault and every alarm.
    let mut alarms: Vec<MeterAlarm> = Vec::new();
    let mut until: Option<DateTime<Utc>> = None;
    loop {
        let page = control
            .alarms(&AlarmFilter {
                all: true,
                until,
                limit: Some(1000),
                ..AlarmFilter::default()
            })
            .await?;
        let Some(last) = page.last() else { break };
        until = Some(last.raised_at);
        let full = page.len() == 1000;
        // Alarms raised at the page's last instant come again on the next page: keep ids unique.
        alarms.extend(page);
        if !full {
            break;
        }
    }
    alarms.sort_by(|a, b| a.id.cmp(&b.id));
    alarms.dedup_by(|a, b| a.id == b.id);
    let mut by_meter_rule: HashMap<(String, AlarmRule), Vec<&MeterAlarm>> = HashMap::new();
    for alarm in &alarms {
        if let AlarmKind::Reading(rule) = alarm.kind {
            by_meter_rule
                .entry((alarm.meter_id.clone(), rule))
                .or_default()
                .push(alarm);
        }
    }
    for kind in FaultKind::ALL {
        scores.kinds.entry(kind.name().to_string()).or_default();
    }
    for (meter, meter_labels) in &labels {
        for label in meter_labels {
            let score = scores
                .kinds
                .entry(label.kind.name().to_string())
                .or_default();
            if masked(label, meter_labels) {
                score.masked += 1;
                continue;
            }
            score.injected += 1;
            let rule = detecting_rule(label.kind);
            let until = counts_until(label, meter_labels);
            let hit = by_meter_rule
                .get(&(meter.clone(), rule))
                .and_then(|alarms| {
                    alarms
                        .iter()
                        .filter(|a| a.since_at >= label.start && a.since_at <= until)
                        .map(|a| a.raised_at)
                        .min()
                });
            if let Some(raised) = hit {
                score.detected += 1;
                score.delays_min.push((raised - label.start).num_minutes());
            } else {
                scores.notes.push(format!(
                    "missed {} on {meter} {}..{}; {}",
                    label.kind.name(),
                    label.start,
                    label.end,
                    meter_story(meter, &labels, &alarms)
                ));
            }
        }
    }
    let detecting: HashMap<AlarmRule, FaultKind> = FaultKind::ALL
        .into_iter()
        .map(|k| (detecting_rule(k), k))
        .collect();
    for alarm in &alarms {
        let AlarmKind::Reading(rule) = alarm.kind else {
            continue;
        };
        let false_alarm = !explained(alarm, labels.get(&alarm.meter_id));
        if false_alarm {
            scores.notes.push(format!(
                "unexplained {} on {} since {}; {}",
                rule.name(),
                alarm.meter_id,
                alarm.since_at,
                meter_story(&alarm.meter_id, &labels, &alarms)
            ));
        }
        match detecting.get(&rule) {
            Some(kind) => {
                let score = scores.kinds.entry(kind.name().to_string()).or_default();
                score.alarms += 1;
                score.false_alarms += usize::from(false_alarm);
            }
            None => {
                let other = scores
                    .other_alarms
                    .entry(rule.name().to_string())
                    .or_default();
                other.0 += 1;
                other.1 += usize::from(false_alarm);
            }
        }
    }
    scores.elapsed = began.elapsed();
    drop(kafka);
    Ok(scores)
}

/// A meter's faults and alarms, for notes.
fn meter_story(meter: &str, labels: &HashMap<String, Vec<Label>>, alarms: &[MeterAlarm]) -> String {
    let faults: Vec<String> = labels
        .get(meter)
        .map(|ls| {
            ls.iter()
                .map(|l| format!("{} {}..{}", l.kind.name(), l.start, l.end))
                .collect()
        })
        .unwrap_or_default();
    let raised: Vec<String> = alarms
        .iter()
        .filter(|a| a.meter_id == meter)
        .map(|a| format!("{} {} ({})", a.kind.name(), a.since_at, a.detail))
        .collect();
    format!(
        "faults [{}]; alarms [{}]",
        faults.join(", "),
        raised.join(", ")
    )
}

/// The scores as a Markdown table.
pub fn table(scores: &FaultScores) -> String {
    let mut out = String::from(
        "| fault kind | alarm rule | injected | masked | detected | recall | alarms | false | precision | median delay | max delay |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for kind in FaultKind::ALL {
        let s = &scores.kinds[kind.name()];
        let fmt = |v: f64| {
            if v.is_nan() {
                "–".to_string()
            } else {
                format!("{v:.3}")
            }
        };
        let minutes = |m: Option<i64>| m.map_or("–".to_string(), |m| format!("{m} min"));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            kind.name(),
            detecting_rule(kind).name(),
            s.injected,
            s.masked,
            s.detected,
            fmt(s.recall()),
            s.alarms,
            s.false_alarms,
            fmt(s.precision()),
            minutes(s.median_delay()),
            minutes(s.delays_min.iter().max().copied()),
        ));
    }
    for (rule, (n, unexplained)) in &scores.other_alarms {
        out.push_str(&format!(
            "| (no fault kind) | {rule} | – | – | – | – | {n} | {unexplained} | – | – | – |\n"
        ));
    }
    out
}
