//! Block reads (a DI containing FF): the items of a block, and the value field of any read reply as items.

use super::{DataId, FrameError, Value};

/// A block DI meterlake knows: its name and the single DIs it returns, in order.
struct Block {
    di: DataId,
    name: &'static str,
    items: [u32; 7],
    count: usize,
}

const BLOCKS: [Block; 4] = [
    Block {
        di: DataId::COMBINED_ACTIVE_BLOCK,
        name: "combined active energy block (total, tariffs 1..4)",
        items: [
            0x0000_0000,
            0x0000_0100,
            0x0000_0200,
            0x0000_0300,
            0x0000_0400,
            0,
            0,
        ],
        count: 5,
    },
    Block {
        di: DataId::FORWARD_ACTIVE_BLOCK,
        name: "forward active energy block (total, tariffs 1..4)",
        items: [
            0x0001_0000,
            0x0001_0100,
            0x0001_0200,
            0x0001_0300,
            0x0001_0400,
            0,
            0,
        ],
        count: 5,
    },
    Block {
        di: DataId::REVERSE_ACTIVE_BLOCK,
        name: "reverse active energy block (total, tariffs 1..4)",
        items: [
            0x0002_0000,
            0x0002_0100,
            0x0002_0200,
            0x0002_0300,
            0x0002_0400,
            0,
            0,
        ],
        count: 5,
    },
    Block {
        di: DataId::STATUS_WORD_BLOCK,
        name: "running status words 1..7",
        items: [
            0x0400_0501,
            0x0400_0502,
            0x0400_0503,
            0x0400_0504,
            0x0400_0505,
            0x0400_0506,
            0x0400_0507,
        ],
        count: 7,
    },
];

fn find(di: DataId) -> Option<&'static Block> {
    BLOCKS.iter().find(|b| b.di == di)
}

/// The name of a known block DI.
pub fn block_name(di: DataId) -> Option<&'static str> {
    find(di).map(|b| b.name)
}

impl DataId {
    /// True if any DI byte is FF (a block read).
    pub fn is_block(self) -> bool {
        self.to_wire().contains(&0xFF)
    }

    /// The single DIs a known block returns, in wire order; `None` for other DIs.
    pub fn block_items(self) -> Option<Vec<DataId>> {
        find(self).map(|b| b.items[..b.count].iter().copied().map(DataId).collect())
    }
}

/// Every block DI meterlake knows.
pub fn known_blocks() -> Vec<DataId> {
    BLOCKS.iter().map(|b| b.di).collect()
}

/// Decodes the value field (after the DI) of a read reply into `(DI, value)` items.
///
/// A single DI gives one item. A known block gives its items in order; a meter with fewer tariffs may
/// stop early at an item boundary. Trailing bytes that do not form an item are an error.
pub fn decode_items(di: DataId, bytes: &[u8]) -> Result<Vec<(DataId, Value)>, FrameError> {
    let items = match di.block_items() {
        Some(items) => items,
        None => vec![di],
    };
    let mut out = Vec::with_capacity(items.len());
    let mut rest = bytes;
    for item in items {
        if rest.is_empty() && !out.is_empty() {
            break;
        }
        let (_, format) = item.describe().ok_or(FrameError::UnknownDataId(item.0))?;
        out.push((item, format.decode(rest)?));
        rest = match format {
            // An event record's event-specific data follows the fields meterlake decodes.
            super::ValueFormat::Event(_) => &[],
            _ => &rest[format.len()..],
        };
    }
    if !rest.is_empty() {
        return Err(FrameError::TrailingData {
            what: "read reply value",
            extra: rest.len(),
        });
    }
    Ok(out)
}

/// Encodes values for `di` (one value for a single DI, the block's values in order for a block).
pub fn encode_items(di: DataId, values: &[Value]) -> Result<Vec<u8>, FrameError> {
    let items = match di.block_items() {
        Some(items) => items,
        None => vec![di],
    };
    if values.is_empty() || values.len() > items.len() {
        return Err(FrameError::ItemCount {
            di: di.0,
            expected: items.len(),
            found: values.len(),
        });
    }
    let mut out = Vec::new();
    for (item, value) in items.iter().zip(values) {
        let (_, format) = item.describe().ok_or(FrameError::UnknownDataId(item.0))?;
        out.extend(format.encode(value)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn kwh(cents: i64) -> Value {
        Value::Number(Decimal::new(cents, 2), "kWh")
    }

    #[test]
    fn forward_block_decodes_total_and_four_tariffs() {
        let values = [kwh(12345), kwh(100), kwh(200), kwh(300), kwh(11745)];
        let bytes = encode_items(DataId::FORWARD_ACTIVE_BLOCK, &values).unwrap();
        assert_eq!(bytes.len(), 20);
        assert_eq!(&bytes[..4], &[0x45, 0x23, 0x01, 0x00]);
        let items = decode_items(DataId::FORWARD_ACTIVE_BLOCK, &bytes).unwrap();
        assert_eq!(
            items,
            vec![
                (DataId::FORWARD_ACTIVE_TOTAL, kwh(12345)),
                (DataId::FORWARD_ACTIVE_T1, kwh(100)),
                (DataId::FORWARD_ACTIVE_T2, kwh(200)),
                (DataId::FORWARD_ACTIVE_T3, kwh(300)),
                (DataId::FORWARD_ACTIVE_T4, kwh(11745)),
            ]
        );
        // A meter with two tariffs stops early at an item boundary.
        assert_eq!(
            decode_items(DataId::FORWARD_ACTIVE_BLOCK, &bytes[..12])
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            decode_items(DataId::FORWARD_ACTIVE_BLOCK, &bytes[..13]),
            Err(FrameError::ShortData {
                what: "value",
                needed: 4,
                have: 1
            })
        );
    }

    #[test]
    fn status_word_block_and_errors() {
        let words: Vec<Value> = (1..=7u16).map(|n| Value::Bits(n << 8)).collect();
        let bytes = encode_items(DataId::STATUS_WORD_BLOCK, &words).unwrap();
        assert_eq!(bytes.len(), 14);
        let items = decode_items(DataId::STATUS_WORD_BLOCK, &bytes).unwrap();
        assert_eq!(items[2], (DataId::STATUS_WORD_3, Value::Bits(0x0300)));
        assert!(DataId::STATUS_WORD_BLOCK.is_block());
        assert!(!DataId::STATUS_WORD_3.is_block());
        assert_eq!(
            decode_items(DataId::VOLTAGE_A, &[0x01, 0x22, 0x00]),
            Err(FrameError::TrailingData {
                what: "read reply value",
                extra: 1
            })
        );
        assert_eq!(
            decode_items(DataId(0x1234_5678), &[]),
            Err(FrameError::UnknownDataId(0x1234_5678))
        );
        assert!(matches!(
            encode_items(DataId::STATUS_WORD_BLOCK, &[]),
            Err(FrameError::ItemCount { expected: 7, .. })
        ));
        assert_eq!(
            DataId(0x0201_FF00).name(),
            None,
            "voltage block of a three-phase meter is not known"
        );
    }
}
