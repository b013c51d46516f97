//! Issuing a month's bills (月度电费账单发行): every meter's bill for the month priced from the lake with
//! its plan (tier × time of use), stored in the lake's `bills` table, and each customer told — once per
//! month: the issue's row and the customers' notices are one transaction, keyed by the month.
//!
//! Prepaid accounts pay day by day (the billing passes); the bill is the month's statement of what
//! was used and what it cost, line by line.

use analytics::billing::period_run::{bill_period, store_bills, MonthPeriod};
use analytics::LakeSession;
use rust_decimal::Decimal;
use serde_json::json;

use super::audit::Actor;
use super::Control;
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::bill_issue::{month_over, IssuedBill};
use crate::domain::notice::{NoticeFacts, NoticeKind};
use crate::store::accounts;
use crate::store::bill_issues::{self, BillIssue};
use crate::ControlError;

/// Accounts read per statement while telling customers.
const ACCOUNT_BATCH: usize = 500;

/// What asking for a month's issue did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IssueOutcome {
    /// Issued now.
    Issued(BillIssue),
    /// Issued before (by this service, another one or an earlier run): nothing done.
    AlreadyIssued(BillIssue),
}

impl IssueOutcome {
    /// The issue, whichever run made it.
    pub fn issue(&self) -> &BillIssue {
        match self {
            Self::Issued(issue) | Self::AlreadyIssued(issue) => issue,
        }
    }
}

impl Control {
    /// Prices `period` from the lake `session` reads (each meter with its registry plan, else the
    /// default plan), stores the bills in the lake's `bills` table and records the issue, telling
    /// each billed account's customer. A month issued already is left as it is; a month not yet over
    /// is refused.
    pub async fn issue_bills(
        &self,
        session: &LakeSession,
        period: MonthPeriod,
        actor: &Actor,
    ) -> Result<IssueOutcome, ControlError> {
        let (_, end) = period.bounds(self.rules().zone)?;
        if !month_over(end, self.now()) {
            return Err(ControlError::Invalid(format!(
                "{} is not over yet: only a whole month is issued",
                period.name()
            )));
        }
        self.issue_month(session, period, actor).await
    }

    /// [`Self::issue_bills`] for a month not yet over: a demonstration's, whose month is a simulated
    /// day. Its customers are told of the month so far.
    pub async fn issue_bills_early(
        &self,
        session: &LakeSession,
        period: MonthPeriod,
        actor: &Actor,
    ) -> Result<IssueOutcome, ControlError> {
        self.issue_month(session, period, actor).await
    }

    async fn issue_month(
        &self,
        session: &LakeSession,
        period: MonthPeriod,
        actor: &Actor,
    ) -> Result<IssueOutcome, ControlError> {
        let name = period.name();
        if let Some(issue) = self.bill_issue(&name).await? {
            return Ok(IssueOutcome::AlreadyIssued(issue));
        }
        let plan = self.rules().default_plan.clone();
        let bills = bill_period(session, period, &plan, None, &mut |_| {}).await?;
        store_bills(&session.location()?, period, &bills).await?;
        let issued: Vec<IssuedBill> = bills
            .iter()
            .map(|b| IssuedBill {
                meter_id: b.meter_id.clone(),
                kwh: b.priced.billed_kwh,
                total: b.total(),
            })
            .collect();
        self.record_bill_issue(&name, session.lake_version(), &issued, actor)
            .await
    }

    /// The latest month due by the issue schedule at the service's local time, issued if it was not
    /// yet.
    pub async fn issue_due_bills(
        &self,
        session: &LakeSession,
    ) -> Result<Option<IssueOutcome>, ControlError> {
        let local = self.now().with_timezone(&self.rules().zone).naive_local();
        let Some(first_day) = self.rules().bill_issue.due_month(local) else {
            return Ok(None);
        };
        let period = MonthPeriod { first_day };
        self.issue_bills(session, period, &Actor::system())
            .await
            .map(Some)
    }

    /// Records the issue of `period` (`YYYY-MM`) — `bills` priced at `lake_version` — and queues a
    /// notice to the customer of every billed meter that has an account, in one transaction. A period
    /// issued already changes nothing and tells nobody again.
    pub async fn record_bill_issue(
        &self,
        period: &str,
        lake_version: Option<i64>,
        bills: &[IssuedBill],
        actor: &Actor,
    ) -> Result<IssueOutcome, ControlError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        if let Some(issue) = bill_issues::get(&mut tx, period).await? {
            return Ok(IssueOutcome::AlreadyIssued(issue));
        }
        let mut total = Decimal::ZERO;
        let mut noticed = 0_i64;
        for batch in bills.chunks(ACCOUNT_BATCH) {
            let meters: Vec<&str> = batch.iter().map(|b| b.meter_id.as_str()).collect();
            let accounts = accounts::get_many(&mut tx, &meters).await?;
            for bill in batch {
                total = total.checked_add(bill.total).ok_or_else(|| {
                    ControlError::Invalid(format!("the {period} bills' sum overflows"))
                })?;
                let Some(account) = accounts.get(&bill.meter_id) else {
                    continue;
                };
                let facts = NoticeFacts {
                    amount: Some(bill.total),
                    balance: Some(account.balance),
                    period: Some(period.to_string()),
                    kwh: Some(bill.kwh),
                    ..NoticeFacts::about(&bill.meter_id)
                };
                self.notice(&mut tx, NoticeKind::BillIssued, facts, now)
                    .await?;
                noticed += 1;
            }
        }
        let issue = BillIssue {
            period: period.to_string(),
            lake_version,
            bills: i64::try_from(bills.len()).unwrap_or(i64::MAX),
            noticed,
            total,
            issued_at: now,
        };
        if !bill_issues::insert(&mut tx, &issue).await? {
            // Another service issued it since the check: its notices stand, these are dropped.
            tx.rollback().await?;
            return match self.bill_issue(period).await? {
                Some(theirs) => Ok(IssueOutcome::AlreadyIssued(theirs)),
                None => Err(ControlError::Conflict(format!(
                    "the {period} issue was refused but is not recorded"
                ))),
            };
        }
        self.audit(
            &mut tx,
            actor,
            AuditAction::BillsIssued,
            &format!("bills:{period}"),
            None,
            Some(json!({
                "bills": issue.bills,
                "noticed": issue.noticed,
                "total": issue.total.to_string(),
                "lake_version": issue.lake_version,
            })),
            Outcome::Ok,
        )
        .await?;
        tx.commit().await?;
        metrics::counter!("meterlake_control_bills_issued_total").increment(bills.len() as u64);
        tracing::info!(
            period, bills = issue.bills, noticed = issue.noticed, total = %issue.total,
            "month's bills issued"
        );
        Ok(IssueOutcome::Issued(issue))
    }

    /// The issue of `period` (`YYYY-MM`), if it was issued.
    pub async fn bill_issue(&self, period: &str) -> Result<Option<BillIssue>, ControlError> {
        bill_issues::get(&mut *self.db.conn().await?, period).await
    }

    /// The newest months' issues first, at most `limit`.
    pub async fn bill_issues(&self, limit: i64) -> Result<Vec<BillIssue>, ControlError> {
        bill_issues::newest(&mut *self.db.conn().await?, limit.clamp(1, 1000)).await
    }
}
