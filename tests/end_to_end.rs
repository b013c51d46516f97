//! The whole loop, small and by hand: meters → collector → Kafka → lake → SQL → billing → prepaid balance →
//! trip → payment over HTTP → close-allowed → button → relay closed. Bills are literal values worked out by
//! hand from the Shanghai tier-1 TOU prices (peak 0.617, valley 0.307 yuan/kWh).

use std::time::Duration;

use analytics::columns::typed;
use arrow::array::{Decimal128Array, Float64Array, Int32Array, Int64Array};
use chrono::{DateTime, Utc};
use control::domain::access::Role;
use ingest::dlt645::Address;
use ingest::sim::RelayState;
use meterlake::{Config, Pipeline, PipelineOptions};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Meter 1001 (index 0) starts with 1.00 yuan; the others with 100.00.
fn opening_balance(index: usize) -> Decimal {
    if index == 0 {
        dec!(1.00)
    } else {
        dec!(100.00)
    }
}

const POOR: &str = "000000001001";
const RICH: &str = "000000001002";

fn start() -> DateTime<Utc> {
    // 2026-10-01 00:00 in Shanghai: valley until 06:00.
    "2026-09-30T16:00:00Z".parse().unwrap()
}

fn boundary(i: i64) -> DateTime<Utc> {
    start() + chrono::Duration::minutes(15 * i)
}

async fn http_post(
    addr: std::net::SocketAddr,
    token: &str,
    path: &str,
    body: &str,
) -> (u16, serde_json::Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status: u16 = response[9..12].parse().unwrap();
    let json = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    // The body may be chunked; take the JSON object inside.
    let start = json.find('{').unwrap_or(0);
    let end = json.rfind('}').map(|e| e + 1).unwrap_or(json.len());
    (
        status,
        serde_json::from_str(&json[start..end]).unwrap_or_default(),
    )
}

/// GETs `path` with a bearer token: status, head and body (a chunked body is left as sent).
async fn http_get(addr: std::net::SocketAddr, token: &str, path: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status: u16 = response[9..12].parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (status, head.to_string(), body.to_string())
}

/// The pages that read the lake: the dashboard's fleet figures, a meter's usage charts and an area's
/// load report with its CSV.
async fn pages_read_the_lake(p: &Pipeline) {
    let (status, _, dashboard) = http_get(p.http, p.token(Role::Operator), "/").await;
    assert_eq!(status, 200, "{dashboard}");
    assert!(
        dashboard.contains("id=\"meters-online\">4 / 4<"),
        "{dashboard}"
    );
    assert!(dashboard.contains("id=\"chart-collection\""), "{dashboard}");
    assert!(
        dashboard.contains("id=\"trips-today\">1 / 1<"),
        "one trip and one reconnect today"
    );
    // October's bills issued as the billing scheduler issues them on the issue day: priced from the
    // lake, kept in its `bills` table, each customer told once.
    use analytics::billing::period_run::MonthPeriod;
    use control::app::bill_issue::IssueOutcome;
    let session = p.session().await.unwrap();
    let period = MonthPeriod::parse("2026-10").unwrap();
    let actor = control::app::audit::Actor::cli();
    // October is not over on the test's clock: the scheduler's way refuses it; the early way (the
    // demo's) issues it.
    let refused = p.control.issue_bills(&session, period, &actor).await;
    assert!(
        matches!(&refused, Err(control::ControlError::Invalid(why)) if why.contains("not over")),
        "{refused:?}"
    );
    let issued = p
        .control
        .issue_bills_early(&session, period, &actor)
        .await
        .unwrap();
    let IssueOutcome::Issued(issue) = &issued else {
        panic!("October was not issued before: {issued:?}");
    };
    assert_eq!(
        (issue.bills, issue.noticed),
        (4, 4),
        "every meter billed and told: {issue:?}"
    );
    assert_eq!(issue.lake_version, session.lake_version());
    let again = p
        .control
        .issue_bills_early(&p.session().await.unwrap(), period, &actor)
        .await
        .unwrap();
    assert_eq!(again, IssueOutcome::AlreadyIssued(issue.clone()));
    let told: Vec<_> = p
        .control
        .notices(POOR)
        .await
        .unwrap()
        .into_iter()
        .filter(|n| n.kind == "bill_issued")
        .collect();
    assert_eq!(told.len(), 1, "told once: {told:?}");
    assert!(told[0].body.contains("2026-10"), "{}", told[0].body);
    // The customer's own page shows the issued bill line by line, the classes named in Chinese.
    let customer = "e2e-customer-1001";
    p.control
        .add_user(
            &actor,
            customer,
            Role::Customer,
            &control::secrets::Password::new("a long enough secret"),
            &[POOR.to_string()],
        )
        .await
        .unwrap();
    let token = p
        .control
        .issue_token(&actor, customer, "e2e", None)
        .await
        .unwrap()
        .secret;
    let (status, _, mine) = http_get(p.http, &token, &format!("/my/{POOR}")).await;
    assert_eq!(status, 200, "{mine}");
    assert!(mine.contains("id=\"bill-2026-10\""), "{mine}");
    assert!(
        mine.contains("<td>低谷</td>") && mine.contains("id=\"by-month\""),
        "the bill's lines and the months' charges: {mine}"
    );
    let (status, _, page) = http_get(
        p.http,
        p.token(Role::Operator),
        &format!("/accounts/{POOR}"),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("id=\"chart-daily\"") && page.contains("id=\"chart-curve\""),
        "{page}"
    );
    assert!(
        page.contains("<polyline"),
        "the last day's load curve is drawn"
    );
    assert!(
        page.contains("id=\"bills\"") && page.contains("<td>2026-10</td>"),
        "{page}"
    );
    assert!(
        page.contains("<td>低谷</td>"),
        "the bill's line items: {page}"
    );
    let analyst = p.token(Role::Analyst);
    let (status, _, form) = http_get(p.http, analyst, "/reports").await;
    assert_eq!(status, 200, "{form}");
    let marker = "<option value=\"";
    let area = form[form.find(marker).expect("an area to choose") + marker.len()..]
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let query = format!("area={area}&from=2026-10-01&to=2026-10-01");
    let (status, _, report) = http_get(p.http, analyst, &format!("/reports/load?{query}")).await;
    assert_eq!(status, 200, "{report}");
    assert!(
        report.contains("id=\"report\"") && report.contains("<svg"),
        "{report}"
    );
    assert!(
        report.contains("<h2>概况</h2>") && report.contains("日用电量"),
        "the report in the page's language (中文 by default): {report}"
    );
    let (status, head, csv) =
        http_get(p.http, analyst, &format!("/reports/load.csv?{query}")).await;
    assert_eq!(status, 200, "{csv}");
    assert!(
        head.to_ascii_lowercase().contains("content-type: text/csv"),
        "{head}"
    );
    assert!(head.contains("attachment; filename=\"load-"), "{head}");
    assert!(csv.contains("2026-10-01"), "{csv}");
    let (status, _, _) = http_get(
        p.http,
        analyst,
        "/reports/load?area=x&from=2026-10-02&to=2026-10-01",
    )
    .await;
    assert_eq!(status, 422, "a backwards range is refused");
    let (status, _, _) = http_get(p.http, p.token(Role::Cashier), "/reports").await;
    assert_eq!(status, 403);
}

async fn balance(p: &Pipeline, meter: &str) -> Decimal {
    p.control.account(meter).await.unwrap().balance
}

fn relay(p: &Pipeline, meter: &str) -> RelayState {
    p.fleet
        .with_meter(meter.parse::<Address>().unwrap(), |m| m.relay())
        .unwrap()
}

async fn collect_through(p: &mut Pipeline, from: i64, to: i64) {
    for i in from..=to {
        p.collect(boundary(i)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trip_on_arrears_and_reconnect_after_payment() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.lake.location = dir.path().join("lake").display().to_string();
    config.control.database = format!("sqlite://{}/control.db", dir.path().display());
    config.control.listen = "127.0.0.1:0".into();
    config.collector.spool_dir = dir.path().join("spool").display().to_string();
    config.control.audit_keys_dir = dir.path().join("keys/audit").display().to_string();
    config.control.command_keys_dir = dir.path().join("keys/commands").display().to_string();
    config.sink.flush_interval_ms = 100;
    // Trip at zero balance, at any hour, without a warning lead (the prepaid rules have their own tests).
    config.control.terms.overdraft_limit = Decimal::ZERO;
    config.control.trip_hours = "00:00-24:00".into();
    config.control.trip_on_weekends = true;
    config.control.warning_lead_s = 0;
    config.control.sweep_every_ms = 100;
    let mut p = Pipeline::start(PipelineOptions {
        config,
        meters: 4,
        meters_per_bus: 2,
        constant_watts: Some(1000.0),
        start: start(),
        opening_balance,
        seed: 1,
        faults: Default::default(),
    })
    .await
    .unwrap();

    // 00:00 .. 04:00: 16 intervals × 0.25 kWh = 4 kWh valley = 1.228 → 1.23 yuan each.
    collect_through(&mut p, 0, 16).await;
    let report = p.billing_pass().await.unwrap();
    assert_eq!(balance(&p, POOR).await, dec!(-0.23));
    assert_eq!(balance(&p, RICH).await, dec!(98.77));
    assert_eq!(report.commands, 1, "{report:?}");
    let trip = &p.control.commands_of(POOR, 10).await.unwrap();
    assert!(
        trip.iter()
            .any(|c| c.action == ingest::dlt645::RelayAction::Trip),
        "{trip:?}"
    );
    p.wait_acks(Duration::from_secs(30)).await.unwrap();
    assert_eq!(relay(&p, POOR), RelayState::Open);
    assert_eq!(relay(&p, RICH), RelayState::Closed);
    let trips = p
        .fleet
        .with_meter(POOR.parse().unwrap(), |m| m.trips_received())
        .unwrap();
    assert_eq!(trips, 1, "the meter received exactly one trip frame");
    assert_eq!(
        p.control.account(POOR).await.unwrap().relay,
        control::domain::relay::RelayState::Open
    );

    // 04:00 .. 05:00 with the relay open: no consumption, zero power, relay-open bit in status word 3.
    collect_through(&mut p, 17, 20).await;
    p.billing_pass().await.unwrap();
    assert_eq!(
        balance(&p, POOR).await,
        dec!(-0.23),
        "no energy while tripped"
    );

    // Bad payments are refused and change nothing.
    for body in [
        r#"{"amount":"abc","reference":"x1"}"#,
        r#"{"amount":"-5","reference":"x2"}"#,
        r#"{"amount":5}"#,
        "not json",
    ] {
        let (status, _) = http_post(
            p.http,
            p.token(Role::Cashier),
            &format!("/api/accounts/{POOR}/payments"),
            body,
        )
        .await;
        assert_eq!(status, 422, "{body}");
    }
    let (status, _) = http_post(
        p.http,
        p.token(Role::Cashier),
        "/api/accounts/999999999999/payments",
        r#"{"amount":"1","reference":"x3"}"#,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(balance(&p, POOR).await, dec!(-0.23));

    // Payment of 10.00 over HTTP: balance 9.77, a close-allowed command; a replay of it is not credited twice.
    let body = r#"{"amount":"10.00","reference":"pay-1"}"#;
    let (status, json) = http_post(
        p.http,
        p.token(Role::Cashier),
        &format!("/api/accounts/{POOR}/payments"),
        body,
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["balance"], "9.77");
    let command_id = json["command_id"]
        .as_str()
        .expect("a close-allowed command")
        .to_string();
    let command = p.control.command(&command_id).await.unwrap();
    assert_eq!(
        command.command.action,
        ingest::dlt645::RelayAction::CloseAllowed
    );
    let (_, replay) = http_post(
        p.http,
        p.token(Role::Cashier),
        &format!("/api/accounts/{POOR}/payments"),
        body,
    )
    .await;
    assert_eq!(replay["replay"], true);
    assert_eq!(balance(&p, POOR).await, dec!(9.77));
    p.wait_acks(Duration::from_secs(30)).await.unwrap();
    assert_eq!(
        relay(&p, POOR),
        RelayState::OpenCloseAllowed,
        "close-allowed waits for the button"
    );
    assert_eq!(p.fleet.press_waiting_buttons(boundary(20)).len(), 1);
    assert_eq!(relay(&p, POOR), RelayState::Closed);

    // 05:00 .. 07:00: 1 kWh valley then 1 kWh peak.
    // POOR: 5 kWh valley × 0.307 + 1 kWh peak × 0.617 = 2.152 → 2.15; balance 11.00 − 2.15 = 8.85.
    // RICH: 6 kWh valley + 1 kWh peak = 1.842 + 0.617 = 2.459 → 2.46; balance 97.54.
    collect_through(&mut p, 21, 28).await;
    let report = p.billing_pass().await.unwrap();
    assert_eq!(report.commands, 0, "{report:?}");
    assert_eq!(balance(&p, POOR).await, dec!(8.85));
    assert_eq!(balance(&p, RICH).await, dec!(97.54));
    let poor = p.control.account(POOR).await.unwrap();
    assert_eq!(
        poor.relay,
        control::domain::relay::RelayState::Closed,
        "the meter reported its closed relay after the button press"
    );

    pages_read_the_lake(&p).await;

    // A third-party JSON batch lands in the lake; a garbage message becomes a dead letter and the sink goes on.
    let producer = ingest::kafka::producer(&ingest::kafka::KafkaSettings {
        brokers: p.brokers.clone(),
        properties: Default::default(),
    })
    .unwrap();
    let topics = ingest::kafka::Topics::with_prefix("");
    let mut foreign = ingest::reading::Reading::empty(
        "000000009999".into(),
        boundary(28),
        "partner-bus",
        "partner",
    );
    foreign.energy_fwd_total_kwh = Some(dec!(12.34));
    foreign.quality = ingest::reading::Quality::Partial;
    // Two forged rows ride along: one for a boundary three days ahead, one with a register no meter holds.
    let mut future = foreign.clone();
    future.meter_id = "000000009998".into();
    future.boundary_ts = boundary(28) + chrono::TimeDelta::days(3);
    let mut huge = foreign.clone();
    huge.meter_id = "000000009997".into();
    huge.energy_fwd_total_kwh = Some(dec!(1000000.00));
    let json = serde_json::to_vec(&[future, foreign, huge]).unwrap();
    let json_headers = rdkafka::message::OwnedHeaders::new().insert(rdkafka::message::Header {
        key: "content-type",
        value: Some("application/json"),
    });
    for (payload, headers) in [
        (json.as_slice(), Some(json_headers)),
        (b"\x00garbage".as_slice(), None),
    ] {
        let mut record = rdkafka::producer::FutureRecord::to(&topics.readings)
            .key("partner-bus")
            .payload(payload);
        if let Some(headers) = headers {
            record = record.headers(headers);
        }
        producer
            .send(record, Duration::from_secs(10))
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while p
        .sink_stats()
        .dead_letters
        .load(std::sync::atomic::Ordering::Relaxed)
        < 2
        || p.sink_stats()
            .rows_committed
            .load(std::sync::atomic::Ordering::Relaxed)
            < p.produced_rows() + 1
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "dead letter or JSON row not processed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The lake holds every produced reading exactly once (plus the partner's row).
    let session = p.session().await.unwrap();
    let counts = session
        .query("SELECT count(*) AS n, count(DISTINCT meter_id || '@' || CAST(boundary_ts AS VARCHAR)) AS d FROM readings")
        .await
        .unwrap();
    let n = typed::<Int64Array>(&counts[0], 0).unwrap().value(0);
    let d = typed::<Int64Array>(&counts[0], 1).unwrap().value(0);
    assert_eq!(p.produced_rows(), 4 * 29);
    assert_eq!(n as u64, p.produced_rows() + 1);
    assert_eq!(d, n);

    // The garbage message is in the dead-letter table once, raw bytes and error kept; so is the JSON
    // message whose two forged rows screening refused (its third row went on to the lake).
    let mut dead = store::DeadLetterTable::open(&p.lake).await.unwrap();
    let letters = dead.read_all().await.unwrap();
    assert_eq!(letters.len(), 2, "{letters:?}");
    let garbage = letters
        .iter()
        .find(|l| l.payload.as_deref() == Some(b"\x00garbage".as_slice()))
        .expect("the garbage message is a dead letter");
    assert_eq!(garbage.key.as_deref(), Some(b"partner-bus".as_slice()));
    assert!(!garbage.error.is_empty());
    let screened = letters
        .iter()
        .find(|l| l.payload.as_deref() == Some(json.as_slice()))
        .expect("the message with forged rows is a dead letter");
    assert!(
        screened
            .error
            .starts_with("2 of 3 rows refused by screening")
            && screened.error.contains("meter 000000009998")
            && screened.error.contains("in the future")
            && screened.error.contains("meter 000000009997")
            && screened.error.contains("energy_fwd_total_kwh = 1000000.00"),
        "{}",
        screened.error
    );
    assert_eq!(
        p.sink_stats()
            .rows_refused
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );

    // While tripped the meter reported zero power and the relay-open bit (status word 3 bit 4).
    let tripped = session
        .query(&format!(
            "SELECT active_power_kw, status_word_3, energy_fwd_total_kwh FROM readings \
             WHERE meter_id = '{POOR}' AND boundary_ts = to_timestamp_micros({})",
            boundary(18).timestamp_micros()
        ))
        .await
        .unwrap();
    let power = typed::<Float64Array>(&tripped[0], 0).unwrap();
    let status = typed::<Int32Array>(&tripped[0], 1).unwrap();
    let energy = typed::<Decimal128Array>(&tripped[0], 2).unwrap();
    assert_eq!(power.value(0), 0.0);
    assert_ne!(status.value(0) & (1 << 4), 0);
    assert_eq!(energy.value_as_string(0), "4.00");

    // Last (moving the clock a month on sends what a month's sweeps would): the billing scheduler's
    // question at 05:59 and 06:00 of November 1st, the default issue day and hour. October was issued
    // above, so the scheduler finds it issued.
    p.clock.set("2026-10-31T21:59:00Z".parse().unwrap());
    let before = p.control.issue_due_bills(&session).await.unwrap();
    assert!(
        matches!(&before, Some(control::app::bill_issue::IssueOutcome::Issued(i)) if i.period == "2026-09" && i.bills == 0),
        "before the hour September is the latest month due (nothing in the lake): {before:?}"
    );
    p.clock.set("2026-10-31T22:00:00Z".parse().unwrap());
    let due = p.control.issue_due_bills(&session).await.unwrap();
    assert!(
        matches!(&due, Some(control::app::bill_issue::IssueOutcome::AlreadyIssued(i)) if i.period == "2026-10"),
        "{due:?}"
    );

    p.shutdown().await.unwrap();
}
