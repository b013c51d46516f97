//! The pages in a real browser (Debian's Chromium over WebDriver, headless and offline): an operator
//! finds a tripped account from the dashboard, a cashier takes a payment and sees the new balance and
//! the close-allowed command's progress, a hostile customer name stays text, and a customer on a
//! phone-sized window sees only their meter, pays online and is notified on the webhook receiver and
//! by e-mail — both receivers failing their first attempts. Screenshots of the main pages at desktop
//! and phone sizes go to the screenshots folder (`METERLAKE_SCREENSHOTS`, else `<target>/screenshots`).

#[path = "support/browser.rs"]
mod browser;
#[path = "support/harness.rs"]
mod harness;
#[path = "support/postgres.rs"]
mod postgres;

use std::net::SocketAddr;
use std::time::Duration;

use browser::{click, fill, screenshot, screenshot_dir, text, Driver};
use control::app::audit::Actor;
use control::app::customers::CustomerDetails;
use control::app::notifications::{Prefs, RetryPolicy};
use control::app::payments::{Adjustment, Direction};
use control::domain::access::Role;
use control::domain::notice::{Language, NoticeKind};
use control::notify::local::{LocalSmtp, LocalWebhook};
use control::notify::{Channels, NotifyConfig, SmtpSecurity};
use control::secrets::Password;
use control::store::deliveries::Channel;
use fantoccini::{Client, Locator};
use harness::*;
use ingest::command::AckOutcome;
use ingest::dlt645::RelayAction;
use rust_decimal_macros::dec;

const MINE: &str = "000000000001";
const THEIRS: &str = "000000000002";
const PASSWORD: &str = "a long enough secret";
const HOSTILE: &str = "<img src=x onerror=\"window.__pwned=1\">李四";
const HOOK_SECRET: &str = "a-webhook-secret-for-the-browser";

/// `MINE` owes past its overdraft, its trip executed: tripped, relay open.
async fn tripped(rig: &Rig) {
    let c = &rig.control;
    rig.open(MINE, dec!(0.50)).await;
    let debit = Adjustment {
        amount: "20.50".into(),
        reference: "owe-1".into(),
        authorised_by: "supervisor wang".into(),
        reason: "reading corrected".into(),
        corrects_seq: Some(1),
        direction: Some(Direction::Debit),
    };
    c.correct(MINE, &debit, &actor()).await.unwrap();
    let trip = rig
        .drain_outbox()
        .await
        .into_iter()
        .find(|m| m.action == RelayAction::Trip)
        .unwrap();
    c.apply_ack(&rig.ack(&trip, AckOutcome::Executed, Some(true)))
        .await
        .unwrap();
}

async fn sign_in(client: &Client, addr: SocketAddr, user: &str) {
    client.goto(&format!("http://{addr}/login")).await.unwrap();
    fill(client, "#username", user).await;
    fill(client, "#password", PASSWORD).await;
    click(client, "form.login button[type=submit]").await;
    let signed_in = client
        .wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css("#who"))
        .await;
    if signed_in.is_err() {
        let url = client.current_url().await.unwrap();
        let page = client.source().await.unwrap();
        panic!("{user} was not signed in: at {url}\n{page}");
    }
}

async fn sign_out(client: &Client) {
    click(client, "header form button").await;
    client
        .wait()
        .for_element(Locator::Css("form.login"))
        .await
        .unwrap();
}

/// Whether a hostile name ran as markup on the page.
async fn injected(client: &Client) -> bool {
    let found = client
        .execute(
            "return window.__pwned === 1 || document.querySelectorAll('img[src=x]').length > 0",
            vec![],
        )
        .await
        .unwrap();
    found.as_bool().unwrap_or(true)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_and_a_customer_work_through_the_pages_in_a_browser() {
    let rig = rig_with(Backend::Sqlite, wednesday_morning(), |c| {
        c.warning_lead_s = 0
    })
    .await;
    let c = rig.control.clone();
    tripped(&rig).await;
    rig.open(THEIRS, dec!(80)).await;
    let details = CustomerDetails {
        name: Some(HOSTILE.into()),
        ..CustomerDetails::default()
    };
    c.set_customer(THEIRS, &details, &Actor::cli())
        .await
        .unwrap();
    for (name, role, meters) in [
        ("operator-zhao", Role::Operator, vec![]),
        ("cashier-li", Role::Cashier, vec![]),
        ("customer-wang", Role::Customer, vec![MINE.to_string()]),
    ] {
        c.add_user(&Actor::cli(), name, role, &Password::new(PASSWORD), &meters)
            .await
            .unwrap();
    }
    let prefs = Prefs {
        lang: Language::Zh,
        app_push: true,
        email: Some("wang@example.com".into()),
    };
    c.set_notification_prefs(MINE, &prefs, &Actor::cli())
        .await
        .unwrap();
    // The notifier, against receivers that fail their first attempts.
    let webhook = LocalWebhook::start(HOOK_SECRET, 2).await.unwrap();
    let smtp = LocalSmtp::start(1).await.unwrap();
    let notify = NotifyConfig {
        webhook_url: webhook.url(),
        webhook_secret: HOOK_SECRET.into(),
        smtp_host: "127.0.0.1".into(),
        smtp_port: smtp.addr.port(),
        smtp_security: SmtpSecurity::None,
        ..NotifyConfig::default()
    };
    let channels = Channels::from_config(&notify).unwrap();
    let notifier = c.clone();
    tokio::spawn(async move {
        let policy = RetryPolicy {
            max_attempts: 10,
            first_retry: chrono::Duration::zero(),
        };
        loop {
            notifier
                .deliver_due(&channels, policy, "", 100)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let addr = serve_http(&rig.control, "a-provider-secret-browser").await;
    let shots = screenshot_dir();
    let driver = Driver::start();
    let profiles = tempfile::tempdir().unwrap();

    // An operator at a desk: the dashboard with its charts, then the tripped account from its tile.
    let desk = driver
        .session(&profiles.path().join("desk"), 1280, 900)
        .await;
    sign_in(&desk, addr, "operator-zhao").await;
    assert_eq!(text(&desk, "#tripped").await, "1");
    let charts = desk
        .find_all(Locator::Css("section.charts svg"))
        .await
        .unwrap();
    assert_eq!(charts.len(), 2, "two charts on the dashboard");
    screenshot(&desk, &shots, "dashboard-desktop").await;
    click(&desk, "#tripped-link").await;
    desk.wait()
        .for_element(Locator::Css("#accounts"))
        .await
        .unwrap();
    assert!(text(&desk, "#accounts").await.contains(MINE));
    click(&desk, &format!("a[href='/accounts/{MINE}']")).await;
    assert_eq!(text(&desk, "#balance").await, "-¥20.00");
    assert!(text(&desk, "#commands").await.contains("拉闸"));
    screenshot(&desk, &shots, "account-tripped-desktop").await;
    sign_out(&desk).await;

    // A cashier takes 30 yuan: the new balance and the close-allowed command on its way.
    sign_in(&desk, addr, "cashier-li").await;
    desk.goto(&format!("http://{addr}/accounts?q=0000000000"))
        .await
        .unwrap();
    let listing = text(&desk, "#accounts").await;
    assert!(
        listing.contains("<img src=x"),
        "the hostile name is shown as text: {listing}"
    );
    assert!(!injected(&desk).await, "the hostile name ran as markup");
    screenshot(&desk, &shots, "search-desktop").await;
    desk.goto(&format!("http://{addr}/accounts/{MINE}"))
        .await
        .unwrap();
    fill(&desk, "#pay-amount", "30").await;
    click(&desk, "#pay-form button[type=submit]").await;
    desk.wait()
        .for_element(Locator::Css("#done"))
        .await
        .unwrap();
    assert_eq!(text(&desk, "#balance").await, "¥10.00");
    let close = "#commands tr[data-action=close_allowed]";
    assert!(text(&desk, close).await.contains("合闸允许"));
    // The collector takes it and the meter executes it: the page follows the command to done.
    let sent = rig.drain_outbox().await;
    assert_eq!(sent[0].action, RelayAction::CloseAllowed);
    c.apply_ack(&rig.ack(&sent[0], AckOutcome::Executed, Some(true)))
        .await
        .unwrap();
    desk.refresh().await.unwrap();
    let state = desk
        .find(Locator::Css(close))
        .await
        .unwrap()
        .attr("data-state")
        .await
        .unwrap();
    assert_eq!(state.as_deref(), Some("done"));
    screenshot(&desk, &shots, "account-paid-desktop").await;
    desk.close().await.unwrap();

    // A customer on a phone: only their meter; pays 50 yuan online; notified by app and e-mail.
    let phone = driver
        .session(&profiles.path().join("phone"), 390, 844)
        .await;
    sign_in(&phone, addr, "customer-wang").await;
    assert_eq!(text(&phone, "#meter").await, MINE);
    assert_eq!(text(&phone, "#balance").await, "¥10.00");
    screenshot(&phone, &shots, "customer-phone").await;
    phone
        .goto(&format!("http://{addr}/my/{THEIRS}"))
        .await
        .unwrap();
    assert!(text(&phone, "#error-message").await.contains(THEIRS));
    phone
        .goto(&format!("http://{addr}/my/{MINE}"))
        .await
        .unwrap();
    click(&phone, "#pay-50").await;
    phone
        .wait()
        .for_element(Locator::Css("#confirm-pay"))
        .await
        .unwrap();
    assert_eq!(text(&phone, "#checkout-amount").await, "¥50.00");
    screenshot(&phone, &shots, "checkout-phone").await;
    click(&phone, "#confirm-pay").await;
    phone
        .wait()
        .for_element(Locator::Css("#done"))
        .await
        .unwrap();
    assert_eq!(text(&phone, "#balance").await, "¥60.00");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let hooks = webhook.seen().1;
        let mails = smtp.seen().1;
        let paid_hook = hooks
            .iter()
            .any(|h| h.contains("payment_received") && h.contains("余额 60.00 元"));
        // The e-mail of the same notice, known by its Message-ID (the body is base64: Chinese).
        let deliveries = c.deliveries_of(MINE, 50).await.unwrap();
        let paid_mail = deliveries
            .iter()
            .filter(|d| d.kind == NoticeKind::PaymentReceived && d.channel == Channel::Email)
            .filter(|d| d.data.contains("\"60.00\"") || d.data.contains("\"60\""))
            .any(|d| {
                mails.iter().any(|(to, m)| {
                    to.contains("wang@example.com") && m.contains(&format!("<{}@meterlake>", d.id))
                })
            });
        if paid_hook && paid_mail {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no payment notice: {hooks:?} {mails:?} {deliveries:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        webhook.seen().0 >= 3 && smtp.seen().0 >= 2,
        "the first attempts failed and were retried"
    );
    // Feedback with markup in it stays text.
    phone
        .goto(&format!("http://{addr}/my/{MINE}/tickets"))
        .await
        .unwrap();
    fill(&phone, "#subject", HOSTILE).await;
    fill(&phone, "#message", "电费为什么这么高？").await;
    click(&phone, "#send-ticket").await;
    phone
        .wait()
        .for_element(Locator::Css("#done"))
        .await
        .unwrap();
    assert!(text(&phone, "#tickets").await.contains("<img src=x"));
    assert!(!injected(&phone).await);
    screenshot(&phone, &shots, "tickets-phone").await;
    phone
        .goto(&format!("http://{addr}/my/{MINE}/notifications"))
        .await
        .unwrap();
    screenshot(&phone, &shots, "notifications-phone").await;
    phone.close().await.unwrap();
    for name in [
        "dashboard-desktop",
        "account-paid-desktop",
        "customer-phone",
        "checkout-phone",
    ] {
        assert!(shots.join(format!("{name}.png")).is_file());
    }
}
