//! A customer's premises: the household load, an optional PV system and the physical effect of faults.
//! The customer meter measures it, and the area's supply meter sums it (so theft and bypass show as loss).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::fault::{any_active, Fault, FaultKind};
use super::{LoadProfile, PvSystem};

/// The physical load behind one customer meter. Clones share the relay flag.
#[derive(Debug, Clone)]
pub struct Site {
    profile: LoadProfile,
    pv: Option<PvSystem>,
    faults: Arc<[Fault]>,
    zone: Tz,
    relay_closed: Arc<AtomicBool>,
}

impl Site {
    /// A site with its relay closed.
    pub fn new(profile: LoadProfile, pv: Option<PvSystem>, faults: Arc<[Fault]>, zone: Tz) -> Self {
        Self {
            profile,
            pv,
            faults,
            zone,
            relay_closed: Arc::new(AtomicBool::new(true)),
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

    /// Records the meter relay's state (the supply meter reads it).
    pub fn set_relay_closed(&self, closed: bool) {
        self.relay_closed.store(closed, Ordering::SeqCst);
    }

    /// Net power drawn from the grid at true time `t`, W (negative: PV export). Zero without voltage or
    /// with the relay open, unless a relay failure keeps the contacts closed.
    pub fn net_watts(&self, t: DateTime<Utc>) -> f64 {
        if any_active(&self.faults, FaultKind::VoltageLoss, t).is_some() {
            return 0.0;
        }
        let flowing = self.relay_closed.load(Ordering::SeqCst)
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
