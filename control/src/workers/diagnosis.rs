//! Streaming fault diagnosis: consumes the readings topic in its own consumer group, judges every
//! reading with the alarm rules ([`analytics::diagnosis::Watch`]) and applies the raised and cleared
//! alarms; offsets are committed after the alarms are written, so a crash re-judges at most the last
//! message (a raise of an open condition is a no-op). An alarm is raised as soon as the reading that
//! completes its condition is consumed — seconds after collection, before the sink's next lake commit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use analytics::diagnosis::{observations, DiagnosisConfig, MeterProfile, Watch};
use ingest::kafka::message::{decode_message, link_counters};
use ingest::kafka::KafkaSettings;
use ingest::supervise::LoopHandle;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::Message;
use tokio::sync::watch;

use crate::app::alarms::SignalOutcome;
use crate::app::Control;
use crate::domain::alarm::AlarmKind;
use crate::service::SessionOpener;
use crate::ControlError;

/// The diagnosis consumer group on the readings topic.
pub const GROUP: &str = "meterlake-diagnosis";
/// How often the registry's profiles are re-read (new meters, replacements, PV).
const PROFILE_REFRESH: Duration = Duration::from_secs(600);

/// Registry profiles from the lake's `meters` table (empty without a lake).
async fn load_profiles(
    lake: Option<&SessionOpener>,
) -> Result<HashMap<String, MeterProfile>, ControlError> {
    let Some(open) = lake else {
        return Ok(HashMap::new());
    };
    let session = open().await.map_err(ControlError::from)?;
    analytics::diagnosis::profiles(&session)
        .await
        .map_err(ControlError::from)
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
    /// it raises and clears. An undecodable message is logged and skipped (the sink dead-letters it).
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
        let outcome = self
            .control
            .apply_signals(&signals, self.watch.profiles())
            .await?;
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
    lake: Option<SessionOpener>,
    config: DiagnosisConfig,
    handle: LoopHandle,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), ControlError> {
    let profiles = load_profiles(lake.as_ref()).await?;
    let mut judge = Judge::resume(control.clone(), config, profiles).await?;
    let mut profiles_read = Instant::now();
    let consumer = ingest::kafka::consumer(&settings, GROUP)?;
    consumer.subscribe(&[&control.rules().topics.readings])?;
    handle.success();
    loop {
        if profiles_read.elapsed() >= PROFILE_REFRESH {
            match load_profiles(lake.as_ref()).await {
                Ok(fresh) => judge.set_profiles(fresh),
                Err(err) => {
                    tracing::warn!(%err, "meter registry not re-read; keeping the last one")
                }
            }
            profiles_read = Instant::now();
        }
        let message = tokio::select! {
            _ = shutdown.changed() => return Ok(()),
            m = tokio::time::timeout(Duration::from_secs(1), consumer.recv()) => m,
        };
        let Ok(message) = message else {
            handle.success();
            continue;
        };
        let message = message?;
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
