//! Data identifiers (DI3 DI2 DI1 DI0) and the value formats of the items a single-phase meter holds.

use std::fmt;

use super::FrameError;

pub use super::value::{Value, ValueFormat};

/// A 4-byte data identifier, written as the number `0xDI3DI2DI1DI0` and sent DI0 first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataId(pub u32);

impl DataId {
    /// 00000000 combined active total energy (signed).
    pub const COMBINED_ACTIVE_TOTAL: DataId = DataId(0x0000_0000);
    /// 00010000 forward active total energy.
    pub const FORWARD_ACTIVE_TOTAL: DataId = DataId(0x0001_0000);
    /// 00010100 forward active energy, tariff 1 (尖, sharp peak).
    pub const FORWARD_ACTIVE_T1: DataId = DataId(0x0001_0100);
    /// 00010200 forward active energy, tariff 2 (峰, peak).
    pub const FORWARD_ACTIVE_T2: DataId = DataId(0x0001_0200);
    /// 00010300 forward active energy, tariff 3 (平, flat).
    pub const FORWARD_ACTIVE_T3: DataId = DataId(0x0001_0300);
    /// 00010400 forward active energy, tariff 4 (谷, valley).
    pub const FORWARD_ACTIVE_T4: DataId = DataId(0x0001_0400);
    /// 00020000 reverse active total energy.
    pub const REVERSE_ACTIVE_TOTAL: DataId = DataId(0x0002_0000);
    /// 0000FF00 block: combined active total and tariffs 1..4.
    pub const COMBINED_ACTIVE_BLOCK: DataId = DataId(0x0000_FF00);
    /// 0001FF00 block: forward active total and tariffs 1..4.
    pub const FORWARD_ACTIVE_BLOCK: DataId = DataId(0x0001_FF00);
    /// 0002FF00 block: reverse active total and tariffs 1..4.
    pub const REVERSE_ACTIVE_BLOCK: DataId = DataId(0x0002_FF00);
    /// 02010100 phase-A voltage.
    pub const VOLTAGE_A: DataId = DataId(0x0201_0100);
    /// 02020100 phase-A current (signed).
    pub const CURRENT_A: DataId = DataId(0x0202_0100);
    /// 02030000 total active power (signed).
    pub const ACTIVE_POWER: DataId = DataId(0x0203_0000);
    /// 02060000 total power factor (signed).
    pub const POWER_FACTOR: DataId = DataId(0x0206_0000);
    /// 02800002 grid frequency.
    pub const FREQUENCY: DataId = DataId(0x0280_0002);
    /// 02800007 meter temperature (signed).
    pub const TEMPERATURE: DataId = DataId(0x0280_0007);
    /// 04000101 date and weekday.
    pub const DATE: DataId = DataId(0x0400_0101);
    /// 04000102 time of day.
    pub const TIME: DataId = DataId(0x0400_0102);
    /// 04000401 communication address.
    pub const COMM_ADDRESS: DataId = DataId(0x0400_0401);
    /// 04000402 meter number (表号).
    pub const METER_NUMBER: DataId = DataId(0x0400_0402);
    /// 04000501 running status word 1 (04000501..07 are words 1..7).
    pub const STATUS_WORD_1: DataId = DataId(0x0400_0501);
    /// 04000503 running status word 3 (relay state, keep-power).
    pub const STATUS_WORD_3: DataId = DataId(0x0400_0503);
    /// 040005FF block: running status words 1..7.
    pub const STATUS_WORD_BLOCK: DataId = DataId(0x0400_05FF);
    /// 00900100 remaining energy (剩余电量).
    pub const REMAINING_ENERGY: DataId = DataId(0x0090_0100);
    /// 00900101 overdraft energy (透支电量).
    pub const OVERDRAFT_ENERGY: DataId = DataId(0x0090_0101);
    /// 00900200 remaining money (剩余金额).
    pub const BALANCE: DataId = DataId(0x0090_0200);
    /// 00900201 overdraft money (透支金额).
    pub const OVERDRAFT: DataId = DataId(0x0090_0201);
    /// 04001001 money limit: alarm 1 (04001001..05: alarm 1, alarm 2, overdraft, hoarding, close-allow).
    pub const MONEY_LIMIT_ALARM_1: DataId = DataId(0x0400_1001);
    /// 03330201 purchase count after the last purchase.
    pub const PURCHASE_COUNT: DataId = DataId(0x0333_0201);
    /// 03330601 cumulative purchase money after the last purchase.
    pub const PURCHASE_MONEY_TOTAL: DataId = DataId(0x0333_0601);

    /// Energy register `quantity` (DI2: 0 combined, 1 forward, 2 reverse active) for `tariff` (0 total, 1..=4).
    pub fn energy(quantity: u8, tariff: u8) -> Self {
        Self((u32::from(quantity) << 16) | (u32::from(tariff) << 8))
    }

    /// The DI bytes in wire order (DI0 first), before the +0x33 offset.
    pub fn to_wire(self) -> [u8; 4] {
        self.0.to_le_bytes()
    }

    /// Reads a DI from wire-order bytes (already −0x33).
    pub fn from_wire(bytes: &[u8]) -> Result<Self, FrameError> {
        let array: [u8; 4] =
            bytes
                .get(..4)
                .and_then(|b| b.try_into().ok())
                .ok_or(FrameError::ShortData {
                    what: "data identifier",
                    needed: 4,
                    have: bytes.len(),
                })?;
        Ok(Self(u32::from_le_bytes(array)))
    }

    /// Status word `n` (1..=7).
    pub fn status_word(n: u8) -> Option<Self> {
        (1..=7)
            .contains(&n)
            .then(|| Self(0x0400_0500 + u32::from(n)))
    }

    /// The name and value format of the item, if meterlake knows it (block DIs: see [`DataId::block_items`]).
    ///
    /// The money limits 04001001..05 are assumed to be `XXXXXX.XX` yuan (the format is unverified), and the
    /// purchase count is assumed to be `XXXX`.
    pub fn describe(self) -> Option<(&'static str, ValueFormat)> {
        const fn number(
            bytes: usize,
            decimals: u32,
            signed: bool,
            unit: &'static str,
        ) -> ValueFormat {
            ValueFormat::Number {
                bytes,
                decimals,
                signed,
                unit,
            }
        }
        const ENERGY: ValueFormat = number(4, 2, false, "kWh");
        const SIGNED_ENERGY: ValueFormat = number(4, 2, true, "kWh");
        const MONEY: ValueFormat = number(4, 2, false, "yuan");
        const TARIFFS: [[&str; 5]; 3] = [
            [
                "combined active total energy",
                "combined active energy tariff 1 (sharp)",
                "combined active energy tariff 2 (peak)",
                "combined active energy tariff 3 (flat)",
                "combined active energy tariff 4 (valley)",
            ],
            [
                "forward active total energy",
                "forward active energy tariff 1 (sharp)",
                "forward active energy tariff 2 (peak)",
                "forward active energy tariff 3 (flat)",
                "forward active energy tariff 4 (valley)",
            ],
            [
                "reverse active total energy",
                "reverse active energy tariff 1 (sharp)",
                "reverse active energy tariff 2 (peak)",
                "reverse active energy tariff 3 (flat)",
                "reverse active energy tariff 4 (valley)",
            ],
        ];
        const STATUS_WORDS: [&str; 7] = [
            "running status word 1",
            "running status word 2",
            "running status word 3",
            "running status word 4",
            "running status word 5",
            "running status word 6",
            "running status word 7",
        ];
        const MONEY_LIMITS: [&str; 5] = [
            "alarm money limit 1",
            "alarm money limit 2",
            "overdraft money limit",
            "hoarding money limit",
            "close-allow money limit",
        ];
        let [di0, di1, di2, di3] = self.to_wire();
        Some(match self.0 {
            0x0000_0000..=0x0002_0400 if di3 == 0 && di0 == 0 && di1 <= 4 => {
                let format = if di2 == 0 { SIGNED_ENERGY } else { ENERGY };
                (TARIFFS[usize::from(di2)][usize::from(di1)], format)
            }
            0x0201_0100 => ("phase-A voltage", number(2, 1, false, "V")),
            0x0202_0100 => ("phase-A current", number(3, 3, true, "A")),
            0x0203_0000 => ("total active power", number(3, 4, true, "kW")),
            0x0206_0000 => ("total power factor", number(2, 3, true, "")),
            0x0280_0002 => ("grid frequency", number(2, 2, false, "Hz")),
            0x0280_0007 => ("meter temperature", number(2, 1, true, "°C")),
            0x0400_0101 => ("date and weekday", ValueFormat::Date),
            0x0400_0102 => ("time", ValueFormat::Time),
            0x0400_0401 => ("communication address", ValueFormat::Digits12),
            0x0400_0402 => ("meter number", ValueFormat::Digits12),
            0x0400_0501..=0x0400_0507 => {
                (STATUS_WORDS[usize::from(di0 - 1)], ValueFormat::BitField)
            }
            0x0090_0100 => ("remaining energy", ENERGY),
            0x0090_0101 => ("overdraft energy", ENERGY),
            0x0090_0200 => ("remaining money", MONEY),
            0x0090_0201 => ("overdraft money", MONEY),
            0x0400_1001..=0x0400_1005 => (MONEY_LIMITS[usize::from(di0 - 1)], MONEY),
            0x0333_0201 => ("purchase count", number(2, 0, false, "")),
            0x0333_0601 => ("cumulative purchase money", MONEY),
            _ => {
                let (event, n) = super::event::MeterEvent::of(self)?;
                let (count, record) = event.titles();
                if n == 0 {
                    (count, number(3, 0, false, ""))
                } else {
                    (record, ValueFormat::Event(event.layout()))
                }
            }
        })
    }

    /// The name of the item or block, if meterlake knows it.
    pub fn name(self) -> Option<&'static str> {
        self.describe()
            .map(|(name, _)| name)
            .or_else(|| super::block::block_name(self))
    }

    /// Every single (non-block) DI meterlake knows, in table order.
    pub fn known() -> Vec<DataId> {
        let energy = (0..=2u8).flat_map(|q| (0..=4u8).map(move |t| DataId::energy(q, t)));
        let status = (1..=7u8).filter_map(DataId::status_word);
        let limits = (1..=5u32).map(|n| DataId(0x0400_1000 + n));
        energy
            .chain([
                Self::VOLTAGE_A,
                Self::CURRENT_A,
                Self::ACTIVE_POWER,
                Self::POWER_FACTOR,
                Self::FREQUENCY,
                Self::TEMPERATURE,
                Self::DATE,
                Self::TIME,
                Self::COMM_ADDRESS,
                Self::METER_NUMBER,
            ])
            .chain(status)
            .chain([
                Self::REMAINING_ENERGY,
                Self::OVERDRAFT_ENERGY,
                Self::BALANCE,
                Self::OVERDRAFT,
            ])
            .chain(limits)
            .chain([Self::PURCHASE_COUNT, Self::PURCHASE_MONEY_TOTAL])
            .chain(super::event::MeterEvent::ALL.into_iter().flat_map(|e| {
                std::iter::once(e.count_id()).chain((1..=10).filter_map(move |n| e.record_id(n)))
            }))
            .collect()
    }
}

impl fmt::Display for DataId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08X}", self.0)
    }
}

impl std::str::FromStr for DataId {
    type Err = FrameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim().trim_start_matches("0x");
        if trimmed.len() != 8 || !trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(FrameError::Hex(format!("DI must be 8 hex digits: {s:?}")));
        }
        u32::from_str_radix(trimmed, 16)
            .map(DataId)
            .map_err(|e| FrameError::Hex(format!("{s:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn documented_voltage_reply_value() {
        // F4: value bytes `01 10` (after -0x33) in XXX.X are 100.1 V.
        let (_, format) = DataId::VOLTAGE_A.describe().unwrap();
        assert_eq!(
            format.decode(&[0x01, 0x10]).unwrap(),
            Value::Number(Decimal::new(1001, 1), "V")
        );
        assert_eq!(
            DataId::FORWARD_ACTIVE_TOTAL.to_wire(),
            [0x00, 0x00, 0x01, 0x00]
        );
        assert_eq!("02010100".parse::<DataId>().unwrap(), DataId::VOLTAGE_A);
        assert!("0201".parse::<DataId>().is_err());
        assert!("+2010100".parse::<DataId>().is_err());
    }

    #[test]
    fn the_doc_table_is_covered() {
        let known = DataId::known();
        assert_eq!(known.len(), 43 + 6 * 11);
        for di in &known {
            assert!(di.describe().is_some(), "{di}");
        }
        assert_eq!(
            DataId(0x0002_0300).describe().unwrap().0,
            "reverse active energy tariff 3 (flat)"
        );
        assert!(matches!(
            DataId::COMBINED_ACTIVE_TOTAL.describe().unwrap().1,
            ValueFormat::Number { signed: true, .. }
        ));
        assert_eq!(
            DataId(0x0400_1004).describe().unwrap().0,
            "hoarding money limit"
        );
        assert_eq!(
            DataId::STATUS_WORD_3.describe().unwrap(),
            ("running status word 3", ValueFormat::BitField)
        );
        // 00010001 is the last-settlement total, not tariff 1: unknown here.
        assert_eq!(DataId(0x0001_0001).describe(), None);
        assert_eq!(DataId(0x0001_0500).describe(), None);
        assert_eq!(DataId::energy(1, 2), DataId::FORWARD_ACTIVE_T2);
    }
}
