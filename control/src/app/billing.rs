//! Billing passes: each account's daily charges from the lake, booked once per charge key (a changed
//! price books only the difference), from the account's watermark on — a pass prices the months not
//! yet closed, not the account's history. One account's failure is recorded on it and the pass goes on.

use std::collections::BTreeMap;

use analytics::billing::daily_run::{daily_charges_for, MeterDailyCharges};
use analytics::billing::period_run::MonthPeriod;
use analytics::billing::MeterSelection;
use analytics::tariff::{BillingPeriod, DailyCharges};
use analytics::{LakeSession, TariffPlan};
use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::payments::next_entry;
use super::reconcile::ReconcileReport;
use super::Control;
use crate::domain::charge_key::ChargeKey;
use crate::domain::prepaid::{next_state, Change};
use crate::domain::relay::required_action;
use crate::store::accounts::{self, Account};
use crate::store::ledger::{self, BookedCharge, EntryKind};
use crate::store::{records, Conn};
use crate::ControlError;

/// How far back a pass reads the meters' relay states: the local days before today that it scans. A
/// meter silent for longer has told nothing new since the states the last passes already applied.
const RELAY_READING_DAYS: chrono::Days = chrono::Days::new(2);

/// What one billing pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PassReport {
    /// The lake version billed.
    pub lake_version: Option<i64>,
    /// Accounts looked at.
    pub accounts: usize,
    /// Accounts already billed at this version (skipped).
    pub unchanged: usize,
    /// Accounts whose charges changed.
    pub charged: usize,
    /// Relay commands created.
    pub commands: usize,
    /// Accounts that failed, with why.
    pub errors: Vec<(String, String)>,
    /// What the meters' reported relay states changed.
    pub reconciled: ReconcileReport,
    /// Where the pass spent its time.
    pub timings: PassTimings,
}

/// Milliseconds spent in each stage of a pass (also exported as the histogram
/// `meterlake_control_billing_stage_seconds{stage}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PassTimings {
    /// Reading the meters' relay states from the lake and reconciling commands with them.
    pub reconcile_ms: u64,
    /// Listing the accounts and grouping them by plan and watermark.
    pub select_ms: u64,
    /// Pricing the open months from the lake.
    pub pricing_ms: u64,
    /// Booking charges, moving states and enforcing, in transactions of [`BOOKING_BATCH`] accounts.
    pub booking_ms: u64,
}

/// Times the stages of a pass.
struct Stopwatch(std::time::Instant);

impl Stopwatch {
    fn start() -> Self {
        Self(std::time::Instant::now())
    }

    /// Milliseconds since the last lap (or the start); records them under `stage`.
    fn lap(&mut self, stage: &'static str) -> u64 {
        let elapsed = self.0.elapsed();
        self.0 = std::time::Instant::now();
        metrics::histogram!("meterlake_control_billing_stage_seconds", "stage" => stage)
            .record(elapsed.as_secs_f64());
        u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
    }
}

/// Accounts booked per transaction.
const BOOKING_BATCH: usize = 500;

/// Whether an error is one account's (bad data, a rule) rather than the database's or Kafka's.
fn is_account_fault(err: &ControlError) -> bool {
    matches!(
        err.kind(),
        crate::ErrorKind::Invalid | crate::ErrorKind::Internal | crate::ErrorKind::NotFound
    )
}

/// The earliest day any of these charges is dated by.
fn first_day<'a>(charges: impl Iterator<Item = &'a AccountCharges>) -> Option<chrono::NaiveDate> {
    charges
        .flat_map(|c| c.keys.iter().map(|(key, _)| key.day()))
        .min()
}

/// A booking transaction's ledger entries, booked charges and account rows, written together (a few
/// multi-row statements) before it commits.
#[derive(Debug, Default)]
struct Writes {
    entries: Vec<ledger::Entry>,
    charges: Vec<BookedCharge>,
    accounts: Vec<Account>,
}

impl Writes {
    async fn flush(self, tx: &mut Conn, now: DateTime<Utc>) -> Result<(), ControlError> {
        ledger::insert_many(tx, &self.entries).await?;
        ledger::book_charges(tx, &self.charges).await?;
        accounts::save_many(tx, &self.accounts, now).await
    }
}

/// The charges one account gets from a pass.
struct AccountCharges {
    keys: Vec<(ChargeKey, Decimal)>,
    /// The end of the last month that is complete (its true-up included): the new watermark.
    closed_through: Option<DateTime<Utc>>,
}

impl Control {
    /// Bills every account from its watermark to now at the session's lake version, reconciles relay
    /// states from the meters' readings, and enforces the result.
    pub async fn billing_pass(&self, session: &LakeSession) -> Result<PassReport, ControlError> {
        let mut report = PassReport {
            lake_version: session.lake_version(),
            ..PassReport::default()
        };
        let Some(version) = session.lake_version() else {
            return Ok(report);
        };
        let now = self.now();
        let mut watch = Stopwatch::start();
        let since = now
            .with_timezone(&session.zone())
            .date_naive()
            .checked_sub_days(RELAY_READING_DAYS)
            .unwrap_or(chrono::NaiveDate::MIN);
        let readings = analytics::relay_state::latest_relay_readings(session, since).await?;
        report.reconciled = self.reconcile(&readings).await?;
        report.timings.reconcile_ms = watch.lap("reconcile");
        let mut groups: BTreeMap<(String, DateTime<Utc>), Vec<String>> = BTreeMap::new();
        let mut after = String::new();
        loop {
            let page = accounts::page(&mut *self.db.conn().await?, &after, 1000).await?;
            let Some(last) = page.last() else { break };
            after.clone_from(&last.meter_id);
            for account in page {
                report.accounts += 1;
                if account.billed_version == Some(version) && account.billing_error.is_none() {
                    report.unchanged += 1;
                    continue;
                }
                groups
                    .entry((account.plan.clone(), account.billed_from))
                    .or_default()
                    .push(account.meter_id);
            }
        }
        report.timings.select_ms = watch.lap("select");
        for ((plan_name, from), meters) in groups {
            let Some(plan) = self.rules.plans.get(&plan_name) else {
                for meter in meters {
                    let why = format!("unknown tariff plan {plan_name:?}");
                    self.billing_failed(&meter, &why).await?;
                    report.errors.push((meter, why));
                }
                report.timings.booking_ms += watch.lap("booking");
                continue;
            };
            let (charges, failures) = price_group(session, plan, &meters, from, now).await;
            report.timings.pricing_ms += watch.lap("pricing");
            for (meter, why) in failures {
                self.billing_failed(&meter, &why).await?;
                report.errors.push((meter, why));
            }
            for batch in charges.chunks(BOOKING_BATCH) {
                let (charged, commands, errors) = self.book_batch(batch, version, now).await?;
                report.charged += charged;
                report.commands += commands;
                report.errors.extend(errors);
            }
            report.timings.booking_ms += watch.lap("booking");
        }
        metrics::counter!("meterlake_control_billing_passes_total").increment(1);
        Ok(report)
    }

    /// Books a batch of accounts in one transaction (two reads for the whole batch, then each account's
    /// writes). When any account of the batch fails, the batch is rolled back and booked one account
    /// per transaction, so that only the account at fault is recorded as failed.
    /// Returns (accounts charged, commands created, failures).
    async fn book_batch(
        &self,
        batch: &[(String, AccountCharges)],
        version: i64,
        now: DateTime<Utc>,
    ) -> Result<(usize, usize, Vec<(String, String)>), ControlError> {
        let together = async {
            let mut tx = self.db.begin().await?;
            let meters: Vec<&str> = batch.iter().map(|(m, _)| m.as_str()).collect();
            let mut locked = accounts::lock_many(&mut tx, &meters, now).await?;
            let booked = match first_day(batch.iter().map(|(_, c)| c)) {
                Some(day) => ledger::booked_charges(&mut tx, &meters, day).await?,
                None => BTreeMap::new(),
            };
            let (mut charged, mut commands) = (0, 0);
            let mut writes = Writes::default();
            for (meter, charges) in batch {
                let account = locked
                    .remove(meter)
                    .ok_or_else(|| ControlError::no_account(meter))?;
                let none = BTreeMap::new();
                let booked = booked.get(meter).unwrap_or(&none);
                let (changed, command) = self
                    .book_account(&mut tx, account, charges, booked, &mut writes, version, now)
                    .await?;
                charged += usize::from(changed);
                commands += command;
            }
            writes.flush(&mut tx, now).await?;
            tx.commit().await?;
            Ok::<_, ControlError>((charged, commands))
        };
        match together.await {
            Ok((charged, commands)) => return Ok((charged, commands, Vec::new())),
            Err(err) if !is_account_fault(&err) => return Err(err),
            Err(_) => {}
        }
        let (mut charged, mut commands, mut errors) = (0, 0, Vec::new());
        for (meter, charges) in batch {
            match self.book_one(meter, charges, version, now).await {
                Ok((changed, command)) => {
                    charged += usize::from(changed);
                    commands += command;
                }
                Err(err) if is_account_fault(&err) => {
                    let why = err.to_string();
                    self.billing_failed(meter, &why).await?;
                    errors.push((meter.clone(), why));
                }
                Err(err) => return Err(err),
            }
        }
        Ok((charged, commands, errors))
    }

    /// Books one account in its own transaction.
    async fn book_one(
        &self,
        meter_id: &str,
        charges: &AccountCharges,
        version: i64,
        now: DateTime<Utc>,
    ) -> Result<(bool, usize), ControlError> {
        let mut tx = self.db.begin().await?;
        let account = accounts::lock(&mut tx, meter_id, now).await?;
        let mut booked = match first_day(std::iter::once(charges)) {
            Some(day) => ledger::booked_charges(&mut tx, &[meter_id], day).await?,
            None => BTreeMap::new(),
        };
        let booked = booked.remove(meter_id).unwrap_or_default();
        let mut writes = Writes::default();
        let result = self
            .book_account(
                &mut tx,
                account,
                charges,
                &booked,
                &mut writes,
                version,
                now,
            )
            .await?;
        writes.flush(&mut tx, now).await?;
        tx.commit().await?;
        Ok(result)
    }

    /// Books one locked account's charges against what is already booked (its ledger entries, charge
    /// keys and row go to `writes`, written before the transaction commits); returns whether its
    /// balance moved and the commands created.
    #[allow(clippy::too_many_arguments)]
    async fn book_account(
        &self,
        tx: &mut Conn,
        mut account: Account,
        charges: &AccountCharges,
        booked: &BTreeMap<ChargeKey, Decimal>,
        writes: &mut Writes,
        version: i64,
        now: DateTime<Utc>,
    ) -> Result<(bool, usize), ControlError> {
        let meter_id = account.meter_id.clone();
        let before = account.state;
        let mut changed = false;
        for &(key, charge) in &charges.keys {
            let difference = charge - booked.get(&key).copied().unwrap_or_default();
            if difference == Decimal::ZERO {
                continue;
            }
            let reference = format!("{key}@v{version}");
            writes.entries.push(next_entry(
                &mut account,
                EntryKind::Charge,
                -difference,
                &reference,
                None,
                None,
                Some(version),
                now,
            )?);
            account.charged += difference;
            writes.charges.push(BookedCharge {
                meter_id: meter_id.clone(),
                key,
                charge,
                lake_version: version,
            });
            changed = true;
        }
        if changed {
            let terms = self.rules.terms_of(&account);
            account.state = next_state(before, account.balance, &terms, Change::Deduction);
            self.state_changed(tx, &account, before, now).await?;
        }
        if let Some(closed) = charges.closed_through {
            account.billed_from = account.billed_from.max(closed);
        }
        account.billed_version = Some(version);
        account.billing_error = None;
        // A charge that leaves the state as it was changes nothing the relay policy looks at: what was
        // planned for the account still holds, so the pass skips the enforcement queries.
        let command =
            if account.state != before || required_action(account.state, account.relay).is_some() {
                self.enforce(tx, &mut account, "billing", now).await?
            } else {
                None
            };
        writes.accounts.push(account);
        Ok((changed, usize::from(command.is_some())))
    }

    /// Records a billing failure on the account (the pass goes on).
    async fn billing_failed(&self, meter_id: &str, why: &str) -> Result<(), ControlError> {
        tracing::warn!(
            meter = meter_id,
            error = why,
            "billing failed for one account"
        );
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let mut account = accounts::lock(&mut tx, meter_id, now).await?;
        if account.billing_error.as_deref() != Some(why) {
            records::insert_account_event(&mut tx, meter_id, "billing_error", why, now).await?;
        }
        account.billing_error = Some(why.to_string());
        accounts::save(&mut tx, &account, now).await?;
        tx.commit().await?;
        metrics::counter!("meterlake_control_billing_errors_total").increment(1);
        Ok(())
    }
}

/// Prices a group of meters (one plan, one watermark) month by month; a month that fails for the group
/// is priced meter by meter so that only the meters at fault fail.
async fn price_group(
    session: &LakeSession,
    plan: &TariffPlan,
    meters: &[String],
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> (Vec<(String, AccountCharges)>, Vec<(String, String)>) {
    let mut charges: BTreeMap<String, AccountCharges> = meters
        .iter()
        .map(|m| {
            (
                m.clone(),
                AccountCharges {
                    keys: Vec::new(),
                    closed_through: None,
                },
            )
        })
        .collect();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    let periods = match months_between(from, now, session.zone()) {
        Ok(periods) => periods,
        Err(err) => {
            let why = err.to_string();
            return (
                Vec::new(),
                meters.iter().map(|m| (m.clone(), why.clone())).collect(),
            );
        }
    };
    for period in periods {
        let live: Vec<String> = meters
            .iter()
            .filter(|m| !failed.contains_key(*m))
            .cloned()
            .collect();
        let priced = match daily_charges_for(session, plan, period, MeterSelection::Many(&live))
            .await
        {
            Ok(priced) => priced,
            Err(_) => {
                let mut one_by_one = Vec::new();
                for meter in &live {
                    match daily_charges_for(session, plan, period, MeterSelection::One(meter)).await
                    {
                        Ok(mut priced) => one_by_one.append(&mut priced),
                        Err(err) => {
                            failed.insert(meter.clone(), err.to_string());
                        }
                    }
                }
                one_by_one
            }
        };
        let complete = period.end <= now;
        for MeterDailyCharges {
            meter_id,
            charges: daily,
            ..
        } in priced
        {
            if let Some(account) = charges.get_mut(&meter_id) {
                account.keys.extend(keys_of(&daily, complete));
            }
        }
        if complete {
            // Every meter still priced has this month closed (a meter without readings has nothing to
            // true up); the watermark moves past it.
            for (meter, account) in charges.iter_mut() {
                if !failed.contains_key(meter) {
                    account.closed_through = Some(period.end);
                }
            }
        }
    }
    let charges = charges
        .into_iter()
        .filter(|(meter, _)| !failed.contains_key(meter))
        .collect();
    (charges, failed.into_iter().collect())
}

/// The charge keys of one priced period: one per day, and the true-up once the period is complete.
fn keys_of(charges: &DailyCharges, complete: bool) -> Vec<(ChargeKey, Decimal)> {
    let mut keys: Vec<(ChargeKey, Decimal)> = charges
        .days
        .iter()
        .map(|d| (ChargeKey::Day(d.date), d.charge))
        .collect();
    if complete {
        if let Some(first) = charges.days.first() {
            keys.push((ChargeKey::TrueUp(first.date), charges.true_up));
        }
    }
    keys
}

/// The calendar months of `zone` from `from` to `to`, as billing periods clipped to `from`.
pub fn months_between(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    zone: Tz,
) -> Result<Vec<BillingPeriod>, ControlError> {
    let mut periods = Vec::new();
    if to <= from {
        return Ok(periods);
    }
    let first = from.with_timezone(&zone).date_naive();
    let mut month = MonthPeriod {
        first_day: first.with_day(1).unwrap_or(first),
    };
    loop {
        let (start, end) = month.bounds(zone)?;
        if start >= to {
            break;
        }
        periods.push(BillingPeriod {
            start: start.max(from),
            end,
        });
        let Some(next) = month.first_day.checked_add_months(chrono::Months::new(1)) else {
            break;
        };
        month = MonthPeriod { first_day: next };
    }
    Ok(periods)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_cut_at_local_month_starts_and_clipped_to_the_watermark() {
        let zone = chrono_tz::Asia::Shanghai;
        let from = "2026-10-15T04:00:00Z".parse().unwrap();
        let to = "2026-12-02T00:00:00Z".parse().unwrap();
        let periods = months_between(from, to, zone).unwrap();
        assert_eq!(periods.len(), 3);
        assert_eq!(periods[0].start, from);
        assert_eq!(
            periods[0].end,
            "2026-10-31T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            periods[2].start,
            "2026-11-30T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(months_between(to, from, zone).unwrap().is_empty());
    }
}
