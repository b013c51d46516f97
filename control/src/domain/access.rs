//! Who may do what: the roles a user holds and the rights each role grants. Pure rules; the HTTP layer
//! looks a route's right up and asks here.

use std::fmt;
use std::str::FromStr;

/// A user's role. Each user holds exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Users and settings.
    Admin,
    /// Remote control and keep-power.
    Operator,
    /// Payments, and refunds up to the cashier limit.
    Cashier,
    /// SQL, reports and read-only views.
    Analyst,
    /// Alarms and meter health.
    Maintenance,
    /// The audit trail.
    Auditor,
    /// A customer: only their own meters and account.
    Customer,
}

/// Every role, in a fixed order.
pub const ROLES: [Role; 7] = [
    Role::Admin,
    Role::Operator,
    Role::Cashier,
    Role::Analyst,
    Role::Maintenance,
    Role::Auditor,
    Role::Customer,
];

/// Something a route or command needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Right {
    /// Service health (`/healthz`).
    Health,
    /// Prometheus metrics.
    Metrics,
    /// The API description and one's own identity.
    Docs,
    /// Fleet-wide counts.
    Summary,
    /// Listing every account.
    ListAccounts,
    /// Reading one account, its ledger, commands and notices (a customer: only their own).
    ReadAccount,
    /// Opening an account.
    OpenAccount,
    /// Changing an account's prepaid terms or plan.
    SetTerms,
    /// Taking a payment.
    Pay,
    /// Refunding (a cashier up to the limit).
    Refund,
    /// Correcting a ledger entry.
    Correct,
    /// Reading relay commands fleet-wide.
    ReadCommands,
    /// Sending and cancelling relay commands.
    RemoteControl,
    /// Granting and revoking keep-power.
    KeepPower,
    /// Reading alarms.
    ReadAlarms,
    /// Acknowledging and clearing alarms.
    HandleAlarms,
    /// Correcting interval values (VEE edits).
    EditIntervals,
    /// Reading and exporting the audit trail.
    ReadAudit,
    /// Managing users, roles and tokens.
    ManageUsers,
    /// SQL over the lake (the PostgreSQL endpoint) and reports.
    Sql,
    /// On-demand reads and diagnostics on a collector's buses.
    ReadMeters,
    /// A customer's own self-service: paying online, notification preferences, feedback tickets.
    SelfService,
    /// Answering customers' feedback tickets.
    HandleTickets,
    /// A day's takings: payments and refunds per cashier and channel (the day close).
    ReadTakings,
}

impl Role {
    /// Whether the role grants `right`. A customer's rights are further limited to their own meters.
    pub fn allows(self, right: Right) -> bool {
        use Right as R;
        match self {
            Self::Admin => matches!(
                right,
                R::Health
                    | R::Metrics
                    | R::Docs
                    | R::Summary
                    | R::ListAccounts
                    | R::ReadAccount
                    | R::OpenAccount
                    | R::SetTerms
                    | R::Correct
                    | R::ReadCommands
                    | R::ReadAlarms
                    | R::ManageUsers
                    | R::ReadTakings
            ),
            Self::Operator => matches!(
                right,
                R::Health
                    | R::Docs
                    | R::Summary
                    | R::ListAccounts
                    | R::ReadAccount
                    | R::ReadCommands
                    | R::RemoteControl
                    | R::KeepPower
                    | R::ReadAlarms
                    | R::HandleAlarms
                    | R::EditIntervals
                    | R::ReadMeters
                    | R::HandleTickets
            ),
            Self::Cashier => matches!(
                right,
                R::Docs
                    | R::ListAccounts
                    | R::ReadAccount
                    | R::OpenAccount
                    | R::Pay
                    | R::Refund
                    | R::HandleTickets
                    | R::ReadTakings
            ),
            Self::Analyst => matches!(
                right,
                R::Docs | R::Summary | R::ListAccounts | R::ReadAccount | R::Sql
            ),
            Self::Maintenance => matches!(
                right,
                R::Health
                    | R::Metrics
                    | R::Docs
                    | R::Summary
                    | R::ReadAccount
                    | R::ReadCommands
                    | R::ReadAlarms
                    | R::HandleAlarms
                    | R::EditIntervals
                    | R::ReadMeters
            ),
            Self::Auditor => matches!(right, R::Docs | R::Summary | R::ReadAudit | R::ReadTakings),
            Self::Customer => matches!(right, R::Docs | R::ReadAccount | R::SelfService),
        }
    }

    /// The role's name as stored and typed.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Cashier => "cashier",
            Self::Analyst => "analyst",
            Self::Maintenance => "maintenance",
            Self::Auditor => "auditor",
            Self::Customer => "customer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that is not one of [`ROLES`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?} (roles: admin, operator, cashier, analyst, maintenance, auditor, customer)"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        ROLES
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| UnknownRole(text.to_string()))
    }
}

impl<'de> serde::Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Consecutive failed logins a user may have before logins are refused for a while.
pub const FREE_FAILURES: u32 = 5;

/// How long logins are refused after `failures` consecutive failures: nothing up to
/// [`FREE_FAILURES`], then 30 s doubling with each further failure, at most 15 minutes.
pub fn lockout_seconds(failures: u32) -> i64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES).min(5);
    (30_i64 << doublings).min(15 * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_unknown_ones_are_named() {
        for role in ROLES {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root"
            .parse::<Role>()
            .unwrap_err()
            .to_string()
            .contains("root"));
    }

    #[test]
    fn each_right_belongs_to_the_roles_that_need_it() {
        assert!(Role::Cashier.allows(Right::Pay));
        assert!(!Role::Cashier.allows(Right::RemoteControl));
        assert!(Role::Operator.allows(Right::KeepPower));
        assert!(!Role::Operator.allows(Right::Pay));
        assert!(!Role::Analyst.allows(Right::Pay));
        assert!(Role::Analyst.allows(Right::Sql));
        assert!(Role::Auditor.allows(Right::ReadAudit));
        assert!(!Role::Admin.allows(Right::ReadAudit));
        assert!(!Role::Customer.allows(Right::ListAccounts));
        assert!(Role::Customer.allows(Right::ReadAccount));
        assert!(Role::Admin.allows(Right::ManageUsers));
        assert!(ROLES
            .iter()
            .filter(|r| **r != Role::Admin)
            .all(|r| !r.allows(Right::ManageUsers)));
    }

    #[test]
    fn lockout_starts_after_the_free_failures_and_is_capped() {
        assert_eq!(lockout_seconds(0), 0);
        assert_eq!(lockout_seconds(FREE_FAILURES - 1), 0);
        assert_eq!(lockout_seconds(FREE_FAILURES), 30);
        assert_eq!(lockout_seconds(FREE_FAILURES + 1), 60);
        assert_eq!(lockout_seconds(u32::MAX), 900);
    }
}
