//! Alarms and meter events to the lake (`alarms`, `meter_events`, partitioned by local date) for
//! analysis beside the readings: a day is exported whole and replaces its earlier export, so the
//! service re-exports today and yesterday as alarms are taken and cleared.

use analytics::diagnosis::lake_tables::{
    alarms_batch, events_batch, replace_day, AlarmRow, EventRow, ALARMS_TABLE, EVENTS_TABLE,
};
use analytics::LakeSession;
use chrono::NaiveDate;

use super::Control;
use crate::store::{alarms, meter_events};
use crate::ControlError;

/// What one day's export wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayExport {
    /// Alarms raised that day.
    pub alarms: usize,
    /// Event occurrences of that day.
    pub events: usize,
}

impl Control {
    /// Writes local date `date`'s alarms (by when raised, in their current state) and event
    /// occurrences to the lake `session` reads.
    pub async fn export_day(
        &self,
        session: &LakeSession,
        date: NaiveDate,
    ) -> Result<DayExport, ControlError> {
        let (from, to) = analytics::local_days::span(self.rules().zone, date, date)?;
        let (raised, events) = {
            let mut conn = self.db.conn().await?;
            (
                alarms::raised_between(&mut conn, from, to).await?,
                meter_events::between(&mut conn, from, to).await?,
            )
        };
        let alarm_rows: Vec<AlarmRow> = raised
            .iter()
            .map(|a| AlarmRow {
                id: a.id.clone(),
                meter_id: a.meter_id.clone(),
                area_id: a.area_id.clone(),
                bus_id: a.bus_id.clone(),
                kind: a.kind.name().to_string(),
                severity: a.severity.name().to_string(),
                state: a.state.name().to_string(),
                detail: a.detail.clone(),
                evidence: a.evidence.as_ref().map(|e| e.to_string()),
                since_us: a.since_at.timestamp_micros(),
                raised_us: a.raised_at.timestamp_micros(),
                acknowledged_by: a.acknowledged_by.clone(),
                acknowledged_us: a.acknowledged_at.map(|t| t.timestamp_micros()),
                cleared_by: a.cleared_by.clone(),
                cleared_us: a.cleared_at.map(|t| t.timestamp_micros()),
            })
            .collect();
        let event_rows: Vec<EventRow> = events
            .iter()
            .filter_map(|e| {
                Some(EventRow {
                    meter_id: e.meter_id.clone(),
                    event: e.event.name().to_string(),
                    sequence: e.sequence,
                    at_us: e.at?.timestamp_micros(),
                    end_us: e.end.map(|t| t.timestamp_micros()),
                    operator: e.operator.clone(),
                })
            })
            .collect();
        let name = date.format("%Y-%m-%d").to_string();
        let location = session.location()?;
        replace_day(
            &location,
            ALARMS_TABLE,
            &name,
            alarms_batch(&name, &alarm_rows)?,
        )
        .await?;
        replace_day(
            &location,
            EVENTS_TABLE,
            &name,
            events_batch(&name, &event_rows)?,
        )
        .await?;
        Ok(DayExport {
            alarms: alarm_rows.len(),
            events: event_rows.len(),
        })
    }
}
