//! The daily read of a meter's event records (`03xx`, `../shared/docs/dlt645.md` §15): the count of
//! every event meterlake knows and, when a count moved, its newest records, so that the control
//! service can explain and alarm on what happened (a cover opened, a power-down, programming).

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::prelude::ToPrimitive;

use super::bus_client::BusClient;
use super::poll::read_value;
use crate::dlt645::{Address, MeterEvent, Value};
use crate::kafka::message::EventReading;

/// Most records read for one event in one visit (the meter keeps ten).
const MAX_RECORDS: u32 = 10;

/// A meter-local time in UTC (`None` if the zone skips it).
fn utc(zone: Tz, local: Option<NaiveDateTime>) -> Option<DateTime<Utc>> {
    zone.from_local_datetime(&local?)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// Reads `address`'s event counts and the records behind every count that moved since `known` (the
/// counts last seen; a count seen for the first time reads only its newest record). Updates `known`.
/// A meter that does not answer a count leaves that event for the next visit.
pub async fn read_events(
    client: &mut BusClient,
    address: Address,
    zone: Tz,
    known: &mut HashMap<MeterEvent, u32>,
) -> Vec<EventReading> {
    let mut out = Vec::new();
    for event in MeterEvent::ALL {
        let Some(Value::Number(count, _)) = read_value(client, address, event.count_id()).await
        else {
            continue;
        };
        let Some(count) = count.to_u32() else {
            continue;
        };
        let new = match known.get(&event) {
            Some(before) if *before == count => 0,
            Some(before) if *before < count => (count - before).min(MAX_RECORDS),
            _ => count.min(1),
        };
        let mut complete = true;
        for record in 1..=new {
            let Some(di) = u8::try_from(record).ok().and_then(|n| event.record_id(n)) else {
                break;
            };
            match read_value(client, address, di).await {
                Some(Value::Event(r)) if r.at.is_some() => out.push(EventReading {
                    event,
                    count,
                    record: u8::try_from(record).unwrap_or(u8::MAX),
                    at: utc(zone, r.at),
                    end: utc(zone, r.end),
                    operator: r.operator,
                }),
                Some(_) => {}
                None => complete = false,
            }
        }
        if complete {
            known.insert(event, count);
        }
    }
    out
}
