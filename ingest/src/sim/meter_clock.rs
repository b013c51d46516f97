//! A meter's own real-time clock: a per-meter offset and drift, and the broadcast time-sync guard
//! (`dlt645.md` §11: applied only when 60 s ≤ |Δ| ≤ 300 s and the meter clock is not within 23:55–00:05).

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, Timelike, Utc};
use chrono_tz::Tz;

use super::profile::unit_hash;
use crate::dlt645::timestamp;

/// Salts separating the clock draws.
const OFFSET_SALT: u64 = 0x0FF5;
const DRIFT_SALT: u64 = 0xD81F;
const BAD_SALT: u64 = 0xBAD0;

/// Smallest deviation a broadcast sync corrects.
const SYNC_MIN: Duration = Duration::seconds(60);
/// Largest deviation a broadcast sync corrects (larger ones need a secured time setting).
const SYNC_MAX: Duration = Duration::seconds(300);

/// How the clocks of a fleet deviate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClockDriftConfig {
    /// Largest initial offset, in seconds (each meter draws uniformly in ±this).
    pub max_offset_secs: f64,
    /// Largest drift of a normal meter, ppm (uniform in ±this).
    pub max_drift_ppm: f64,
    /// Share of meters that drift badly.
    pub bad_share: f64,
    /// Drift magnitude of a bad meter, ppm (sign drawn per meter; 200 ppm ≈ 17 s/day).
    pub bad_drift_ppm: f64,
}

impl Default for ClockDriftConfig {
    fn default() -> Self {
        Self {
            max_offset_secs: 20.0,
            max_drift_ppm: 10.0,
            bad_share: 0.05,
            bad_drift_ppm: 200.0,
        }
    }
}

impl ClockDriftConfig {
    /// Every meter keeps exact time.
    pub fn ideal() -> Self {
        Self {
            max_offset_secs: 0.0,
            max_drift_ppm: 0.0,
            bad_share: 0.0,
            bad_drift_ppm: 0.0,
        }
    }

    /// The clock of meter `number` in a fleet seeded with `seed`, anchored at `start`.
    pub fn clock_for(&self, seed: u64, number: u64, start: DateTime<Utc>) -> MeterClock {
        let signed = |salt: u64| 2.0 * unit_hash(seed ^ salt, number) - 1.0;
        let offset = signed(OFFSET_SALT) * self.max_offset_secs;
        let drift = if unit_hash(seed ^ BAD_SALT, number) < self.bad_share {
            self.bad_drift_ppm * signed(DRIFT_SALT).signum()
        } else {
            self.max_drift_ppm * signed(DRIFT_SALT)
        };
        MeterClock::new(start, Duration::microseconds((offset * 1e6) as i64), drift)
    }
}

/// What a broadcast time sync did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOutcome {
    /// The clock moved by this much.
    Applied(Duration),
    /// The data field is not `ss mm hh DD MM YY` BCD or not a valid time.
    Malformed,
    /// |Δ| < 60 s.
    TooSmall(Duration),
    /// |Δ| > 300 s.
    TooLarge(Duration),
    /// The meter clock is within 23:55–00:05.
    NearMidnight,
}

/// A meter clock: true time plus an offset that grows with the drift.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeterClock {
    anchor: DateTime<Utc>,
    offset: Duration,
    drift_ppm: f64,
}

impl MeterClock {
    /// A clock that is `offset` ahead at `anchor` and gains `drift_ppm` µs per second after it.
    pub fn new(anchor: DateTime<Utc>, offset: Duration, drift_ppm: f64) -> Self {
        Self {
            anchor,
            offset,
            drift_ppm,
        }
    }

    /// An exact clock.
    pub fn ideal(anchor: DateTime<Utc>) -> Self {
        Self::new(anchor, Duration::zero(), 0.0)
    }

    /// The drift in ppm (positive: the clock runs fast).
    pub fn drift_ppm(&self) -> f64 {
        self.drift_ppm
    }

    /// How far the meter clock is ahead of true time `now` (negative: behind).
    pub fn offset(&self, now: DateTime<Utc>) -> Duration {
        let elapsed = (now - self.anchor).num_microseconds().unwrap_or(0) as f64;
        self.offset + Duration::microseconds((elapsed * self.drift_ppm * 1e-6) as i64)
    }

    /// The meter clock at true time `now`, in UTC.
    pub fn read(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.offset(now)
    }

    /// The meter clock at true time `now`, as the local time it displays in `zone`.
    pub fn local(&self, now: DateTime<Utc>, zone: Tz) -> NaiveDateTime {
        self.read(now).with_timezone(&zone).naive_local()
    }

    /// Handles a broadcast time sync (the 6 data bytes `ss mm hh DD MM YY`, local time) at true time `now`.
    pub fn broadcast_sync(&mut self, data: &[u8], now: DateTime<Utc>, zone: Tz) -> SyncOutcome {
        let Some(new) = decode_sync_time(data) else {
            return SyncOutcome::Malformed;
        };
        let shown = self.local(now, zone);
        let time = shown.time();
        let near_midnight = time >= NaiveTime::from_hms_opt(23, 55, 0).unwrap_or(time)
            || time < NaiveTime::from_hms_opt(0, 5, 0).unwrap_or(time);
        if near_midnight {
            return SyncOutcome::NearMidnight;
        }
        // The meter keeps whole seconds: compare with the displayed second.
        let delta = new - shown.with_nanosecond(0).unwrap_or(shown);
        if delta.abs() < SYNC_MIN {
            SyncOutcome::TooSmall(delta)
        } else if delta.abs() > SYNC_MAX {
            SyncOutcome::TooLarge(delta)
        } else {
            self.offset += delta;
            SyncOutcome::Applied(delta)
        }
    }
}

/// Decodes `ss mm hh DD MM YY` (BCD, already −0x33) into a local time in 2000–2099.
fn decode_sync_time(data: &[u8]) -> Option<NaiveDateTime> {
    timestamp::decode(data, "time sync").ok()
}

/// Encodes a local time as the 6 data bytes of a broadcast time sync (`ss mm hh DD MM YY`, BCD).
pub fn encode_sync_time(t: NaiveDateTime) -> [u8; 6] {
    timestamp::encode(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> DateTime<Utc> {
        "2026-10-01T02:00:00Z".parse().unwrap() // 10:00 in Shanghai
    }

    const ZONE: Tz = chrono_tz::Asia::Shanghai;

    fn sync(clock: &mut MeterClock, shift: i64, now: DateTime<Utc>) -> SyncOutcome {
        let target = clock.local(now, ZONE) + Duration::seconds(shift);
        clock.broadcast_sync(&encode_sync_time(target), now, ZONE)
    }

    #[test]
    fn drift_accumulates_and_offsets_are_deterministic() {
        let clock = MeterClock::new(start(), Duration::seconds(5), 100.0);
        // 100 ppm over one day is 8.64 s.
        let later = start() + Duration::days(1);
        assert_eq!(clock.offset(later), Duration::milliseconds(13_640));
        let config = ClockDriftConfig::default();
        assert_eq!(
            config.clock_for(1, 1001, start()),
            config.clock_for(1, 1001, start())
        );
        let bad = (0..1000)
            .filter(|n| config.clock_for(1, *n, start()).drift_ppm().abs() == 200.0)
            .count();
        assert!((20..90).contains(&bad), "{bad} bad clocks of 1000");
        assert_eq!(
            ClockDriftConfig::ideal().clock_for(1, 7, start()),
            MeterClock::ideal(start())
        );
    }

    #[test]
    fn sync_guard_applies_only_between_60_and_300_seconds_away_from_midnight() {
        let now = start();
        let mut clock = MeterClock::ideal(start());
        assert_eq!(
            sync(&mut clock, 30, now),
            SyncOutcome::TooSmall(Duration::seconds(30))
        );
        assert_eq!(
            sync(&mut clock, 600, now),
            SyncOutcome::TooLarge(Duration::seconds(600))
        );
        assert_eq!(clock.offset(now), Duration::zero());
        assert_eq!(
            sync(&mut clock, 120, now),
            SyncOutcome::Applied(Duration::seconds(120))
        );
        assert_eq!(clock.offset(now), Duration::seconds(120));
        assert_eq!(
            sync(&mut clock, -300, now),
            SyncOutcome::Applied(Duration::seconds(-300))
        );
        assert_eq!(clock.offset(now), Duration::seconds(-180));
        // 23:57 local on the meter clock: ignored.
        let late: DateTime<Utc> = "2026-10-01T15:57:00Z".parse().unwrap();
        let mut clock = MeterClock::ideal(start());
        assert_eq!(sync(&mut clock, 120, late), SyncOutcome::NearMidnight);
        assert_eq!(
            clock.broadcast_sync(&[0x99; 6], now, ZONE),
            SyncOutcome::Malformed
        );
        assert_eq!(
            clock.broadcast_sync(&[0x00; 3], now, ZONE),
            SyncOutcome::Malformed
        );
    }
}
