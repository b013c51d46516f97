//! The customer's pages over real HTTP: landing on their own meter, paying online through the
//! simulated provider (the callback's signature, replays, a wrong amount, a failure after payment,
//! a cancelled payment), notification settings, and feedback tickets answered by staff — with text
//! a hostile customer typed shown as text.

use super::pages::{hidden, post_login, set_cookie, sign_in, FORM};
use super::*;
use control::provider::{CallbackStatus, SimulatedProvider};

/// GETs `path` with `session`.
async fn get(s: &Served, session: &str, path: &str) -> http::Answer {
    http::request(s.addr, "GET", path, &[("Cookie", session)], "").await
}

/// POSTs `fields` to `path` with the CSRF token of the page at `form_page`.
async fn post(
    s: &Served,
    session: &str,
    form_page: &str,
    path: &str,
    fields: &str,
) -> http::Answer {
    let page = get(s, session, form_page).await;
    let csrf = hidden(&page.body, "csrf");
    let body = format!("{fields}&csrf={csrf}");
    http::request(s.addr, "POST", path, &[FORM, ("Cookie", session)], &body).await
}

/// Posts a provider callback signed with `secret`.
async fn callback(
    s: &Served,
    secret: &str,
    order: &str,
    amount: rust_decimal::Decimal,
    status: CallbackStatus,
) -> http::Answer {
    let now = chrono::Utc::now().timestamp();
    let (body, signature) = SimulatedProvider::new(secret).callback(order, amount, status, now);
    let headers = [
        ("Content-Type", "application/json"),
        ("X-Provider-Signature", signature.as_str()),
    ];
    http::request(
        s.addr,
        "POST",
        "/pay/callback",
        &headers,
        std::str::from_utf8(&body).unwrap(),
    )
    .await
}

pub(super) async fn a_customer_pays_sets_notices_and_gets_answers(backend: Backend) {
    let s = serve(backend).await;
    let c = &s.rig.control;
    // Signing in lands a customer on their own meter.
    let fields = "username=user-customer&password=a+long+enough+secret&next=%2F";
    let done = post_login(&s, fields).await;
    assert_eq!(done.header("location"), Some("/my"));
    let me = set_cookie(&done, "meterlake_session").unwrap();
    let landing = get(&s, &me, "/my").await;
    assert_eq!(landing.header("location"), Some(&*format!("/my/{MINE}")));
    let home = get(&s, &me, &format!("/my/{MINE}")).await;
    assert_eq!(home.status, 200, "{}", home.body);
    assert!(home.body.contains("id=\"balance\">¥50.00<"));
    assert!(home.body.contains("id=\"pay-form\"") && home.body.contains("id=\"advice\""));
    assert!(
        home.body.contains("id=\"prices\""),
        "the plan's prices explain the bill"
    );
    assert_eq!(get(&s, &me, &format!("/my/{THEIRS}")).await.status, 404);

    // Paying 100 yuan online: the order, the provider's checkout, the signed callback, the balance.
    let my_page = format!("/my/{MINE}");
    let started = post(&s, &me, &my_page, &format!("/my/{MINE}/pay"), "amount=100").await;
    assert_eq!(started.status, 303, "{}", started.body);
    let checkout = started.header("location").unwrap().to_string();
    assert!(checkout.starts_with("/pay/sim/ord-"), "{checkout}");
    let order = checkout.trim_start_matches("/pay/sim/").to_string();
    let page = get(&s, &me, &checkout).await;
    assert!(
        page.body.contains("id=\"checkout-amount\">¥100.00<"),
        "{}",
        page.body
    );
    let paid = post(&s, &me, &checkout, &checkout, "action=pay").await;
    assert_eq!(
        paid.header("location"),
        Some(&*format!("/my/{MINE}?done=paid"))
    );
    let after = get(&s, &me, &format!("/my/{MINE}?done=paid")).await;
    assert!(
        after.body.contains("id=\"balance\">¥150.00<"),
        "{}",
        after.body
    );
    let kinds: Vec<String> = c
        .notices(MINE)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect();
    assert!(kinds.contains(&"payment_received".to_string()), "{kinds:?}");

    // The provider retries its callback: booked once. Forged, wrong-amount and late-failure callbacks
    // change nothing.
    let replay = callback(&s, PROVIDER_SECRET, &order, dec!(100), CallbackStatus::Paid).await;
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.json()["replay"], true);
    let forged = callback(
        &s,
        "a-secret-the-provider-never-had",
        &order,
        dec!(100),
        CallbackStatus::Paid,
    )
    .await;
    assert_eq!(forged.status, 401);
    let wrong = callback(&s, PROVIDER_SECRET, &order, dec!(99), CallbackStatus::Paid).await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    let late = callback(
        &s,
        PROVIDER_SECRET,
        &order,
        dec!(100),
        CallbackStatus::Failed,
    )
    .await;
    assert_eq!(late.status, 409);
    let garbage = http::request(
        s.addr,
        "POST",
        "/pay/callback",
        &[("X-Provider-Signature", "t=1,v1=00")],
        "{",
    )
    .await;
    assert_eq!(garbage.status, 401);
    assert_eq!(c.account(MINE).await.unwrap().balance, dec!(150.00));
    s.rig.assert_ledger_sound().await;

    // A cancelled payment books nothing; another customer's order is not found.
    let started = post(
        &s,
        &me,
        &my_page,
        &format!("/my/{MINE}/pay"),
        "amount=&other=12.34",
    )
    .await;
    let checkout = started.header("location").unwrap().to_string();
    let cancelled = post(&s, &me, &checkout, &checkout, "action=cancel").await;
    assert_eq!(
        cancelled.header("location"),
        Some(&*format!("/my/{MINE}?done=cancelled"))
    );
    assert_eq!(c.account(MINE).await.unwrap().balance, dec!(150.00));
    let theirs = c
        .start_online_payment(THEIRS, "10", "simulated", &Actor::cli())
        .await
        .unwrap();
    assert_eq!(
        get(&s, &me, &format!("/pay/sim/{}", theirs.id))
            .await
            .status,
        404
    );
    for bad in ["amount=abc", "amount=-5", "amount=0.001", "other="] {
        let refused = post(&s, &me, &my_page, &format!("/my/{MINE}/pay"), bad).await;
        assert_eq!(refused.status, 422, "{bad}");
    }

    // Notification settings: a bad address is refused, a good one kept (and shown back).
    let settings = format!("/my/{MINE}/notifications");
    let bad = post(
        &s,
        &me,
        &settings,
        &settings,
        "lang=en&app_push=on&email=nope",
    )
    .await;
    assert_eq!(bad.status, 422);
    let saved = post(
        &s,
        &me,
        &settings,
        &settings,
        "lang=en&email=wei%40example.com",
    )
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let prefs = c.notification_prefs(MINE).await.unwrap();
    assert_eq!(
        (prefs.app_push, prefs.email.as_deref()),
        (false, Some("wei@example.com"))
    );
    assert!(get(&s, &me, &settings)
        .await
        .body
        .contains("value=\"wei@example.com\""));

    // Feedback: a hostile subject is kept as text; staff answer and close; the customer is told.
    let hostile = "<img src=x onerror=alert(1)>";
    let tickets = format!("/my/{MINE}/tickets");
    let fields = format!(
        "category=billing&subject={}&message=why+so+high%3F",
        url::form_urlencoded::byte_serialize(hostile.as_bytes()).collect::<String>()
    );
    let sent = post(&s, &me, &tickets, &tickets, &fields).await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let listed = get(&s, &me, &tickets).await;
    assert!(!listed.body.contains(hostile), "{}", listed.body);
    assert!(listed.body.contains("&#60;img") || listed.body.contains("&lt;img"));
    let empty = post(
        &s,
        &me,
        &tickets,
        &tickets,
        "category=billing&subject=&message=x",
    )
    .await;
    assert_eq!(empty.status, 422);
    let ticket = c.tickets_of(MINE).await.unwrap().remove(0);
    let cashier = sign_in(&s, "user-cashier").await;
    let queue = get(&s, &cashier, "/tickets").await;
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains(&ticket.id) && !queue.body.contains(hostile));
    let thread = format!("/tickets/{}", ticket.id);
    let answered = post(
        &s,
        &cashier,
        &thread,
        &format!("{thread}/reply"),
        "message=the+tier+changed&close=on",
    )
    .await;
    assert_eq!(answered.status, 303, "{}", answered.body);
    let mine = get(&s, &me, &format!("{tickets}/{}", ticket.id)).await;
    assert!(mine.body.contains("the tier changed") && mine.body.contains("data-status=\"closed\""));
    let again = post(
        &s,
        &me,
        &format!("{tickets}/{}", ticket.id),
        &format!("{tickets}/{}", ticket.id),
        "message=thanks",
    )
    .await;
    assert_eq!(again.status, 409, "a closed ticket takes no more messages");
    let kinds: Vec<String> = c
        .notices(MINE)
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.kind)
        .collect();
    assert!(kinds.contains(&"ticket_replied".to_string()), "{kinds:?}");
    // The reply went out by e-mail only (the customer turned the app off), in English.
    let deliveries = c.deliveries_of(MINE, 10).await.unwrap();
    let reply = deliveries
        .iter()
        .find(|d| d.kind == control::domain::notice::NoticeKind::TicketReplied)
        .unwrap();
    assert_eq!(
        (reply.channel, reply.lang),
        (
            control::store::deliveries::Channel::Email,
            control::domain::notice::Language::En
        )
    );
    // Staff may not use the customers' pages, and customers not the staff's queue.
    assert_eq!(get(&s, &cashier, &format!("/my/{MINE}")).await.status, 403);
    assert_eq!(get(&s, &me, "/tickets").await.status, 403);
}
