//! The control service's configuration section (`[control]` in `meterlake.toml`).

use std::collections::BTreeMap;

use crate::domain::calendar::{Holidays, TripCalendar};
use crate::domain::terms::PrepaidTerms;
use crate::store::redact;
use crate::ControlError;

/// `[control]`: every key has a default.
#[derive(Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Accounts database: `sqlite://path` (embedded default) or `postgres://user:password@host/db`.
    pub database: String,
    /// Connections to PostgreSQL (SQLite always uses one).
    pub max_connections: u32,
    /// HTTP listen address of the API, `/healthz`, `/metrics` and `/api/openapi.json`.
    pub listen: String,
    /// Tariff plan of accounts opened without one.
    pub plan: String,
    /// Prepaid terms of accounts whose plan has none in `plan_terms`.
    pub terms: PrepaidTerms,
    /// Prepaid terms per tariff plan.
    pub plan_terms: BTreeMap<String, PrepaidTerms>,
    /// Local hours in which trips may be sent, `HH:MM-HH:MM` (`00:00-24:00`: any time).
    pub trip_hours: String,
    /// Whether trips may be sent on Saturdays and Sundays (not listed as work days).
    pub trip_on_weekends: bool,
    /// Holiday file (`YYYY-MM-DD off|work [name]` per line); empty: none.
    pub holidays_file: String,
    /// The pre-trip warning (alarm command 2A and a notice) goes out this long before a trip, seconds.
    pub warning_lead_s: u64,
    /// A command may be executed this long after it may first be sent, seconds.
    pub command_validity_s: u64,
    /// Sends of one command before a refusing or silent meter's command fails with an alarm.
    pub max_attempts: u32,
    /// Wait before the first retry, seconds (doubling).
    pub retry_backoff_s: u64,
    /// Billing pass period, seconds (0: only on request, e.g. the demo drives them).
    pub billing_every_s: u64,
    /// Export period of alarms and meter events to the lake (today and yesterday), seconds (0: never;
    /// `meterlake alarms export` does it by hand).
    pub lake_export_every_s: u64,
    /// Day of the month (1–28) from which the billing scheduler issues the previous month's bills
    /// (stored in the lake's `bills` table, each customer told), at `bill_issue_hour`.
    pub bill_issue_day: u32,
    /// Local hour (0–23) of `bill_issue_day` from which the month's bills are issued.
    pub bill_issue_hour: u32,
    /// Sweep period (deadlines, scheduled commands), milliseconds.
    pub sweep_every_ms: u64,
    /// The most a cashier may refund in one request, yuan (above it: refused, audited, alarmed).
    pub cashier_refund_limit: rust_decimal::Decimal,
    /// Directory of the audit trail's HMAC keys (`<id>.key`; generated on first start if empty). Keep
    /// it off the database host and back it up: without it the trail cannot be verified.
    pub audit_keys_dir: String,
    /// Directory of the relay-command signing keys (`<id>.key`, generated on first start if empty);
    /// every collector needs a copy (`[collector] command_keys_dir`).
    pub command_keys_dir: String,
    /// Directory of the keys sealing customers' personal data (empty: `pii` beside `audit_keys_dir`).
    /// `meterlake keys rotate` adds a key here and re-seals every customer under it.
    pub pii_keys_dir: String,
    /// `[control.notify]`: where notifications go.
    pub notify: crate::notify::NotifyConfig,
    /// The secret the (simulated) payment provider signs its callbacks with (empty: a random one per
    /// start; set it when the provider runs elsewhere).
    pub payment_secret: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database", &redact(&self.database))
            .field("max_connections", &self.max_connections)
            .field("listen", &self.listen)
            .field("plan", &self.plan)
            .field("terms", &self.terms)
            .field("plan_terms", &self.plan_terms)
            .field("trip_hours", &self.trip_hours)
            .field("trip_on_weekends", &self.trip_on_weekends)
            .field("holidays_file", &self.holidays_file)
            .field("warning_lead_s", &self.warning_lead_s)
            .field("command_validity_s", &self.command_validity_s)
            .field("max_attempts", &self.max_attempts)
            .field("retry_backoff_s", &self.retry_backoff_s)
            .field("billing_every_s", &self.billing_every_s)
            .field("lake_export_every_s", &self.lake_export_every_s)
            .field("bill_issue_day", &self.bill_issue_day)
            .field("bill_issue_hour", &self.bill_issue_hour)
            .field("sweep_every_ms", &self.sweep_every_ms)
            .field("cashier_refund_limit", &self.cashier_refund_limit)
            .field("notify", &self.notify)
            .field(
                "payment_secret",
                &if self.payment_secret.is_empty() {
                    ""
                } else {
                    "<redacted>"
                },
            )
            .field("audit_keys_dir", &self.audit_keys_dir)
            .field("command_keys_dir", &self.command_keys_dir)
            .field("pii_keys_dir", &self.pii_keys_dir)
            .finish()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database: "sqlite://meterlake-data/control.db".into(),
            max_connections: 16,
            listen: "127.0.0.1:8645".into(),
            plan: "shanghai-tou-tier1".into(),
            terms: PrepaidTerms::default(),
            plan_terms: BTreeMap::new(),
            trip_hours: "08:00-17:00".into(),
            trip_on_weekends: false,
            holidays_file: String::new(),
            warning_lead_s: 2 * 3600,
            command_validity_s: 3600,
            max_attempts: 3,
            retry_backoff_s: 60,
            billing_every_s: 900,
            lake_export_every_s: 900,
            bill_issue_day: 1,
            bill_issue_hour: 6,
            sweep_every_ms: 1000,
            cashier_refund_limit: rust_decimal::Decimal::new(50_000, 2),
            audit_keys_dir: "meterlake-data/keys/audit".into(),
            command_keys_dir: "meterlake-data/keys/commands".into(),
            pii_keys_dir: String::new(),
            notify: crate::notify::NotifyConfig::default(),
            payment_secret: String::new(),
        }
    }
}

impl Config {
    /// The trip calendar: trip hours, weekends and the holiday file.
    pub fn calendar(&self) -> Result<TripCalendar, ControlError> {
        let holidays = if self.holidays_file.trim().is_empty() {
            Holidays::default()
        } else {
            let text = std::fs::read_to_string(&self.holidays_file).map_err(|e| {
                ControlError::Invalid(format!(
                    "control.holidays_file {:?}: {e}",
                    self.holidays_file
                ))
            })?;
            Holidays::parse(&text)?
        };
        Ok(TripCalendar::new(
            &self.trip_hours,
            self.trip_on_weekends,
            holidays,
        )?)
    }

    /// Checks every value a person could get wrong, naming the key.
    pub fn validate(&self) -> Result<(), ControlError> {
        self.terms.validate()?;
        self.notify.validate().map_err(ControlError::Invalid)?;
        for (plan, terms) in &self.plan_terms {
            terms
                .validate()
                .map_err(|e| ControlError::Invalid(format!("control.plan_terms.{plan}: {e}")))?;
        }
        self.calendar()?;
        if self.cashier_refund_limit < rust_decimal::Decimal::ZERO {
            return Err(ControlError::Invalid(
                "control.cashier_refund_limit must not be negative".into(),
            ));
        }
        if self.command_validity_s == 0 || self.command_validity_s > 7 * 24 * 3600 {
            return Err(ControlError::Invalid(
                "control.command_validity_s must be 1 s to 7 days".into(),
            ));
        }
        if self.max_attempts == 0 || self.max_attempts > 100 {
            return Err(ControlError::Invalid(
                "control.max_attempts must be 1–100".into(),
            ));
        }
        for (key, value, max) in [
            ("warning_lead_s", self.warning_lead_s, 7 * 24 * 3600),
            ("retry_backoff_s", self.retry_backoff_s, 24 * 3600),
            ("billing_every_s", self.billing_every_s, 7 * 24 * 3600),
            (
                "lake_export_every_s",
                self.lake_export_every_s,
                7 * 24 * 3600,
            ),
            ("sweep_every_ms", self.sweep_every_ms, 3_600_000),
        ] {
            if value > max {
                return Err(ControlError::Invalid(format!(
                    "control.{key} must be at most {max}"
                )));
            }
        }
        self.bill_issue()?;
        if self.sweep_every_ms == 0 {
            return Err(ControlError::Invalid(
                "control.sweep_every_ms must be positive".into(),
            ));
        }
        Ok(())
    }
}

impl Config {
    /// When the previous month's bills are issued.
    pub fn bill_issue(&self) -> Result<crate::domain::bill_issue::IssueSchedule, ControlError> {
        crate::domain::bill_issue::IssueSchedule::new(self.bill_issue_day, self.bill_issue_hour)
            .map_err(|e| ControlError::Invalid(format!("control.{e}")))
    }

    /// The PII keys' directory: `pii_keys_dir`, or `pii` beside the audit keys.
    pub fn pii_keys_path(&self) -> std::path::PathBuf {
        if self.pii_keys_dir.trim().is_empty() {
            std::path::Path::new(&self.audit_keys_dir)
                .parent()
                .unwrap_or_else(|| std::path::Path::new("."))
                .join("pii")
        } else {
            std::path::PathBuf::from(&self.pii_keys_dir)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_database_password() {
        let config = Config {
            database: "postgres://meterlake:hunter2@db:5432/control".into(),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("***"));
    }

    #[test]
    fn wrong_values_name_their_key() {
        assert!(Config::default().validate().is_ok());
        let bad = Config {
            trip_hours: "17:00-08:00".into(),
            ..Config::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("17:00-08:00"));
        let bad = Config {
            max_attempts: 0,
            ..Config::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_attempts"));
        let bad = Config {
            holidays_file: "/nonexistent/holidays.txt".into(),
            ..Config::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("holidays_file"));
        let bad = Config {
            bill_issue_day: 31,
            ..Config::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("control.bill_issue_day 31"));
        let bad = Config {
            bill_issue_hour: 24,
            ..Config::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("control.bill_issue_hour 24"));
    }
}
