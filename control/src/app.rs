//! Use cases: each opens one transaction, applies the domain rules, and writes the resulting state,
//! ledger entries, commands, outbox rows, notices and alarms together.

pub mod accounts;
pub mod acks;
pub mod alarms;
pub mod audit;
pub mod bill_issue;
pub mod billing;
pub mod customers;
pub mod enforce;
pub mod exemptions;
pub mod interval_edits;
pub mod lake_export;
pub mod lifecycle;
pub mod logins;
pub mod meter_events;
pub mod notifications;
pub mod online_payments;
pub mod payments;
pub mod reconcile;
pub mod registration;
pub mod remote;
pub mod search;
pub mod sweep;
pub mod takings;
pub mod tickets;
pub mod usage;
pub mod users;

use std::collections::BTreeMap;
use std::sync::Arc;

use analytics::TariffPlan;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use ingest::clock::Clock;
use ingest::kafka::Topics;
use ingest::keyring::KeyRing;
use tokio::sync::Notify;

use crate::domain::calendar::TripCalendar;
use crate::domain::terms::PrepaidTerms;
use crate::store::accounts::Account;
use crate::store::Db;

/// How commands are timed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTiming {
    /// How long a command stays executable after it may first be sent.
    pub validity: Duration,
    /// Sends allowed before a refusing or silent meter's command fails.
    pub max_attempts: u32,
    /// Wait before the first retry (doubling after each).
    pub retry_backoff: Duration,
    /// The pre-trip warning goes out this long before the trip.
    pub warning_lead: Duration,
}

/// The rules the use cases apply, resolved from configuration.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Terms of accounts whose plan has none of its own.
    pub default_terms: PrepaidTerms,
    /// Terms per plan.
    pub plan_terms: BTreeMap<String, PrepaidTerms>,
    /// When trips may be sent.
    pub calendar: TripCalendar,
    /// The utility's zone (calendar, billing months).
    pub zone: Tz,
    /// Command timing.
    pub timing: CommandTiming,
    /// Tariff plans accounts may be on.
    pub plans: BTreeMap<String, TariffPlan>,
    /// The plan of accounts opened without one.
    pub default_plan: String,
    /// Kafka topics.
    pub topics: Topics,
    /// The most a cashier may refund in one request.
    pub cashier_refund_limit: rust_decimal::Decimal,
    /// Whether alarms are e-mailed to the maintenance staff (`notify.staff_email` is set).
    pub notify_staff: bool,
    /// Alarms raised within one such window go to the staff as one e-mail (zero: one each).
    pub staff_digest: chrono::Duration,
    /// When the previous month's bills are issued.
    pub bill_issue: crate::domain::bill_issue::IssueSchedule,
}

/// The service's keys: the audit trail's MAC keys, the relay-command signing keys and the keys sealing
/// customers' personal data.
#[derive(Debug, Clone)]
pub struct ServiceKeys {
    /// Audit trail MACs.
    pub audit: KeyRing,
    /// Relay command signatures.
    pub commands: KeyRing,
    /// Customers' personal data.
    pub pii: crate::pii::PiiKeys,
}

impl Rules {
    /// An account's terms: its plan's, with its own overrides.
    pub fn terms_of(&self, account: &Account) -> PrepaidTerms {
        let base = self
            .plan_terms
            .get(&account.plan)
            .copied()
            .unwrap_or(self.default_terms);
        account.overrides.apply(base)
    }
}

/// The control service's use cases over its database.
#[derive(Clone)]
pub struct Control {
    db: Db,
    rules: Arc<Rules>,
    keys: Arc<ServiceKeys>,
    clock: Arc<dyn Clock>,
    outbox_ready: Arc<Notify>,
    /// Refusals recorded per user and minute ([`crate::domain::denials`]).
    denials: Arc<std::sync::Mutex<crate::domain::denials::DenialWindows>>,
}

impl Control {
    /// Use cases over `db` under `rules` with `keys`, reading time from `clock`.
    pub fn new(db: Db, rules: Rules, keys: ServiceKeys, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            rules: Arc::new(rules),
            keys: Arc::new(keys),
            clock,
            outbox_ready: Arc::new(Notify::new()),
            denials: Arc::default(),
        }
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The rules.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Notified whenever a use case writes to the outbox (wakes the relay worker).
    pub fn outbox_ready(&self) -> Arc<Notify> {
        self.outbox_ready.clone()
    }

    /// The outbox's state for health: messages waiting, and since when (and why) Kafka has been
    /// refusing the oldest of them or leaving it unacknowledged for more than 3 s (`None` while Kafka
    /// takes them).
    pub async fn outbox_health(&self) -> Result<OutboxHealth, crate::ControlError> {
        let mut conn = self.db.conn().await?;
        let waiting = crate::store::outbox::count(&mut conn).await?;
        let overdue_before = self.clock.now() - Duration::seconds(3);
        let refused = crate::store::outbox::oldest_refused(&mut conn, overdue_before).await?;
        metrics::gauge!("meterlake_control_outbox_failing").set(if refused.is_some() {
            1.0
        } else {
            0.0
        });
        Ok(OutboxHealth {
            waiting,
            refused_since: refused.as_ref().map(|(since, _)| *since),
            last_error: refused.and_then(|(_, error)| error),
        })
    }

    /// Whether the database takes writes: commits a heartbeat (`service_state.health_probe`), and no
    /// write was refused for a full disk in the last [`REFUSAL_SHOWN_S`] seconds. A full disk under
    /// it, a read-only file or a lost server show here while reads may still work.
    pub async fn database_write_health(&self) -> Result<(), crate::ControlError> {
        let mut conn = self.db.conn().await?;
        let written = crate::store::records::set_state_value(
            &mut conn,
            "health_probe",
            &self.clock.now().to_rfc3339(),
        )
        .await;
        let refusing = written.is_err()
            || crate::error::recent_full_disk_refusal(Duration::seconds(REFUSAL_SHOWN_S));
        metrics::gauge!("meterlake_control_database_failing").set(if refusing { 1.0 } else { 0.0 });
        match written {
            Ok(()) if refusing => Err(crate::ControlError::Unwritable(format!(
                "a write was refused for a full disk within the last {REFUSAL_SHOWN_S} s"
            ))),
            other => other,
        }
    }

    fn wake_outbox(&self) {
        self.outbox_ready.notify_one();
    }
}

/// How long a write refused for a full disk keeps `/healthz` degraded.
pub const REFUSAL_SHOWN_S: i64 = 10;

/// The outbox as `/healthz` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxHealth {
    /// Messages (relay commands) waiting to be produced.
    pub waiting: i64,
    /// Created-at of the oldest message Kafka has refused at least once (while it waits).
    pub refused_since: Option<DateTime<Utc>>,
    /// That message's last error.
    pub last_error: Option<String>,
}
