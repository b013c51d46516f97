//! The demo's month-end section: the simulated month's bills issued as the control service's billing
//! scheduler issues the previous month's on `control.bill_issue_day` — priced from the lake line by
//! line, stored in the lake's `bills` table and each customer told.

use analytics::billing::period_run::MonthPeriod;
use chrono::{DateTime, Datelike, Utc};
use control::app::audit::Actor;
use control::app::bill_issue::IssueOutcome;
use meterlake::Pipeline;

/// Issues the bills of the month holding `start` (early: the demo's month is one simulated day) and
/// prints the issue and one bill.
pub async fn month_end(p: &Pipeline, start: DateTime<Utc>) -> anyhow::Result<()> {
    let local = start.with_timezone(&p.zone).date_naive();
    let first_day = local
        .with_day(1)
        .ok_or_else(|| anyhow::anyhow!("no first day of {local}'s month"))?;
    let period = MonthPeriod { first_day };
    let session = p.session().await?;
    let outcome = p
        .control
        .issue_bills_early(&session, period, &Actor::cli())
        .await?;
    let issue = outcome.issue();
    println!(
        "\nmonth-end bills {} (月度电费账单; the service issues each month's on control.bill_issue_day): \
         {} bills, {} yuan in all, {} customers told{}",
        issue.period,
        issue.bills,
        issue.total,
        issue.noticed,
        match outcome {
            IssueOutcome::Issued(_) => "",
            IssueOutcome::AlreadyIssued(_) => " (issued before)",
        }
    );
    let Some(meter) = p
        .control
        .accounts("", 1)
        .await?
        .first()
        .map(|a| a.meter_id.clone())
    else {
        return Ok(());
    };
    let session = p.session().await?;
    for bill in analytics::report::meter_bills::meter_bills(&session, &meter, 1).await? {
        println!(
            "  {meter}: {} kWh, {} yuan on {} (/my/{meter}, /accounts/{meter})",
            bill.billed_kwh.round_dp(3),
            bill.total,
            bill.plan
        );
        for line in &bill.lines {
            println!(
                "    tier {} {:<8} {:>10} kWh × {} = {}",
                line.tier,
                line.class,
                line.kwh.round_dp(3),
                line.price,
                line.amount.round_dp(4)
            );
        }
    }
    Ok(())
}
