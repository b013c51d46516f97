//! Customers registering themselves over real HTTP, with codes sent through a real signed webhook (the
//! SMS provider's): a meter and phone that do not match get the same answer and no code, the right code
//! makes a customer login for that meter only, and a spent code, a guessed code, an expired code, a
//! forged form, too many asks and a closed registration are refused.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use control::app::customers::CustomerDetails;
use control::domain::notice::Language;
use control::notify::local::LocalWebhook;
use control::notify::{Channel, NotifyConfig};

use super::pages::{hidden, set_cookie, FORM};
use super::*;

const SMS_SECRET: &str = "an-sms-provider-secret";
const PHONE: &str = "13800138000";

/// A registration form session: the one-time token and its cookie from the last page.
struct Form {
    token: String,
    cookie: String,
}

impl Form {
    fn of(page: &http::Answer) -> Self {
        Self {
            token: hidden(&page.body, "token"),
            cookie: set_cookie(page, "meterlake_register").expect("a register cookie"),
        }
    }
}

async fn post(s: &Served, form: &Form, path: &str, fields: &str) -> http::Answer {
    let body = format!("{fields}&token={}", form.token);
    let headers = [FORM, ("Cookie", form.cookie.as_str())];
    http::request(s.addr, "POST", path, &headers, &body).await
}

/// Asks for a code for THEIRS with `phone`; returns the code page.
async fn ask(s: &Served, phone: &str) -> http::Answer {
    let page = http::request(s.addr, "GET", "/register", &[], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    post(
        s,
        &Form::of(&page),
        "/register",
        &format!("meter={THEIRS}&phone={phone}"),
    )
    .await
}

/// The codes the SMS provider received, oldest first, waiting until there are `n`.
async fn codes(sms: &LocalWebhook, n: usize) -> Vec<String> {
    for _ in 0..200 {
        let (_, bodies) = sms.seen();
        if bodies.len() >= n {
            return bodies
                .iter()
                .map(|b| {
                    let message: serde_json::Value = serde_json::from_str(b).unwrap();
                    assert_eq!(message["kind"], "registration_code");
                    assert_eq!(message["meter_id"], THEIRS);
                    let text = message["text"].as_str().unwrap();
                    let at = text.find("验证码 ").expect("a code in the text") + "验证码 ".len();
                    text[at..at + 6].to_string()
                })
                .collect();
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("{n} codes did not arrive: {:?}", sms.seen());
}

fn register_fields(attempt: &str, code: &str, username: &str) -> String {
    format!(
        "attempt={attempt}&code={code}&username={username}\
         &password=a+long+enough+secret&password2=a+long+enough+secret"
    )
}

pub(super) async fn a_customer_registers_with_a_code_sent_to_their_phone(backend: Backend) {
    let sms = LocalWebhook::start(SMS_SECRET, 0).await.unwrap();
    let channel = control::notify::webhook::Webhook::new(&NotifyConfig {
        webhook_url: sms.url(),
        webhook_secret: SMS_SECRET.into(),
        ..NotifyConfig::default()
    })
    .unwrap();
    let s = serve_with(backend, Some(Arc::new(channel) as Arc<dyn Channel>)).await;
    let c = &s.rig.control;
    let details = CustomerDetails {
        name: Some("李四".into()),
        phone: Some(PHONE.into()),
        ..CustomerDetails::default()
    };
    c.set_customer(THEIRS, &details, &Actor::cli())
        .await
        .unwrap();

    // Malformed numbers are refused with words saying what is wrong, and nothing is recorded.
    for (fields, says) in [
        ("meter=12345&phone=13800138000", "电表号为 12 位数字"),
        (
            "meter=000000000002&phone=138%3Cscript%3E",
            "手机号应为 7 到 15 位数字",
        ),
    ] {
        let page = http::request(s.addr, "GET", "/register", &[], "").await;
        let refused = post(&s, &Form::of(&page), "/register", fields).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.body.contains(says), "{}", refused.body);
        assert!(!refused.body.contains("<script>"), "typed text is escaped");
    }

    // A wrong phone gets the same page as the right one, and no code; it does not make the customer
    // wait (asks are rationed per meter and phone).
    let wrong = ask(&s, "13900139000").await;
    assert_eq!(wrong.status, 200, "{}", wrong.body);
    assert!(wrong.body.contains("id=\"code-sent\""), "{}", wrong.body);
    let wrong_attempt = hidden(&wrong.body, "attempt");
    // The phone with the country code is the one on record.
    let right = ask(&s, "%2B86+138-0013-8000").await;
    assert_eq!(right.status, 200, "{}", right.body);
    let attempt = hidden(&right.body, "attempt");
    let code = codes(&sms, 1).await.remove(0);
    assert_eq!(sms.seen().1.len(), 1, "only the matching ask sent a code");
    // The same meter and phone again within the minute: wait.
    let soon = ask(&s, PHONE).await;
    assert_eq!(soon.status, 422);
    assert!(soon.body.contains("验证码刚刚发送过"), "{}", soon.body);

    // The code is bound to its attempt; a wrong code and differing passwords are refused.
    let form = Form::of(&right);
    let refused = post(
        &s,
        &form,
        "/register/code",
        &register_fields(&wrong_attempt, &code, "li-si"),
    )
    .await;
    assert_eq!(refused.status, 422);
    assert!(refused.body.contains("验证码不正确"), "{}", refused.body);
    let refused = post(
        &s,
        &form,
        "/register/code",
        &register_fields(&attempt, "000000", "li-si"),
    )
    .await;
    assert!(refused.body.contains("验证码不正确") || code == "000000");
    let differ = format!("attempt={attempt}&code={code}&username=li-si&password=a+long+enough+secret&password2=another+long+secret");
    let refused = post(&s, &form, "/register/code", &differ).await;
    assert!(
        refused.body.contains("两次输入的密码不一致"),
        "{}",
        refused.body
    );
    // A forged form (no matching token) is refused.
    let forged = Form {
        token: "0".repeat(32),
        cookie: form.cookie.clone(),
    };
    let refused = post(
        &s,
        &forged,
        "/register/code",
        &register_fields(&attempt, &code, "li-si"),
    )
    .await;
    assert_eq!(refused.status, 403);

    // The right code makes a customer login for THEIRS, signed in.
    let done = post(
        &s,
        &form,
        "/register/code",
        &register_fields(&attempt, &code, "li-si"),
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.header("location"), Some("/my"));
    let session = set_cookie(&done, "meterlake_session").expect("signed in");
    let mine = http::request(
        s.addr,
        "GET",
        &format!("/my/{THEIRS}"),
        &[("Cookie", session.as_str())],
        "",
    )
    .await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    let other = http::request(
        s.addr,
        "GET",
        &format!("/my/{MINE}"),
        &[("Cookie", session.as_str())],
        "",
    )
    .await;
    assert_eq!(other.status, 404, "another's meter stays hidden");
    // The same code again: spent.
    let again = post(
        &s,
        &form,
        "/register/code",
        &register_fields(&attempt, &code, "li-si-2"),
    )
    .await;
    assert_eq!(again.status, 422);
    assert!(again.body.contains("验证码已失效"), "{}", again.body);

    // Guessing: five tries, then even the right code is refused.
    s.rig.clock.advance(Duration::seconds(61));
    let page = ask(&s, PHONE).await;
    let guessed = hidden(&page.body, "attempt");
    let code = codes(&sms, 2).await.remove(1);
    let form = Form::of(&page);
    for guess in 0..5 {
        let wrong_code = format!(
            "{:06}",
            (code.parse::<u32>().unwrap() + 1 + guess) % 1_000_000
        );
        let answer = post(
            &s,
            &form,
            "/register/code",
            &register_fields(&guessed, &wrong_code, "guesser"),
        )
        .await;
        assert!(answer.body.contains("验证码不正确"), "{}", answer.body);
    }
    let answer = post(
        &s,
        &form,
        "/register/code",
        &register_fields(&guessed, &code, "guesser"),
    )
    .await;
    assert!(answer.body.contains("验证码已失效"), "{}", answer.body);
    let alarms = c.security_alarms(10).await.unwrap();
    assert!(
        alarms
            .iter()
            .any(|a| a.kind == SecurityAlarmKind::RegistrationGuessing
                && a.subject == format!("meter:{THEIRS}")),
        "{alarms:?}"
    );

    // Expired after ten minutes.
    s.rig.clock.advance(Duration::seconds(61));
    let page = ask(&s, PHONE).await;
    let late = hidden(&page.body, "attempt");
    let code = codes(&sms, 3).await.remove(2);
    s.rig.clock.advance(Duration::minutes(11));
    let answer = post(
        &s,
        &Form::of(&page),
        "/register/code",
        &register_fields(&late, &code, "latecomer"),
    )
    .await;
    assert!(answer.body.contains("验证码已失效"), "{}", answer.body);

    // Three asks for this meter and phone within the hour were made (the one that waited is not
    // counted): two more pass, the sixth is refused.
    for _ in 0..2 {
        s.rig.clock.advance(Duration::seconds(61));
        let page = ask(&s, PHONE).await;
        assert_eq!(page.status, 200, "{}", page.body);
    }
    s.rig.clock.advance(Duration::seconds(61));
    let page = ask(&s, PHONE).await;
    assert_eq!(page.status, 422);
    assert!(page.body.contains("次数过多"), "{}", page.body);
    let names: Vec<String> = c
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert!(
        names.contains(&"li-si".to_string())
            && !names.iter().any(|n| n == "guesser" || n == "latecomer")
    );

    // Two tries with one code at once make one login.
    let other = CustomerDetails {
        phone: Some("13700137000".into()),
        ..CustomerDetails::default()
    };
    c.set_customer(MINE, &other, &Actor::cli()).await.unwrap();
    let direct: Arc<dyn Channel> = Arc::new(
        control::notify::webhook::Webhook::new(&NotifyConfig {
            webhook_url: sms.url(),
            webhook_secret: SMS_SECRET.into(),
            ..NotifyConfig::default()
        })
        .unwrap(),
    );
    let attempt = c
        .ask_registration_code(MINE, "13700137000", "198.51.100.7", Language::Zh, &direct)
        .await
        .unwrap();
    let mut code = None;
    for _ in 0..200 {
        code = sms.seen().1.iter().find_map(|b| {
            let m: serde_json::Value = serde_json::from_str(b).ok()?;
            (m["meter_id"] == MINE).then_some(())?;
            let text = m["text"].as_str()?.to_string();
            let at = text.find("验证码 ")? + "验证码 ".len();
            Some(text[at..at + 6].to_string())
        });
        if code.is_some() {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    let code = code.expect("MINE's code");
    let racers = ["racer-a", "racer-b"].map(|name| {
        let (c, attempt, code) = (c.clone(), attempt.clone(), code.clone());
        tokio::spawn(async move {
            c.register_with_code(
                &attempt,
                &code,
                name,
                &Password::new("a long enough secret"),
                "x",
            )
            .await
        })
    });
    let mut made = 0;
    for racer in racers {
        made += usize::from(racer.await.unwrap().is_ok());
    }
    assert_eq!(made, 1, "one code, one login");

    // A service without an SMS provider does not offer registering.
    let closed = harness::serve_http(c, PROVIDER_SECRET).await;
    let page = http::request(closed, "GET", "/register", &[], "").await;
    assert!(page.body.contains("id=\"closed\""), "{}", page.body);
    let asked = http::request(closed, "POST", "/register", &[FORM], "meter=1&phone=2").await;
    assert_eq!(asked.status, 404);
}
