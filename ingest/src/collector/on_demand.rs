//! On-demand reads: one meter, now, between scheduled rounds (the bus is shared, one request at a time).
//! A read holds the bus for at most [`MAX_ITEMS`] identifiers and gives it back as soon as the meter
//! is silent: the identifiers after a timeout are reported as skipped, not each waited for.

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

/// The most data identifiers one on-demand read asks for.
pub const MAX_ITEMS: usize = 16;

/// Why an on-demand read could not start.
#[derive(Debug, thiserror::Error)]
pub enum OnDemandError {
    /// No bus of this collector has the meter.
    #[error("meter {0} is not on any bus of this collector")]
    UnknownMeter(String),
    /// More identifiers than one read may hold the bus for.
    #[error("{0} data identifiers asked for; one read takes at most {MAX_ITEMS}")]
    TooMany(usize),
}

impl Collector {
    /// Reads `dis` (at most [`MAX_ITEMS`]) from `address` now, waiting for its bus to be free; after
    /// the meter's first timeout the rest are skipped.
    pub async fn read_now(
        &self,
        address: Address,
        dis: &[DataId],
    ) -> Result<Vec<ItemReading>, OnDemandError> {
        if dis.len() > MAX_ITEMS {
            return Err(OnDemandError::TooMany(dis.len()));
        }
        let bus = self
            .buses
            .iter()
            .find(|b| b.config.meters.contains(&address))
            .ok_or_else(|| OnDemandError::UnknownMeter(address.to_string()))?;
        let mut client = bus.client.lock().await;
        let mut items = Vec::with_capacity(dis.len());
        let mut silent = false;
        for di in dis {
            let described = di.describe();
            let mut item = ItemReading {
                di: di.to_string(),
                name: described.map(|(name, _)| name),
                value: None,
                error: None,
            };
            if silent {
                item.error = Some("skipped: the meter did not answer an earlier identifier".into());
                items.push(item);
                continue;
            }
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
                Err(err) => {
                    silent = matches!(err, super::bus_client::BusError::Timeout { .. });
                    item.error = Some(err.to_string());
                }
            }
            items.push(item);
        }
        Ok(items)
    }
}
