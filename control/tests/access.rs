//! Who may do what, tried over real HTTP against a served API on SQLite and PostgreSQL: every route
//! without credentials and with each role that lacks its right, customers reaching for other
//! customers' meters, revoked tokens, sessions without their CSRF token, brute-force logins, a
//! cashier refunding above the limit, and the audit trail's chain under editing and deletion.

#[path = "support/harness.rs"]
mod harness;
#[path = "support/http.rs"]
mod http;
#[path = "support/postgres.rs"]
mod postgres;

#[path = "access/account_pages.rs"]
mod account_pages;
#[path = "access/customer_pages.rs"]
mod customer_pages;
#[path = "access/pages.rs"]
mod pages;
#[path = "access/registration.rs"]
mod registration;
#[path = "access/takings.rs"]
mod takings;
#[path = "access/tickets_taken.rs"]
mod tickets_taken;
use account_pages::the_account_pages_find_pay_control_and_handle_alarms;
use customer_pages::a_customer_pays_sets_notices_and_gets_answers;
use pages::the_pages_sign_in_show_the_dashboard_and_check_forms;
use registration::a_customer_registers_with_a_code_sent_to_their_phone;
use takings::the_day_close_sums_each_taker_from_the_trail;
use tickets_taken::staff_take_down_tickets_from_the_hotline_and_the_counter;

use std::net::SocketAddr;

use control::app::audit::Actor;
use control::app::payments::Adjustment;
use control::domain::access::{Role, ROLES};
use control::domain::security_alarm::SecurityAlarmKind;
use control::http::{PUBLIC_ROUTES, ROUTES};
use control::secrets::Password;
use control::ControlError;
use harness::{rig_with, wednesday_morning, Backend, Rig};
use rust_decimal_macros::dec;

const MINE: &str = "000000000001";
const THEIRS: &str = "000000000002";
/// The simulated payment provider's secret in these tests.
const PROVIDER_SECRET: &str = "a-provider-secret-for-tests";

/// A served API with one user and token per role; the customer owns [`MINE`].
struct Served {
    rig: Rig,
    addr: SocketAddr,
    tokens: Vec<(Role, String)>,
}

impl Served {
    fn token(&self, role: Role) -> &str {
        &self.tokens.iter().find(|(r, _)| *r == role).unwrap().1
    }

    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> http::Answer {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let headers: Vec<(&str, &str)> = bearer
            .as_deref()
            .map(|b| vec![("Authorization", b)])
            .unwrap_or_default();
        http::request(self.addr, method, path, &headers, body).await
    }
}

async fn serve(backend: Backend) -> Served {
    serve_with(backend, None).await
}

/// [`serve`] with registration codes going to `sms`.
async fn serve_with(
    backend: Backend,
    sms: Option<std::sync::Arc<dyn control::notify::Channel>>,
) -> Served {
    let rig = rig_with(backend, wednesday_morning(), |_| {}).await;
    rig.open(MINE, dec!(50)).await;
    rig.open(THEIRS, dec!(50)).await;
    let c = &rig.control;
    let admin = Actor::cli();
    let mut tokens = Vec::new();
    for role in ROLES {
        let name = format!("user-{role}");
        let meters = if role == Role::Customer {
            vec![MINE.to_string()]
        } else {
            Vec::new()
        };
        c.add_user(
            &admin,
            &name,
            role,
            &Password::new("a long enough secret"),
            &meters,
        )
        .await
        .unwrap();
        let token = c.issue_token(&admin, &name, "test", None).await.unwrap();
        tokens.push((role, token.secret));
    }
    let addr = harness::serve_http_with(c, PROVIDER_SECRET, sms).await;
    Served { rig, addr, tokens }
}

/// A route's path with its parameters filled in (the meter is `meter`).
fn concrete(path: &str, meter: &str) -> String {
    path.replace("{meter}", meter)
        .replace("{id}", "no-such-id")
        .replace("{name}", "user-cashier")
}

async fn every_route_is_authorised(backend: Backend) {
    let s = serve(backend).await;
    let mut refused_customer = 0u64;
    for &(method, path, right) in ROUTES {
        let url = concrete(path, MINE);
        let anonymous = s.call(method, &url, None, "{}").await;
        assert_eq!(anonymous.status, 401, "{method} {path} without credentials");
        assert!(anonymous.header("www-authenticate").is_some());
        let forged = s.call(method, &url, Some("mlt_forged"), "{}").await;
        assert_eq!(forged.status, 401, "{method} {path} with a made-up token");
        for role in ROLES {
            // Logging out revokes the credential used: spend a fresh one.
            let fresh;
            let token = if path == "/api/logout" {
                fresh = s
                    .rig
                    .control
                    .issue_token(&Actor::cli(), &format!("user-{role}"), "spent", None)
                    .await
                    .unwrap()
                    .secret;
                fresh.as_str()
            } else {
                s.token(role)
            };
            let answer = s.call(method, &url, Some(token), "{}").await;
            if role.allows(right) {
                assert!(
                    answer.status != 401 && answer.status != 403,
                    "{method} {path} as {role}: {} {}",
                    answer.status,
                    answer.body
                );
            } else {
                assert_eq!(
                    answer.status, 403,
                    "{method} {path} as {role}: {}",
                    answer.body
                );
                refused_customer += u64::from(role == Role::Customer);
            }
        }
    }
    for &(method, path) in PUBLIC_ROUTES {
        let answer = s.call(method, path, None, "{}").await;
        assert_ne!(answer.status, 401, "{method} {path} is public");
    }
    // Refusals are audited, ten a minute per user; the next record counts those held back.
    let denied_customer = |records: &[control::domain::audit::AuditRecord]| -> Vec<String> {
        records
            .iter()
            .filter(|r| r.entry.action == control::domain::audit::AuditAction::AccessDenied)
            .filter(|r| r.entry.actor == "user-customer")
            .map(|r| r.entry.after.clone().unwrap_or_default())
            .collect()
    };
    let records = s.rig.control.audit_records(0, 10_000).await.unwrap();
    assert!(refused_customer > 10, "{refused_customer}");
    assert_eq!(denied_customer(&records).len(), 10);
    s.rig.clock.advance(chrono::Duration::seconds(61));
    let answer = s
        .call("GET", "/api/users", Some(s.token(Role::Customer)), "")
        .await;
    assert_eq!(answer.status, 403);
    let records = s.rig.control.audit_records(0, 10_000).await.unwrap();
    let last = denied_customer(&records).pop().unwrap();
    let after: serde_json::Value = serde_json::from_str(&last).unwrap();
    assert_eq!(after["held_back_before"], refused_customer - 10, "{after}");
}

async fn customers_see_only_their_own_meters(backend: Backend) {
    let s = serve(backend).await;
    let customer = s.token(Role::Customer);
    let own = s
        .call("GET", &format!("/api/accounts/{MINE}"), Some(customer), "")
        .await;
    assert_eq!(own.status, 200, "{}", own.body);
    for path in ["", "/ledger", "/notices", "/commands", "/exemptions"] {
        let other = s
            .call(
                "GET",
                &format!("/api/accounts/{THEIRS}{path}"),
                Some(customer),
                "",
            )
            .await;
        assert_eq!(
            other.status, 404,
            "another customer's meter{path} must look absent"
        );
        let missing = s
            .call(
                "GET",
                &format!("/api/accounts/999999999999{path}"),
                Some(customer),
                "",
            )
            .await;
        assert_eq!(other.body, missing.body.replace("999999999999", THEIRS));
    }
    let list = s.call("GET", "/api/accounts", Some(customer), "").await;
    assert_eq!(list.status, 403);
    let me = s.call("GET", "/api/me", Some(customer), "").await.json();
    assert_eq!(me["meters"][0], MINE);
}

async fn revoked_disabled_and_expired_credentials_stop_working(backend: Backend) {
    let s = serve(backend).await;
    let c = &s.rig.control;
    let admin = Actor::cli();
    let issued = c
        .issue_token(&admin, "user-operator", "cron", Some(1))
        .await
        .unwrap();
    let ok = s
        .call("GET", "/api/summary", Some(&issued.secret), "")
        .await;
    assert_eq!(ok.status, 200);
    c.revoke_credential(&admin, &issued.credential.id)
        .await
        .unwrap();
    let reused = s
        .call("GET", "/api/summary", Some(&issued.secret), "")
        .await;
    assert_eq!(reused.status, 401, "a revoked token is refused");
    // A day and a second later the one-day token has expired.
    let another = c
        .issue_token(&admin, "user-operator", "cron", Some(1))
        .await
        .unwrap();
    s.rig
        .clock
        .advance(chrono::Duration::days(1) + chrono::Duration::seconds(1));
    let expired = s
        .call("GET", "/api/summary", Some(&another.secret), "")
        .await;
    assert_eq!(expired.status, 401, "an expired token is refused");
    // Disabling a user ends their tokens at once.
    let analyst = s.token(Role::Analyst).to_string();
    c.set_disabled(&admin, "user-analyst", true).await.unwrap();
    let disabled = s.call("GET", "/api/summary", Some(&analyst), "").await;
    assert_eq!(disabled.status, 401);
    // The last admin cannot be disabled or demoted.
    let last = c
        .set_disabled(&admin, "user-admin", true)
        .await
        .unwrap_err();
    assert!(matches!(last, ControlError::Conflict(_)), "{last}");
}

async fn sessions_need_their_csrf_token_and_brute_force_is_locked_out(backend: Backend) {
    let s = serve(backend).await;
    // Malformed logins are refused with a clear error and no session.
    let oversized = format!(r#"{{"username":"{}","password":"x"}}"#, "a".repeat(100_000));
    for bad in [
        "not json",
        r#"{"username":"user-cashier"}"#,
        r#"{"username":"user-cashier","password":"a long enough secret","admin":true}"#,
        oversized.as_str(),
    ] {
        let answer = http::request(s.addr, "POST", "/api/login", &[], bad).await;
        assert_eq!(answer.status, 422, "{}", answer.body);
        assert!(answer.header("set-cookie").is_none());
    }
    let body = r#"{"username":"user-cashier","password":"a long enough secret"}"#;
    let login = http::request(s.addr, "POST", "/api/login", &[], body).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let cookie = login
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(login.header("set-cookie").unwrap().contains("HttpOnly"));
    let csrf = login.json()["csrf_token"].as_str().unwrap().to_string();
    let pay = format!("/api/accounts/{MINE}/payments");
    let payment = r#"{"amount":"5.00","reference":"csrf-1"}"#;
    let read = http::request(s.addr, "GET", "/api/me", &[("Cookie", &cookie)], "").await;
    assert_eq!(read.status, 200, "a session reads without CSRF");
    let forged = http::request(s.addr, "POST", &pay, &[("Cookie", &cookie)], payment).await;
    assert_eq!(forged.status, 403, "a cross-site POST without the token");
    let wrong = [("Cookie", cookie.as_str()), ("X-CSRF-Token", "0000")];
    assert_eq!(
        http::request(s.addr, "POST", &pay, &wrong, payment)
            .await
            .status,
        403
    );
    let right = [("Cookie", cookie.as_str()), ("X-CSRF-Token", csrf.as_str())];
    let paid = http::request(s.addr, "POST", &pay, &right, payment).await;
    assert_eq!(paid.status, 200, "{}", paid.body);
    // A session secret is not an API token.
    let secret = cookie.split_once('=').unwrap().1;
    let as_bearer = s.call("GET", "/api/me", Some(secret), "").await;
    assert_eq!(as_bearer.status, 401);

    // Brute force: after five wrong passwords even the right one is refused for a while, each
    // failure is audited, and a security alarm is raised.
    let wrong_password = r#"{"username":"user-operator","password":"guess guess guess"}"#;
    for _ in 0..5 {
        let answer = http::request(s.addr, "POST", "/api/login", &[], wrong_password).await;
        assert_eq!(answer.status, 401);
    }
    let right_password = r#"{"username":"user-operator","password":"a long enough secret"}"#;
    let locked = http::request(s.addr, "POST", "/api/login", &[], right_password).await;
    assert_eq!(locked.status, 401, "locked out");
    let unknown = r#"{"username":"nobody","password":"a long enough secret"}"#;
    let nobody = http::request(s.addr, "POST", "/api/login", &[], unknown).await;
    assert_eq!(
        nobody.body, locked.body,
        "the answers do not tell names apart"
    );
    let alarms = s.rig.control.security_alarms(10).await.unwrap();
    assert!(
        alarms
            .iter()
            .any(|a| a.kind == SecurityAlarmKind::FailedLogins),
        "{alarms:?}"
    );
    s.rig.clock.advance(chrono::Duration::minutes(1));
    let later = http::request(s.addr, "POST", "/api/login", &[], right_password).await;
    assert_eq!(later.status, 200, "the lockout ends");
    let trail = s.rig.control.audit_records(0, 1000).await.unwrap();
    let refused_logins = trail
        .iter()
        .filter(|r| {
            r.entry.action == control::domain::audit::AuditAction::Login
                && r.entry.outcome == control::domain::audit::Outcome::Refused
        })
        .count();
    assert_eq!(
        refused_logins, 7,
        "five wrong, one locked, one unknown name"
    );
}

/// A refund request authorised by a supervisor.
fn refund(amount: &str, reference: &str) -> Adjustment {
    Adjustment {
        amount: amount.into(),
        reference: reference.into(),
        authorised_by: "supervisor wang".into(),
        reason: "moving out".into(),
        corrects_seq: None,
        direction: None,
    }
}

async fn a_cashier_cannot_refund_above_the_limit(backend: Backend) {
    let s = serve(backend).await;
    let c = &s.rig.control;
    c.pay(MINE, "900.00", "big", &Actor::cli()).await.unwrap();
    let cashier = Actor::user("user-cashier", Role::Cashier, "127.0.0.1");
    let refused = c
        .refund(MINE, &refund("600.00", "r-1"), &cashier)
        .await
        .unwrap_err();
    assert!(matches!(refused, ControlError::Forbidden(_)), "{refused}");
    assert!(c
        .security_alarms(10)
        .await
        .unwrap()
        .iter()
        .any(|a| a.kind == SecurityAlarmKind::RefundAboveLimit));
    // The auditor sees it above the trail, in Chinese; the administrator closes it with a note on the
    // users page.
    let addr = s.addr;
    let page = |session: String, path: &'static str| async move {
        http::request(addr, "GET", path, &[("Cookie", session.as_str())], "").await
    };
    let auditor = pages::sign_in(&s, "user-auditor").await;
    let trail = page(auditor, "/audit").await.body;
    assert!(
        trail.contains("id=\"security-alarms\"") && trail.contains("超限退款"),
        "{trail}"
    );
    assert!(
        !trail.contains("/security-alarms/"),
        "the auditor only reads"
    );
    let admin_session = pages::sign_in(&s, "user-admin").await;
    let users = page(admin_session.clone(), "/users").await.body;
    let id = users.split("data-security-alarm=\"").nth(1).unwrap();
    let id = id.split('"').next().unwrap().to_string();
    let csrf = pages::hidden(&users, "csrf");
    let closed = http::request(
        s.addr,
        "POST",
        &format!("/security-alarms/{id}/clear"),
        &[pages::FORM, ("Cookie", admin_session.as_str())],
        &format!("note=%E7%8F%AD%E9%95%BF%E5%B7%B2%E6%A0%B8%E5%AE%9E&csrf={csrf}"),
    )
    .await;
    assert_eq!(
        closed.header("location"),
        Some("/users?done=cleared"),
        "{}",
        closed.body
    );
    let after = page(admin_session, "/users").await.body;
    assert!(after.contains("id=\"no-security-alarms\""), "{after}");
    c.refund(MINE, &refund("400.00", "r-2"), &cashier)
        .await
        .unwrap();
    let admin = Actor::user("user-admin", Role::Admin, "127.0.0.1");
    c.refund(MINE, &refund("450.00", "r-3"), &admin)
        .await
        .unwrap();
    s.rig.assert_ledger_sound().await;
}

async fn the_audit_trail_detects_editing_and_deletion(backend: Backend) {
    let s = serve(backend).await;
    let c = &s.rig.control;
    for i in 0..5 {
        c.pay(MINE, "1.00", &format!("audit-{i}"), &Actor::cli())
            .await
            .unwrap();
    }
    let intact = c.verify_audit().await.unwrap();
    assert!(intact.broken.is_none(), "{intact:?}");
    assert!(
        intact.records >= 5 + 2 * 7,
        "users, tokens, accounts and payments"
    );
    let target = intact.records - 2;
    let pool = c.db().pool();
    sqlx::query("UPDATE audit SET after_value = '{\"balance\":\"9999.00\"}' WHERE seq = $1")
        .bind(target)
        .execute(pool)
        .await
        .unwrap();
    let edited = c.verify_audit().await.unwrap().broken.unwrap();
    assert_eq!(edited.seq, target, "{edited:?}");
    assert!(edited.why.contains("edited"), "{}", edited.why);

    // On a fresh trail, delete a record in the middle: the next record's link breaks.
    let s2 = serve(backend).await;
    let c2 = &s2.rig.control;
    for i in 0..3 {
        c2.pay(MINE, "1.00", &format!("audit-{i}"), &Actor::cli())
            .await
            .unwrap();
    }
    let head = c2.verify_audit().await.unwrap().records;
    sqlx::query("DELETE FROM audit WHERE seq = $1")
        .bind(head - 1)
        .execute(c2.db().pool())
        .await
        .unwrap();
    let deleted = c2.verify_audit().await.unwrap().broken.unwrap();
    assert_eq!(deleted.seq, head - 1, "{deleted:?}");
    // Removing the newest record is caught by the head.
    let s3 = serve(backend).await;
    let c3 = &s3.rig.control;
    let head = c3.verify_audit().await.unwrap().records;
    sqlx::query("DELETE FROM audit WHERE seq = $1")
        .bind(head)
        .execute(c3.db().pool())
        .await
        .unwrap();
    let truncated = c3.verify_audit().await.unwrap().broken.unwrap();
    assert_eq!(truncated.seq, head, "{truncated:?}");
}

async fn a_burst_of_manual_trips_raises_an_alarm(backend: Backend) {
    let s = serve(backend).await;
    let c = &s.rig.control;
    let operator = Actor::user("user-operator", Role::Operator, "10.0.0.9");
    let trip = || control::app::remote::CommandRequest {
        action: ingest::dlt645::RelayAction::Trip,
        reason: "manual".into(),
    };
    let burst = usize::try_from(control::app::remote::TRIP_BURST).unwrap();
    for i in 0..burst {
        let meter = format!("{:012}", 100 + i);
        s.rig.open(&meter, dec!(50)).await;
        c.request_command(&meter, trip(), &operator).await.unwrap();
        let alarms = c.security_alarms(10).await.unwrap();
        let raised = alarms
            .iter()
            .any(|a| a.kind == SecurityAlarmKind::TripBurst);
        assert_eq!(raised, i + 1 == burst, "after {} trips: {alarms:?}", i + 1);
    }
    let created = c
        .audit_records(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| {
            r.entry.action == control::domain::audit::AuditAction::CommandCreated
                && r.entry.actor == "user-operator"
        })
        .count();
    assert_eq!(
        created, burst,
        "each trip is in the audit trail under its operator"
    );

    // An auditor reads security alarms; only an administrator closes one, and only with a note.
    let alarm = c.security_alarms(10).await.unwrap().remove(0);
    let path = format!("/api/security/alarms/{}/clear", alarm.id);
    let found = r#"{"note":"checked with the operator: a street cut off under work order 7731"}"#;
    let auditor = s.token(Role::Auditor);
    assert_eq!(
        s.call("POST", &path, Some(auditor), found).await.status,
        403
    );
    let admin = s.token(Role::Admin);
    let blank = s.call("POST", &path, Some(admin), r#"{"note":"  "}"#).await;
    assert_eq!(blank.status, 422, "{}", blank.body);
    let cleared = s.call("POST", &path, Some(admin), found).await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    let cleared: serde_json::Value = serde_json::from_str(&cleared.body).unwrap();
    assert_eq!(cleared["kind"], "trip_burst");
    assert_eq!(cleared["cleared_by"], "user-admin");
    assert!(cleared["clear_note"].as_str().unwrap().contains("7731"));
    assert_eq!(s.call("POST", &path, Some(admin), found).await.status, 409);
    let unknown = "/api/security/alarms/no-such-alarm/clear";
    assert_eq!(
        s.call("POST", unknown, Some(admin), found).await.status,
        404
    );
    assert!(c.security_alarms(10).await.unwrap().is_empty());
    let closing = c
        .audit_records(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.entry.object == format!("security_alarm:{}", alarm.id))
        .map(|r| (r.entry.action, r.entry.actor))
        .collect::<Vec<_>>();
    assert_eq!(
        closing,
        [(
            control::domain::audit::AuditAction::AlarmCleared,
            "user-admin".to_string()
        )]
    );
}

/// Malformed queries and bodies on the alarm, event and VEE-edit routes get a clear 4xx naming the
/// problem; a valid edit is kept with who and why, listed, visible to the meter's customer and audited.
async fn bad_requests_get_clear_errors_and_edits_are_kept(backend: Backend) {
    let s = serve(backend).await;
    let maintenance = s.token(Role::Maintenance);
    for (path, names) in [
        ("/api/alarms?state=bogus", "bogus"),
        ("/api/alarms?limit=abc", "query string"),
        ("/api/alarms?since=yesterday", "query string"),
        ("/api/alarms?colour=red", "colour"),
        (
            &format!("/api/meters/{MINE}/events?from=nope") as &str,
            "query string",
        ),
        (
            &format!("/api/meters/{MINE}/interval-edits?to=1") as &str,
            "query string",
        ),
    ] {
        let answer = s.call("GET", path, Some(maintenance), "").await;
        assert!(
            (400..500).contains(&answer.status) && answer.body.contains(names),
            "{path}: {} {}",
            answer.status,
            answer.body
        );
    }
    let edits = format!("/api/meters/{MINE}/interval-edits");
    let body = |at: &str, kwh: &str, reason: &str| {
        format!(r#"{{"interval_start": "{at}", "kwh": "{kwh}", "reason": "{reason}"}}"#)
    };
    for (request, problem) in [
        (body("2026-09-30T01:05:00Z", "1", "x"), "15-minute"),
        (body("2026-09-30T01:00:00Z", "-1", "x"), "negative"),
        (
            body("2026-09-30T01:00:00Z", "0.0000001", "x"),
            "6 decimal places",
        ),
        (body("2026-09-30T01:00:00Z", "1", " "), "reason"),
        (body("2026-10-30T01:00:00Z", "1", "x"), "not ended"),
        (
            r#"{"interval_start": "2026-09-30T01:00:00Z"}"#.to_string(),
            "kwh",
        ),
        ("not json".to_string(), ""),
    ] {
        let answer = s.call("POST", &edits, Some(maintenance), &request).await;
        assert!(
            (400..500).contains(&answer.status) && answer.body.contains(problem),
            "{request}: {} {}",
            answer.status,
            answer.body
        );
    }
    let kept = s
        .call(
            "POST",
            &edits,
            Some(maintenance),
            &body(
                "2026-09-30T01:00:00Z",
                "0.75",
                "register photo read on site",
            ),
        )
        .await;
    assert_eq!(kept.status, 200, "{}", kept.body);
    assert_eq!(kept.json()["edited_by"], "user-maintenance");
    let listed = s
        .call(
            "GET",
            &format!("{edits}?from=2026-09-29T00:00:00Z"),
            Some(s.token(Role::Customer)),
            "",
        )
        .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(listed.json()[0]["reason"], "register photo read on site");
    let theirs = s
        .call(
            "GET",
            &format!("/api/meters/{THEIRS}/interval-edits"),
            Some(s.token(Role::Customer)),
            "",
        )
        .await;
    assert_eq!(theirs.status, 404);
    let audit = s.rig.control.audit_records(0, 1000).await.unwrap();
    assert!(audit
        .iter()
        .any(|r| r.entry.action == control::domain::audit::AuditAction::IntervalEdited));
}

on_both_backends!(trip_burst, a_burst_of_manual_trips_raises_an_alarm);
on_both_backends!(
    bad_requests,
    bad_requests_get_clear_errors_and_edits_are_kept
);
on_both_backends!(every_route, every_route_is_authorised);
on_both_backends!(
    staff_pages,
    the_pages_sign_in_show_the_dashboard_and_check_forms
);
on_both_backends!(customer_scope, customers_see_only_their_own_meters);
on_both_backends!(
    credentials,
    revoked_disabled_and_expired_credentials_stop_working
);
on_both_backends!(
    sessions,
    sessions_need_their_csrf_token_and_brute_force_is_locked_out
);
on_both_backends!(refund_limit, a_cashier_cannot_refund_above_the_limit);
on_both_backends!(audit_chain, the_audit_trail_detects_editing_and_deletion);
on_both_backends!(
    staff_account_pages,
    the_account_pages_find_pay_control_and_handle_alarms
);
on_both_backends!(
    customer_self_service,
    a_customer_pays_sets_notices_and_gets_answers
);
on_both_backends!(day_close, the_day_close_sums_each_taker_from_the_trail);
on_both_backends!(
    self_registration,
    a_customer_registers_with_a_code_sent_to_their_phone
);
on_both_backends!(
    tickets_taken_down,
    staff_take_down_tickets_from_the_hotline_and_the_counter
);
