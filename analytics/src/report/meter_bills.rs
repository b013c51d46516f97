//! One meter's bills from the lake's `bills` table (written by `meterlake bill`), newest period first,
//! with their line items (plan version × tier × time-of-use class: kWh × price). Money stays exact:
//! the decimal columns are read as text and parsed as decimals.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::load_query::{integers, literal};
use crate::billing::bill_records::BILLS_TABLE;
use crate::columns::strings;
use crate::tariff::LineItem;
use crate::{AnalyticsError, LakeSession};

/// A bill as the lake keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBill {
    /// The period's name (`2026-10`).
    pub period: String,
    /// The plan.
    pub plan: String,
    /// Energy billed, kWh.
    pub billed_kwh: Decimal,
    /// Intervals estimated (gaps filled by VEE or spreading).
    pub estimated_intervals: i64,
    /// The total, yuan (to the fen).
    pub total: Decimal,
    /// The line items.
    pub lines: Vec<LineItem>,
}

fn decimal(text: &str, what: &str) -> Result<Decimal, AnalyticsError> {
    Decimal::from_str(text.trim())
        .map_err(|e| AnalyticsError::Shape(format!("bills.{what} {text:?}: {e}")))
}

/// The meter's bills (at most `limit`), newest first; none when the lake has no bills table yet. The
/// meter address must be digits only.
pub async fn meter_bills(
    session: &LakeSession,
    meter_id: &str,
    limit: usize,
) -> Result<Vec<StoredBill>, AnalyticsError> {
    if meter_id.is_empty() || !meter_id.chars().all(|c| c.is_ascii_digit()) {
        return Err(AnalyticsError::Shape(format!(
            "meter address {meter_id:?}: digits expected"
        )));
    }
    if !session.register_derived().await?.contains(&BILLS_TABLE) {
        return Ok(Vec::new());
    }
    let batches = session
        .query(&format!(
            "SELECT period, plan, CAST(billed_kwh AS VARCHAR), estimated_intervals, CAST(total AS VARCHAR), lines
             FROM {BILLS_TABLE} WHERE meter_id = {meter} ORDER BY period DESC LIMIT {limit}",
            meter = literal(meter_id)
        ))
        .await?;
    let mut bills = Vec::new();
    for batch in &batches {
        let (period, plan, kwh) = (strings(batch, 0)?, strings(batch, 1)?, strings(batch, 2)?);
        let (estimated, total, lines) =
            (integers(batch, 3)?, strings(batch, 4)?, strings(batch, 5)?);
        for (r, estimated_intervals) in estimated.into_iter().enumerate() {
            bills.push(StoredBill {
                period: period.value(r).to_string(),
                plan: plan.value(r).to_string(),
                billed_kwh: decimal(kwh.value(r), "billed_kwh")?,
                estimated_intervals,
                total: decimal(total.value(r), "total")?,
                lines: serde_json::from_str(lines.value(r))
                    .map_err(|e| AnalyticsError::Shape(format!("bills.lines: {e}")))?,
            });
        }
    }
    Ok(bills)
}
