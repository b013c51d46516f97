//! The relay state meters last reported, from status word 3 bit 4 of their latest reading.

use std::collections::BTreeMap;

use arrow::array::{Array, Int32Array, TimestampMicrosecondArray};
use chrono::{DateTime, NaiveDate, Utc};

use crate::columns::{strings, typed};
use crate::{AnalyticsError, LakeSession};

/// Status word 3 bit 4: relay open.
const RELAY_OPEN_BIT: i32 = 1 << 4;

/// A meter's latest reported relay state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelayReading {
    /// Whether the relay was open.
    pub open: bool,
    /// When the reading was taken (`read_ts`).
    pub read_at: DateTime<Utc>,
}

/// Meter → its relay state at its latest reading with a status word 3, among the readings of local
/// days `since` and later (the partitions before it are not read: a pass needs only what is new since
/// the relay states it already knows).
pub async fn latest_relay_readings(
    session: &LakeSession,
    since: NaiveDate,
) -> Result<BTreeMap<String, RelayReading>, AnalyticsError> {
    let day = since.format("%Y-%m-%d");
    let batches = session
        .query(&format!(
            "SELECT r.meter_id, r.status_word_3, r.read_ts FROM readings r JOIN (
                 SELECT meter_id, max(boundary_ts) AS latest FROM readings
                 WHERE status_word_3 IS NOT NULL AND date >= DATE '{day}' GROUP BY meter_id
             ) l ON r.meter_id = l.meter_id AND r.boundary_ts = l.latest
             WHERE r.status_word_3 IS NOT NULL AND r.date >= DATE '{day}'"
        ))
        .await?;
    let mut latest = BTreeMap::new();
    for batch in &batches {
        let meters = strings(batch, 0)?;
        let words = typed::<Int32Array>(batch, 1)?;
        let read = typed::<TimestampMicrosecondArray>(batch, 2)?;
        for row in 0..batch.num_rows() {
            if words.is_null(row) || read.is_null(row) {
                continue;
            }
            let Some(read_at) = DateTime::from_timestamp_micros(read.value(row)) else {
                continue;
            };
            latest.insert(
                meters.value(row).to_string(),
                RelayReading {
                    open: words.value(row) & RELAY_OPEN_BIT != 0,
                    read_at,
                },
            );
        }
    }
    Ok(latest)
}
