//! Streaming fault diagnosis: consumes the readings topic in its own consumer group, judges every
//! reading with the alarm rules ([`analytics::diagnosis::Watch`]) and applies the raised and cleared
//! alarms; offsets are committed after the alarms are written, so a crash re-judges at most the last
//! message (a raise of an open condition is a no-op). An alarm is raised as soon as the reading that
//! completes its condition is consumed — seconds after collection, before the sink's next lake commit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use analytics::diagnosis::{observations, DiagnosisConfig, MeterProfile, Watch};
use ingest::kafka::message::{decode_message, event_readings, link_counters};
use ingest::kafka::KafkaSettings;
use ingest::supervise::LoopHandle;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::Message;
use tokio::sync::watch;

use crate::app::alarms::SignalOutcome;
use crate::app::Control;
use crate::domain::alarm::AlarmKind;
use crate::ControlError;

/// The diagnosis consumer group on the readings topic.
pub const GROUP: &str = "meterlake-diagnosis";
/// How often the registry's profiles are re-read (new meters, replacements, PV).
const PROFILE_REFRESH: Duration = Duration::from_secs(600);

/// Registry profiles from the registry directory (none without one).
async fn load_profiles(
    registry: Option<&std::path::Path>,
) -> Result<HashMap<String, MeterProfile>, ControlError> {
    match registry {
        Some(dir) => Ok(analytics::diagnosis::registry_profiles(dir).await?),
        None => Ok(HashMap::new()),
    }
}

/// Judges readings messages: the rules' watch over every meter, resumed from the open alarms, and the
/// use cases that keep the alarms.
pub struct Judge {
    control: Control,
    watch: Watch,
}

impl Judge {
    /// A judge whose watch knows which conditions already have open alarms.
    pub async fn resume(
        control: Control,
        config: DiagnosisConfig,
        profiles: HashMap<String, MeterProfile>,
    ) -> Result<Self, ControlError> {
        let mut watch = Watch::new(config, control.rules().zone, profiles);
        for (meter, kind) in control.open_alarm_conditions().await? {
            if let AlarmKind::Reading(rule) = kind {
                watch.mark_open(&meter, rule);
            }
        }
        Ok(Self { control, watch })
    }

    /// Replaces the registry profiles.
    pub fn set_profiles(&mut self, profiles: HashMap<String, MeterProfile>) {
        self.watch.set_profiles(profiles);
    }

    /// Judges every reading of one readings message (with its link counters) and applies the alarms
    /// it raises and clears; keeps the event records it carries (a cover opening raises an alarm). An
    /// undecodable message is logged and skipped (the sink dead-letters it).
    pub async fn message<M: Message>(
        &mut self,
        message: &M,
    ) -> Result<SignalOutcome, ControlError> {
        let batches = match decode_message(message) {
            Ok(batches) => batches,
            Err(err) => {
                tracing::error!(
                    %err, partition = message.partition(), offset = message.offset(),
                    "undecodable readings message skipped by diagnosis"
                );
                return Ok(SignalOutcome::default());
            }
        };
        let link = link_counters(message).unwrap_or_else(|err| {
            tracing::warn!(%err, "unreadable link counters header ignored");
            Default::default()
        });
        let mut signals = Vec::new();
        let mut rows = 0u64;
        for batch in &batches {
            rows += batch.num_rows() as u64;
            for mut reading in observations(batch)? {
                if let Some(counters) = link.get(&reading.meter_id) {
                    reading.late_replies = counters.late_replies;
                    reading.noise_bytes = counters.noise_bytes;
                }
                signals.extend(self.watch.observe(&reading));
            }
        }
        let mut outcome = self
            .control
            .apply_signals(&signals, self.watch.profiles())
            .await?;
        let events = event_readings(message).unwrap_or_else(|err| {
            tracing::warn!(%err, "unreadable event records header ignored");
            Default::default()
        });
        let recorded = self
            .control
            .record_events(&events, self.watch.profiles())
            .await?;
        outcome.raised += recorded.alarms;
        metrics::counter!("meterlake_diagnosis_readings_total").increment(rows);
        metrics::gauge!("meterlake_diagnosis_meters_watched").set(self.watch.meters() as f64);
        Ok(outcome)
    }
}

/// Runs until `shutdown`; returns an error (for the supervisor to restart it) when Kafka or the
/// database fails.
pub async fn run(
    control: Control,
    settings: KafkaSettings,
    registry: Option<std::path::PathBuf>,
    config: DiagnosisConfig,
    handle: LoopHandle,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ControlError> {
    let profiles = load_profiles(registry.as_deref()).await?;
    let mut judge = Judge::resume(control.clone(), config, profiles).await?;
    let mut profiles_read = Instant::now();
    let consumer = ingest::kafka::consumer(&settings, GROUP)?;
    consumer.subscribe(&[&control.rules().topics.readings])?;
    handle.success();
    loop {
        if profiles_read.elapsed() >= PROFILE_REFRESH {
            match load_profiles(registry.as_deref()).await {
                Ok(fresh) => judge.set_profiles(fresh),
                Err(err) => {
                    tracing::warn!(%err, "meter registry not re-read; keeping the last one")
                }
            }
            profiles_read = Instant::now();
        }
        let Some(message) = super::next_message(&consumer, &mut shutdown, &handle).await? else {
            return Ok(());
        };
        let outcome = judge.message(&message).await?;
        if outcome.raised + outcome.cleared > 0 {
            tracing::debug!(
                raised = outcome.raised,
                cleared = outcome.cleared,
                "alarms applied"
            );
        }
        consumer.commit_message(&message, CommitMode::Async)?;
        handle.success();
    }
}

/// What a re-run of the rules over history did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RescanReport {
    /// Local dates read.
    pub days: usize,
    /// Readings judged.
    pub readings: u64,
    /// Alarms raised, cleared, and raises of conditions already open.
    pub outcome: SignalOutcome,
}

/// Re-judges the lake's readings of local dates `from..=to` with `config` (new or changed rules): a
/// fresh watch fed day by day in time order, and each day's transformer-area rules. Link counters are not in
/// the lake, so `slow_replies` and `line_noise` are judged only while streaming.
pub async fn rescan(
    control: &Control,
    session: &analytics::LakeSession,
    config: DiagnosisConfig,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    progress: &(dyn Fn(chrono::NaiveDate, &RescanReport) + Sync),
) -> Result<RescanReport, ControlError> {
    if to < from {
        return Err(ControlError::Invalid(format!(
            "the range ends ({to}) before it starts ({from})"
        )));
    }
    let profiles = analytics::diagnosis::profiles(session).await?;
    // A fresh watch: history decides what was open then. Raises already kept are recognised by their
    // first reading; a clear closes only an alarm that began before it.
    let mut watch = Watch::new(config, control.rules().zone, profiles);
    let mut report = RescanReport::default();
    let mut day = from;
    while day <= to {
        let batches = analytics::diagnosis::day_readings(session, day).await?;
        let mut signals = Vec::new();
        for batch in &batches {
            report.readings += batch.num_rows() as u64;
            for reading in observations(batch)? {
                signals.extend(watch.observe(&reading));
            }
        }
        let readings = control.apply_signals(&signals, watch.profiles()).await?;
        let areas = control
            .judge_areas(session, day, watch.config(), watch.profiles())
            .await?;
        for outcome in [readings, areas] {
            report.outcome.raised += outcome.raised;
            report.outcome.cleared += outcome.cleared;
            report.outcome.already_known += outcome.already_known;
        }
        report.days += 1;
        progress(day, &report);
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    Ok(report)
}
