//! The day close (收费日结): a local day's takings per taker, tallied from the audit trail.

use chrono::NaiveDate;

use super::Control;
use crate::domain::takings::{self, TakerTotals};
use crate::ControlError;

/// A local day's takings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DayTakings {
    /// The local date.
    pub date: NaiveDate,
    /// Per taker, by name.
    pub takers: Vec<TakerTotals>,
    /// All takers together.
    pub total: TakerTotals,
}

impl Control {
    /// The payments and refunds booked on local `date`, per taker, from the audit trail's records of
    /// them (a record whose amount cannot be read is an error, not a gap).
    pub async fn takings(&self, date: NaiveDate) -> Result<DayTakings, ControlError> {
        let (from, to) = analytics::local_days::span(self.rules.zone, date, date)?;
        let mut found = Vec::new();
        self.export_audit(from, to, |record| {
            match takings::taking(&record.entry) {
                Ok(Some(taking)) => found.push(taking),
                Ok(None) => {}
                Err(why) => {
                    return Err(ControlError::Corrupt(format!(
                        "audit record {}: {why}",
                        record.seq
                    )))
                }
            }
            Ok(())
        })
        .await?;
        let (takers, total) = takings::tally(&found);
        Ok(DayTakings {
            date,
            takers,
            total,
        })
    }
}
