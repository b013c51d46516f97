//! Alarms: raised and cleared by the diagnosis rules' signals, acknowledged and cleared by staff.

use std::collections::HashMap;

use analytics::diagnosis::{MeterProfile, Signal};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::audit::Actor;
use super::Control;
use crate::domain::alarm::AlarmKind;
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::notice::{NoticeFacts, NoticeKind};
use crate::store::alarms::{self, AlarmFilter, MeterAlarm};
use crate::ControlError;

/// What applying a batch of signals did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalOutcome {
    /// New alarms.
    pub raised: usize,
    /// Alarms cleared because their condition ended.
    pub cleared: usize,
    /// Raises of a condition that already has an open alarm, or an alarm that began at the same
    /// reading (a replay or a re-run over history), left alone.
    pub already_known: usize,
}

fn instant(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// A one-line account of a raised condition: its rule and the values of its last reading.
fn describe(
    rule: AlarmKind,
    since: DateTime<Utc>,
    evidence: &[analytics::diagnosis::Evidence],
) -> String {
    let values = evidence
        .last()
        .map(|e| {
            e.values
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    format!("{} since {}: {values}", rule.name(), since.to_rfc3339())
}

impl Control {
    /// Applies the diagnosis rules' signals in one transaction: a raise opens an alarm (with the area
    /// and bus of the meter's registry profile) unless its condition has one open, a clear closes the
    /// condition's open alarm.
    pub async fn apply_signals(
        &self,
        signals: &[Signal],
        profiles: &HashMap<String, MeterProfile>,
    ) -> Result<SignalOutcome, ControlError> {
        let now = self.now();
        let mut outcome = SignalOutcome::default();
        if signals.is_empty() {
            return Ok(outcome);
        }
        let mut tx = self.db.begin().await?;
        for signal in signals {
            match signal {
                Signal::Raised {
                    meter_id,
                    rule,
                    at_us,
                    since_us,
                    evidence,
                } => {
                    let kind = AlarmKind::Reading(*rule);
                    let place = profiles.get(meter_id);
                    let since = instant(*since_us);
                    let alarm = MeterAlarm {
                        area_id: place.and_then(|p| p.area_id.clone()),
                        bus_id: place.and_then(|p| p.bus_id.clone()),
                        evidence: Some(json!(evidence)),
                        ..MeterAlarm::raised(
                            meter_id,
                            kind,
                            describe(kind, since, evidence),
                            (since, instant(*at_us), now),
                        )
                    };
                    if alarms::insert(&mut tx, &alarm).await? {
                        outcome.raised += 1;
                        if alarm.severity != analytics::diagnosis::Severity::Info {
                            let facts = NoticeFacts {
                                subject: Some(kind.names().0.to_string()),
                                detail: Some(alarm.detail.clone()),
                                ..NoticeFacts::about(meter_id)
                            };
                            self.staff_notice(&mut tx, NoticeKind::AlarmRaised, &facts, now)
                                .await?;
                        }
                        metrics::counter!("meterlake_alarms_raised_total", "kind" => kind.name())
                            .increment(1);
                        tracing::info!(meter = %meter_id, kind = kind.name(), detail = %alarm.detail, "alarm raised");
                    } else {
                        outcome.already_known += 1;
                    }
                }
                Signal::Cleared {
                    meter_id,
                    rule,
                    at_us,
                } => {
                    let kind = AlarmKind::Reading(*rule);
                    let at = instant(*at_us);
                    let open = alarms::open_for(&mut tx, meter_id, kind).await?;
                    // Only an alarm that began before the end being reported (a re-run over history
                    // reports ends of earlier episodes).
                    if let Some(open) = open.filter(|open| open.since_at <= at) {
                        if alarms::clear(&mut tx, &open.id, "system", None, at).await? {
                            outcome.cleared += 1;
                            metrics::counter!("meterlake_alarms_cleared_total", "kind" => kind.name())
                                .increment(1);
                        }
                    }
                }
            }
        }
        tx.commit().await?;
        Ok(outcome)
    }

    /// Judges the transformer-area rules (line loss, collection success) on local date `date` of the
    /// lake `session` reads, raising and clearing their alarms on the areas' supply meters (placed by
    /// `profiles`). Judging a day again changes nothing.
    pub async fn judge_areas(
        &self,
        session: &analytics::LakeSession,
        date: chrono::NaiveDate,
        config: &analytics::diagnosis::DiagnosisConfig,
        profiles: &HashMap<String, MeterProfile>,
    ) -> Result<SignalOutcome, ControlError> {
        let (start, end) = analytics::local_days::span(self.rules().zone, date, date)?;
        let span = (start.timestamp_micros(), end.timestamp_micros());
        let signals: Vec<Signal> = analytics::diagnosis::area::area_days(session, date)
            .await?
            .iter()
            .flat_map(|day| analytics::diagnosis::area::judge(day, config, span))
            .collect();
        self.apply_signals(&signals, profiles).await
    }

    /// Scores theft over the model's window ending `date` and raises `theft_suspected` on the meters of
    /// the inspection list `list` (clearing it on scored meters that left the list). A lake with too
    /// little history raises nothing.
    pub async fn judge_theft(
        &self,
        session: &analytics::LakeSession,
        date: chrono::NaiveDate,
        model: &analytics::prediction::ModelFile,
        list: analytics::prediction::inspection::InspectionList,
        profiles: &HashMap<String, MeterProfile>,
    ) -> Result<SignalOutcome, ControlError> {
        use analytics::prediction::PredictionError;
        let days = i64::from(model.window_days.clamp(14, 60));
        let from = date - chrono::TimeDelta::days(days - 1);
        let scored = async {
            let fleet = analytics::prediction::days::load(session, from, date).await?;
            analytics::prediction::score::score(&fleet, model)
        };
        let rows = match scored.await {
            Ok(rows) => rows,
            Err(PredictionError::TooLittleHistory(why)) => {
                tracing::debug!(%why, "no theft inspection list yet");
                return Ok(SignalOutcome::default());
            }
            Err(PredictionError::Analytics(e)) => return Err(e.into()),
            Err(e) => return Err(ControlError::Corrupt(e.to_string())),
        };
        let (start, end) = analytics::local_days::span(self.rules().zone, from, date)?;
        let span = (start.timestamp_micros(), end.timestamp_micros());
        let signals = analytics::prediction::inspection::signals(&rows, list, span);
        self.apply_signals(&signals, profiles).await
    }

    /// Alarms matching `filter`, newest first.
    pub async fn alarms(&self, filter: &AlarmFilter) -> Result<Vec<MeterAlarm>, ControlError> {
        alarms::list(&mut *self.db.conn().await?, filter).await
    }

    /// Open alarms, newest first, at most `limit`.
    pub async fn open_alarms(&self, limit: i64) -> Result<Vec<MeterAlarm>, ControlError> {
        let filter = AlarmFilter {
            limit: Some(limit),
            ..AlarmFilter::default()
        };
        self.alarms(&filter).await
    }

    /// Open alarms counted by severity.
    pub async fn open_alarm_counts(&self) -> Result<Vec<(String, i64)>, ControlError> {
        alarms::open_counts(&mut *self.db.conn().await?).await
    }

    /// Every reading-rule condition with an open alarm (to resume watching after a restart).
    pub async fn open_alarm_conditions(&self) -> Result<Vec<(String, AlarmKind)>, ControlError> {
        alarms::open_conditions(&mut *self.db.conn().await?).await
    }

    async fn alarm_for_change(
        &self,
        tx: &mut crate::store::Conn,
        id: &str,
    ) -> Result<MeterAlarm, ControlError> {
        alarms::get(tx, id)
            .await?
            .ok_or_else(|| ControlError::NotFound(format!("no alarm {id}")))
    }

    /// Someone takes an alarm.
    pub async fn acknowledge_alarm(
        &self,
        id: &str,
        actor: &Actor,
    ) -> Result<MeterAlarm, ControlError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let before = self.alarm_for_change(&mut tx, id).await?;
        before.state.acknowledge().map_err(ControlError::Conflict)?;
        alarms::acknowledge(&mut tx, id, &actor.name, now).await?;
        let after = self.alarm_for_change(&mut tx, id).await?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::AlarmAcknowledged,
            &format!("alarm:{id}"),
            Some(json!({"state": before.state})),
            Some(json!({"state": after.state, "meter": after.meter_id, "kind": after.kind.name()})),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Someone closes an alarm with a note (the condition may persist: it is raised again only after it
    /// has ended and returned).
    pub async fn clear_alarm(
        &self,
        id: &str,
        note: &str,
        actor: &Actor,
    ) -> Result<MeterAlarm, ControlError> {
        let note = note.trim();
        if note.is_empty() {
            return Err(ControlError::Invalid(
                "clearing an alarm by hand needs a note".into(),
            ));
        }
        if note.chars().count() > 2_000 {
            return Err(ControlError::Invalid(
                "the note is longer than 2000 characters".into(),
            ));
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let before = self.alarm_for_change(&mut tx, id).await?;
        before.state.clear().map_err(ControlError::Conflict)?;
        alarms::clear(&mut tx, id, &actor.name, Some(note), now).await?;
        let after = self.alarm_for_change(&mut tx, id).await?;
        self.audit(
            &mut tx,
            actor,
            AuditAction::AlarmCleared,
            &format!("alarm:{id}"),
            Some(json!({"state": before.state})),
            Some(json!({"state": after.state, "note": note, "meter": after.meter_id, "kind": after.kind.name()})),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }
}
