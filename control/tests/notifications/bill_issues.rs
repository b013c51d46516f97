//! A month's bill issue on SQLite and PostgreSQL: every billed account's customer told once, meters
//! without an account billed but not told, the sum exact, a second issue of the month — one after the
//! other or two at once — telling nobody again, and the issue in the audit trail.

use control::app::bill_issue::IssueOutcome;
use control::domain::bill_issue::IssuedBill;
use rust_decimal::Decimal;

use super::*;

const B: &str = "000000000102";
const NO_ACCOUNT: &str = "000000000199";

fn bill(meter: &str, kwh: Decimal, total: Decimal) -> IssuedBill {
    IssuedBill {
        meter_id: meter.into(),
        kwh,
        total,
    }
}

async fn bill_notices(rig: &Rig, meter: &str) -> Vec<control::store::records::Notice> {
    rig.control
        .notices(meter)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == "bill_issued")
        .collect()
}

pub(super) async fn a_month_is_issued_and_its_customers_told_once(backend: Backend) {
    let rig = rig_with(backend, wednesday_morning(), |_| {}).await;
    let c = &rig.control;
    rig.open(A, dec!(50.00)).await;
    rig.open(B, dec!(10.00)).await;
    let prefs = Prefs {
        lang: Language::En,
        app_push: true,
        email: Some("b@example.com".into()),
    };
    c.set_notification_prefs(B, &prefs, &actor()).await.unwrap();
    let bills = [
        bill(A, dec!(123.456), dec!(61.73)),
        bill(B, dec!(10.000), dec!(4.88)),
        bill(NO_ACCOUNT, dec!(7.000), dec!(3.42)),
    ];
    let outcome = c
        .record_bill_issue("2026-09", Some(42), &bills, &actor())
        .await
        .unwrap();
    let IssueOutcome::Issued(issue) = outcome.clone() else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        (issue.bills, issue.noticed, issue.total, issue.lake_version),
        (3, 2, dec!(70.03), Some(42)),
        "{issue:?}"
    );
    let told = bill_notices(&rig, A).await;
    assert_eq!(told.len(), 1);
    assert!(
        told[0]
            .body
            .contains("2026-09 用电 123.46 千瓦时，电费 61.73 元")
            && told[0].body.contains("余额 50.00 元"),
        "{}",
        told[0].body
    );
    assert!(bill_notices(&rig, NO_ACCOUNT).await.is_empty());
    // B chose English, the app and e-mail: two deliveries of the bill notice.
    let to_b: Vec<_> = c
        .deliveries_of(B, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.kind == control::domain::notice::NoticeKind::BillIssued)
        .collect();
    let mut channels: Vec<_> = to_b.iter().map(|d| d.channel).collect();
    channels.sort_by_key(|ch| ch.as_str());
    assert_eq!(channels, [Channel::Email, Channel::Webhook]);
    assert!(to_b.iter().all(|d| d.lang == Language::En));

    // Again, later: nothing written, nobody told twice, the first issue answered.
    rig.clock.advance(Duration::hours(1));
    let again = c
        .record_bill_issue("2026-09", Some(43), &bills, &actor())
        .await
        .unwrap();
    assert_eq!(again, IssueOutcome::AlreadyIssued(issue.clone()));
    assert_eq!(bill_notices(&rig, A).await.len(), 1);
    assert_eq!(c.bill_issues(10).await.unwrap(), vec![issue.clone()]);
    assert_eq!(c.bill_issue("2026-08").await.unwrap(), None);

    // Two services issuing one month at once: one issues, the other finds it issued.
    let october = vec![bill(A, dec!(1), dec!(0.49)), bill(B, dec!(2), dec!(0.98))];
    let issuing = [c.clone(), c.clone()].map(|service| {
        let bills = october.clone();
        tokio::spawn(async move {
            service
                .record_bill_issue("2026-10", Some(50), &bills, &actor())
                .await
        })
    });
    let [left, right] = issuing;
    let outcomes = [left.await.unwrap().unwrap(), right.await.unwrap().unwrap()];
    let issued = outcomes
        .iter()
        .filter(|o| matches!(o, IssueOutcome::Issued(_)))
        .count();
    assert_eq!(issued, 1, "{outcomes:?}");
    assert_eq!(outcomes[0].issue(), outcomes[1].issue());
    assert_eq!(
        bill_notices(&rig, A).await.len(),
        2,
        "September's and October's"
    );
    assert_eq!(bill_notices(&rig, B).await.len(), 2);

    // Each issue is in the audit trail, whose chain holds.
    let mut audited = Vec::new();
    c.export_audit(
        wednesday_morning(),
        wednesday_morning() + Duration::days(1),
        |r| {
            if r.entry.action == control::domain::audit::AuditAction::BillsIssued {
                audited.push(r.entry.object.clone());
            }
            Ok(())
        },
    )
    .await
    .unwrap();
    assert_eq!(audited, ["bills:2026-09", "bills:2026-10"]);
    assert!(c.verify_audit().await.unwrap().broken.is_none());
}
