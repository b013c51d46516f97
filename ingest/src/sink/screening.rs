//! Screening a message's rows before they are buffered: rows that cannot be true readings (a boundary in
//! the future beyond the tolerance, a register out of range: [`store::screen`]) are refused and recorded
//! as one dead letter for the message with every reason; the message's other rows go on to the lake.

use std::time::Duration;

use arrow::array::RecordBatch;
use chrono::{DateTime, Utc};
use store::screen::{screen, RefusedRow};
use store::{PreparedRows, StoreError};

/// Reasons listed in full in a dead letter; the rest are counted.
const LISTED_REASONS: usize = 20;

/// A message's rows after screening.
#[derive(Debug)]
pub struct ScreenedMessage {
    /// The rows that may enter the lake, prepared.
    pub rows: Vec<PreparedRows>,
    /// Why rows were refused (the dead letter's error), if any were.
    pub refusal: Option<String>,
}

/// The latest boundary a message may carry: the earlier of the sink's clock and the message's Kafka
/// timestamp (so a message read again after a crash is judged as it was the first time), plus the
/// tolerance.
pub fn latest_boundary(
    now: DateTime<Utc>,
    message_millis: Option<i64>,
    tolerance: Duration,
) -> DateTime<Utc> {
    let reference = message_millis
        .and_then(DateTime::from_timestamp_millis)
        .map_or(now, |stamped| stamped.min(now));
    let tolerance = chrono::TimeDelta::from_std(tolerance).unwrap_or(chrono::TimeDelta::MAX);
    reference
        .checked_add_signed(tolerance)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Screens and prepares a message's batches for a lake in `zone`.
pub fn screen_message(
    batches: &[RecordBatch],
    latest: DateTime<Utc>,
    zone: chrono_tz::Tz,
) -> Result<ScreenedMessage, StoreError> {
    let mut rows = Vec::with_capacity(batches.len());
    let mut refused: Vec<RefusedRow> = Vec::new();
    let mut total = 0;
    for batch in batches {
        total += batch.num_rows();
        let screened = screen(batch, latest)?;
        refused.extend(screened.refused);
        if screened.kept.num_rows() > 0 {
            rows.push(PreparedRows::new(&screened.kept, zone)?);
        }
    }
    let refusal = (!refused.is_empty()).then(|| describe(&refused, total));
    Ok(ScreenedMessage { rows, refusal })
}

fn describe(refused: &[RefusedRow], total: usize) -> String {
    let mut text = format!("{} of {total} rows refused by screening: ", refused.len());
    let listed: Vec<String> = refused
        .iter()
        .take(LISTED_REASONS)
        .map(ToString::to_string)
        .collect();
    text.push_str(&listed.join("; "));
    if refused.len() > LISTED_REASONS {
        text.push_str(&format!("; and {} more", refused.len() - LISTED_REASONS));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_is_the_earlier_of_clock_and_message_stamp() {
        let now: DateTime<Utc> = "2026-12-05T08:00:00Z".parse().unwrap();
        let earlier: DateTime<Utc> = "2026-12-01T08:00:00Z".parse().unwrap();
        let quarter = Duration::from_secs(900);
        assert_eq!(
            latest_boundary(now, Some(earlier.timestamp_millis()), quarter),
            earlier + chrono::TimeDelta::minutes(15)
        );
        let forged_future = now + chrono::TimeDelta::days(30);
        assert_eq!(
            latest_boundary(now, Some(forged_future.timestamp_millis()), quarter),
            now + chrono::TimeDelta::minutes(15)
        );
        assert_eq!(
            latest_boundary(now, None, quarter),
            now + chrono::TimeDelta::minutes(15)
        );
        assert_eq!(
            latest_boundary(now, None, Duration::MAX),
            DateTime::<Utc>::MAX_UTC
        );
    }
}
