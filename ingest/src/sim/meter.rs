//! One simulated single-phase prepaid meter: registers, clock, relay, keep-power, injected faults and its
//! DL/T 645 answers. A meter is either a customer meter (measuring a [`Site`]) or an area's supply meter
//! (measuring an [`AreaFeed`]).

mod answer;
mod events;
mod registers;
mod relay;

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;

use super::fault::{any_active, replacement_number, Fault, FaultKind};
use super::meter_clock::{MeterClock, SyncOutcome};
use super::{AreaFeed, LoadProfile, Site, TouSchedule};
use crate::dlt645::frame::error_bits;
use crate::dlt645::{Address, Frame, Function};

pub use registers::Registers;

/// Integration step of the simulated energy registers.
const STEP_SECONDS: i64 = 60;
use crate::dlt645::error_word::{ERR_NO_DATA, ERR_OTHER, ERR_UNAUTHORIZED};

/// Whether plaintext trips are accepted (see `docs/contracts.md` §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityMode {
    /// Plaintext (PA 02/04) relay commands accepted, trips included.
    #[default]
    Lab,
    /// Plaintext trips refused with ERR 04, as State Grid meters do without the ESAM path.
    Strict,
}

/// The relay as the meter holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RelayState {
    /// Closed (通): power flows.
    Closed,
    /// Open (断) after a trip.
    Open,
    /// Open, close allowed: closes when the customer presses the button.
    OpenCloseAllowed,
}

/// What a meter measures.
#[derive(Debug, Clone)]
enum Measured {
    /// A customer's premises.
    Customer(Site),
    /// The area transformer's low-voltage side (supply / total meter, 台区总表).
    Supply(Arc<AreaFeed>),
}

/// Identity and settings of a meter, shared by customer and supply meters.
#[derive(Debug, Clone)]
pub struct MeterSpec {
    /// Communication address.
    pub address: Address,
    /// Meter number (表号) of the meter installed at the start.
    pub number: u64,
    /// Local zone of the meter clock.
    pub zone: Tz,
    /// Security mode.
    pub security: SecurityMode,
    /// The meter's own clock.
    pub clock: MeterClock,
    /// Tariff-period schedule of the TOU registers.
    pub tou: TouSchedule,
    /// Injected faults (sorted by start).
    pub faults: Arc<[Fault]>,
}

/// A simulated meter.
#[derive(Debug, Clone)]
pub struct SimMeter {
    spec: MeterSpec,
    measured: Measured,
    registers: Registers,
    integrated_until: DateTime<Utc>,
    relay: RelayState,
    keep_power: bool,
    alarm: bool,
    trip_commanded: bool,
    trips_received: u32,
    replacements: usize,
}

impl SimMeter {
    /// A customer meter with an exact clock, the default TOU schedule, no PV and no faults, closed relay and
    /// registers at zero, integrating from `start`.
    pub fn new(
        address: Address,
        profile: LoadProfile,
        zone: Tz,
        security: SecurityMode,
        start: DateTime<Utc>,
    ) -> Self {
        let faults: Arc<[Fault]> = Vec::new().into();
        let spec = MeterSpec {
            address,
            number: address.to_string().parse().unwrap_or(0),
            zone,
            security,
            clock: MeterClock::ideal(start),
            tou: TouSchedule::default(),
            faults: faults.clone(),
        };
        Self::customer(spec, Site::new(profile, None, faults, zone), start)
    }

    /// A customer meter measuring `site`.
    pub fn customer(spec: MeterSpec, site: Site, start: DateTime<Utc>) -> Self {
        Self::build(spec, Measured::Customer(site), start)
    }

    /// An area's supply meter measuring `feed`.
    pub fn supply(spec: MeterSpec, feed: Arc<AreaFeed>, start: DateTime<Utc>) -> Self {
        Self::build(spec, Measured::Supply(feed), start)
    }

    fn build(spec: MeterSpec, measured: Measured, start: DateTime<Utc>) -> Self {
        Self {
            spec,
            measured,
            registers: Registers::default(),
            integrated_until: start,
            relay: RelayState::Closed,
            keep_power: false,
            alarm: false,
            trip_commanded: false,
            trips_received: 0,
            replacements: 0,
        }
    }

    /// The meter's address.
    pub fn address(&self) -> Address {
        self.spec.address
    }

    /// Whether this is an area supply meter.
    pub fn is_supply(&self) -> bool {
        matches!(self.measured, Measured::Supply(_))
    }

    /// The meter number (表号) of the meter currently installed.
    pub fn meter_number(&self) -> u64 {
        replacement_number(self.spec.number, self.replacements)
    }

    /// The injected faults of this meter.
    pub fn faults(&self) -> &[Fault] {
        &self.spec.faults
    }

    /// The relay state.
    pub fn relay(&self) -> RelayState {
        self.relay
    }

    /// How many trip commands the meter has executed.
    pub fn trips_received(&self) -> u32 {
        self.trips_received
    }

    /// How far the meter clock is ahead of true time `now` (negative: behind).
    pub fn clock_offset(&self, now: DateTime<Utc>) -> Duration {
        self.spec.clock.offset(now)
    }

    /// The local time the meter clock shows at true time `now`.
    pub fn meter_time(&self, now: DateTime<Utc>) -> NaiveDateTime {
        self.spec.clock.local(now, self.spec.zone)
    }

    /// The registers after integrating up to `now`.
    pub fn registers(&mut self, now: DateTime<Utc>) -> Registers {
        self.advance(now);
        self.registers
    }

    /// The simulated customer presses the button: closes a close-allowed relay. Returns whether it closed.
    pub fn press_button(&mut self, now: DateTime<Utc>) -> bool {
        self.advance(now);
        if self.relay == RelayState::OpenCloseAllowed {
            self.set_relay(RelayState::Closed, now);
            true
        } else {
            false
        }
    }

    fn set_relay(&mut self, state: RelayState, now: DateTime<Utc>) {
        self.relay = state;
        if let Measured::Customer(site) = &self.measured {
            site.set_relay_closed(now, state == RelayState::Closed);
        }
    }

    fn fault(&self, kind: FaultKind, t: DateTime<Utc>) -> Option<&Fault> {
        any_active(&self.spec.faults, kind, t)
    }

    /// Physical power through the meter at true time `t`, W (negative: export).
    fn physical_watts(&self, t: DateTime<Utc>) -> f64 {
        match &self.measured {
            Measured::Customer(site) => site.net_watts(t),
            Measured::Supply(feed) => feed.supply_watts(t),
        }
    }

    /// Restarts the registers for every meter replacement scheduled at or before `t`.
    fn apply_replacements(&mut self, t: DateTime<Utc>) {
        let due = self
            .spec
            .faults
            .iter()
            .filter(|f| f.kind == FaultKind::MeterReplacement && f.start <= t)
            .count();
        if due > self.replacements {
            self.replacements = due;
            self.registers = Registers::default();
        }
    }

    /// Integrates energy up to `now`, in steps of at most 60 s; faults and the TOU period are taken at the
    /// start of each step (the TOU period from the meter's own clock).
    pub fn advance(&mut self, now: DateTime<Utc>) {
        while self.integrated_until < now {
            let t = self.integrated_until;
            self.apply_replacements(t);
            let step = (now - t).min(Duration::seconds(STEP_SECONDS));
            let joules = (self.physical_watts(t) * step.num_microseconds().unwrap_or(0) as f64
                / 1e6)
                .round() as i64;
            let frozen = self.fault(FaultKind::StuckRegister, t).is_some()
                || self.fault(FaultKind::Bypass, t).is_some();
            if !frozen {
                let theft = self.fault(FaultKind::ReverseTheft, t).is_some();
                let tariff = self.spec.tou.register(self.meter_time(t));
                self.registers.accumulate(joules, tariff, theft);
            }
            self.integrated_until += step;
        }
        self.apply_replacements(now);
    }

    /// Answers a request frame at simulated time `now`; `None` when the meter stays silent.
    pub fn handle(&mut self, request: &Frame, now: DateTime<Utc>) -> Option<Frame> {
        if request.control.reply || !request.address.addresses(&self.spec.address) {
            return None;
        }
        self.advance(now);
        let broadcast = request.address.is_broadcast();
        let function = request.control.function;
        let reply = match function {
            Function::BroadcastTimeSync => {
                if broadcast {
                    let outcome =
                        self.spec
                            .clock
                            .broadcast_sync(&request.data, now, self.spec.zone);
                    if !matches!(outcome, SyncOutcome::Applied(_)) {
                        tracing::debug!(meter = %self.spec.address, ?outcome, "broadcast time sync ignored");
                    }
                }
                return None; // never answered
            }
            Function::Read => match request.data_id() {
                Ok(di) => match self.read_value(di, now) {
                    Some(value) => Frame::read_reply(self.spec.address, di, &value),
                    None => Frame::abnormal_reply(self.spec.address, function, ERR_NO_DATA),
                },
                Err(_) => Frame::abnormal_reply(self.spec.address, function, ERR_OTHER),
            },
            Function::ReadAddress
                if request.address == Address::WILDCARD && request.data.is_empty() =>
            {
                Frame {
                    data: self.spec.address.0.to_vec(),
                    ..Frame::empty_reply(self.spec.address, function)
                }
            }
            Function::Control => match self.control(&request.data, now) {
                Ok(()) => Frame::empty_reply(self.spec.address, function),
                Err(err) => Frame::abnormal_reply(self.spec.address, function, err),
            },
            _ => Frame::abnormal_reply(self.spec.address, function, ERR_OTHER),
        };
        if let Some(err) = reply.error_word() {
            tracing::debug!(meter = %self.spec.address, ?function, errors = ?error_bits(err), "abnormal reply");
        }
        (!broadcast).then_some(reply)
    }
}

#[cfg(test)]
mod tests;
