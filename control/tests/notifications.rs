//! Notifications end to end on SQLite and PostgreSQL: notices fanned out into deliveries in the
//! transaction that caused them, threshold notices once per crossing (re-armed by a payment), delivery
//! over a real HTTP webhook (signature checked) and a real SMTP conversation, receivers that fail the
//! first attempts (retried with growing waits), and a receiver that never recovers (dead).

#[path = "support/harness.rs"]
mod harness;
#[path = "support/postgres.rs"]
mod postgres;

use chrono::Duration;
use control::app::notifications::{Prefs, RetryPolicy};
use control::app::payments::{Adjustment, Direction};
use control::domain::notice::Language;
use control::notify::local::{LocalSmtp, LocalWebhook};
use control::notify::{Channels, NotifyConfig, SmtpSecurity};
use control::store::deliveries::{Channel, DeliveryState};
use harness::*;
use rust_decimal_macros::dec;

const A: &str = "000000000101";
const SECRET: &str = "a-webhook-secret-for-tests";

fn correction(amount: &str, reference: &str, direction: Direction) -> Adjustment {
    Adjustment {
        amount: amount.into(),
        reference: reference.into(),
        authorised_by: "supervisor wang".into(),
        reason: "reading corrected".into(),
        corrects_seq: Some(1),
        direction: Some(direction),
    }
}

async fn kinds(rig: &Rig) -> Vec<String> {
    let mut kinds: Vec<String> = rig
        .control
        .notices(A)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect();
    kinds.reverse();
    kinds
}

async fn threshold_notices_once_per_crossing(backend: Backend) {
    let rig = rig_with(backend, wednesday_morning(), |_| {}).await;
    rig.open(A, dec!(35)).await;
    let c = &rig.control;
    let later = || rig.clock.advance(Duration::minutes(1));
    c.correct(A, &correction("20", "down-1", Direction::Debit), &actor())
        .await
        .unwrap(); // 15: alarm 1
    later();
    c.correct(A, &correction("10", "up-1", Direction::Credit), &actor())
        .await
        .unwrap(); // 25: above alarm 1, no payment
    later();
    c.correct(A, &correction("10", "down-2", Direction::Debit), &actor())
        .await
        .unwrap(); // 15 again
    assert_eq!(
        kinds(&rig).await,
        ["balance_alarm1"],
        "one notice for one crossing"
    );
    later();
    c.pay(A, "20.00", "pay-1", &actor()).await.unwrap(); // 35: re-armed
    later();
    c.correct(A, &correction("20", "down-3", Direction::Debit), &actor())
        .await
        .unwrap(); // 15
    later();
    c.correct(A, &correction("10", "down-4", Direction::Debit), &actor())
        .await
        .unwrap(); // 5: alarm 2
    assert_eq!(
        kinds(&rig).await,
        [
            "balance_alarm1",
            "payment_received",
            "balance_alarm1",
            "balance_alarm2"
        ]
    );
    // Each notice went to the default channel (the app) in Chinese, in the same transaction.
    let deliveries = c.deliveries_of(A, 100).await.unwrap();
    assert_eq!(deliveries.len(), 4);
    assert!(deliveries
        .iter()
        .all(|d| d.channel == Channel::Webhook && d.lang == Language::Zh));
}

fn config(webhook: &LocalWebhook, smtp: &LocalSmtp, max_attempts: u32) -> NotifyConfig {
    NotifyConfig {
        webhook_url: webhook.url(),
        webhook_secret: SECRET.into(),
        smtp_host: "127.0.0.1".into(),
        smtp_port: smtp.addr.port(),
        smtp_security: SmtpSecurity::None,
        from: "meterlake <noreply@meterlake.test>".into(),
        max_attempts,
        timeout_ms: 5000,
        ..NotifyConfig::default()
    }
}

async fn deliveries_survive_failing_receivers(backend: Backend) {
    let rig = rig_with(backend, wednesday_morning(), |_| {}).await;
    rig.open(A, dec!(50)).await;
    let c = &rig.control;
    // The customer wants English, in the app and by e-mail; a bad address is refused.
    let bad = Prefs {
        email: Some("not an address".into()),
        ..Prefs::default()
    };
    assert!(c.set_notification_prefs(A, &bad, &actor()).await.is_err());
    let prefs = Prefs {
        lang: Language::En,
        app_push: true,
        email: Some("Zhang.Wei@Example.com".into()),
    };
    c.set_notification_prefs(A, &prefs, &actor()).await.unwrap();
    assert_eq!(c.notification_prefs(A).await.unwrap(), prefs);
    c.pay(A, "100.00", "pay-1", &actor()).await.unwrap();

    // The webhook fails twice (503), the SMTP server once (451): both are retried with growing waits.
    let webhook = LocalWebhook::start(SECRET, 2).await.unwrap();
    let smtp = LocalSmtp::start(1).await.unwrap();
    let notify = config(&webhook, &smtp, 8);
    let channels = Channels::from_config(&notify).unwrap();
    let policy = RetryPolicy {
        max_attempts: 8,
        first_retry: Duration::seconds(10),
    };
    let first = c.deliver_due(&channels, policy, "", 100).await.unwrap();
    assert_eq!((first.sent, first.retried, first.dead), (0, 2, 0));
    let again = c.deliver_due(&channels, policy, "", 100).await.unwrap();
    assert_eq!(again, Default::default(), "nothing is due before its wait");
    rig.clock.advance(Duration::seconds(10));
    let second = c.deliver_due(&channels, policy, "", 100).await.unwrap();
    assert_eq!(
        (second.sent, second.retried),
        (1, 1),
        "e-mail through, webhook again refused"
    );
    rig.clock.advance(Duration::seconds(10));
    assert_eq!(
        c.deliver_due(&channels, policy, "", 100)
            .await
            .unwrap()
            .sent,
        0,
        "the webhook's second wait is 20 s"
    );
    rig.clock.advance(Duration::seconds(10));
    assert_eq!(
        c.deliver_due(&channels, policy, "", 100)
            .await
            .unwrap()
            .sent,
        1
    );
    let states: Vec<(Channel, DeliveryState, i64)> = c
        .deliveries_of(A, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.channel, d.state, d.attempts))
        .collect();
    assert!(
        states.contains(&(Channel::Webhook, DeliveryState::Sent, 3)),
        "{states:?}"
    );
    assert!(
        states.contains(&(Channel::Email, DeliveryState::Sent, 2)),
        "{states:?}"
    );

    // What arrived: the webhook once, signed (the receiver checks), in English, without the address.
    let (attempts, bodies) = webhook.seen();
    assert_eq!((attempts, bodies.len()), (3, 1));
    let body: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
    assert_eq!(body["kind"], "payment_received");
    assert_eq!(body["meter_id"], A);
    assert!(body["text"]
        .as_str()
        .unwrap()
        .contains("payment of 100.00 yuan received; the balance is 150.00 yuan"));
    assert!(
        !bodies[0].contains("Example.com"),
        "no address goes to the webhook"
    );
    // The e-mail over a real SMTP conversation, to the customer's address.
    let (tries, mails) = smtp.seen();
    assert_eq!((tries, mails.len()), (2, 1));
    assert!(
        mails[0].0.contains("Zhang.Wei@Example.com"),
        "{:?}",
        mails[0].0
    );
    assert!(
        mails[0].1.contains("Subject: Payment received"),
        "{}",
        mails[0].1
    );
    let text = mails[0].1.replace("=\r\n", ""); // quoted-printable soft breaks
    assert!(text.contains("150.00 yuan"), "{text}");
    assert!(
        text.contains("Dear customer,"),
        "the e-mail template: {text}"
    );

    // A receiver that never recovers: the delivery is dead after its attempts, and stays dead.
    let down = LocalWebhook::start(SECRET, usize::MAX).await.unwrap();
    let dead_smtp = LocalSmtp::start(usize::MAX).await.unwrap();
    let channels = Channels::from_config(&config(&down, &dead_smtp, 2)).unwrap();
    let policy = RetryPolicy {
        max_attempts: 2,
        first_retry: Duration::seconds(1),
    };
    c.pay(A, "1.00", "pay-2", &actor()).await.unwrap();
    c.deliver_due(&channels, policy, "", 100).await.unwrap();
    rig.clock.advance(Duration::seconds(5));
    let last = c.deliver_due(&channels, policy, "", 100).await.unwrap();
    assert_eq!(last.dead, 2);
    rig.clock.advance(Duration::hours(2));
    assert_eq!(
        c.deliver_due(&channels, policy, "", 100).await.unwrap(),
        Default::default()
    );
    let newest = &c.deliveries_of(A, 10).await.unwrap()[..2];
    assert!(
        newest
            .iter()
            .all(|d| d.state == DeliveryState::Dead && d.last_error.is_some()),
        "{newest:?}"
    );
    assert_eq!(down.seen().1.len(), 0);

    // A webhook signed with another secret is refused by the receiver for good (401: not retried).
    let strict = LocalWebhook::start("another-secret-entirely", 0)
        .await
        .unwrap();
    let wrong = NotifyConfig {
        webhook_url: strict.url(),
        ..config(&strict, &smtp, 8)
    };
    c.pay(A, "1.00", "pay-3", &actor()).await.unwrap();
    let refused = c
        .deliver_due(&Channels::from_config(&wrong).unwrap(), policy, "", 100)
        .await
        .unwrap();
    assert_eq!(refused.dead, 1, "{refused:?}");
}

on_both_backends!(thresholds, threshold_notices_once_per_crossing);
on_both_backends!(failing_receivers, deliveries_survive_failing_receivers);
