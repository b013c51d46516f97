//! The day close over HTTP: each taker's payments and refunds of one local day, summed exactly from
//! the audit trail, for the roles that may read it, as JSON and as a page.

use super::pages::sign_in;
use super::*;

pub(super) async fn the_day_close_sums_each_taker_from_the_trail(backend: Backend) {
    let s = serve(backend).await;
    let c = &s.rig.control;
    let till = Actor::user("user-cashier", Role::Cashier, "10.0.0.7");
    c.pay(MINE, "100.00", "t-1", &till).await.unwrap();
    c.pay(THEIRS, "0.10", "t-2", &till).await.unwrap();
    c.pay(THEIRS, "0.20", "t-3", &till).await.unwrap();
    let repeat = c.pay(MINE, "100.00", "t-1", &till).await.unwrap();
    assert!(
        repeat.replay,
        "a repeated payment books nothing and counts once"
    );
    c.refund(MINE, &refund("30.50", "r-1"), &till)
        .await
        .unwrap();
    assert!(c
        .refund(MINE, &refund("900.00", "r-2"), &till)
        .await
        .is_err());
    let cli = Actor::cli();
    c.pay(MINE, "25.00", "cli-1", &cli).await.unwrap();
    // The next local day is another day close.
    s.rig.clock.advance(chrono::Duration::days(1));
    c.pay(MINE, "7.00", "next-day", &till).await.unwrap();

    let get_as = |role: Role, path: &'static str| s.call("GET", path, Some(s.token(role)), "");
    let day = get_as(Role::Cashier, "/api/takings?date=2026-09-30").await;
    assert_eq!(day.status, 200, "{}", day.body);
    let day = day.json();
    let mut takers = day["takers"].as_array().unwrap().clone();
    takers.sort_by_key(|t| t["taker"].as_str().unwrap_or_default().to_string());
    let till_line = takers
        .iter()
        .find(|t| t["taker"] == "user-cashier")
        .unwrap();
    assert_eq!(till_line["payments"], 3);
    assert_eq!(till_line["paid"], "100.30");
    assert_eq!(
        (till_line["refunds"].clone(), till_line["refunded"].clone()),
        (1.into(), "30.50".into())
    );
    assert_eq!(till_line["net"], "69.80");
    let cli_line = takers
        .iter()
        .find(|t| t["taker"] == cli.name.as_str())
        .unwrap();
    assert_eq!(
        (cli_line["payments"].clone(), cli_line["paid"].clone()),
        (1.into(), "25.00".into())
    );
    assert_eq!(takers.len(), 2, "{day}");
    assert_eq!(day["total"]["payments"], 4);
    assert_eq!(day["total"]["net"], "94.80");
    // Today (the default) holds only the next day's payment; auditors and admins read it too.
    let today = get_as(Role::Auditor, "/api/takings").await;
    assert_eq!(today.json()["date"], "2026-10-01", "{}", today.body);
    assert_eq!(today.json()["total"]["paid"], "7.00");
    let admin = get_as(Role::Admin, "/api/takings?date=2026-09-30").await;
    assert_eq!(admin.status, 200);
    for bad in [
        "/api/takings?date=30.09.2026",
        "/api/takings?day=2026-09-30",
    ] {
        let refused = get_as(Role::Cashier, bad).await;
        assert_eq!(refused.status, 422, "{bad}: {}", refused.body);
    }
    // The page: one line per taker and the total, money as the page writes it.
    let session = sign_in(&s, "user-cashier").await;
    let page_of = |date: &'static str| {
        let (addr, session) = (s.addr, session.clone());
        async move {
            let path = format!("/takings?date={date}");
            http::request(addr, "GET", &path, &[("Cookie", session.as_str())], "").await
        }
    };
    let page = page_of("2026-09-30").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("收费日结") && page.body.contains("data-taker=\"user-cashier\""));
    assert!(
        page.body.contains("¥69.80") && page.body.contains("id=\"takings-total\""),
        "{}",
        page.body
    );
    let empty = page_of("2026-01-01").await;
    assert!(empty.body.contains("id=\"no-takings\""), "{}", empty.body);
}
