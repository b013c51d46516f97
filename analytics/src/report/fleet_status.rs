//! The fleet at a glance for the operators' dashboard: meters heard from in the last hour, and each
//! transformer area's collection success per day (readings received ÷ readings scheduled: the area's
//! customer meters × the day's quarter hours). Reads `readings` by its date partitions, not the
//! interval views, so that it stays quick on a large lake.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::load_query::{dates, integers};
use super::slots_of_day;
use crate::columns::strings;
use crate::{AnalyticsError, LakeSession};

/// One area's collection success per local day (0–1; `None` for a day with no scheduled reading).
pub type AreaCollection = (String, Vec<(NaiveDate, Option<f64>)>);

/// What the dashboard shows from the lake.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FleetStatus {
    /// Meters with a reading in the hour before `now`.
    pub meters_online: u64,
    /// Customer meters in the registry.
    pub meters_registered: u64,
    /// Per area, each day's collection success (0–1; `None` for a day with no scheduled reading).
    pub collection: Vec<AreaCollection>,
}

/// The fleet's status at `now` with collection success over the `days` local days up to today.
pub async fn fleet_status(
    session: &LakeSession,
    now: DateTime<Utc>,
    days: i64,
) -> Result<FleetStatus, AnalyticsError> {
    let zone = session.zone();
    let today = now.with_timezone(&zone).date_naive();
    let from = today - Duration::days(days.clamp(1, 31) - 1);
    let hour_ago = (now - Duration::hours(1)).timestamp_micros();
    let yesterday = today - Duration::days(1);
    let online = session
        .query(&format!(
            "SELECT count(DISTINCT meter_id) FROM readings
             WHERE date >= '{yesterday}' AND CAST(boundary_ts AS BIGINT) > {hour_ago}"
        ))
        .await?;
    let meters_online = online
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| integers(b, 0))
        .transpose()?
        .and_then(|v| v.first().copied())
        .unwrap_or(0);
    let mut status = FleetStatus {
        meters_online: u64::try_from(meters_online).unwrap_or(0),
        ..FleetStatus::default()
    };
    if !session.context().table_exist("meters")? {
        return Ok(status);
    }
    let customers = session
        .query(
            "SELECT area_id, count(*) FROM meters WHERE kind = 'customer' AND area_id IS NOT NULL
             GROUP BY area_id ORDER BY area_id",
        )
        .await?;
    let mut per_area = BTreeMap::new();
    for batch in &customers {
        let areas = strings(batch, 0)?;
        for (r, n) in integers(batch, 1)?.into_iter().enumerate() {
            per_area.insert(areas.value(r).to_string(), n);
        }
    }
    status.meters_registered = per_area
        .values()
        .map(|n| u64::try_from(*n).unwrap_or(0))
        .sum();
    let received = session
        .query(&format!(
            "SELECT m.area_id, CAST(r.date AS VARCHAR) AS day, count(*) AS readings
             FROM readings r JOIN meters m ON r.meter_id = m.meter_id
             WHERE r.date >= '{from}' AND r.date <= '{today}' AND m.kind = 'customer'
             GROUP BY m.area_id, CAST(r.date AS VARCHAR)"
        ))
        .await?;
    let mut counts: BTreeMap<(String, NaiveDate), i64> = BTreeMap::new();
    for batch in &received {
        let areas = strings(batch, 0)?;
        let days = dates(batch, 1)?;
        for (r, n) in integers(batch, 2)?.into_iter().enumerate() {
            counts.insert((areas.value(r).to_string(), days[r]), n);
        }
    }
    let hours_so_far = |day: NaiveDate| -> u64 {
        if day < today {
            slots_of_day(zone, day)
        } else {
            let local = now.with_timezone(&zone);
            let since_midnight = local.time().signed_duration_since(chrono::NaiveTime::MIN);
            u64::try_from(since_midnight.num_minutes() / 15).unwrap_or(0)
        }
    };
    status.collection = per_area
        .iter()
        .map(|(area, customers)| {
            let series = from
                .iter_days()
                .take_while(|d| *d <= today)
                .map(|day| {
                    let scheduled = u64::try_from(*customers).unwrap_or(0) * hours_so_far(day);
                    let got = counts.get(&(area.clone(), day)).copied().unwrap_or(0);
                    let rate = (scheduled > 0).then(|| (got as f64 / scheduled as f64).min(1.0));
                    (day, rate)
                })
                .collect();
            (area.clone(), series)
        })
        .collect();
    Ok(status)
}
