//! Reading each meter's billable intervals from `billing_energy`, one meter at a time, for a selection of
//! meters; and the ladder consumption each meter carries into a period from its last settlement.

use std::collections::BTreeMap;

use arrow::array::{Array, BooleanArray, Decimal128Array, TimestampMicrosecondArray};
use chrono::{DateTime, TimeZone, Utc};
use futures::StreamExt;

use crate::columns::{strings, typed};
use crate::tariff::exact::scaled_to_e6;
use crate::tariff::{KwhE6, TariffPlan};
use crate::{AnalyticsError, LakeSession};

/// Which meters a billing query reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeterSelection<'a> {
    /// Every meter in the lake.
    All,
    /// One meter.
    One(&'a str),
    /// Some meters (the accounts of one plan).
    Many(&'a [String]),
    /// The meters the registry assigns to `plan`; with `default_plan == plan`, also every meter the
    /// registry gives no plan (or does not list).
    Plan {
        /// The plan billed.
        plan: &'a str,
        /// The plan of meters without one in the registry.
        default_plan: &'a str,
    },
}

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

impl MeterSelection<'_> {
    /// The `AND …` condition on `meter_id` this selection adds to a query (empty for all meters).
    pub fn condition(&self) -> Result<String, AnalyticsError> {
        Ok(match *self {
            Self::All => String::new(),
            Self::One(meter) => {
                if meter.is_empty() || !meter.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(AnalyticsError::Shape(format!("invalid meter id {meter:?}")));
                }
                format!(" AND meter_id = '{meter}'")
            }
            Self::Many(meters) => {
                if let Some(bad) = meters
                    .iter()
                    .find(|m| m.is_empty() || !m.bytes().all(|b| b.is_ascii_digit()))
                {
                    return Err(AnalyticsError::Shape(format!("invalid meter id {bad:?}")));
                }
                if meters.is_empty() {
                    " AND false".to_string()
                } else {
                    let list: Vec<String> = meters.iter().map(|m| format!("'{m}'")).collect();
                    format!(" AND meter_id IN ({})", list.join(", "))
                }
            }
            Self::Plan { plan, default_plan } if plan == default_plan => format!(
                " AND meter_id NOT IN (SELECT meter_id FROM meters \
                 WHERE tariff_plan IS NOT NULL AND tariff_plan <> {})",
                literal(plan)
            ),
            Self::Plan { plan, .. } => format!(
                " AND meter_id IN (SELECT meter_id FROM meters WHERE tariff_plan = {})",
                literal(plan)
            ),
        })
    }
}

/// One meter's intervals as the engine takes them, with what was estimated.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MeterIntervals {
    /// Interval starts, UTC µs, ascending.
    pub starts: Vec<i64>,
    /// Energy per interval, [`KwhE6`] units.
    pub energy: Vec<KwhE6>,
    /// Intervals billed at an estimate.
    pub estimated: u64,
    /// Their energy, [`KwhE6`] units.
    pub estimated_e6: KwhE6,
    /// How they were estimated.
    pub estimation: super::Estimation,
}

/// Each selected meter's intervals of [`from`, `to`] in time order, mapped by `f`: (meter, result) for
/// every meter with intervals.
///
/// A local lake is read by the direct file scan ([`super::lake_scan`]) on every core, meters in
/// ascending order, followed by the meters the scan leaves to the views, in ascending order; one meter,
/// a lake the scan cannot read, or a session billing validated energy goes through the views
/// ([`for_each_meter_sql`]).
pub async fn map_meters<T: Send>(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    selection: MeterSelection<'_>,
    f: &(dyn Fn(&str, &MeterIntervals) -> Result<T, AnalyticsError> + Sync),
) -> Result<Vec<(String, T)>, AnalyticsError> {
    let mut mapped = Vec::new();
    let mut rest = selection;
    let fallback;
    if !matches!(selection, MeterSelection::One(_)) && !session.bills_validated_energy() {
        let limits = super::lake_scan::ChunkLimits::default();
        if let Some(scan) =
            super::lake_scan::scan_meters(session, from, to, selection, limits, f).await?
        {
            if scan.fallback.is_empty() {
                return Ok(scan.meters);
            }
            mapped = scan.meters;
            fallback = scan.fallback;
            rest = MeterSelection::Many(&fallback);
        }
    }
    for_each_meter_sql(session, from, to, rest, &mut |meter, intervals| {
        let result = f(&meter, &intervals)?;
        mapped.push((meter, result));
        Ok(())
    })
    .await?;
    Ok(mapped)
}

/// Calls `visit` once with each selected meter's intervals of [`from`, `to`], in the order of
/// [`map_meters`] (which holds them all first).
pub async fn for_each_meter(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    selection: MeterSelection<'_>,
    visit: &mut dyn FnMut(String, MeterIntervals) -> Result<(), AnalyticsError>,
) -> Result<(), AnalyticsError> {
    let copies = map_meters(session, from, to, selection, &|_, m| Ok(m.clone())).await?;
    for (meter, intervals) in copies {
        visit(meter, intervals)?;
    }
    Ok(())
}

/// [`for_each_meter`] through the `billing_energy` view, meters in ascending order; rows stream from
/// the query, so only one meter's intervals are held at a time.
pub async fn for_each_meter_sql(
    session: &LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    selection: MeterSelection<'_>,
    visit: &mut dyn FnMut(String, MeterIntervals) -> Result<(), AnalyticsError>,
) -> Result<(), AnalyticsError> {
    let sql = format!(
        "SELECT meter_id, interval_start, energy_kwh, estimated, method FROM billing_energy \
         WHERE energy_kwh IS NOT NULL AND interval_start >= to_timestamp_micros({}) \
         AND interval_end <= to_timestamp_micros({}){} ORDER BY meter_id, interval_start",
        from.timestamp_micros(),
        to.timestamp_micros(),
        selection.condition()?
    );
    let mut stream = session.context().sql(&sql).await?.execute_stream().await?;
    let mut current: Option<String> = None;
    let mut meter = MeterIntervals::default();
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let meters = strings(&batch, 0)?;
        let interval_starts = typed::<TimestampMicrosecondArray>(&batch, 1)?;
        let kwh = typed::<Decimal128Array>(&batch, 2)?;
        let estimated = typed::<BooleanArray>(&batch, 3)?;
        let methods = strings(&batch, 4)?;
        let scale = u32::try_from(kwh.scale())
            .map_err(|_| AnalyticsError::Shape("negative scale".into()))?;
        for row in 0..batch.num_rows() {
            if kwh.is_null(row) || interval_starts.is_null(row) {
                continue;
            }
            let meter_id = meters.value(row);
            if current.as_deref() != Some(meter_id) {
                if let Some(done) = current.replace(meter_id.to_string()) {
                    visit(done, std::mem::take(&mut meter))?;
                }
            }
            let e6 = scaled_to_e6(kwh.value(row), scale)
                .map_err(|e| AnalyticsError::Shape(e.to_string()))?;
            meter.starts.push(interval_starts.value(row));
            meter.energy.push(e6);
            if estimated.is_valid(row) && estimated.value(row) {
                meter.estimated += 1;
                meter.estimated_e6 += e6;
                if let Some(method) = methods
                    .is_valid(row)
                    .then(|| crate::vee::Method::parse(methods.value(row)))
                    .flatten()
                {
                    meter.estimation.count(method);
                }
            }
        }
    }
    if let Some(done) = current {
        visit(done, meter)?;
    }
    Ok(())
}

/// Where the ladder's accounting period containing `from` began, in UTC, when that is before `from`
/// (`None` without a ladder, or when a settlement falls exactly at `from`).
pub fn accounting_start(
    plan: &TariffPlan,
    zone: chrono_tz::Tz,
    from: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let local = from.with_timezone(&zone).naive_local();
    let (_, version) = plan.version_at(local)?;
    let settled = version.ladder.last_settlement_at_or_before(local)?;
    let start = zone.from_local_datetime(&settled).earliest()?.to_utc();
    (start < from).then_some(start)
}

/// The ladder consumption each selected meter carries into a period starting at `from`: its billed
/// energy from the last settlement before `from` up to `from` ([`accounting_start`]), read from the same
/// lake version. Meters without consumption there are absent (they start at zero).
pub async fn carried_ladder(
    session: &LakeSession,
    plan: &TariffPlan,
    from: DateTime<Utc>,
    selection: MeterSelection<'_>,
) -> Result<BTreeMap<String, KwhE6>, AnalyticsError> {
    let mut carried = BTreeMap::new();
    let Some(start) = accounting_start(plan, session.zone(), from) else {
        return Ok(carried);
    };
    // The same intervals as the bill reads, so a direct scan of the partitions since the settlement,
    // not a view over the whole lake.
    let used = map_meters(session, start, from, selection, &|_, intervals| {
        Ok(intervals.energy.iter().filter(|e| **e > 0).sum::<KwhE6>())
    })
    .await?;
    carried.extend(used.into_iter().filter(|(_, used)| *used > 0));
    Ok(carried)
}
