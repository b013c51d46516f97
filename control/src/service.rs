//! The control service: billing passes that charge accounts, payments, and the relay commands they imply.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use analytics::billing::daily_run::{charge_keys, daily_charges_for};
use analytics::billing::period_run::MonthPeriod;
use analytics::billing::MeterSelection;
use analytics::tariff::BillingPeriod;
use analytics::{LakeSession, TariffPlan};
use chrono::{DateTime, Datelike, Utc};
use ingest::clock::Clock;
use ingest::command::{AckMessage, CommandMessage};
use ingest::kafka::{KafkaSettings, Topics};
use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::producer::FutureProducer;
use rdkafka::Message;
use rust_decimal::Decimal;
use sqlx::SqlitePool;

use crate::ledger::{self, Account, Payment};
use crate::policy::{decide, RelayTrack};
use crate::{commands, money, ControlError};

/// What one billing pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct PassReport {
    /// The lake version billed.
    pub lake_version: Option<i64>,
    /// Accounts charged (their cost changed).
    pub charged: usize,
    /// Commands issued.
    pub commands: Vec<CommandMessage>,
}

/// The control service.
#[derive(Clone)]
pub struct ControlService {
    pool: SqlitePool,
    producer: FutureProducer,
    topics: Topics,
    clock: Arc<dyn Clock>,
    plans: Arc<BTreeMap<String, TariffPlan>>,
}

impl ControlService {
    /// A service over the accounts database, sending commands with `producer`.
    pub fn new(
        pool: SqlitePool,
        producer: FutureProducer,
        topics: Topics,
        clock: Arc<dyn Clock>,
        plans: Vec<TariffPlan>,
    ) -> Self {
        Self {
            pool,
            producer,
            topics,
            clock,
            plans: Arc::new(plans.into_iter().map(|p| (p.name.clone(), p)).collect()),
        }
    }

    /// The accounts database.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Opens an account (no-op if it exists). The plan must be one the service knows.
    pub async fn open_account(
        &self,
        meter_id: &str,
        collector_id: &str,
        plan: &str,
        opening_balance: Decimal,
    ) -> Result<(), ControlError> {
        if !self.plans.contains_key(plan) {
            return Err(ControlError::BadRequest(format!(
                "unknown tariff plan {plan:?}"
            )));
        }
        ledger::open_account(
            &self.pool,
            meter_id,
            collector_id,
            plan,
            self.clock.now(),
            opening_balance,
        )
        .await
    }

    /// Credits a payment given as text (validated), then sends close-allowed if the balance allows it.
    pub async fn pay(
        &self,
        meter_id: &str,
        amount: &str,
        reference: &str,
    ) -> Result<(Payment, Option<CommandMessage>), ControlError> {
        let amount = money::parse_payment(amount)?;
        if reference.trim().is_empty() {
            return Err(ControlError::BadRequest(
                "payment reference must not be empty".into(),
            ));
        }
        let payment =
            ledger::pay(&self.pool, meter_id, amount, reference, self.clock.now()).await?;
        let account = ledger::account(&self.pool, meter_id).await?;
        let command = self.enforce(&account, "payment").await?;
        Ok((payment, command))
    }

    /// Issues the command the account's balance requires, if any.
    async fn enforce(
        &self,
        account: &Account,
        why: &str,
    ) -> Result<Option<CommandMessage>, ControlError> {
        let relay = RelayTrack::parse(&account.relay)
            .ok_or_else(|| ControlError::Corrupt(format!("relay state {:?}", account.relay)))?;
        let Some(action) = decide(account.balance, relay) else {
            return Ok(None);
        };
        let reason = format!("{why}: balance {}", account.balance);
        let command = commands::issue(
            &self.pool,
            &self.producer,
            &self.topics.commands,
            account,
            action,
            reason,
            self.clock.now(),
        )
        .await?;
        Ok(Some(command))
    }

    /// Charges every account its daily charges from its opening to now at the session's lake version,
    /// and issues the relay commands balances require.
    ///
    /// Each calendar month since the opening is priced day by day with the ladder carried
    /// ([`analytics::billing::daily_run`]); each (meter, day) charge replaces what was charged for that
    /// day before, and once a month is over its true-up makes the month's charges equal its bill.
    pub async fn billing_pass(&self, session: &LakeSession) -> Result<PassReport, ControlError> {
        let mut report = PassReport {
            lake_version: session.lake_version(),
            ..PassReport::default()
        };
        let Some(version) = session.lake_version() else {
            return Ok(report);
        };
        let now = self.clock.now();
        // A close-allowed relay closes when the customer presses the button; the meter reports it.
        let relay_open = analytics::relay_state::latest_relay_open(session).await?;
        for account in ledger::accounts(&self.pool).await? {
            if account.relay == RelayTrack::CloseAllowed.as_str()
                && relay_open.get(&account.meter_id) == Some(&false)
            {
                ledger::set_relay(&self.pool, &account.meter_id, RelayTrack::Closed).await?;
            }
        }
        let accounts = ledger::accounts(&self.pool).await?;
        let mut groups: BTreeMap<(String, DateTime<Utc>), Vec<Account>> = BTreeMap::new();
        for account in accounts {
            groups
                .entry((account.plan.clone(), account.opened_at))
                .or_default()
                .push(account);
        }
        for ((plan_name, opened_at), accounts) in groups {
            let plan = self.plans.get(&plan_name).ok_or_else(|| {
                ControlError::Corrupt(format!("account plan {plan_name:?} unknown"))
            })?;
            let meters: Vec<String> = accounts.iter().map(|a| a.meter_id.clone()).collect();
            let mut keys: BTreeMap<String, Vec<(String, Decimal)>> = BTreeMap::new();
            for period in months_between(opened_at, now, session.zone())? {
                let selection = MeterSelection::Many(&meters);
                for meter in daily_charges_for(session, plan, period, selection).await? {
                    keys.entry(meter.meter_id).or_default().extend(charge_keys(
                        &meter.charges,
                        now,
                        period.end,
                    ));
                }
            }
            for account in accounts {
                let charges = keys.remove(&account.meter_id).unwrap_or_default();
                if ledger::apply_day_charges(&self.pool, &account.meter_id, &charges, version, now)
                    .await?
                {
                    report.charged += 1;
                }
                let account = ledger::account(&self.pool, &account.meter_id).await?;
                if let Some(command) = self.enforce(&account, "billing").await? {
                    report.commands.push(command);
                }
            }
        }
        Ok(report)
    }

    /// Consumes acknowledgements and applies them, until `shutdown` turns true.
    pub async fn run_acks(
        &self,
        settings: &KafkaSettings,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), ControlError> {
        let consumer = ingest::kafka::consumer(settings, "meterlake-control")?;
        consumer.subscribe(&[&self.topics.acks])?;
        loop {
            let message = tokio::select! {
                _ = shutdown.changed() => return Ok(()),
                m = tokio::time::timeout(Duration::from_millis(500), consumer.recv()) => m,
            };
            let Ok(message) = message else { continue };
            let message = match message {
                Ok(m) => m,
                Err(err) => {
                    tracing::warn!(%err, "ack consumer error");
                    continue;
                }
            };
            match serde_json::from_slice::<AckMessage>(message.payload().unwrap_or_default()) {
                Ok(ack) => commands::acknowledge(&self.pool, &ack).await?,
                Err(err) => {
                    tracing::error!(%err, offset = message.offset(), "undecodable acknowledgement skipped")
                }
            }
            consumer.commit_message(&message, CommitMode::Async)?;
        }
    }
}

/// The calendar months of `zone` from `from` to `to`, as billing periods clipped to `from`.
fn months_between(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    zone: chrono_tz::Tz,
) -> Result<Vec<BillingPeriod>, ControlError> {
    let mut periods = Vec::new();
    let first = from.with_timezone(&zone).date_naive();
    let mut month = MonthPeriod {
        first_day: first.with_day(1).unwrap_or(first),
    };
    if to <= from {
        return Ok(periods);
    }
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
