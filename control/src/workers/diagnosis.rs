//! Streaming fault diagnosis: consumes the readings topic in its own consumer group, judges every
//! reading with the alarm rules ([`analytics::diagnosis::Watch`]) and applies the raised and cleared
//! alarms; offsets are committed after the alarms are written, so a crash re-judges at most the last
//! message (a raise of an open condition is a no-op). An alarm is raised as soon as the reading that
//! completes its condition is consumed — seconds after collection, before the sink's next lake commit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use analytics::diagnosis::{observations, DiagnosisConfig, MeterProfile, Watch};
use ingest::kafka::message::decode_message;
use ingest::kafka::KafkaSettings;
use ingest::supervise::LoopHandle;
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::Message;
use tokio::sync::watch;

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

/// A watch that knows which conditions already have open alarms.
pub async fn resumed_watch(
    control: &Control,
    config: DiagnosisConfig,
    profiles: HashMap<String, MeterProfile>,
) -> Result<Watch, ControlError> {
    let mut watch = Watch::new(config, profiles);
    for (meter, kind) in control.open_alarm_conditions().await? {
        if let AlarmKind::Reading(rule) = kind {
            watch.mark_open(&meter, rule);
        }
    }
    Ok(watch)
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
    let mut watch = resumed_watch(&control, config.clone(), profiles.clone()).await?;
    let mut profiles_read = Instant::now();
    let consumer = ingest::kafka::consumer(&settings, GROUP)?;
    consumer.subscribe(&[&control.rules().topics.readings])?;
    handle.success();
    loop {
        if profiles_read.elapsed() >= PROFILE_REFRESH {
            match load_profiles(lake.as_ref()).await {
                Ok(fresh) => watch.set_profiles(fresh),
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
        let batches = match decode_message(&message) {
            Ok(batches) => batches,
            Err(err) => {
                tracing::error!(
                    %err, partition = message.partition(), offset = message.offset(),
                    "undecodable readings message skipped by diagnosis (the sink dead-letters it)"
                );
                consumer.commit_message(&message, CommitMode::Async)?;
                continue;
            }
        };
        let mut signals = Vec::new();
        for batch in &batches {
            for reading in observations(batch)? {
                signals.extend(watch.observe(&reading));
            }
        }
        let outcome = control.apply_signals(&signals, watch.profiles()).await?;
        metrics::counter!("meterlake_diagnosis_readings_total")
            .increment(batches.iter().map(|b| b.num_rows() as u64).sum());
        metrics::gauge!("meterlake_diagnosis_meters_watched").set(watch.meters() as f64);
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
