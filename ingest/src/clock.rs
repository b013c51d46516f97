//! Where "now" comes from: the wall clock in production, the simulation clock in demos and tests.

use chrono::{DateTime, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

impl Clock for crate::sim::SimClock {
    fn now(&self) -> DateTime<Utc> {
        crate::sim::SimClock::now(self)
    }
}
