//! Property tests: every DI's values and every command survive encode → wire → decode.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use proptest::prelude::*;
use rust_decimal::Decimal;

use super::block::known_blocks;
use super::{
    decode_items, encode_items, Address, DataId, ErrorWord, Frame, FreezeTime, Function, ReadReply,
    RelayAction, RelayCommand, Value, ValueFormat,
};

/// A value that fits `format`.
fn value_for(format: ValueFormat) -> BoxedStrategy<Value> {
    match format {
        ValueFormat::Number {
            bytes,
            decimals,
            signed,
            unit,
        } => {
            let max = 10i64.pow(2 * bytes as u32 - u32::from(signed)) - 1;
            let min = if signed { -max } else { 0 };
            (min..=max)
                .prop_map(move |int| Value::Number(Decimal::new(int, decimals), unit))
                .boxed()
        }
        ValueFormat::BitField => any::<u16>().prop_map(Value::Bits).boxed(),
        ValueFormat::Date => (0u32..36_524, 0u8..=6)
            .prop_map(|(days, weekday)| {
                let base = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
                Value::Date(base + chrono::Days::new(u64::from(days)), weekday)
            })
            .boxed(),
        ValueFormat::Time => (0u32..86_400)
            .prop_map(|s| {
                Value::Time(NaiveTime::from_num_seconds_from_midnight_opt(s, 0).unwrap_or_default())
            })
            .boxed(),
        ValueFormat::Digits12 => (0u64..=999_999_999_999)
            .prop_map(|n| Value::Digits(format!("{n:012}")))
            .boxed(),
        ValueFormat::Event(layout) => (event_time(), proptest::option::of(event_time()), 1u32..)
            .prop_map(move |(at, end, operator)| {
                use super::event::{EventLayout, EventRecord};
                Value::Event(match layout {
                    EventLayout::Span => EventRecord {
                        at: Some(at),
                        end,
                        operator: None,
                    },
                    EventLayout::Operated => EventRecord {
                        at: Some(at),
                        end: None,
                        operator: Some(operator),
                    },
                    EventLayout::ClockSet => EventRecord {
                        at: Some(at),
                        end: Some(end.unwrap_or(at)),
                        operator: Some(operator),
                    },
                })
            })
            .boxed(),
    }
}

/// A time an event record can hold (2000..=2099, whole seconds, never all-zero fields).
fn event_time() -> impl Strategy<Value = NaiveDateTime> {
    (0u32..36_524, 0u32..86_400).prop_map(|(days, seconds)| {
        let base = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default();
        (base + chrono::Days::new(u64::from(days)))
            .and_time(NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).unwrap_or_default())
    })
}

/// Any known single DI with a value of its format.
fn single_item() -> impl Strategy<Value = (DataId, Value)> {
    let known = DataId::known();
    (0..known.len()).prop_flat_map(move |i| {
        let di = known[i];
        let format = di
            .describe()
            .map(|(_, f)| f)
            .unwrap_or(ValueFormat::BitField);
        value_for(format).prop_map(move |v| (di, v))
    })
}

/// Any known block DI with 1..=all of its values.
fn block_items() -> impl Strategy<Value = (DataId, Vec<Value>)> {
    let blocks = known_blocks();
    (0..blocks.len()).prop_flat_map(move |i| {
        let di = blocks[i];
        let items = di.block_items().unwrap_or_default();
        let strategies: Vec<_> = items
            .iter()
            .map(|item| {
                value_for(
                    item.describe()
                        .map(|(_, f)| f)
                        .unwrap_or(ValueFormat::BitField),
                )
            })
            .collect();
        let count = items.len();
        (strategies, 1..=count).prop_map(move |(values, n)| (di, values[..n].to_vec()))
    })
}

fn address() -> impl Strategy<Value = Address> {
    (0u64..=999_999_999_999).prop_map(|n| Address::from_number(n).unwrap_or(Address::WILDCARD))
}

fn datetime() -> impl Strategy<Value = NaiveDateTime> {
    // 2000-01-01 .. 2099-12-31, whole seconds.
    (0i64..3_155_760_000).prop_map(|s| {
        chrono::DateTime::from_timestamp(946_684_800 + s, 0)
            .unwrap_or_default()
            .naive_utc()
    })
}

/// Encodes with a preamble and decodes, checking that every byte was used.
fn wire(frame: &Frame, preamble: usize) -> Result<Frame, TestCaseError> {
    let bytes = frame
        .encode(preamble)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let (decoded, used) = Frame::decode(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(used, bytes.len());
    prop_assert_eq!(&decoded, frame);
    Ok(decoded)
}

proptest! {
    #[test]
    fn every_single_di_reply_round_trips((di, value) in single_item(), a in address(), pre in 0usize..=4) {
        let bytes = encode_items(di, std::slice::from_ref(&value)).unwrap();
        let reply = wire(&Frame::read_reply(a, di, &bytes), pre)?;
        let parts = reply.read_reply_parts().unwrap();
        prop_assert_eq!(parts.di, di);
        prop_assert_eq!(decode_items(di, &parts.value).unwrap(), vec![(di, value)]);
        let request = wire(&Frame::read_request(a, di), pre)?;
        prop_assert_eq!(request.data_id().unwrap(), di);
    }

    #[test]
    fn every_block_reply_round_trips((di, values) in block_items(), a in address()) {
        let bytes = encode_items(di, &values).unwrap();
        let reply = wire(&Frame::read_reply(a, di, &bytes), 0)?;
        let items = decode_items(di, &reply.read_reply_parts().unwrap().value).unwrap();
        let expected: Vec<(DataId, Value)> = di.block_items().unwrap().into_iter().zip(values).collect();
        prop_assert_eq!(items, expected);
    }

    #[test]
    fn follow_up_reads_round_trip(di in any::<u32>(), seq in any::<u8>(), more in any::<bool>(),
                                  value in proptest::collection::vec(any::<u8>(), 0..190), a in address()) {
        let request = wire(&Frame::read_follow_up_request(a, DataId(di), seq), 4)?;
        prop_assert_eq!(request.follow_up_seq().unwrap(), (DataId(di), seq));
        let part = ReadReply { di: DataId(di), value, seq: Some(seq), more };
        let reply = wire(&Frame::read_reply_with(a, &part), 0)?;
        prop_assert_eq!(reply.read_reply_parts().unwrap(), part);
    }

    #[test]
    fn read_address_round_trips(a in address(), pre in 0usize..=4) {
        let request = wire(&Frame::read_address_request(), pre)?;
        prop_assert!(request.address.is_wildcard() && request.data.is_empty());
        let reply = wire(&Frame::read_address_reply(a), pre)?;
        prop_assert_eq!(reply.replied_address().unwrap(), a);
    }

    #[test]
    fn time_sync_round_trips(t in datetime(), pre in 0usize..=4) {
        let frame = wire(&Frame::time_sync(t), pre)?;
        prop_assert!(frame.address.is_broadcast());
        prop_assert_eq!(frame.time_sync_time().unwrap(), t);
    }

    #[test]
    fn freeze_round_trips(minute in proptest::option::of(0u8..60), hour in proptest::option::of(0u8..24),
                          day in proptest::option::of(1u8..32), month in proptest::option::of(1u8..13),
                          a in address(), broadcast in any::<bool>()) {
        let when = FreezeTime { minute, hour, day, month };
        let to = if broadcast { Address::BROADCAST } else { a };
        let frame = wire(&Frame::freeze(to, when), 4)?;
        prop_assert_eq!(frame.freeze_time().unwrap(), when);
    }

    #[test]
    fn every_relay_command_round_trips(pick in 0usize..9, t in datetime(), delay in any::<u8>(),
                                       privilege in prop_oneof![Just(0x02u8), Just(0x04u8)],
                                       password in any::<[u8; 3]>(), operator in any::<[u8; 4]>(), a in address()) {
        let cmd = RelayCommand { privilege, password, operator, action: RelayAction::ALL[pick], delay, valid_until: t };
        let frame = wire(&cmd.to_frame(a), 4)?;
        prop_assert_eq!(frame.data.len(), 16);
        prop_assert_eq!(RelayCommand::from_data(&frame.data).unwrap(), cmd);
        let ack = wire(&Frame::empty_reply(a, Function::Control), 0)?;
        prop_assert_eq!(ack.control.to_byte(), 0x9C);
    }

    #[test]
    fn abnormal_replies_round_trip(err in any::<u8>(), word in any::<u16>(), pick in 0usize..3, a in address()) {
        let (function, error) = match pick {
            0 => (Function::Read, ErrorWord::Err(err)),
            1 => (Function::Security, ErrorWord::Security(word)),
            _ => (Function::Control, ErrorWord::Control(word)),
        };
        let frame = wire(&Frame::abnormal_reply_with(a, function, error), 0)?;
        prop_assert_eq!(frame.error().unwrap().unwrap(), error);
        prop_assert_eq!(error.names().len(), error.word().count_ones() as usize);
    }

    #[test]
    fn explain_never_fails_on_valid_frames(addr in any::<[u8; 6]>(), control in any::<u8>(),
                                            data in proptest::collection::vec(any::<u8>(), 0..=200)) {
        let frame = Frame { address: Address(addr), control: super::ControlCode::from_byte(control), data };
        let e = super::explain(&frame);
        prop_assert_eq!(e.data.len(), 2 * frame.data.len());
        prop_assert!(!e.to_string().is_empty());
    }
}
