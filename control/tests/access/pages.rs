//! The staff pages over real HTTP: the login form and its one-time token, the session cookie, the
//! dashboard in both languages, the CSRF field of forms, and refusals as pages and redirects.

use super::*;

/// The `value` of the hidden input `name` in a page.
pub(super) fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).map(|i| i + marker.len()).unwrap();
    page[start..].split('"').next().unwrap().to_string()
}

/// The `name=value` part of the `Set-Cookie` header for cookie `name`.
pub(super) fn set_cookie(answer: &http::Answer, name: &str) -> Option<String> {
    answer
        .headers_named("set-cookie")
        .into_iter()
        .map(|c| c.split(';').next().unwrap().to_string())
        .find(|c| c.starts_with(&format!("{name}=")))
}

pub(super) const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");

/// Fetches the login form and posts `fields` with its one-time token and cookie.
pub(super) async fn post_login(s: &Served, fields: &str) -> http::Answer {
    let form = http::request(s.addr, "GET", "/login?next=%2F", &[], "").await;
    assert_eq!(form.status, 200);
    let token = hidden(&form.body, "token");
    let login_cookie = set_cookie(&form, "meterlake_login").unwrap();
    let body = format!("{fields}&token={token}");
    let headers = [FORM, ("Cookie", login_cookie.as_str())];
    http::request(s.addr, "POST", "/login", &headers, &body).await
}

/// Signs `user` in through the form; returns the session cookie.
pub(super) async fn sign_in(s: &Served, user: &str) -> String {
    let fields = format!("username={user}&password=a+long+enough+secret&next=%2F");
    let done = post_login(s, &fields).await;
    assert_eq!(done.status, 303, "{}", done.body);
    // Each role lands on the first page it may open.
    let landing = done.header("location").unwrap();
    assert!(
        ["/", "/accounts", "/my"].contains(&landing),
        "{user}: {landing}"
    );
    set_cookie(&done, "meterlake_session").expect("a session cookie")
}

pub(super) async fn the_pages_sign_in_show_the_dashboard_and_check_forms(backend: Backend) {
    let s = serve(backend).await;
    // Without a session every page goes to the login form, which comes back to it.
    for (method, path, _) in control::http::pages::PAGE_ROUTES {
        let answer = http::request(s.addr, &method.to_uppercase(), path, &[], "").await;
        assert_eq!(answer.status, 303, "{method} {path}");
        assert!(
            answer.header("location").unwrap().starts_with("/login"),
            "{method} {path}"
        );
    }
    // Every role lacking a page's right is refused it, with a page.
    for (method, path, right) in control::http::pages::PAGE_ROUTES {
        for role in ROLES.into_iter().filter(|r| !r.allows(*right)) {
            let answer = s
                .call(&method.to_uppercase(), path, Some(s.token(role)), "")
                .await;
            assert_eq!(answer.status, 403, "{role} {method} {path}");
            assert!(answer.body.contains("<html"), "{role} {method} {path}");
        }
    }
    let bounced = http::request(s.addr, "GET", "/", &[], "").await;
    assert_eq!(bounced.header("location"), Some("/login?next=%2F"));

    // A login form posted without its own token (from another site) signs nobody in.
    let body = "username=user-operator&password=a+long+enough+secret&next=%2F&token=forged";
    let forged = http::request(s.addr, "POST", "/login", &[FORM], body).await;
    assert_eq!(forged.status, 401);
    assert!(set_cookie(&forged, "meterlake_session").is_none());
    // Malformed login forms (fields missing, not a form, oversized) sign nobody in and say so.
    let oversized = format!("username={}&password=x&token=y", "a".repeat(100_000));
    for bad in [
        "garbage",
        "username=user-operator",
        "%%%&&&==",
        oversized.as_str(),
    ] {
        let answer = http::request(s.addr, "POST", "/login", &[FORM], bad).await;
        assert_eq!(answer.status, 401, "{}", &bad[..bad.len().min(40)]);
        assert!(set_cookie(&answer, "meterlake_session").is_none());
        assert!(answer.body.contains("<form"));
    }
    // A wrong password shows the form again with an error, the name kept and escaped.
    let escaped = "username=%3Cscript%3Ex%3C%2Fscript%3E&password=wrong+wrong+wrong";
    let wrong = post_login(&s, escaped).await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("用户名或密码不正确"), "{}", wrong.body);
    assert!(wrong.body.contains("&#60;script&#62;") || wrong.body.contains("&lt;script&gt;"));
    assert!(!wrong.body.contains("<script>x"));
    // An open redirect after login is not followed.
    let fields = "username=user-operator&password=a+long+enough+secret&next=%2F%2Fevil.example";
    let away = post_login(&s, fields).await;
    assert_eq!(away.header("location"), Some("/"));

    // The operator's dashboard, in Chinese by default and in English on request.
    s.rig
        .control
        .pay(MINE, "1.00", "page-1", &Actor::cli())
        .await
        .unwrap();
    let session = sign_in(&s, "user-operator").await;
    let page = http::request(s.addr, "GET", "/", &[("Cookie", &session)], "").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page.body.contains("<html lang=\"zh-CN\">"));
    assert!(page.body.contains("总览") && page.body.contains("user-operator"));
    assert!(
        page.body.contains("id=\"accounts-total\">2<"),
        "two accounts"
    );
    assert_eq!(page.body.matches("<svg").count(), 2, "two charts");
    let english = format!("{session}; meterlake_lang=en");
    let page_en = http::request(s.addr, "GET", "/", &[("Cookie", &english)], "").await;
    assert!(page_en.body.contains("<html lang=\"en\">") && page_en.body.contains("Dashboard"));
    let switch = http::request(s.addr, "GET", "/lang/en?next=%2F", &[], "").await;
    assert_eq!(switch.status, 303);
    assert_eq!(
        set_cookie(&switch, "meterlake_lang").as_deref(),
        Some("meterlake_lang=en")
    );

    // Forms carry the session's CSRF token: sign-out without it is refused, with it done.
    let csrf = hidden(&page.body, "csrf");
    let no_token = http::request(
        s.addr,
        "POST",
        "/logout",
        &[FORM, ("Cookie", &session)],
        "x=1",
    )
    .await;
    assert_eq!(no_token.status, 403);
    let huge = format!("x={}", "a".repeat(300 * 1024));
    let too_big = http::request(
        s.addr,
        "POST",
        "/logout",
        &[FORM, ("Cookie", &session)],
        &huge,
    )
    .await;
    assert_eq!(
        too_big.status, 413,
        "an oversized form is refused before its token is looked for"
    );
    let body = format!("csrf={csrf}");
    let out = http::request(
        s.addr,
        "POST",
        "/logout",
        &[FORM, ("Cookie", &session)],
        &body,
    )
    .await;
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(out.header("location"), Some("/login"));
    let after = http::request(s.addr, "GET", "/", &[("Cookie", &session)], "").await;
    assert_eq!(after.status, 303, "the session ended");

    // A role without the dashboard's right gets a page saying so, and the refusal is audited.
    let cashier = sign_in(&s, "user-cashier").await;
    let refused = http::request(s.addr, "GET", "/", &[("Cookie", &cashier)], "").await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("无权访问"), "{}", refused.body);
    // A bearer token works on pages too (for tools), with the same rights.
    let with_token = s
        .call("GET", "/", Some(s.token(Role::Maintenance)), "")
        .await;
    assert_eq!(with_token.status, 200);
}
