//! The relay state meters last reported, from status word 3 bit 4 of their latest reading.

use std::collections::BTreeMap;

use arrow::array::{Array, Int32Array};

use crate::columns::{strings, typed};
use crate::{AnalyticsError, LakeSession};

/// Status word 3 bit 4: relay open.
const RELAY_OPEN_BIT: i32 = 1 << 4;

/// Meter → whether its relay was open at its latest reading with a status word 3.
pub async fn latest_relay_open(
    session: &LakeSession,
) -> Result<BTreeMap<String, bool>, AnalyticsError> {
    let batches = session
        .query(
            "SELECT r.meter_id, r.status_word_3 FROM readings r JOIN (
                 SELECT meter_id, max(boundary_ts) AS latest FROM readings
                 WHERE status_word_3 IS NOT NULL GROUP BY meter_id
             ) l ON r.meter_id = l.meter_id AND r.boundary_ts = l.latest
             WHERE r.status_word_3 IS NOT NULL",
        )
        .await?;
    let mut open = BTreeMap::new();
    for batch in &batches {
        let meters = strings(batch, 0)?;
        let words = typed::<Int32Array>(batch, 1)?;
        for row in 0..batch.num_rows() {
            if !words.is_null(row) {
                open.insert(
                    meters.value(row).to_string(),
                    words.value(row) & RELAY_OPEN_BIT != 0,
                );
            }
        }
    }
    Ok(open)
}
