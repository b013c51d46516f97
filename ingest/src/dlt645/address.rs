//! Meter communication addresses: 12 BCD digits sent low byte first, with AA wildcards and 99 broadcast.

use std::fmt;
use std::str::FromStr;

use super::FrameError;

/// A 6-byte meter address as it appears on the wire (low byte first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(pub [u8; 6]);

impl Address {
    /// The broadcast address 999999999999 (never answered).
    pub const BROADCAST: Address = Address([0x99; 6]);
    /// The all-wildcard address AAAAAAAAAAAA (answered by the only meter on the bus).
    pub const WILDCARD: Address = Address([0xAA; 6]);

    /// Builds the address of a meter numbered `n` (0 ..= 999,999,999,999).
    pub fn from_number(n: u64) -> Result<Self, FrameError> {
        if n > 999_999_999_999 {
            return Err(FrameError::Address(n.to_string()));
        }
        let mut bytes = [0u8; 6];
        let mut rest = n;
        for byte in &mut bytes {
            *byte = super::bcd::u8_to_byte((rest % 100) as u8);
            rest /= 100;
        }
        Ok(Self(bytes))
    }

    /// True for the broadcast address.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// True if any byte is an AA wildcard.
    pub fn is_wildcard(&self) -> bool {
        self.0.contains(&0xAA)
    }

    /// True if the AA wildcard bytes fill the high side only (缩位寻址, shortened address), e.g.
    /// `AAAAAAAA0425`; the all-AA address is the fully shortened case.
    pub fn is_shortened(&self) -> bool {
        let wild = self.0.iter().rev().take_while(|b| **b == 0xAA).count();
        wild > 0 && !self.0[..6 - wild].contains(&0xAA)
    }

    /// An address shortened from the high side: `low_digits` (an even number, at most 12) are the low
    /// digits of the meter number, and the remaining high bytes are AA.
    pub fn shortened(low_digits: &str) -> Result<Self, FrameError> {
        let digits = low_digits.trim();
        if !digits.len().is_multiple_of(2)
            || digits.len() > 12
            || !digits.bytes().all(|c| c.is_ascii_digit())
        {
            return Err(FrameError::Address(low_digits.to_string()));
        }
        let wild = "AA".repeat(6 - digits.len() / 2);
        format!("{wild}{digits}").parse()
    }

    /// True if a request sent to `self` addresses the meter `meter` (exact, wildcard or broadcast).
    pub fn addresses(&self, meter: &Address) -> bool {
        self.is_broadcast()
            || self
                .0
                .iter()
                .zip(meter.0.iter())
                .all(|(req, own)| *req == 0xAA || req == own)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for byte in self.0.iter().rev() {
            write!(f, "{byte:02X}")?;
        }
        Ok(())
    }
}

impl FromStr for Address {
    type Err = FrameError;

    /// Parses 1–12 digits (left-padded with zeros) or 12 characters mixing digits and `AA` pairs.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || FrameError::Address(s.to_string());
        let upper = s.trim().to_ascii_uppercase();
        if upper.is_empty() || upper.len() > 12 || !upper.is_ascii() {
            return Err(bad());
        }
        let padded = format!("{upper:0>12}");
        let mut bytes = [0u8; 6];
        for (i, byte) in bytes.iter_mut().enumerate() {
            let pair = &padded[10 - 2 * i..12 - 2 * i];
            *byte = if pair == "AA" {
                0xAA
            } else if pair.bytes().all(|c| c.is_ascii_digit()) {
                u8::from_str_radix(pair, 16).map_err(|_| bad())?
            } else {
                return Err(bad());
            };
        }
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_wire_order() {
        let a: Address = "000102030425".parse().unwrap();
        assert_eq!(a.0, [0x25, 0x04, 0x03, 0x02, 0x01, 0x00]);
        assert_eq!(a.to_string(), "000102030425");
        assert_eq!(Address::from_number(102030425).unwrap(), a);
        assert_eq!(
            "161".parse::<Address>().unwrap().to_string(),
            "000000000161"
        );
    }

    #[test]
    fn wildcard_and_broadcast_matching() {
        let meter: Address = "000102030425".parse().unwrap();
        assert!(Address::WILDCARD.addresses(&meter));
        assert!(Address::BROADCAST.addresses(&meter));
        assert!("AAAAAAAA0425".parse::<Address>().unwrap().addresses(&meter));
        assert!(!"000102030426".parse::<Address>().unwrap().addresses(&meter));
        assert!("12345678901X".parse::<Address>().is_err());
        assert!("1234567890123".parse::<Address>().is_err());
        assert!("".parse::<Address>().is_err());
    }

    #[test]
    fn shortened_addresses_are_wildcards_on_the_high_side() {
        let meter: Address = "000102030425".parse().unwrap();
        let short = Address::shortened("0425").unwrap();
        assert_eq!(short.to_string(), "AAAAAAAA0425");
        assert_eq!(short.0, [0x25, 0x04, 0xAA, 0xAA, 0xAA, 0xAA]);
        assert!(short.is_shortened() && short.is_wildcard());
        assert!(short.addresses(&meter));
        assert!(!Address::shortened("0426").unwrap().addresses(&meter));
        assert!(Address::WILDCARD.is_shortened());
        assert!(!meter.is_shortened());
        // AA in the low bytes is not a shortened address.
        assert!(!"0001020304AA".parse::<Address>().unwrap().is_shortened());
        assert!(Address::shortened("425").is_err());
        assert!(Address::shortened("12345678901234").is_err());
        // A frame to a shortened address survives the wire.
        let frame = super::super::Frame::read_request(short, super::super::DataId::VOLTAGE_A);
        let (decoded, _) = super::super::Frame::decode(&frame.encode(4).unwrap()).unwrap();
        assert_eq!(decoded.address, short);
    }
}
