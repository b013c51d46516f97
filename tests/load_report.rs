//! `meterlake report load` statistics against values worked out by hand on a small lake: one area with
//! two customers and a supply meter, a complete weekday, four empty days, a partial Saturday with PV
//! export, and single intervals in September 2026 and October 2025 for the monthly comparisons.

use analytics::report::labels::Language;
use analytics::report::{build_load_report, export, html, LoadReportRequest};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use ingest::reading::{readings_to_batch, Quality, Reading};
use rust_decimal::Decimal;
use store::{Lake, LakeLocation};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;
const A: &str = "000000000001";
const B: &str = "000000000002";
const S: &str = "990000000001";

/// Local midnight of `date` plus `quarter` quarter hours, in UTC.
fn at(date: &str, quarter: i64) -> DateTime<Utc> {
    let day: NaiveDate = date.parse().unwrap();
    let midnight = ZONE
        .from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
        .unwrap();
    midnight.with_timezone(&Utc) + Duration::minutes(15 * quarter)
}

fn reading(meter: &str, boundary: DateTime<Utc>, fwd: Decimal, rev: Option<Decimal>) -> Reading {
    let mut r = Reading::empty(meter.to_string(), boundary, "bus-1", "c-1");
    r.energy_fwd_total_kwh = Some(fwd);
    r.energy_rev_total_kwh = rev;
    r.quality = Quality::Ok;
    r
}

fn kwh(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn rows() -> Vec<Reading> {
    let mut rows = vec![
        // A single interval a year before (2.00 kWh) and one in September (1.00 kWh).
        reading(A, at("2025-10-15", 0), kwh("100.00"), None),
        reading(A, at("2025-10-15", 1), kwh("102.00"), None),
        reading(A, at("2026-09-30", 92), kwh("150.00"), None),
        reading(A, at("2026-09-30", 93), kwh("151.00"), None),
    ];
    // Monday 2026-10-05, complete: A 0.25 per interval and 1.00 at 10:00; B 0.50; supply 0.80 and 1.60.
    let step = |k: i64, each: &str, extra: &str| {
        kwh(each) * Decimal::from(k) + if k > 40 { kwh(extra) } else { Decimal::ZERO }
    };
    for k in 0..=96 {
        let t = at("2026-10-05", k);
        rows.push(reading(A, t, kwh("160") + step(k, "0.25", "0.75"), None));
        rows.push(reading(B, t, kwh("300") + step(k, "0.50", "0"), None));
        rows.push(reading(S, t, kwh("500") + step(k, "0.80", "0.80"), None));
    }
    // Saturday 2026-10-10: only A, four intervals of 0.25 with 0.10 exported in each.
    for k in 0..=4 {
        rows.push(reading(
            A,
            at("2026-10-10", k),
            kwh("190") + kwh("0.25") * Decimal::from(k),
            Some(kwh("5.0") + kwh("0.1") * Decimal::from(k)),
        ));
    }
    rows
}

async fn session() -> (tempfile::TempDir, analytics::LakeSession) {
    let dir = tempfile::tempdir().unwrap();
    let location = LakeLocation::parse(&dir.path().join("lake").display().to_string()).unwrap();
    let mut lake = Lake::open(&location, ZONE).await.unwrap();
    lake.append(vec![readings_to_batch(&rows()).unwrap()], &[])
        .await
        .unwrap();
    let registry = dir.path().join("registry");
    std::fs::create_dir_all(&registry).unwrap();
    let row = |meter: &str, customer: &str, kind: &str| {
        format!("{meter},{customer},{kind},a-area-0,a-feeder-0,bus-1,shanghai-tou-tier1,3,false,2025-01-01T00:00:00Z,,1{meter}\n")
    };
    std::fs::write(
        registry.join("meters.csv"),
        format!(
            "{}\n{}{}{}{}",
            ingest::sim::registry::METERS_HEADER,
            row(A, "CA", "customer"),
            row(B, "CB", "customer"),
            row(S, "", "supply"),
            "000000000009,CX,customer,b-area-1,a-feeder-0,bus-2,shanghai-tou-tier1,3,false,2025-01-01T00:00:00Z,,1000000000009\n",
        ),
    )
    .unwrap();
    std::fs::write(
        registry.join("areas.csv"),
        format!(
            "{}\na-area-0,a-feeder-0,{S},2\nb-area-1,a-feeder-0,,1\n",
            ingest::sim::registry::AREAS_HEADER
        ),
    )
    .unwrap();
    let session = analytics::LakeSession::from_lake_with_registry(&lake, ZONE, Some(&registry))
        .await
        .unwrap();
    (dir, session)
}

fn close(got: Option<f64>, want: f64) {
    let got = got.unwrap_or(f64::NAN);
    assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
}

fn request(area: &str) -> LoadReportRequest {
    LoadReportRequest {
        area: area.to_string(),
        from: "2026-10-05".parse().unwrap(),
        to: "2026-10-10".parse().unwrap(),
        top_n: 5,
    }
}

#[tokio::test]
async fn every_statistic_matches_the_hand_computed_value() {
    let (_dir, session) = session().await;
    let mut steps = Vec::new();
    let report = build_load_report(&session, &request("a-area-0"), &mut |s| {
        steps.push(s.to_string())
    })
    .await
    .unwrap();
    assert!(steps.len() >= 4, "progress steps: {steps:?}");
    assert_eq!(report.customers, 2);
    assert_eq!(report.supply_meter_id.as_deref(), Some(S));
    assert_eq!(report.feeder_id.as_deref(), Some("a-feeder-0"));
    assert_eq!(report.days.len(), 6);

    // Monday: 95 × 0.75 + 1.50 = 72.75 kWh; loads 3 kW, and 6 kW at 10:00.
    let monday = &report.days[0];
    close(Some(monday.energy_kwh), 72.75);
    close(monday.max_kw, 6.0);
    assert_eq!(monday.max_at.as_deref(), Some("10:00"));
    close(monday.min_kw, 3.0);
    assert_eq!(monday.min_at.as_deref(), Some("00:00"));
    close(monday.avg_kw, 72.75 / 24.0);
    close(monday.load_factor, 72.75 / 24.0 / 6.0);
    close(monday.peak_valley_kw, 3.0);
    close(monday.peak_valley_rate, 0.5);
    // Supply 95 × 0.80 + 1.60 = 77.60; loss 4.85 = 6.25 %.
    close(monday.supply_kwh, 77.6);
    close(monday.line_loss_kwh, 4.85);
    close(monday.line_loss_rate, 4.85 / 77.6);
    assert_eq!(
        (monday.measured_intervals, monday.expected_intervals),
        (192, 192)
    );
    close(Some(monday.completeness), 1.0);

    // Tuesday to Friday: nothing measured — no loads, never zeros posing as loads.
    for day in &report.days[1..5] {
        assert_eq!(
            (day.max_kw, day.avg_kw, day.measured_intervals),
            (None, None, 0)
        );
        assert_eq!(day.completeness, 0.0);
    }

    // Saturday: 4 × 0.25 = 1 kWh at 1 kW flat, 0.40 kWh exported, 4 of 192 intervals, no line loss.
    let saturday = &report.days[5];
    close(Some(saturday.energy_kwh), 1.0);
    close(Some(saturday.export_kwh), 0.4);
    close(saturday.max_kw, 1.0);
    close(saturday.load_factor, 1.0);
    close(saturday.peak_valley_rate, 0.0);
    assert_eq!(saturday.line_loss_kwh, None);
    close(Some(saturday.completeness), 4.0 / 192.0);

    // Typical curves: the Monday alone for weekdays, the Saturday for weekends.
    close(report.typical_weekday_kw[0], 3.0);
    close(report.typical_weekday_kw[40], 6.0);
    close(report.typical_weekend_kw[0], 1.0);
    assert_eq!(report.typical_weekend_kw[4], None);
    assert_eq!(report.typical_weekday_kw.len(), 96);

    // October: 73.75 kWh against 1.00 in September and 2.00 in October 2025.
    assert_eq!(report.months.len(), 1);
    let october = &report.months[0];
    assert_eq!(october.month, "2026-10");
    close(Some(october.energy_kwh), 73.75);
    close(october.previous_month_kwh, 1.0);
    close(october.month_over_month, 72.75);
    close(october.previous_year_kwh, 2.0);
    close(october.year_over_year, 35.875);

    // Top consumers: B 48.00, A 24.75 + 1.00.
    let top: Vec<(&str, f64)> = report
        .top_consumers
        .iter()
        .map(|c| (c.meter_id.as_str(), c.energy_kwh))
        .collect();
    assert_eq!(top.len(), 2);
    assert_eq!((top[0].0, top[1].0), (B, A));
    close(Some(top[0].1), 48.0);
    close(Some(top[1].1), 25.75);
    assert_eq!(report.top_consumers[0].customer_id.as_deref(), Some("CB"));

    let totals = &report.totals;
    close(Some(totals.energy_kwh), 73.75);
    close(Some(totals.export_kwh), 0.4);
    close(totals.max_kw, 6.0);
    assert_eq!(totals.max_at.as_deref(), Some("2026-10-05 10:00"));
    close(totals.min_kw, 1.0);
    assert_eq!(totals.min_at.as_deref(), Some("2026-10-10 00:00"));
    close(totals.line_loss_kwh, 4.85);
    close(Some(totals.completeness), 196.0 / 1152.0);
}

#[tokio::test]
async fn the_report_renders_as_html_csv_and_json() {
    let (_dir, session) = session().await;
    let report = build_load_report(&session, &request("a-area-0"), &mut |_| {})
        .await
        .unwrap();
    let page = html::render(&report, Language::En);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(page.matches("<svg").count(), 4, "four charts");
    assert!(page.contains("72.75"), "the Monday's energy is in the page");
    assert!(!page.contains("<script"), "self-contained, no scripts");
    assert!(
        !page.contains(" src=") && !page.contains(" href="),
        "no external files"
    );
    assert!(
        page.contains("<html lang=\"en\">")
            && page.contains("<h2>Top ")
            && page.contains(" consumers</h2>")
    );
    assert!(
        page.contains("6.00 kW at 2026-10-05 10:00"),
        "the maximum and when"
    );
    // The planners' language: the same numbers under Chinese words.
    let zh = html::render(&report, Language::Zh);
    assert!(zh.contains("<html lang=\"zh-CN\">"));
    assert!(
        zh.contains("<h2>概况</h2>") && zh.contains("<th>峰谷差率</th>"),
        "{zh}"
    );
    assert!(zh.contains("6.00 kW（2026-10-05 10:00）") && zh.contains("72.75"));
    assert!(!zh.contains("Summary") && !zh.contains("consumers"));

    let csv = export::to_csv(&report);
    assert!(csv.starts_with("section,subject,metric,value\n"));
    assert!(csv.contains("day,2026-10-05,max_kw,6\n"), "{csv}");
    assert!(csv.contains("day,2026-10-05,max_at,10:00\n"));
    assert!(csv.contains("month,2026-10,year_over_year,35.875\n"));
    assert!(csv.contains("top,000000000002,rank,1\n"));
    assert!(
        csv.contains("day,2026-10-06,max_kw,\n"),
        "no load is an empty value"
    );

    let json: serde_json::Value = serde_json::from_str(&export::to_json(&report).unwrap()).unwrap();
    assert_eq!(json["days"][0]["max_at"], "10:00");
    assert_eq!(json["customers"], 2);
    assert_eq!(json["typical_weekday_kw"].as_array().unwrap().len(), 96);
}

#[tokio::test]
async fn an_unknown_area_or_a_backwards_range_is_a_clear_error() {
    let (_dir, session) = session().await;
    let err = build_load_report(&session, &request("no-such-area"), &mut |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no-such-area"), "{err}");
    let mut backwards = request("a-area-0");
    backwards.to = "2026-10-01".parse().unwrap();
    let err = build_load_report(&session, &backwards, &mut |_| {})
        .await
        .unwrap_err();
    assert!(err.to_string().contains("before it starts"), "{err}");
    // The other area exists but has no readings: an empty report, not an error.
    let empty = build_load_report(&session, &request("b-area-1"), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(empty.totals.max_kw, None);
    assert_eq!(empty.customers, 1);
}

#[tokio::test]
async fn the_cli_writes_the_report_in_each_format() {
    let (dir, _session) = session().await;
    let run = |format: &str, out: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_meterlake"))
            .args([
                "report",
                "load",
                "--area",
                "a-area-0",
                "--from",
                "2026-10-05",
            ])
            .args(["--to", "2026-10-10", "--format", format, "--output"])
            .arg(out)
            .env("METERLAKE_LAKE__LOCATION", dir.path().join("lake"))
            .env("METERLAKE_LAKE__REGISTRY", dir.path().join("registry"))
            .output()
            .unwrap()
    };
    let html_file = dir.path().join("report.html");
    let done = run("html", &html_file);
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let page = std::fs::read_to_string(&html_file).unwrap();
    assert!(page.contains("<svg") && page.contains("a-area-0"));
    assert!(page.contains("台区负荷报表"), "Chinese unless --lang en");
    let json_file = dir.path().join("report.json");
    assert!(run("json", &json_file).status.success());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap()).unwrap();
    assert_eq!(json["totals"]["max_kw"], 6.0);
    let csv_file = dir.path().join("report.csv");
    assert!(run("csv", &csv_file).status.success());
    assert!(std::fs::read_to_string(&csv_file)
        .unwrap()
        .contains("total,a-area-0,max_at,2026-10-05 10:00\n"));
    // An area the registry does not know: a clear error and a failing exit code.
    let failed = std::process::Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args([
            "report",
            "load",
            "--area",
            "nowhere",
            "--from",
            "2026-10-05",
            "--to",
            "2026-10-06",
        ])
        .env("METERLAKE_LAKE__LOCATION", dir.path().join("lake"))
        .env("METERLAKE_LAKE__REGISTRY", dir.path().join("registry"))
        .output()
        .unwrap();
    assert!(!failed.status.success());
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(
        stderr.contains("\"nowhere\" has no customer meters"),
        "{stderr}"
    );
}
