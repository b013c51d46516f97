//! Meters' event records as the collectors read them: kept once each, and an opened cover raises a
//! critical alarm (`cover_opened`) with the record as evidence. Cover alarms are cleared by hand after
//! an inspection: the event has no "normal again" reading.

use std::collections::{BTreeMap, HashMap};

use analytics::diagnosis::{AlarmRule, MeterProfile};
use chrono::{DateTime, Utc};
use ingest::kafka::message::EventReading;
use serde_json::json;

use super::Control;
use crate::domain::alarm::AlarmKind;
use crate::store::alarms::{self, MeterAlarm};
use crate::store::meter_events::{self, StoredEvent};
use crate::ControlError;

/// What recording a message's events did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventOutcome {
    /// Occurrences kept for the first time.
    pub recorded: usize,
    /// Cover-opened alarms raised.
    pub alarms: usize,
}

impl Control {
    /// Keeps the event records of one readings message (by meter) in one transaction, raising a
    /// `cover_opened` alarm for each newly seen cover or terminal-cover opening.
    pub async fn record_events(
        &self,
        by_meter: &BTreeMap<String, Vec<EventReading>>,
        profiles: &HashMap<String, MeterProfile>,
    ) -> Result<EventOutcome, ControlError> {
        let mut outcome = EventOutcome::default();
        if by_meter.is_empty() {
            return Ok(outcome);
        }
        let now = self.now();
        let mut tx = self.db.begin().await?;
        for (meter_id, readings) in by_meter {
            for reading in readings {
                let stored = StoredEvent {
                    meter_id: meter_id.clone(),
                    event: reading.event,
                    sequence: i64::from(reading.sequence()),
                    at: reading.at,
                    end: reading.end,
                    operator: reading.operator.map(|o| format!("{o:08X}")),
                    read_at: now,
                };
                if !meter_events::insert(&mut tx, &stored).await? {
                    continue;
                }
                outcome.recorded += 1;
                metrics::counter!("meterlake_meter_events_total", "event" => reading.event.name())
                    .increment(1);
                if reading.event.is_tamper() {
                    let at = reading.at.unwrap_or(now);
                    outcome.alarms += usize::from(
                        self.raise_cover_alarm(&mut tx, &stored, at, profiles)
                            .await?,
                    );
                }
            }
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn raise_cover_alarm(
        &self,
        tx: &mut crate::store::Conn,
        event: &StoredEvent,
        at: DateTime<Utc>,
        profiles: &HashMap<String, MeterProfile>,
    ) -> Result<bool, ControlError> {
        let kind = AlarmKind::Reading(AlarmRule::CoverOpened);
        let place = profiles.get(&event.meter_id);
        let until = event.end.map_or_else(
            || "still open".to_string(),
            |end| format!("closed {}", end.to_rfc3339()),
        );
        let alarm = MeterAlarm {
            area_id: place.and_then(|p| p.area_id.clone()),
            bus_id: place.and_then(|p| p.bus_id.clone()),
            evidence: Some(json!([{
                "event": event.event.name(),
                "sequence": event.sequence,
                "at": event.at,
                "end": event.end,
            }])),
            ..MeterAlarm::raised(
                &event.meter_id,
                kind,
                format!(
                    "{} (event {}) at {}, {until}",
                    event.event.name(),
                    event.sequence,
                    at.to_rfc3339()
                ),
                (at, at, self.now()),
            )
        };
        let raised = alarms::insert(tx, &alarm).await?;
        if raised {
            metrics::counter!("meterlake_alarms_raised_total", "kind" => kind.name()).increment(1);
            tracing::info!(meter = %event.meter_id, detail = %alarm.detail, "alarm raised");
        }
        Ok(raised)
    }

    /// Event occurrences that happened in [`from`, `to`), of one meter or all, oldest first.
    pub async fn meter_events(
        &self,
        meter_id: Option<&str>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<StoredEvent>, ControlError> {
        if let Some(meter) = meter_id {
            super::accounts::check_meter_id(meter)?;
        }
        if to <= from {
            return Err(ControlError::Invalid(format!("{to} is not after {from}")));
        }
        meter_events::list(&mut *self.db.conn().await?, meter_id, (from, to), limit).await
    }
}
