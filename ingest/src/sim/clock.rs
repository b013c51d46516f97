//! The simulation clock: shared, set by whoever drives the simulation (compressed real time or a test).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// A shared clock that meters and collectors read; the driver moves it forward.
#[derive(Debug, Clone)]
pub struct SimClock {
    micros: Arc<AtomicI64>,
}

impl SimClock {
    /// A clock showing `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            micros: Arc::new(AtomicI64::new(start.timestamp_micros())),
        }
    }

    /// The current simulated time.
    pub fn now(&self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.micros.load(Ordering::SeqCst)).unwrap_or_default()
    }

    /// Moves the clock to `t` (never backwards).
    pub fn set(&self, t: DateTime<Utc>) {
        self.micros
            .fetch_max(t.timestamp_micros(), Ordering::SeqCst);
    }
}
