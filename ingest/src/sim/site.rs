//! A customer's premises: the household load, an optional PV system and the physical effect of faults.
//! The customer meter measures it, and the area's supply meter sums it (so theft and bypass show as loss).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::fault::{any_active, Fault, FaultKind};
use super::{LoadProfile, PvSystem};

/// Relay changes `(when, closed)` of one site, shared between its meter and the area's supply meter.
type RelayHistory = Arc<Mutex<Vec<(DateTime<Utc>, bool)>>>;

/// The physical load behind one customer meter. Clones share the relay history, so the area's supply meter
/// sees when the customer's relay opened and closed however late it integrates.
#[derive(Debug, Clone)]
pub struct Site {
    profile: LoadProfile,
    pv: Option<PvSystem>,
    faults: Arc<[Fault]>,
    zone: Tz,
    /// Relay changes `(when, closed)` in time order; closed before the first.
    relay_history: RelayHistory,
}

impl Site {
    /// A site with its relay closed.
    pub fn new(profile: LoadProfile, pv: Option<PvSystem>, faults: Arc<[Fault]>, zone: Tz) -> Self {
        Self {
            profile,
            pv,
            faults,
            zone,
            relay_history: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Whether the site has rooftop PV.
    pub fn has_pv(&self) -> bool {
        self.pv.is_some()
    }

    /// The faults of the site's meter.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Records that the meter's relay closed or opened at `at`.
    pub fn set_relay_closed(&self, at: DateTime<Utc>, closed: bool) {
        if let Ok(mut history) = self.relay_history.lock() {
            history.push((at, closed));
        }
    }

    /// Whether the relay was closed at `t`.
    pub fn relay_closed_at(&self, t: DateTime<Utc>) -> bool {
        let Ok(history) = self.relay_history.lock() else {
            return true;
        };
        history
            .iter()
            .rev()
            .find(|(at, _)| *at <= t)
            .is_none_or(|(_, closed)| *closed)
    }

    /// Net power drawn from the grid at true time `t`, W (negative: PV export). Zero without voltage or
    /// with the relay open, unless a relay failure keeps the contacts closed.
    pub fn net_watts(&self, t: DateTime<Utc>) -> f64 {
        if any_active(&self.faults, FaultKind::VoltageLoss, t).is_some() {
            return 0.0;
        }
        let flowing = self.relay_closed_at(t)
            || any_active(&self.faults, FaultKind::RelayFailure, t).is_some();
        if !flowing {
            return 0.0;
        }
        let local = t.with_timezone(&self.zone).naive_local();
        let load = self.profile.watts(local);
        match &self.pv {
            Some(pv) => load - pv.watts(local),
            None => load,
        }
    }
}
