//! The account pages over real HTTP: search by name, phone and meter prefix (a hostile name shown as
//! text), the account page, a cashier's payment (and its replay, and bad amounts), an operator's
//! remote-control command behind its confirmation step, keep-power granted and revoked, and the alarm
//! queue's acknowledge and clear.

use super::pages::{hidden, sign_in, FORM};
use super::*;
use analytics::diagnosis::watch::Signal;
use analytics::diagnosis::AlarmRule;
use control::app::customers::CustomerDetails;

/// GETs `path` with `session`.
async fn get(s: &Served, session: &str, path: &str) -> http::Answer {
    http::request(s.addr, "GET", path, &[("Cookie", session)], "").await
}

/// POSTs form `fields` to `path` with `session` and its CSRF token (read from `/accounts/{MINE}`).
async fn post(s: &Served, session: &str, path: &str, fields: &str) -> http::Answer {
    let page = get(s, session, &format!("/accounts/{MINE}")).await;
    let csrf = hidden(&page.body, "csrf");
    let body = format!("{fields}&csrf={csrf}");
    http::request(s.addr, "POST", path, &[FORM, ("Cookie", session)], &body).await
}

pub(super) async fn the_account_pages_find_pay_control_and_handle_alarms(backend: Backend) {
    let s = serve(backend).await;
    let c = &s.rig.control;
    let details = |name: &str, phone: &str| CustomerDetails {
        name: Some(name.into()),
        phone: Some(phone.into()),
        ..CustomerDetails::default()
    };
    c.set_customer(MINE, &details("张伟", "138 0013 8000"), &Actor::cli())
        .await
        .unwrap();
    let hostile = "<script>alert(1)</script>";
    c.set_customer(THEIRS, &details(hostile, "13900139000"), &Actor::cli())
        .await
        .unwrap();
    let cashier = sign_in(&s, "user-cashier").await;

    // Search by name (spacing aside), phone (separators aside) and the start of the meter number.
    let by_name = get(&s, &cashier, "/accounts?q=%E5%BC%A0%20%E4%BC%9F").await;
    assert_eq!(by_name.status, 200, "{}", by_name.body);
    let exact = get(&s, &cashier, "/accounts?q=%E5%BC%A0%E4%BC%9F").await;
    assert!(exact.body.contains(&format!("href=\"/accounts/{MINE}\"")));
    assert!(!exact.body.contains(THEIRS), "only 张伟's account");
    assert!(
        by_name.body.contains("id=\"no-match\""),
        "张 伟 is another name"
    );
    let by_phone = get(&s, &cashier, "/accounts?q=138-0013-8000").await;
    assert!(by_phone.body.contains(MINE) && !by_phone.body.contains(THEIRS));
    let by_prefix = get(&s, &cashier, "/accounts?q=0000000000").await;
    assert!(by_prefix.body.contains(MINE) && by_prefix.body.contains(THEIRS));
    assert!(by_prefix.body.contains("¥50.00"));
    // A hostile name is shown as text, never as markup.
    assert!(!by_prefix.body.contains(hostile), "{}", by_prefix.body);
    assert!(
        by_prefix.body.contains("&#60;script&#62;") || by_prefix.body.contains("&lt;script&gt;")
    );
    let tripped = get(&s, &cashier, "/accounts?state=overdraft_trip").await;
    assert!(tripped.body.contains("id=\"no-match\""));
    let bad_state = get(&s, &cashier, "/accounts?state=bogus").await;
    assert_eq!(bad_state.status, 422);
    assert!(bad_state.body.contains("id=\"error-message\""));
    let too_long = get(&s, &cashier, &format!("/accounts?q={}", "9".repeat(101))).await;
    assert_eq!(too_long.status, 422);

    // The cashier's account page: balance and the payment form, no remote control.
    let page = get(&s, &cashier, &format!("/accounts/{MINE}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"balance\">¥50.00<"));
    assert!(page.body.contains("id=\"customer-name\">张伟<"));
    assert!(page.body.contains("138****8000"), "the phone is masked");
    assert!(page.body.contains("id=\"pay-form\"") && !page.body.contains("id=\"command-form\""));
    assert!(page.body.contains("id=\"chart-balance\""));
    let missing = get(&s, &cashier, "/accounts/000000009999").await;
    assert_eq!(missing.status, 404);

    // A payment, its replay by a second click, and amounts that are not money.
    let pay = format!("/accounts/{MINE}/pay");
    let paid = post(&s, &cashier, &pay, "amount=12.50&reference=R-1").await;
    assert_eq!(paid.status, 303, "{}", paid.body);
    let back = paid.header("location").unwrap().to_string();
    assert_eq!(back, format!("/accounts/{MINE}?done=paid"));
    let after = get(&s, &cashier, &back).await;
    assert!(
        after.body.contains("id=\"balance\">¥62.50<"),
        "{}",
        after.body
    );
    assert!(after.body.contains("id=\"done\""));
    let again = post(&s, &cashier, &pay, "amount=12.50&reference=R-1").await;
    assert_eq!(
        again.header("location").unwrap(),
        format!("/accounts/{MINE}?done=replayed")
    );
    assert_eq!(
        c.account(MINE).await.unwrap().balance,
        dec!(62.50),
        "booked once"
    );
    for bad in [
        "amount=abc&reference=R-2",
        "amount=-5&reference=R-3",
        "amount=1e3&reference=R-4",
        "reference=R-5",
    ] {
        let refused = post(&s, &cashier, &pay, bad).await;
        assert_eq!(refused.status, 422, "{bad}: {}", refused.body);
        assert!(refused.body.contains(&format!("href=\"/accounts/{MINE}\"")));
    }
    assert_eq!(c.account(MINE).await.unwrap().balance, dec!(62.50));
    let no_csrf = http::request(
        s.addr,
        "POST",
        &pay,
        &[FORM, ("Cookie", &cashier)],
        "amount=1&reference=R-6",
    )
    .await;
    assert_eq!(no_csrf.status, 403);
    let unknown_done = get(&s, &cashier, &format!("/accounts/{MINE}?done=%3Cb%3Ehi")).await;
    assert!(
        !unknown_done.body.contains("id=\"done\""),
        "unknown markers are not echoed"
    );
    // A refund needs who authorised it and why; more than the balance is refused.
    let refund = format!("/accounts/{MINE}/refund");
    let refunded = post(
        &s,
        &cashier,
        &refund,
        "amount=2.50&reference=RF-1&authorised_by=supervisor+wang&reason=moved+out",
    )
    .await;
    assert_eq!(
        refunded.header("location"),
        Some(&*format!("/accounts/{MINE}?done=refunded")),
        "{}",
        refunded.body
    );
    assert_eq!(c.account(MINE).await.unwrap().balance, dec!(60.00));
    for bad in [
        "amount=2&reference=RF-2&reason=x",
        "amount=100&reference=RF-3&authorised_by=wang&reason=too+much",
    ] {
        let refused = post(&s, &cashier, &refund, bad).await;
        assert_eq!(refused.status, 422, "{bad}: {}", refused.body);
    }
    assert_eq!(c.account(MINE).await.unwrap().balance, dec!(60.00));

    // The operator: a trip is only sent after its confirmation step.
    let operator = sign_in(&s, "user-operator").await;
    let command = format!("/accounts/{MINE}/command");
    let ask = post(&s, &operator, &command, "action=trip&reason=site+works").await;
    assert_eq!(ask.status, 200, "{}", ask.body);
    assert!(ask.body.contains("id=\"confirm-form\"") && ask.body.contains("拉闸"));
    assert!(
        c.commands_of(MINE, 10).await.unwrap().is_empty(),
        "nothing sent yet"
    );
    let sent = post(
        &s,
        &operator,
        &command,
        "action=trip&reason=site+works&confirm=yes",
    )
    .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    let commands = c.commands_of(MINE, 10).await.unwrap();
    assert_eq!(commands.len(), 1);
    let shown = get(&s, &operator, sent.header("location").unwrap()).await;
    assert!(shown
        .body
        .contains(&format!("data-command=\"{}\"", commands[0].command_id)));
    assert!(shown.body.contains("site works"));
    let bogus = post(
        &s,
        &operator,
        &command,
        "action=explode&reason=x&confirm=yes",
    )
    .await;
    assert_eq!(bogus.status, 422);

    // Keep-power: granted for a number of days, then revoked.
    let keep = format!("/accounts/{MINE}/keep-power");
    for bad in [
        "kind=medical&reason=x&days=0",
        "kind=medical&reason=x&days=400",
        "kind=whim&reason=x&days=3",
        "kind=medical&days=3",
    ] {
        assert_eq!(post(&s, &operator, &keep, bad).await.status, 422, "{bad}");
    }
    let granted = post(
        &s,
        &operator,
        &keep,
        "kind=medical&reason=oxygen+concentrator&days=30",
    )
    .await;
    assert_eq!(granted.status, 303, "{}", granted.body);
    let exemption = c.exemptions(MINE).await.unwrap().remove(0);
    let page = get(&s, &operator, &format!("/accounts/{MINE}")).await;
    assert!(page.body.contains("oxygen concentrator"));
    let revoke = format!("/accounts/{MINE}/keep-power/{}/revoke", exemption.id);
    assert_eq!(post(&s, &operator, &revoke, "x=1").await.status, 303);
    assert!(c.exemptions(MINE).await.unwrap()[0].revoked_at.is_some());

    // The alarm queue: maintenance acknowledges, then clears with a note.
    let at_us = wednesday_morning().timestamp_micros();
    let raised = Signal::Raised {
        meter_id: MINE.into(),
        rule: AlarmRule::CoverOpened,
        at_us,
        since_us: at_us,
        evidence: Vec::new(),
    };
    c.apply_signals(&[raised], &Default::default())
        .await
        .unwrap();
    let maintenance = sign_in(&s, "user-maintenance").await;
    let queue = get(&s, &maintenance, "/alarms").await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert!(queue.body.contains("开表盖") && queue.body.contains("data-state=\"raised\""));
    let id = c.open_alarms(10).await.unwrap()[0].id.clone();
    let acked = post(&s, &maintenance, &format!("/alarms/{id}/ack"), "x=1").await;
    assert_eq!(acked.header("location"), Some("/alarms?done=acknowledged"));
    let twice = post(&s, &maintenance, &format!("/alarms/{id}/ack"), "x=1").await;
    assert_eq!(twice.status, 409, "already acknowledged");
    let no_note = post(&s, &maintenance, &format!("/alarms/{id}/clear"), "note=").await;
    assert_eq!(no_note.status, 422);
    let cleared = post(
        &s,
        &maintenance,
        &format!("/alarms/{id}/clear"),
        "note=cover+resealed",
    )
    .await;
    assert_eq!(cleared.header("location"), Some("/alarms?done=cleared"));
    let all = get(&s, &maintenance, "/alarms?show=all").await;
    assert!(all.body.contains("data-state=\"cleared\"") && all.body.contains("user-maintenance"));
    assert!(get(&s, &maintenance, "/alarms")
        .await
        .body
        .contains("id=\"no-alarms\""));
    // An operator reads the queue; a cashier may not.
    assert_eq!(get(&s, &cashier, "/alarms").await.status, 403);

    // The auditor reads the trail with its chain checked; the admin manages users.
    let auditor = sign_in(&s, "user-auditor").await;
    let trail = get(&s, &auditor, "/audit").await;
    assert_eq!(trail.status, 200, "{}", trail.body);
    assert!(trail.body.contains("id=\"chain\"") && trail.body.contains("class=\"done\""));
    assert!(trail.body.contains("alarm_cleared") && trail.body.contains("payment"));
    assert!(
        trail.body.contains("id=\"no-security-alarms\""),
        "{}",
        trail.body
    );
    assert_eq!(get(&s, &auditor, "/users").await.status, 403);
    let admin = sign_in(&s, "user-admin").await;
    let users = get(&s, &admin, "/users").await;
    assert!(users.body.contains("data-user=\"user-cashier\""));
    let form = |fields: &str| {
        let csrf = hidden(&users.body, "csrf");
        format!("{fields}&csrf={csrf}")
    };
    let add = |body: String| {
        let admin = admin.clone();
        let addr = s.addr;
        async move {
            http::request(
                addr,
                "POST",
                "/users",
                &[FORM, ("Cookie", admin.as_str())],
                &body,
            )
            .await
        }
    };
    let added = add(form(
        "username=cashier-new&role=cashier&password=another+long+secret",
    ))
    .await;
    assert_eq!(added.status, 303, "{}", added.body);
    assert_eq!(
        add(form(
            "username=Bad+Name&role=cashier&password=another+long+secret"
        ))
        .await
        .status,
        422
    );
    assert_eq!(
        add(form(
            "username=x2&role=emperor&password=another+long+secret"
        ))
        .await
        .status,
        422
    );
    let change = http::request(
        s.addr,
        "POST",
        "/users/cashier-new",
        &[FORM, ("Cookie", admin.as_str())],
        &form("role=operator&disabled=on"),
    )
    .await;
    assert_eq!(change.status, 303, "{}", change.body);
    let user = c
        .users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.username == "cashier-new")
        .unwrap();
    assert_eq!((user.role, user.disabled), (Role::Operator, true));
}
