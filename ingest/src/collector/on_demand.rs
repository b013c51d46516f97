//! On-demand reads: one meter, now, between scheduled rounds (the bus is shared, one request at a time).

use super::{poll, Collector};
use crate::dlt645::{Address, DataId, Frame};

/// The answer to one data identifier of an on-demand read.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ItemReading {
    /// Data identifier, 8 hex digits.
    pub di: String,
    /// What it is, if known.
    pub name: Option<&'static str>,
    /// The decoded value with its unit, if the meter answered.
    pub value: Option<String>,
    /// Why there is no value (refused with error bits, timeout, unknown format).
    pub error: Option<String>,
}

/// Why an on-demand read could not start.
#[derive(Debug, thiserror::Error)]
pub enum OnDemandError {
    /// No bus of this collector has the meter.
    #[error("meter {0} is not on any bus of this collector")]
    UnknownMeter(String),
}

impl Collector {
    /// Reads `dis` from `address` now, waiting for its bus to be free.
    pub async fn read_now(
        &self,
        address: Address,
        dis: &[DataId],
    ) -> Result<Vec<ItemReading>, OnDemandError> {
        let bus = self
            .buses
            .iter()
            .find(|b| b.config.meters.contains(&address))
            .ok_or_else(|| OnDemandError::UnknownMeter(address.to_string()))?;
        let mut client = bus.client.lock().await;
        let mut items = Vec::with_capacity(dis.len());
        for di in dis {
            let described = di.describe();
            let mut item = ItemReading {
                di: di.to_string(),
                name: described.map(|(name, _)| name),
                value: None,
                error: None,
            };
            match client.transact(&Frame::read_request(address, *di)).await {
                Ok(reply) => match reply.error_word() {
                    Some(err) => {
                        item.error = Some(format!(
                            "meter refused: ERR {err:#04x} ({})",
                            crate::dlt645::frame::error_bits(err).join(", ")
                        ))
                    }
                    None => match poll::decode_reply(&reply, *di) {
                        Some(value) => item.value = Some(value.to_string()),
                        None => item.error = Some("reply not decodable for this DI".into()),
                    },
                },
                Err(err) => item.error = Some(err.to_string()),
            }
            items.push(item);
        }
        Ok(items)
    }
}
