//! The event records a simulated meter keeps (`../shared/docs/dlt645.md` §15): its injected faults, as a
//! real meter would have logged what caused them. A voltage loss is a power-down; a bypass or reverse
//! wiring needs the terminal cover opened; a stuck register means someone opened the meter cover; a
//! replacement meter was programmed when it was installed. The other faults leave no record.

use chrono::{DateTime, Duration, Utc};

use super::SimMeter;
use crate::dlt645::{DataId, EventRecord, MeterEvent, Value};
use crate::sim::fault::{Fault, FaultKind};

/// How long a cover stays open while a fault's wiring is done.
const COVER_MINUTES: i64 = 6;
/// The operator code an installer's programming records carry.
const INSTALLER: u32 = 0x0000_2026;

/// The event a fault leaves in the meter's log, if any.
fn explains(kind: FaultKind) -> Option<MeterEvent> {
    match kind {
        FaultKind::VoltageLoss => Some(MeterEvent::PowerDown),
        FaultKind::Bypass | FaultKind::ReverseTheft => Some(MeterEvent::TerminalCoverOpen),
        FaultKind::StuckRegister => Some(MeterEvent::CoverOpen),
        FaultKind::MeterReplacement => Some(MeterEvent::Programming),
        FaultKind::VoltageSag
        | FaultKind::VoltageSwell
        | FaultKind::RelayFailure
        | FaultKind::CommDropout
        | FaultKind::CommTimeout
        | FaultKind::Garbage => None,
    }
}

impl SimMeter {
    /// When a fault's event ended, as the meter logged it by `now` (`None` while it lasts).
    fn event_end(
        &self,
        event: MeterEvent,
        fault: &Fault,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let end = match event {
            MeterEvent::CoverOpen | MeterEvent::TerminalCoverOpen => {
                fault.start + Duration::minutes(COVER_MINUTES)
            }
            _ => fault.end,
        };
        (end <= now).then_some(end)
    }

    /// The records of `event` that happened by `now`, newest first.
    fn event_records(&self, event: MeterEvent, now: DateTime<Utc>) -> Vec<EventRecord> {
        let mut faults: Vec<&Fault> = self
            .spec
            .faults
            .iter()
            .filter(|f| f.start <= now && explains(f.kind) == Some(event))
            .collect();
        faults.sort_by_key(|f| std::cmp::Reverse(f.start));
        faults
            .into_iter()
            .map(|f| {
                let at = Some(self.meter_time(f.start));
                match event.layout() {
                    crate::dlt645::EventLayout::Span => EventRecord {
                        at,
                        end: self.event_end(event, f, now).map(|t| self.meter_time(t)),
                        operator: None,
                    },
                    _ => EventRecord {
                        at,
                        end: None,
                        operator: Some(INSTALLER),
                    },
                }
            })
            .collect()
    }

    /// The value of an event identifier at `now`, encoded; `None` for other identifiers.
    pub(super) fn read_event(&self, di: DataId, now: DateTime<Utc>) -> Option<Vec<u8>> {
        let (event, n) = MeterEvent::of(di)?;
        let (_, format) = di.describe()?;
        let records = self.event_records(event, now);
        let value = if n == 0 {
            Value::Number(rust_decimal::Decimal::from(records.len()), "")
        } else {
            Value::Event(records.get(usize::from(n) - 1).copied().unwrap_or_default())
        };
        format.encode(&value).ok()
    }
}
