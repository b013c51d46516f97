//! Notifications end to end on SQLite and PostgreSQL: notices fanned out into deliveries in the
//! transaction that caused them, threshold notices once per crossing (re-armed by a payment), delivery
//! over a real HTTP webhook (signature checked) and a real SMTP conversation, receivers that fail the
//! first attempts (retried with growing waits), and a receiver that never recovers (dead).

#[path = "support/harness.rs"]
mod harness;
#[path = "support/postgres.rs"]
mod postgres;

use std::collections::HashMap;

use analytics::diagnosis::{AlarmRule, Signal};
use base64::Engine as _;
use chrono::Duration;
use control::app::notifications::{Prefs, RetryPolicy};
use control::app::payments::{Adjustment, Direction};
use control::domain::notice::Language;
use control::notify::local::{LocalSmtp, LocalWebhook};
use control::notify::{Channels, NotifyConfig, SmtpSecurity};
use control::store::deliveries::{Channel, DeliveryState};
use harness::*;
use rust_decimal_macros::dec;

#[path = "notifications/bill_issues.rs"]
mod bill_issues;
use bill_issues::a_month_is_issued_and_its_customers_told_once;

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

/// The body of an accepted e-mail, decoded (lettre sends non-ASCII text as quoted-printable or
/// base64, whichever is shorter).
fn mail_body(raw: &str) -> String {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    if !head
        .to_ascii_lowercase()
        .contains("content-transfer-encoding: base64")
    {
        return quoted_printable(body);
    }
    let packed: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(packed.trim_end_matches('.'))
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

/// Quoted-printable decoded: soft line breaks joined, `=XX` bytes put back, read as UTF-8.
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok());
        match (bytes[i], hex) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// The subject of an accepted e-mail, its RFC 2047 encoded words decoded.
fn mail_subject(raw: &str) -> String {
    let head = raw.split_once("\r\n\r\n").map_or(raw, |(h, _)| h);
    let unfolded = head.replace("\r\n ", " ");
    let line = unfolded
        .lines()
        .find_map(|l| l.strip_prefix("Subject: "))
        .unwrap_or_default();
    line.split_whitespace()
        .map(|word| {
            match word
                .strip_prefix("=?utf-8?b?")
                .and_then(|w| w.strip_suffix("?="))
            {
                Some(encoded) => String::from_utf8(
                    base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .unwrap(),
                )
                .unwrap(),
                None => word.to_string(),
            }
        })
        .collect()
}

fn raised(meter: &str, rule: AlarmRule, at: chrono::DateTime<chrono::Utc>) -> Signal {
    Signal::Raised {
        meter_id: meter.into(),
        rule,
        at_us: at.timestamp_micros(),
        since_us: at.timestamp_micros(),
        evidence: Vec::new(),
    }
}

async fn staff_alarms_of_one_window_arrive_as_one_email(backend: Backend) {
    // The SMTP server refuses the first attempt (451): the digest is retried whole.
    let smtp = LocalSmtp::start(1).await.unwrap();
    let webhook = LocalWebhook::start(SECRET, 0).await.unwrap();
    let notify = NotifyConfig {
        staff_email: "ops@utility.test".into(),
        ..config(&webhook, &smtp, 8)
    };
    assert_eq!(notify.staff_digest_s, 60, "a minute's alarms by default");
    let tuned = notify.clone();
    let start = wednesday_morning() + Duration::seconds(10);
    let rig = rig_with(backend, start, move |c| c.notify = tuned).await;
    let c = &rig.control;
    let channels = Channels::from_config(&notify).unwrap();
    let policy = RetryPolicy {
        max_attempts: 8,
        first_retry: Duration::seconds(10),
    };
    let deliver = || c.deliver_due(&channels, policy, &notify.staff_email, 100);
    // A storm: thirty meters' covers opened at once, one more voltage loss twenty seconds later; an
    // informational alarm is not e-mailed.
    let storm: Vec<Signal> = (0..30)
        .map(|i| raised(&format!("{:012}", 500 + i), AlarmRule::CoverOpened, start))
        .chain([raised("000000000900", AlarmRule::MeterReplaced, start)])
        .collect();
    let outcome = c.apply_signals(&storm, &HashMap::new()).await.unwrap();
    assert_eq!(outcome.raised, 31);
    assert_eq!(
        deliver().await.unwrap(),
        Default::default(),
        "the window is open"
    );
    rig.clock.advance(Duration::seconds(20));
    let late = raised("000000000600", AlarmRule::VoltageLoss, start);
    c.apply_signals(&[late], &HashMap::new()).await.unwrap();
    rig.clock.advance(Duration::seconds(30)); // 10:01:00, the window's end
    let first = deliver().await.unwrap();
    assert_eq!((first.sent, first.retried), (0, 31), "{first:?}");
    rig.clock.advance(Duration::seconds(10));
    let second = deliver().await.unwrap();
    assert_eq!((second.sent, second.retried, second.dead), (31, 0, 0));
    let (tries, mails) = smtp.seen();
    assert_eq!(
        (tries, mails.len()),
        (2, 1),
        "one e-mail for the window, tried twice"
    );
    assert!(mails[0].0.contains("ops@utility.test"), "{:?}", mails[0].0);
    assert_eq!(mail_subject(&mails[0].1), "告警汇总：31 条新告警");
    let body = mail_body(&mails[0].1);
    assert!(body.starts_with("以下 31 条告警等待处理"), "{body}");
    assert!(
        body.contains("1. 告警：开表盖\r\n   电表 000000000500：开表盖。")
            || body.contains("1. 告警：开表盖\n   电表 000000000500：开表盖。"),
        "oldest first, by meter, with the alarm's Chinese name: {body}"
    );
    assert!(
        body.contains("31. 告警：失压"),
        "the later alarm last: {body}"
    );
    for meter in (500..530)
        .map(|n| format!("{n:012}"))
        .chain(["000000000600".into()])
    {
        assert_eq!(
            body.matches(meter.as_str()).count(),
            1,
            "{meter} listed once: {body}"
        );
    }
    assert!(
        !body.contains("000000000900"),
        "informational alarms are not mailed"
    );
    // An alarm alone in its window is its own e-mail, with its own subject.
    let now = start + Duration::seconds(65);
    c.apply_signals(
        &[raised("000000000700", AlarmRule::Bypass, now)],
        &HashMap::new(),
    )
    .await
    .unwrap();
    rig.clock.advance(Duration::seconds(60));
    assert_eq!(deliver().await.unwrap().sent, 1);
    let (_, mails) = smtp.seen();
    assert_eq!(mails.len(), 2);
    assert!(
        mail_subject(&mails[1].1).starts_with("告警："),
        "{}",
        mails[1].1
    );
    assert!(mail_body(&mails[1].1).contains("000000000700"));
    assert_eq!(
        webhook.seen().0,
        0,
        "staff alarms are not pushed to customers"
    );
}

on_both_backends!(thresholds, threshold_notices_once_per_crossing);
on_both_backends!(staff_digest, staff_alarms_of_one_window_arrive_as_one_email);
on_both_backends!(failing_receivers, deliveries_survive_failing_receivers);
on_both_backends!(bill_issue, a_month_is_issued_and_its_customers_told_once);
