//! Prepaid accounts end to end through the use cases, on SQLite and on PostgreSQL: the firmware's
//! states and the hoarding limit, payment references, the command lifecycle (acks, retries, expiry,
//! read-back and readings), keep-power and the trip calendar, and concurrent payments.

#[path = "support/harness.rs"]
mod harness;
#[path = "support/postgres.rs"]
mod postgres;

use std::collections::BTreeMap;

use harness::actor;

use analytics::relay_state::RelayReading;
use chrono::Duration;
use control::app::acks::AckEffect;
use control::app::payments::{Adjustment, Direction};
use control::domain::command::CommandState;
use control::domain::prepaid::PrepaidState;
use control::domain::relay::RelayState;
use control::ErrorKind;
use harness::*;
use ingest::command::AckOutcome;
use ingest::dlt645::RelayAction;
use rust_decimal_macros::dec;

const A: &str = "000000001001";
const B: &str = "000000001002";

fn debit(amount: &str, reference: &str, corrects: i64) -> Adjustment {
    Adjustment {
        amount: amount.into(),
        reference: reference.into(),
        authorised_by: "supervisor wang".into(),
        reason: "meter reading corrected".into(),
        corrects_seq: Some(corrects),
        direction: Some(Direction::Debit),
    }
}

async fn prepaid_states_hoarding_and_references(backend: Backend) {
    let rig = rig_with(backend, wednesday_morning(), |c| {
        c.terms.hoarding_limit = dec!(1000);
    })
    .await;
    let c = &rig.control;
    rig.open(A, dec!(30)).await;
    rig.open(B, dec!(30)).await;
    assert_eq!(c.account(A).await.unwrap().state, PrepaidState::NoAlarm);

    // A reference is bound to its meter and amount.
    let first = c.pay(A, "5.00", "wx-1", &actor()).await.unwrap();
    assert!(!first.replay);
    assert_eq!(first.balance, dec!(35));
    let again = c.pay(A, "5.00", "wx-1", &actor()).await.unwrap();
    assert!(again.replay);
    assert_eq!((again.balance, again.seq), (first.balance, first.seq));
    let other_amount = c.pay(A, "6.00", "wx-1", &actor()).await.unwrap_err();
    assert_eq!(other_amount.kind(), ErrorKind::Conflict, "{other_amount}");
    let other_meter = c.pay(B, "5.00", "wx-1", &actor()).await.unwrap_err();
    assert_eq!(other_meter.kind(), ErrorKind::Conflict);
    assert!(
        !other_meter.to_string().contains(A),
        "a conflict does not name the other meter"
    );
    assert_eq!(c.account(A).await.unwrap().balance, dec!(35));
    assert_eq!(c.account(B).await.unwrap().balance, dec!(30));

    // Hoarding: 35 + 965.01 > 1000 is refused before anything changes; exactly 1000 is accepted.
    let hoard = c.pay(A, "965.01", "wx-2", &actor()).await.unwrap_err();
    assert_eq!(hoard.kind(), ErrorKind::Invalid);
    assert!(hoard.to_string().contains("hoarding"), "{hoard}");
    assert_eq!(c.account(A).await.unwrap().balance, dec!(35));
    // Bad amounts and references.
    for (amount, reference) in [
        ("0", "r"),
        ("1.001", "r"),
        ("abc", "r"),
        ("1", " "),
        ("1", "a\u{7}b"),
    ] {
        assert_eq!(
            c.pay(A, amount, reference, &actor())
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::Invalid
        );
    }
    assert_eq!(
        c.pay("999999999999", "1", "x", &actor())
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );

    // Down through the alarms by corrections (debits naming the entry they correct).
    c.correct(A, &debit("15.00", "fix-1", 2), &actor())
        .await
        .unwrap(); // 20.00
    assert_eq!(c.account(A).await.unwrap().state, PrepaidState::Alarm1);
    c.correct(A, &debit("10.00", "fix-2", 2), &actor())
        .await
        .unwrap(); // 10.00
    assert_eq!(c.account(A).await.unwrap().state, PrepaidState::Alarm2);
    c.correct(A, &debit("15.00", "fix-3", 2), &actor())
        .await
        .unwrap(); // -5.00
    assert_eq!(
        c.account(A).await.unwrap().state,
        PrepaidState::OverdraftZero
    );
    assert!(
        c.account(A).await.unwrap().warned_at.is_none(),
        "no trip yet within the overdraft"
    );
    let kinds: Vec<String> = c
        .notices(A)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect();
    for crossed in ["balance_alarm1", "balance_alarm2", "balance_overdrawn"] {
        assert_eq!(
            kinds.iter().filter(|k| *k == crossed).count(),
            1,
            "{kinds:?}"
        );
    }
    // A correction must name an existing entry and who authorised it.
    let mut orphan = debit("1", "fix-x", 99);
    assert_eq!(
        c.correct(A, &orphan, &actor()).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
    orphan.corrects_seq = Some(2);
    orphan.authorised_by = " ".into();
    assert_eq!(
        c.correct(A, &orphan, &actor()).await.unwrap_err().kind(),
        ErrorKind::Invalid
    );

    // Past the overdraft limit (10): the trip, sticky until the balance passes the close-allowed 2.00.
    c.correct(A, &debit("5.00", "fix-4", 2), &actor())
        .await
        .unwrap(); // -10.00
    let a = c.account(A).await.unwrap();
    assert_eq!(a.state, PrepaidState::OverdraftTrip);
    assert!(a.warned_at.is_some());
    let commands = c.commands_of(A, 10).await.unwrap();
    let trip = commands
        .iter()
        .find(|c| c.action == RelayAction::Trip)
        .unwrap();
    assert_eq!(
        trip.state,
        CommandState::Scheduled,
        "waits for the warning lead"
    );
    assert_eq!(trip.not_before, rig.clock_now() + Duration::hours(2));
    assert!(commands
        .iter()
        .any(|c| c.action == RelayAction::AlarmOn && c.state == CommandState::Sent));
    c.pay(A, "12.00", "wx-3", &actor()).await.unwrap(); // 2.00: not above C
    assert_eq!(
        c.account(A).await.unwrap().state,
        PrepaidState::OverdraftTrip
    );
    let trip_still = c.command(&trip.command_id).await.unwrap().command;
    assert_eq!(trip_still.state, CommandState::Scheduled);
    rig.clock.advance(Duration::minutes(1));
    c.pay(A, "0.01", "wx-4", &actor()).await.unwrap(); // 2.01: re-armed
    let a = c.account(A).await.unwrap();
    assert_eq!(a.state, PrepaidState::Alarm2);
    assert!(a.warned_at.is_none());
    let trip_after = c.command(&trip.command_id).await.unwrap();
    assert_eq!(
        trip_after.command.state,
        CommandState::Cancelled,
        "the pending trip is cancelled"
    );
    assert!(trip_after.events.len() >= 3, "{:?}", trip_after.events);
    let latest = c.commands_of(A, 1).await.unwrap();
    assert_eq!(
        latest[0].action,
        RelayAction::AlarmOff,
        "the meter's alarm is released"
    );

    // Refunds never exceed the balance.
    let refund = Adjustment {
        amount: "2.02".into(),
        reference: "rf-1".into(),
        authorised_by: "cashier li".into(),
        reason: "moved out".into(),
        corrects_seq: None,
        direction: None,
    };
    assert_eq!(
        c.refund(A, &refund, &actor()).await.unwrap_err().kind(),
        ErrorKind::Invalid
    );
    rig.assert_ledger_sound().await;
    let ledger = c.ledger(A, 100).await.unwrap();
    assert_eq!(ledger.first().unwrap().balance_after, dec!(2.01));
    assert_eq!(ledger.len() as i64, c.account(A).await.unwrap().entries);
}
on_both_backends!(prepaid_states, prepaid_states_hoarding_and_references);

async fn owing(rig: &Rig, meter: &str) {
    rig.open(meter, dec!(0.50)).await;
    // Debit 20.50: balance -20.00, past the default overdraft limit of 10.
    rig.control
        .correct(meter, &debit("20.50", &format!("owe-{meter}"), 1), &actor())
        .await
        .unwrap();
}

async fn lifecycle(backend: Backend) {
    let rig = rig_with(backend, wednesday_morning(), |c| {
        c.warning_lead_s = 0;
        c.retry_backoff_s = 60;
        c.max_attempts = 3;
    })
    .await;
    let c = &rig.control;

    // A: the meter stays silent and then refuses: three attempts, then failed with an alarm, and no
    // endless re-sending.
    owing(&rig, A).await;
    let sent = rig.drain_outbox().await;
    assert_eq!(
        sent.iter().map(|m| m.action).collect::<Vec<_>>(),
        [RelayAction::AlarmOn, RelayAction::Trip],
        "the warning leaves first"
    );
    let (warning, trip) = (sent[0].clone(), sent[1].clone());
    assert_eq!(trip.attempt, 1);
    let mut stale = rig.ack(&trip, AckOutcome::Executed, Some(true));
    stale.attempt = 7;
    assert_eq!(
        c.apply_ack(&stale).await.unwrap(),
        AckEffect::Ignored,
        "another attempt's ack"
    );
    assert_eq!(
        c.apply_ack(&rig.ack(&warning, AckOutcome::Executed, None))
            .await
            .unwrap(),
        AckEffect::Applied(CommandState::Done)
    );
    assert_eq!(
        c.apply_ack(&rig.ack(&trip, AckOutcome::NoResponse, None))
            .await
            .unwrap(),
        AckEffect::Applied(CommandState::Scheduled)
    );
    assert!(
        rig.drain_outbox().await.is_empty(),
        "the retry waits for its backoff"
    );
    rig.clock.advance(Duration::seconds(61));
    assert_eq!(c.sweep().await.unwrap().dispatched, 1);
    let second = rig.drain_outbox().await;
    assert_eq!(
        (
            second.len(),
            second[0].attempt,
            second[0].command_id.as_str()
        ),
        (1, 2, trip.command_id.as_str())
    );
    c.apply_ack(&rig.ack(&second[0], AckOutcome::Refused, Some(false)))
        .await
        .unwrap();
    rig.clock.advance(Duration::seconds(121));
    c.sweep().await.unwrap();
    let third = rig.drain_outbox().await;
    assert_eq!(third[0].attempt, 3);
    assert_eq!(
        c.apply_ack(&rig.ack(&third[0], AckOutcome::Refused, Some(false)))
            .await
            .unwrap(),
        AckEffect::Applied(CommandState::Failed)
    );
    let alarms = c.open_alarms(10).await.unwrap();
    assert_eq!(alarms.len(), 1, "{alarms:?}");
    assert_eq!(
        (alarms[0].kind.name(), alarms[0].meter_id.as_str()),
        ("command_failed", A)
    );
    // The duplicate of the last ack, and more sweeps, change nothing: no new trip for a refusing meter.
    assert_eq!(
        c.apply_ack(&rig.ack(&third[0], AckOutcome::Refused, Some(false)))
            .await
            .unwrap(),
        AckEffect::Ignored
    );
    rig.clock.advance(Duration::hours(2));
    c.sweep().await.unwrap();
    assert!(rig.drain_outbox().await.is_empty());
    assert_eq!(c.account(A).await.unwrap().relay, RelayState::Closed);

    // B: executed and read back open → verified and done; a payment then gets its close-allowed.
    owing(&rig, B).await;
    let sent = rig.drain_outbox().await;
    let trip = sent
        .iter()
        .find(|m| m.action == RelayAction::Trip)
        .unwrap()
        .clone();
    let done = rig.ack(&trip, AckOutcome::Executed, Some(true));
    assert_eq!(
        c.apply_ack(&done).await.unwrap(),
        AckEffect::Applied(CommandState::Done)
    );
    assert_eq!(
        c.apply_ack(&done).await.unwrap(),
        AckEffect::Ignored,
        "duplicate ack"
    );
    assert_eq!(c.account(B).await.unwrap().relay, RelayState::Open);
    let history = c.command(&trip.command_id).await.unwrap();
    let states: Vec<&str> = history.events.iter().map(|e| e.to_state.as_str()).collect();
    assert_eq!(
        states,
        ["requested", "sent", "acknowledged", "verified", "done"]
    );
    let receipt = c.pay(B, "30.00", "wx-b", &actor()).await.unwrap();
    let close = rig.drain_outbox().await;
    assert_eq!(close.len(), 1);
    assert_eq!(close[0].action, RelayAction::CloseAllowed);
    assert_eq!(
        receipt.command_id.as_deref(),
        Some(close[0].command_id.as_str())
    );
    c.apply_ack(&rig.ack(&close[0], AckOutcome::Executed, Some(true)))
        .await
        .unwrap();
    assert_eq!(c.account(B).await.unwrap().relay, RelayState::CloseAllowed);
    // The customer presses the button: the next reading shows it closed.
    rig.clock.advance(Duration::minutes(15));
    let readings = BTreeMap::from([(
        B.to_string(),
        RelayReading {
            open: false,
            read_at: rig.clock_now(),
        },
    )]);
    c.reconcile(&readings).await.unwrap();
    assert_eq!(c.account(B).await.unwrap().relay, RelayState::Closed);
    rig.assert_ledger_sound().await;
}
on_both_backends!(command_lifecycle, lifecycle);

async fn lost_acks_deadlines_and_meter_truth(backend: Backend) {
    let rig = rig_with(backend, wednesday_morning(), |c| {
        c.warning_lead_s = 0;
        c.command_validity_s = 600;
    })
    .await;
    let c = &rig.control;
    // A lost ack: the next reading after the send shows the relay open, which verifies the trip.
    owing(&rig, A).await;
    let trip = rig
        .drain_outbox()
        .await
        .into_iter()
        .find(|m| m.action == RelayAction::Trip)
        .unwrap();
    rig.clock.advance(Duration::minutes(5));
    let readings = BTreeMap::from([(
        A.to_string(),
        RelayReading {
            open: true,
            read_at: rig.clock_now(),
        },
    )]);
    let report = c.reconcile(&readings).await.unwrap();
    assert_eq!(report.verified, 1);
    assert_eq!(
        c.command(&trip.command_id).await.unwrap().command.state,
        CommandState::Done
    );
    assert_eq!(c.account(A).await.unwrap().relay, RelayState::Open);

    // A collector down past the deadline: expired, then re-planned as a new command.
    owing(&rig, B).await;
    let first = rig
        .drain_outbox()
        .await
        .into_iter()
        .find(|m| m.action == RelayAction::Trip)
        .unwrap();
    rig.clock.advance(Duration::minutes(11));
    let swept = c.sweep().await.unwrap();
    // B's trip, and both unanswered pre-trip warnings (A's and B's).
    assert_eq!(swept.expired, 3);
    assert_eq!(
        c.command(&first.command_id).await.unwrap().command.state,
        CommandState::Expired
    );
    let replanned = rig.drain_outbox().await;
    assert_eq!(replanned.len(), 1, "{replanned:?}");
    assert_eq!(replanned[0].action, RelayAction::Trip);
    assert_ne!(replanned[0].command_id, first.command_id);
    // The late ack of the expired command changes nothing.
    assert_eq!(
        c.apply_ack(&rig.ack(&first, AckOutcome::Executed, Some(true)))
            .await
            .unwrap(),
        AckEffect::Ignored
    );

    // The meter's truth wins: A's account says open; the meter reports closed while A still owes →
    // the account is corrected and a new trip goes out.
    rig.clock.advance(Duration::minutes(15));
    let readings = BTreeMap::from([(
        A.to_string(),
        RelayReading {
            open: false,
            read_at: rig.clock_now(),
        },
    )]);
    let report = c.reconcile(&readings).await.unwrap();
    assert_eq!(report.corrected, 1);
    let again = rig.drain_outbox().await;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].meter_id.as_str(), again[0].action),
        (A, RelayAction::Trip)
    );
    // An older reading than what the account knows changes nothing.
    let old = BTreeMap::from([(
        A.to_string(),
        RelayReading {
            open: true,
            read_at: wednesday_morning(),
        },
    )]);
    assert_eq!(c.reconcile(&old).await.unwrap().corrected, 0);
}
on_both_backends!(lost_acks_and_deadlines, lost_acks_deadlines_and_meter_truth);

async fn keep_power_and_trip_calendar(backend: Backend) {
    // Wednesday 2026-09-30 18:00 in Shanghai; trips 08:00–17:00 on working days; a two-hour warning.
    let evening = "2026-09-30T10:00:00Z".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let holidays = dir.path().join("holidays.txt");
    std::fs::write(&holidays, "2026-10-01 off 国庆\n2026-10-02 off\n").unwrap();
    let rig = rig_with(backend, evening, |c| {
        c.trip_hours = "08:00-17:00".into();
        c.trip_on_weekends = false;
        c.holidays_file = holidays.display().to_string();
    })
    .await;
    let c = &rig.control;
    owing(&rig, A).await;
    let trip = c
        .commands_of(A, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.action == RelayAction::Trip)
        .unwrap();
    // Thursday and Friday are holidays, then a weekend: Monday 10-05 08:00 local.
    let monday = "2026-10-05T00:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap();
    assert_eq!(trip.not_before, monday);
    assert_eq!(trip.state, CommandState::Scheduled);

    // Keep-power until Tuesday noon: the pending trip is cancelled, nothing goes out on Monday.
    let exemption = c
        .add_exemption(
            A,
            control::app::exemptions::NewExemption {
                kind: control::store::records::ExemptionKind::Medical,
                reason: "home oxygen concentrator".into(),
                ends_at: "2026-10-06T04:00:00Z".parse().unwrap(),
            },
            &actor(),
        )
        .await
        .unwrap();
    assert_eq!(
        c.command(&trip.command_id).await.unwrap().command.state,
        CommandState::Cancelled
    );
    rig.drain_outbox().await;
    rig.clock.set(monday + Duration::hours(1));
    c.sweep().await.unwrap();
    assert!(rig.drain_outbox().await.is_empty(), "held by keep-power");
    let refused = c
        .request_command(
            A,
            control::app::remote::CommandRequest {
                action: RelayAction::Trip,
                reason: "manual".into(),
            },
            &actor(),
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("keep-power"), "{refused}");

    // Tuesday 12:30 (after the exemption, inside trip hours): the deferred trip is planned again and sent.
    rig.clock.set("2026-10-06T04:30:00Z".parse().unwrap());
    c.sweep().await.unwrap();
    let sent = rig.drain_outbox().await;
    assert_eq!(
        sent.iter()
            .filter(|m| m.action == RelayAction::Trip)
            .count(),
        1,
        "{sent:?}"
    );
    let exemptions = c.exemptions(A).await.unwrap();
    assert_eq!(exemptions[0].id, exemption.id);
}
on_both_backends!(keep_power_and_calendar, keep_power_and_trip_calendar);

async fn concurrent_payments(backend: Backend) {
    let rig = rig_with(backend, wednesday_morning(), |_| {}).await;
    let meters: Vec<String> = (0..50).map(|i| format!("{:012}", 2000 + i)).collect();
    for meter in &meters {
        rig.open(meter, dec!(1.00)).await;
    }
    let mut tasks = Vec::new();
    for round in 0..20 {
        for meter in &meters {
            let (c, meter) = (rig.control.clone(), meter.clone());
            tasks.push(tokio::spawn(async move {
                let reference = format!("p-{meter}-{round}");
                c.pay(&meter, "1.23", &reference, &actor()).await.unwrap();
                // Every fifth payment is replayed at once, and every seventh gets a debit beside it.
                if round % 5 == 0 {
                    assert!(
                        c.pay(&meter, "1.23", &reference, &actor())
                            .await
                            .unwrap()
                            .replay
                    );
                }
                if round % 7 == 0 {
                    c.correct(
                        &meter,
                        &debit("0.40", &format!("d-{meter}-{round}"), 1),
                        &actor(),
                    )
                    .await
                    .unwrap();
                }
            }));
        }
    }
    assert!(tasks.len() >= 1000);
    for task in tasks {
        task.await.unwrap();
    }
    for meter in &meters {
        // 1.00 + 20 × 1.23 − 3 × 0.40 = 24.40
        assert_eq!(
            rig.control.account(meter).await.unwrap().balance,
            dec!(24.40),
            "{meter}"
        );
    }
    rig.assert_ledger_sound().await;
}
on_both_backends!(
    concurrent_payments_keep_every_balance_exact,
    concurrent_payments
);

impl RigNow for Rig {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc> {
        ingest::clock::Clock::now(&self.clock)
    }
}

trait RigNow {
    fn clock_now(&self) -> chrono::DateTime<chrono::Utc>;
}
