//! Reading one meter at a collection boundary into a wide reading row.

use chrono::{DateTime, Utc};
use rust_decimal::prelude::ToPrimitive;

use super::bus_client::BusClient;
use crate::dlt645::data_id::Value;
use crate::dlt645::{Address, DataId, Frame};
use crate::reading::{Quality, Reading};

/// The data identifiers read at every boundary: the registers billing and validation need, and the
/// instantaneous values and status words the alarm rules judge (`docs/diagnosis.md`).
pub const POLLED_IDS: [DataId; 13] = [
    DataId::FORWARD_ACTIVE_TOTAL,
    DataId::FORWARD_ACTIVE_T1,
    DataId::FORWARD_ACTIVE_T2,
    DataId::FORWARD_ACTIVE_T3,
    DataId::FORWARD_ACTIVE_T4,
    DataId::REVERSE_ACTIVE_TOTAL,
    DataId::VOLTAGE_A,
    DataId::CURRENT_A,
    DataId::ACTIVE_POWER,
    DataId::POWER_FACTOR,
    DataId::FREQUENCY,
    DataId::STATUS_WORD_1,
    DataId::STATUS_WORD_3,
];

/// Reads one data identifier; `None` if the meter is silent, refuses or answers garbage.
pub async fn read_value(client: &mut BusClient, address: Address, di: DataId) -> Option<Value> {
    let reply = client
        .transact(&Frame::read_request(address, di))
        .await
        .ok()?;
    decode_reply(&reply, di)
}

/// The value in a normal reply to a read of `di`; `None` for abnormal replies and other items.
pub fn decode_reply(reply: &Frame, di: DataId) -> Option<Value> {
    if reply.control.abnormal || reply.data_id().ok()? != di {
        return None;
    }
    let (_, format) = di.describe()?;
    reply.data.get(4..).and_then(|v| format.decode(v).ok())
}

/// Polls `address` and fills a reading for `boundary`.
pub async fn poll_meter(
    client: &mut BusClient,
    address: Address,
    boundary: DateTime<Utc>,
    bus_id: &str,
    collector_id: &str,
    now: impl Fn() -> DateTime<Utc>,
) -> Reading {
    let mut row = Reading::empty(address.to_string(), boundary, bus_id, collector_id);
    let mut answered = 0;
    for di in POLLED_IDS {
        let Some(value) = read_value(client, address, di).await else {
            if answered == 0 && di == DataId::FORWARD_ACTIVE_TOTAL {
                break; // silent meter: do not spend the bus on the remaining identifiers
            }
            continue;
        };
        answered += 1;
        apply(&mut row, di, value);
    }
    row.read_ts = now();
    row.quality = match answered {
        0 => Quality::NoResponse,
        n if n == POLLED_IDS.len() => Quality::Ok,
        _ => Quality::Partial,
    };
    row
}

fn apply(row: &mut Reading, di: DataId, value: Value) {
    match (di, value) {
        (DataId::FORWARD_ACTIVE_TOTAL, Value::Number(v, _)) => row.energy_fwd_total_kwh = Some(v),
        (DataId::FORWARD_ACTIVE_T1, Value::Number(v, _)) => row.energy_fwd_tariff_kwh[0] = Some(v),
        (DataId::FORWARD_ACTIVE_T2, Value::Number(v, _)) => row.energy_fwd_tariff_kwh[1] = Some(v),
        (DataId::FORWARD_ACTIVE_T3, Value::Number(v, _)) => row.energy_fwd_tariff_kwh[2] = Some(v),
        (DataId::FORWARD_ACTIVE_T4, Value::Number(v, _)) => row.energy_fwd_tariff_kwh[3] = Some(v),
        (DataId::REVERSE_ACTIVE_TOTAL, Value::Number(v, _)) => row.energy_rev_total_kwh = Some(v),
        (DataId::VOLTAGE_A, Value::Number(v, _)) => row.voltage_v = v.to_f64(),
        (DataId::CURRENT_A, Value::Number(v, _)) => row.current_a = v.to_f64(),
        (DataId::ACTIVE_POWER, Value::Number(v, _)) => row.active_power_kw = v.to_f64(),
        (DataId::POWER_FACTOR, Value::Number(v, _)) => row.power_factor = v.to_f64(),
        (DataId::FREQUENCY, Value::Number(v, _)) => row.frequency_hz = v.to_f64(),
        (DataId(id @ 0x0400_0501..=0x0400_0507), Value::Bits(bits)) => {
            row.status_words[(id - 0x0400_0501) as usize] = Some(i32::from(bits));
        }
        _ => {}
    }
}
