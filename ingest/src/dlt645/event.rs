//! Event records (DL/T 645-2007, `03xx` identifiers; `../shared/docs/dlt645.md` §15): each event has a
//! count (`…00`, `XXXXXX`) and its ten newest records (`…01` newest … `…0A`). meterlake decodes a
//! record's leading fields — when it happened, when it ended, who did it — and ignores the event-specific
//! data that follows (energy snapshots, the identifiers programmed), whose length varies by meter.

use std::fmt;

use chrono::NaiveDateTime;

use super::{timestamp, DataId, FrameError};

/// An event a meter records and meterlake reads.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MeterEvent {
    /// 掉电: the meter lost its supply (start, end).
    PowerDown,
    /// 编程: parameters written (time, operator).
    Programming,
    /// 电表清零: registers cleared (time, operator).
    MeterClear,
    /// 校时: clock set (operator, time before, time after).
    TimeSetting,
    /// 开表盖: the meter cover opened (start, end) — tampering with the meter itself.
    CoverOpen,
    /// 开端钮盒: the terminal cover opened (start, end) — wiring changed at the terminals.
    TerminalCoverOpen,
}

/// How a record's leading fields are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventLayout {
    /// Start `ss mm hh DD MM YY`, end (zeros while the event lasts).
    Span,
    /// Time, then the 4-byte operator code.
    Operated,
    /// The 4-byte operator code, the time before and the time after.
    ClockSet,
}

impl EventLayout {
    /// Bytes of the decoded fields.
    pub fn len(self) -> usize {
        match self {
            Self::Span => 2 * timestamp::LEN,
            Self::Operated => timestamp::LEN + 4,
            Self::ClockSet => 4 + 2 * timestamp::LEN,
        }
    }

    /// Always false: every layout has fields.
    pub fn is_empty(self) -> bool {
        false
    }

    /// The layout as the standard writes it.
    pub fn pattern(self) -> &'static str {
        match self {
            Self::Span => "ssmmhhDDMMYY ssmmhhDDMMYY",
            Self::Operated => "ssmmhhDDMMYY C0C1C2C3",
            Self::ClockSet => "C0C1C2C3 ssmmhhDDMMYY ssmmhhDDMMYY",
        }
    }
}

/// One decoded record. An empty record slot (all zeros) has no `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventRecord {
    /// When it happened (a span's start; a clock setting's time before).
    pub at: Option<NaiveDateTime>,
    /// When it ended (a span's end, `None` while it lasts; a clock setting's time after).
    pub end: Option<NaiveDateTime>,
    /// The operator code (programming, clearing, clock setting).
    pub operator: Option<u32>,
}

impl fmt::Display for EventRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            None => return f.write_str("(empty)"),
            Some(at) => write!(f, "at {at}")?,
        }
        if let Some(end) = self.end {
            write!(f, ", until {end}")?;
        }
        if let Some(operator) = self.operator {
            write!(f, ", operator {operator:08X}")?;
        }
        Ok(())
    }
}

/// A time field; all zeros is none.
fn time(bytes: &[u8]) -> Result<Option<NaiveDateTime>, FrameError> {
    if bytes.iter().take(timestamp::LEN).all(|b| *b == 0) {
        return Ok(None);
    }
    timestamp::decode(bytes, "event time").map(Some)
}

fn time_bytes(t: Option<NaiveDateTime>) -> [u8; timestamp::LEN] {
    t.map(timestamp::encode).unwrap_or_default()
}

fn operator(bytes: &[u8]) -> Option<u32> {
    bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_le_bytes)
}

impl EventLayout {
    /// Decodes the leading fields of a record (bytes already −0x33; extra bytes are ignored).
    pub fn decode(self, bytes: &[u8]) -> Result<EventRecord, FrameError> {
        if bytes.len() < self.len() {
            return Err(FrameError::ShortData {
                what: "event record",
                needed: self.len(),
                have: bytes.len(),
            });
        }
        if bytes[..self.len()].iter().all(|b| *b == 0) {
            return Ok(EventRecord::default());
        }
        let t = timestamp::LEN;
        Ok(match self {
            Self::Span => EventRecord {
                at: time(bytes)?,
                end: time(&bytes[t..])?,
                operator: None,
            },
            Self::Operated => EventRecord {
                at: time(bytes)?,
                end: None,
                operator: operator(&bytes[t..]),
            },
            Self::ClockSet => EventRecord {
                at: time(&bytes[4..])?,
                end: time(&bytes[4 + t..])?,
                operator: operator(bytes),
            },
        })
    }

    /// Encodes a record's leading fields (the inverse of [`EventLayout::decode`]).
    pub fn encode(self, record: &EventRecord) -> Vec<u8> {
        let operator = record.operator.unwrap_or(0).to_le_bytes();
        match self {
            Self::Span => [time_bytes(record.at), time_bytes(record.end)].concat(),
            Self::Operated => [&time_bytes(record.at)[..], &operator].concat(),
            Self::ClockSet => [
                &operator[..],
                &time_bytes(record.at),
                &time_bytes(record.end),
            ]
            .concat(),
        }
    }
}

impl MeterEvent {
    /// Every event meterlake reads, in a fixed order.
    pub const ALL: [Self; 6] = [
        Self::PowerDown,
        Self::Programming,
        Self::MeterClear,
        Self::TimeSetting,
        Self::CoverOpen,
        Self::TerminalCoverOpen,
    ];

    /// The identifier of its count.
    pub fn count_id(self) -> DataId {
        DataId(match self {
            Self::PowerDown => 0x0311_0000,
            Self::Programming => 0x0330_0000,
            Self::MeterClear => 0x0330_0100,
            Self::TimeSetting => 0x0330_0400,
            Self::CoverOpen => 0x0330_0D00,
            Self::TerminalCoverOpen => 0x0330_0E00,
        })
    }

    /// The identifier of its `n`-th newest record (1..=10).
    pub fn record_id(self, n: u8) -> Option<DataId> {
        (1..=10)
            .contains(&n)
            .then(|| DataId(self.count_id().0 + u32::from(n)))
    }

    /// The event of an identifier and the record it names (0: the count).
    pub fn of(di: DataId) -> Option<(Self, u8)> {
        let n = u8::try_from(di.0 & 0xFF).ok().filter(|n| *n <= 10)?;
        Self::ALL
            .into_iter()
            .find(|e| e.count_id().0 == di.0 & !0xFF)
            .map(|e| (e, n))
    }

    /// How its records are laid out.
    pub fn layout(self) -> EventLayout {
        match self {
            Self::PowerDown | Self::CoverOpen | Self::TerminalCoverOpen => EventLayout::Span,
            Self::Programming | Self::MeterClear => EventLayout::Operated,
            Self::TimeSetting => EventLayout::ClockSet,
        }
    }

    /// Its name in messages and tables.
    pub fn name(self) -> &'static str {
        match self {
            Self::PowerDown => "power_down",
            Self::Programming => "programming",
            Self::MeterClear => "meter_clear",
            Self::TimeSetting => "time_setting",
            Self::CoverOpen => "cover_open",
            Self::TerminalCoverOpen => "terminal_cover_open",
        }
    }

    /// The event named `name` ([`MeterEvent::name`]).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.name() == name)
    }

    /// The names of its count and its records, as the DI table shows them.
    pub fn titles(self) -> (&'static str, &'static str) {
        match self {
            Self::PowerDown => ("power-down count", "power-down record"),
            Self::Programming => ("programming count", "programming record"),
            Self::MeterClear => ("meter clear count", "meter clear record"),
            Self::TimeSetting => ("time setting count", "time setting record"),
            Self::CoverOpen => ("meter cover open count", "meter cover open record"),
            Self::TerminalCoverOpen => ("terminal cover open count", "terminal cover open record"),
        }
    }

    /// Whether the event is a tampering sign that raises an alarm (a cover opened).
    pub fn is_tamper(self) -> bool {
        matches!(self, Self::CoverOpen | Self::TerminalCoverOpen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 10, 1)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn identifiers_name_counts_and_records() {
        assert_eq!(MeterEvent::CoverOpen.count_id(), DataId(0x0330_0D00));
        assert_eq!(
            MeterEvent::CoverOpen.record_id(1),
            Some(DataId(0x0330_0D01))
        );
        assert_eq!(MeterEvent::CoverOpen.record_id(11), None);
        assert_eq!(
            MeterEvent::of(DataId(0x0330_0E0A)),
            Some((MeterEvent::TerminalCoverOpen, 10))
        );
        assert_eq!(
            MeterEvent::of(DataId(0x0311_0000)),
            Some((MeterEvent::PowerDown, 0))
        );
        assert_eq!(MeterEvent::of(DataId(0x0330_0D0B)), None);
        assert_eq!(MeterEvent::of(DataId(0x0330_0200)), None);
        for e in MeterEvent::ALL {
            assert_eq!(MeterEvent::parse(e.name()), Some(e));
        }
    }

    #[test]
    fn records_round_trip_and_ignore_trailing_data() {
        let span = EventRecord {
            at: Some(at(10, 0)),
            end: Some(at(10, 5)),
            operator: None,
        };
        let mut bytes = EventLayout::Span.encode(&span);
        assert_eq!(bytes[..6], [0x00, 0x00, 0x10, 0x01, 0x10, 0x26]);
        bytes.extend_from_slice(&[0x12; 24]); // energy snapshots a real meter appends
        assert_eq!(EventLayout::Span.decode(&bytes).unwrap(), span);
        let ongoing = EventRecord { end: None, ..span };
        assert_eq!(
            EventLayout::Span
                .decode(&EventLayout::Span.encode(&ongoing))
                .unwrap(),
            ongoing
        );
        let set = EventRecord {
            at: Some(at(9, 0)),
            end: Some(at(9, 3)),
            operator: Some(0x1234_5678),
        };
        let bytes = EventLayout::ClockSet.encode(&set);
        assert_eq!(bytes[..4], [0x78, 0x56, 0x34, 0x12]);
        assert_eq!(EventLayout::ClockSet.decode(&bytes).unwrap(), set);
        assert_eq!(
            EventLayout::Operated.decode(&[0; 10]).unwrap(),
            EventRecord::default()
        );
        assert!(EventLayout::Span.decode(&[0x99; 12]).is_err());
        assert!(EventLayout::Span.decode(&[0; 11]).is_err());
    }
}
