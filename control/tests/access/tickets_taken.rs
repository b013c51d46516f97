//! Tickets staff take down for callers to the hotline and visitors at the counter, over real HTTP:
//! the queue's form and the API a call centre's system uses, the category filter and counts, refusals
//! of a wrong channel, category or meter and of roles without the right, and the customer seeing and
//! being answered on the ticket like one they opened online.

use super::pages::{hidden, sign_in, FORM};
use super::*;

async fn get(s: &Served, session: &str, path: &str) -> http::Answer {
    http::request(s.addr, "GET", path, &[("Cookie", session)], "").await
}

pub(super) async fn staff_take_down_tickets_from_the_hotline_and_the_counter(backend: Backend) {
    let s = serve(backend).await;
    let c = &s.rig.control;
    let cashier = sign_in(&s, "user-cashier").await;
    let queue = get(&s, &cashier, "/tickets").await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert!(
        queue.body.contains("id=\"take-down-form\""),
        "{}",
        queue.body
    );
    let csrf = hidden(&queue.body, "csrf");
    let fields = format!(
        "meter={THEIRS}&channel=hotline&category=outage&subject=%E5%AE%B6%E4%B8%AD%E5%81%9C%E7%94%B5\
         &message=%E5%AE%A2%E6%88%B7%E6%9D%A5%E7%94%B5&csrf={csrf}"
    );
    let headers = [FORM, ("Cookie", cashier.as_str())];
    let taken = http::request(s.addr, "POST", "/tickets", &headers, &fields).await;
    assert_eq!(taken.status, 303, "{}", taken.body);
    assert_eq!(taken.header("location"), Some("/tickets?done=taken"));
    let outages = get(&s, &cashier, "/tickets?category=outage").await;
    assert!(
        outages.body.contains("家中停电") && outages.body.contains("<td>客服热线</td>"),
        "{}",
        outages.body
    );
    let billing = get(&s, &cashier, "/tickets?category=billing").await;
    assert!(!billing.body.contains("家中停电"), "filtered by category");
    // A wrong channel on the form is refused and nothing is opened.
    let online = fields.replace("channel=hotline", "channel=online");
    let refused = http::request(s.addr, "POST", "/tickets", &headers, &online).await;
    assert_eq!(refused.status, 422, "{}", refused.body);

    // The API, as a call centre's system uses it.
    let operator = s.token(Role::Operator);
    let counter = serde_json::json!({
        "meter_id": MINE, "category": "billing", "channel": "counter",
        "subject": "本月电费偏高", "message": "客户到柜台询问本月电费"
    })
    .to_string();
    let made = s
        .call("POST", "/api/tickets", Some(operator), &counter)
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let ticket = made.json();
    assert_eq!(
        (ticket["channel"].as_str(), ticket["status"].as_str()),
        (Some("counter"), Some("open"))
    );
    assert_eq!(ticket["created_by"], "user-operator");
    for (body, status, says) in [
        (
            counter.replace("\"counter\"", "\"online\""),
            422,
            "hotline or the counter",
        ),
        (
            counter.replace("\"billing\"", "\"bills\""),
            422,
            "one of billing, outage",
        ),
        (counter.replace(MINE, "000000009999"), 404, "no account"),
    ] {
        let answer = s.call("POST", "/api/tickets", Some(operator), &body).await;
        assert_eq!(answer.status, status, "{}", answer.body);
        assert!(answer.body.contains(says), "{}", answer.body);
    }
    for role in [Role::Customer, Role::Analyst, Role::Maintenance] {
        let answer = s
            .call("POST", "/api/tickets", Some(s.token(role)), &counter)
            .await;
        assert_eq!(answer.status, 403, "{role:?}");
    }
    let listed = s
        .call("GET", "/api/tickets?category=billing", Some(operator), "")
        .await;
    let listed = listed.json();
    let subjects: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["subject"].as_str())
        .collect();
    assert_eq!(subjects, ["本月电费偏高"]);
    let bad = s
        .call("GET", "/api/tickets?status=waiting", Some(operator), "")
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let queue = get(&s, &cashier, "/tickets").await;
    let counts = &queue.body[queue.body.find("id=\"ticket-counts\"").unwrap()..];
    assert!(counts.contains("<td class=\"num\">1</td>"), "{counts}");

    // The customer sees it with their own tickets and is told of the answer.
    let customer = sign_in(&s, "user-customer").await;
    let mine = get(&s, &customer, &format!("/my/{MINE}/tickets")).await;
    assert!(mine.body.contains("本月电费偏高"), "{}", mine.body);
    let id = ticket["id"].as_str().unwrap();
    c.reply_ticket(
        id,
        None,
        "已核对：本月用电量较上月增加。",
        false,
        true,
        &Actor::cli(),
    )
    .await
    .unwrap();
    let told = c.notices(MINE).await.unwrap();
    assert!(told.iter().any(|n| n.kind == "ticket_replied"), "{told:?}");
}
