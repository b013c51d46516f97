//! Meter profiles from the registry's `meters` table (one row per installation).

use std::collections::HashMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, TimeUnit};

use super::watch::MeterProfile;
use crate::columns::strings;
use crate::{AnalyticsError, LakeSession};

/// The query that gives the profiles' rows, in the order [`from_rows`] needs.
const PROFILE_ROWS: &str =
    "SELECT meter_id, has_pv, installed_on, area_id, bus_id, kind FROM meters \
                            ORDER BY meter_id, installed_on";

/// Every registered meter's profile, from the session's `meters` table: PV, installations
/// (ascending), area, bus and kind of its newest row.
pub async fn profiles(
    session: &LakeSession,
) -> Result<HashMap<String, MeterProfile>, AnalyticsError> {
    from_rows(session.query(PROFILE_ROWS).await?)
}

/// Every registered meter's profile, straight from the registry directory's `meters.csv` (no lake
/// needed; an absent file gives no profiles).
pub async fn registry_profiles(
    dir: &std::path::Path,
) -> Result<HashMap<String, MeterProfile>, AnalyticsError> {
    let ctx = datafusion::prelude::SessionContext::new();
    crate::registry::register(&ctx, Some(dir)).await?;
    from_rows(ctx.sql(PROFILE_ROWS).await?.collect().await?)
}

fn from_rows(
    batches: Vec<arrow::array::RecordBatch>,
) -> Result<HashMap<String, MeterProfile>, AnalyticsError> {
    let mut out: HashMap<String, MeterProfile> = HashMap::new();
    for batch in batches {
        let meters = strings(&batch, 0)?;
        let pv = arrow::compute::cast(batch.column(1), &DataType::Boolean)?;
        let pv = pv.as_boolean();
        let installed = arrow::compute::cast(
            batch.column(2),
            &DataType::Timestamp(TimeUnit::Microsecond, None),
        )?;
        let installed = installed.as_primitive::<arrow::datatypes::TimestampMicrosecondType>();
        let areas = strings(&batch, 3)?;
        let buses = strings(&batch, 4)?;
        let kinds = strings(&batch, 5)?;
        for row in 0..batch.num_rows() {
            let profile = out.entry(meters.value(row).to_string()).or_default();
            profile.has_pv |= pv.is_valid(row) && pv.value(row);
            if installed.is_valid(row) {
                profile.installs.push(installed.value(row));
            }
            profile.area_id = areas.is_valid(row).then(|| areas.value(row).to_string());
            profile.bus_id = buses.is_valid(row).then(|| buses.value(row).to_string());
            profile.supply = kinds.is_valid(row) && kinds.value(row) == "supply";
        }
    }
    Ok(out)
}

/// One local date's readings in the order the rules need (by meter, then boundary), for a re-run of
/// the rules over history. The date partition prunes the scan to that day.
pub async fn day_readings(
    session: &LakeSession,
    date: chrono::NaiveDate,
) -> Result<Vec<arrow::array::RecordBatch>, AnalyticsError> {
    session
        .query(&format!(
            "SELECT * FROM readings WHERE date = DATE '{}' ORDER BY meter_id, boundary_ts",
            date.format("%Y-%m-%d")
        ))
        .await
}
