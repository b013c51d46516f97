//! A VEE run over a date range: every meter-day through the rules, each day written to the lake's
//! `validated_intervals` table in one commit (a re-run replaces the day).

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Days, NaiveDate, Utc, Weekday};
use store::{DerivedTable, LakeLocation};

use super::config::VeeConfig;
use super::history::History;
use super::rules::{validate_day, MeterDay};
use super::table::{validated_batch, DATE_COLUMN, VALIDATED_TABLE};
use super::{Flag, IntervalEdit, Method, Status, ValidatedInterval};
use crate::diagnosis::{observations, profiles, MeterProfile, Observation};
use crate::{AnalyticsError, LakeSession};

/// Readings this long before and after a day are read with it, so that gaps across midnight are
/// bracketed by registers, µs (6 h).
const MARGIN_US: i64 = 6 * 3_600_000_000;

/// What one day's validation found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DaySummary {
    /// The local date.
    pub date: NaiveDate,
    /// Meters validated.
    pub meters: usize,
    /// Intervals written.
    pub intervals: usize,
    /// Intervals per status.
    pub by_status: BTreeMap<Status, usize>,
    /// Intervals per method.
    pub by_method: BTreeMap<Method, usize>,
    /// Intervals per flag.
    pub by_flag: BTreeMap<Flag, usize>,
    /// The version of `validated_intervals` the day was committed as.
    pub table_version: i64,
}

impl DaySummary {
    fn add(&mut self, intervals: &[ValidatedInterval]) {
        self.meters += 1;
        self.intervals += intervals.len();
        for interval in intervals {
            *self.by_status.entry(interval.status).or_default() += 1;
            *self.by_method.entry(interval.method).or_default() += 1;
            for flag in interval.flags.iter() {
                *self.by_flag.entry(flag).or_default() += 1;
            }
        }
    }
}

/// Local midnight of `date` in `zone`, UTC µs.
fn midnight(zone: chrono_tz::Tz, date: NaiveDate) -> Result<i64, AnalyticsError> {
    Ok(crate::local_days::midnight(zone, date)?.timestamp_micros())
}

fn next(date: NaiveDate) -> Result<NaiveDate, AnalyticsError> {
    date.checked_add_days(Days::new(1))
        .ok_or_else(|| AnalyticsError::Shape(format!("no day after {date}")))
}

/// The readings around one day, by meter in boundary order.
async fn day_window(
    session: &LakeSession,
    date: NaiveDate,
    start_us: i64,
    end_us: i64,
) -> Result<BTreeMap<String, Vec<Observation>>, AnalyticsError> {
    let before = date.pred_opt().unwrap_or(date);
    let after = next(date)?;
    let batches = session
        .query(&format!(
            "SELECT * FROM readings WHERE date >= DATE '{before}' AND date <= DATE '{after}' \
             AND boundary_ts >= to_timestamp_micros({from}) AND boundary_ts <= to_timestamp_micros({to}) \
             ORDER BY meter_id, boundary_ts",
            from = start_us - MARGIN_US,
            to = end_us + MARGIN_US,
        ))
        .await?;
    let mut meters: BTreeMap<String, Vec<Observation>> = BTreeMap::new();
    for batch in &batches {
        for observation in observations(batch)? {
            match meters.get_mut(&observation.meter_id) {
                Some(list) => list.push(observation),
                None => {
                    meters.insert(observation.meter_id.clone(), vec![observation]);
                }
            }
        }
    }
    Ok(meters)
}

/// Validates every meter (with readings, or registered and installed by then) for each local date of
/// `from..=to` and writes each day to `validated_intervals` below `location`; `edits` are people's
/// corrections; `on_day` hears each day's summary as it is committed.
pub async fn run(
    session: &LakeSession,
    location: &LakeLocation,
    config: &VeeConfig,
    (from, to): (NaiveDate, NaiveDate),
    edits: &[IntervalEdit],
    on_day: &mut (dyn FnMut(&DaySummary) + Send),
) -> Result<Vec<DaySummary>, AnalyticsError> {
    config.validate()?;
    let zone = session.zone();
    let registry: HashMap<String, MeterProfile> = profiles(session).await?;
    let history_from = from
        .checked_sub_days(Days::new(u64::from(config.history_days)))
        .unwrap_or(from);
    let history_to = from.pred_opt().unwrap_or(from);
    let history = History::read(
        session,
        history_from,
        history_to,
        config.history_min_intervals,
    )
    .await?;
    let mut edits_by_meter: HashMap<&str, Vec<IntervalEdit>> = HashMap::new();
    for edit in edits {
        edits_by_meter
            .entry(edit.meter_id.as_str())
            .or_default()
            .push(edit.clone());
    }
    let mut table = DerivedTable::open(location, VALIDATED_TABLE, DATE_COLUMN).await?;
    let mut estimated_days: HashMap<String, u32> = HashMap::new();
    let mut summaries = Vec::new();
    let mut date = from;
    while date <= to {
        let (start_us, end_us) = (midnight(zone, date)?, midnight(zone, next(date)?)?);
        let mut readings = day_window(session, date, start_us, end_us).await?;
        for (meter, profile) in &registry {
            if profile.installs.first().is_some_and(|at| *at < end_us) {
                readings.entry(meter.clone()).or_default();
            }
        }
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        let no_profile = MeterProfile::default();
        let mut summary = DaySummary {
            date,
            ..DaySummary::default()
        };
        let mut validated = Vec::with_capacity(readings.len());
        for (meter, observed) in readings {
            let profile = registry.get(&meter).unwrap_or(&no_profile);
            let day = MeterDay {
                supply: profile.supply,
                has_pv: profile.has_pv,
                installs: &profile.installs,
                day_start_us: start_us,
                day_end_us: end_us,
                weekend,
                readings: &observed,
                history: history.meters.get(&meter),
                edits: edits_by_meter
                    .get(meter.as_str())
                    .map_or(&[], |e| e.as_slice()),
                estimated_days_before: estimated_days.get(&meter).copied().unwrap_or(0),
            };
            let result = validate_day(&day, config);
            estimated_days.insert(meter.clone(), result.estimated_days);
            summary.add(&result.intervals);
            validated.push((meter, result.intervals));
        }
        let name = date.format("%Y-%m-%d").to_string();
        let batch = validated_batch(
            &name,
            &validated,
            Utc::now().timestamp_micros(),
            session.lake_version(),
        )?;
        summary.table_version = table.replace_partition(batch, &name).await?;
        on_day(&summary);
        summaries.push(summary);
        date = next(date)?;
    }
    Ok(summaries)
}
