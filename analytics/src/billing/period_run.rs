//! A billing run: every meter's bill for one calendar month of the lake's local zone, each priced with
//! the tariff plan the registry names for it (or a default), and kept in the lake's `bills` table.
//!
//! A run reads one lake version (the session's), so re-running it at that version (`--as-of`) gives
//! identical bills. Storing a run replaces the period's earlier bills in one commit.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use store::{DerivedTable, LakeLocation};

use super::bill_records::{bills_batch, BILLS_TABLE, PERIOD_COLUMN};
use super::{bill_meters, Bill, MeterSelection};
use crate::columns::strings;
use crate::{tariff, AnalyticsError, LakeSession};

/// A calendar month of local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthPeriod {
    /// Its first local day.
    pub first_day: NaiveDate,
}

impl MonthPeriod {
    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Result<Self, AnalyticsError> {
        NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d")
            .map(|first_day| Self { first_day })
            .map_err(|_| AnalyticsError::Shape(format!("period {text:?}: expected YYYY-MM")))
    }

    /// `YYYY-MM`.
    pub fn name(&self) -> String {
        self.first_day.format("%Y-%m").to_string()
    }

    /// Its last local day.
    pub fn last_day(&self) -> Result<NaiveDate, AnalyticsError> {
        self.first_day
            .checked_add_months(Months::new(1))
            .and_then(|next| next.pred_opt())
            .ok_or_else(|| AnalyticsError::Shape("period out of range".into()))
    }

    /// Its start and end (exclusive) in UTC, for local midnights in `zone`.
    pub fn bounds(&self, zone: Tz) -> Result<(DateTime<Utc>, DateTime<Utc>), AnalyticsError> {
        crate::local_days::span(zone, self.first_day, self.last_day()?)
    }
}

/// Each registered meter's tariff plan (`meters.tariff_plan`; the latest installation's).
async fn registry_plans(session: &LakeSession) -> Result<BTreeMap<String, String>, AnalyticsError> {
    let batches = session
        .query(
            "SELECT meter_id, tariff_plan FROM meters WHERE tariff_plan IS NOT NULL \
             ORDER BY meter_id, installed_on",
        )
        .await?;
    let mut plans = BTreeMap::new();
    for batch in &batches {
        let (meters, names) = (strings(batch, 0)?, strings(batch, 1)?);
        for row in 0..batch.num_rows() {
            plans.insert(meters.value(row).to_string(), names.value(row).to_string());
        }
    }
    Ok(plans)
}

/// The plans of a run over every meter (or only `meter`): each plan with the meters it prices.
pub(crate) struct PlanRuns {
    registered: BTreeMap<String, String>,
    default_plan: String,
    meter: Option<String>,
    /// The plans to run, by name.
    pub plans: Vec<(String, tariff::TariffPlan)>,
}

impl PlanRuns {
    /// Reads the registry and resolves every plan it names (and `default_plan`).
    pub(crate) async fn new(
        session: &LakeSession,
        default_plan: &str,
        meter: Option<&str>,
    ) -> Result<Self, AnalyticsError> {
        let registered = registry_plans(session).await?;
        let mut runs = Self {
            registered,
            default_plan: default_plan.to_string(),
            meter: meter.map(str::to_string),
            plans: Vec::new(),
        };
        let names: BTreeSet<String> = match meter {
            Some(meter) => BTreeSet::from([runs.plan_of(meter).to_string()]),
            None => runs
                .registered
                .values()
                .cloned()
                .chain([default_plan.to_string()])
                .collect(),
        };
        for name in names {
            let plan = tariff::resolve(&name)?;
            runs.plans.push((name, plan));
        }
        Ok(runs)
    }

    /// The plan that prices `meter`: the registry's (latest installation's), or the default.
    pub(crate) fn plan_of(&self, meter: &str) -> &str {
        self.registered
            .get(meter)
            .map_or(self.default_plan.as_str(), String::as_str)
    }

    /// The meters plan `name` prices.
    pub(crate) fn selection<'a>(&'a self, name: &'a str) -> MeterSelection<'a> {
        match &self.meter {
            Some(meter) => MeterSelection::One(meter),
            None => MeterSelection::Plan {
                plan: name,
                default_plan: &self.default_plan,
            },
        }
    }
}

/// Bills every meter (or only `meter`) for `period`; a meter without a registry plan gets
/// `default_plan`. `progress` hears each step.
pub async fn bill_period(
    session: &LakeSession,
    period: MonthPeriod,
    default_plan: &str,
    meter: Option<&str>,
    progress: &mut dyn FnMut(&str),
) -> Result<Vec<Bill>, AnalyticsError> {
    let (from, to) = period.bounds(session.zone())?;
    progress("reading the registry");
    let runs = PlanRuns::new(session, default_plan, meter).await?;
    let mut bills = Vec::new();
    for (name, plan) in &runs.plans {
        progress(&format!("pricing with {name}"));
        for bill in bill_meters(session, plan, from, to, runs.selection(name)).await? {
            if runs.plan_of(&bill.meter_id) == name {
                bills.push(bill);
            }
        }
    }
    bills.sort_by(|a, b| a.meter_id.cmp(&b.meter_id));
    Ok(bills)
}

/// Replaces `period`'s rows of the lake's `bills` table with `bills`; returns the table version.
pub async fn store_bills(
    location: &LakeLocation,
    period: MonthPeriod,
    bills: &[Bill],
) -> Result<i64, AnalyticsError> {
    let name = period.name();
    let mut table = DerivedTable::open(location, BILLS_TABLE, PERIOD_COLUMN).await?;
    Ok(table
        .replace_partition(bills_batch(bills, &name)?, &name)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_local_midnight_to_local_midnight() {
        let period = MonthPeriod::parse("2026-10").unwrap();
        assert_eq!(period.name(), "2026-10");
        let (from, to) = period.bounds(chrono_tz::Asia::Shanghai).unwrap();
        assert_eq!(from.to_rfc3339(), "2026-09-30T16:00:00+00:00");
        assert_eq!(to.to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert!(MonthPeriod::parse("2026-13").is_err());
        assert!(MonthPeriod::parse("October").is_err());
    }
}
