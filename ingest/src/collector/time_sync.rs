//! Keeping meter clocks right: read each meter's date and time, and broadcast a time sync (0x08) on a
//! bus when a meter has drifted past the threshold but still inside the 60–300 s window meters accept
//! from a broadcast. Larger drifts need a secured time setting and are reported, not broadcast.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use chrono_tz::Tz;

use super::bus_client::BusClient;
use super::poll::read_value;
use crate::dlt645::data_id::Value;
use crate::dlt645::{Address, DataId, Frame};

/// Smallest correction a meter accepts from a broadcast (doc §11).
pub const BROADCAST_MIN_SECS: i64 = 60;
/// Largest correction a meter accepts from a broadcast.
pub const BROADCAST_MAX_SECS: i64 = 300;

/// What a clock check of one bus found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClockCheck {
    /// Meters whose clock was read.
    pub read: u64,
    /// Meters off by at least the threshold and inside the broadcast window.
    pub fixable: u64,
    /// Meters off by more than a broadcast may correct (need a secured time set).
    pub beyond_window: u64,
    /// Whether a broadcast time sync was sent.
    pub broadcast: bool,
}

/// How far a meter's clock is ahead (positive) of `now`, from its date and time registers.
pub async fn meter_offset(
    client: &mut BusClient,
    address: Address,
    zone: Tz,
    now: impl Fn() -> DateTime<Utc>,
) -> Option<TimeDelta> {
    let Some(Value::Time(time)) = read_value(client, address, DataId::TIME).await else {
        return None;
    };
    let Some(Value::Date(date, _)) = read_value(client, address, DataId::DATE).await else {
        return None;
    };
    let reference = now().with_timezone(&zone).naive_local();
    let mut meter = NaiveDateTime::new(date, time);
    // The date was read after the time: if the meter crossed midnight in between, step back a day.
    if meter - reference > TimeDelta::hours(12) {
        meter -= TimeDelta::days(1);
    }
    Some(meter - reference)
}

/// Reads the clocks of `meters` and broadcasts the collector's time on the bus if any meter is off by
/// `threshold` or more and a broadcast can correct it.
pub async fn check_bus(
    client: &mut BusClient,
    meters: &[Address],
    zone: Tz,
    threshold: TimeDelta,
    now: impl Fn() -> DateTime<Utc>,
) -> ClockCheck {
    let mut check = ClockCheck::default();
    for address in meters {
        let Some(offset) = meter_offset(client, *address, zone, &now).await else {
            continue;
        };
        check.read += 1;
        let secs = offset.num_seconds().abs();
        if secs > BROADCAST_MAX_SECS {
            check.beyond_window += 1;
            tracing::warn!(meter = %address, offset_s = offset.num_seconds(), "meter clock beyond the broadcast window: needs a secured time set");
        } else if secs >= threshold.num_seconds().max(BROADCAST_MIN_SECS) {
            check.fixable += 1;
        }
    }
    if check.fixable > 0 {
        let local = now().with_timezone(&zone).naive_local();
        check.broadcast = client.send_only(&Frame::time_sync(local)).await.is_ok();
    }
    check
}
