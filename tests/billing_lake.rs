//! Billing from the lake: `interval_energy` rows priced by the tariff engine, with totals worked out
//! by hand from Beijing's published ladder (240 / 400 kWh per month, 0.4883 / 0.5383 / 0.7883 yuan/kWh).

use chrono::{Duration, TimeZone, Utc};
use ingest::reading::readings_to_batch;
use rust_decimal_macros::dec;
use store::{Lake, LakeLocation};

mod billing_support;
mod http_support;

use billing_support::{lake_with, october, reading, ZONE};

#[tokio::test]
async fn bills_from_the_lake_use_the_ladder() {
    let location = LakeLocation::parse("memory:///billing-test").unwrap();
    let mut lake = Lake::open(&location, ZONE).await.unwrap();
    let midnight = ZONE
        .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc);
    let at = |i: i64| midnight + Duration::minutes(15 * i);
    // Meter 1001: registers 0 → 200 → 260: intervals of 200 and 60 kWh.
    // Meter 1002: 10 → 9 (a register reset: null, not billed) → 12: one interval of 3 kWh.
    let rows = vec![
        reading("000000001001", at(0), dec!(0.00)),
        reading("000000001001", at(1), dec!(200.00)),
        reading("000000001001", at(2), dec!(260.00)),
        reading("000000001002", at(0), dec!(10.00)),
        reading("000000001002", at(1), dec!(9.00)),
        reading("000000001002", at(2), dec!(12.00)),
    ];
    lake.append(vec![readings_to_batch(&rows).unwrap()], &[])
        .await
        .unwrap();
    let session = analytics::LakeSession::from_lake(&lake, ZONE)
        .await
        .unwrap();
    let plan = analytics::tariff::builtin("beijing-residential").unwrap();
    let to = ZONE
        .with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc);
    let bills = analytics::billing::bill_meters(
        &session,
        &plan,
        midnight,
        to,
        analytics::billing::MeterSelection::All,
    )
    .await
    .unwrap();
    let totals: Vec<_> = bills
        .iter()
        .map(|b| (b.meter_id.as_str(), b.total()))
        .collect();
    // 1001: 240 × 0.4883 = 117.192 + 20 × 0.5383 = 10.766 → 127.958 → 127.96.
    // 1002: 3 × 0.4883 = 1.4649 → 1.46.
    assert_eq!(
        totals,
        [("000000001001", dec!(127.96)), ("000000001002", dec!(1.46))]
    );
    assert_eq!(bills[0].priced.lines.len(), 2);
    assert_eq!(bills[0].lake_version, lake.version());
}

#[tokio::test]
async fn missing_intervals_are_estimated_exactly_and_flagged_on_the_bill() {
    // 1.00 kWh measured, then a gap of three intervals over which the register rose 1.00 kWh.
    let rows = vec![
        reading("000000001003", october(0), dec!(100.00)),
        reading("000000001003", october(1), dec!(101.00)),
        reading("000000001003", october(4), dec!(102.00)),
    ];
    let (_dir, _location, lake) = lake_with(&rows).await;
    let session = analytics::LakeSession::from_lake(&lake, ZONE)
        .await
        .unwrap();
    let batches = session
        .query(
            "SELECT CAST(energy_kwh AS VARCHAR), estimated FROM billing_energy ORDER BY interval_start",
        )
        .await
        .unwrap();
    let shown = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    let cells: Vec<&str> = shown
        .lines()
        .skip(3)
        .filter(|l| l.starts_with('|'))
        .collect();
    assert_eq!(cells.len(), 4, "{shown}");
    for (line, (kwh, estimated)) in cells.iter().zip([
        ("1.00000000", "false"),
        ("0.33333300", "true"),
        ("0.33333300", "true"),
        ("0.33333400", "true"),
    ]) {
        assert!(
            line.contains(kwh) && line.contains(estimated),
            "{line} in {shown}"
        );
    }
    let plan = analytics::tariff::builtin("beijing-residential").unwrap();
    let bills = analytics::billing::bill_meters(
        &session,
        &plan,
        october(0),
        october(96 * 31),
        analytics::billing::MeterSelection::All,
    )
    .await
    .unwrap();
    assert_eq!(bills.len(), 1);
    assert_eq!(bills[0].priced.intervals, 4);
    assert_eq!(bills[0].priced.billed_kwh, dec!(2));
    assert_eq!(bills[0].estimated_intervals, 3);
    assert_eq!(bills[0].estimated_kwh, dec!(1));
    // 2 × 0.4883 = 0.9766 → 0.98.
    assert_eq!(bills[0].total(), dec!(0.98));
}

#[tokio::test]
async fn a_period_run_is_stored_once_and_reproducible_at_its_lake_version() {
    use analytics::billing::period_run::{bill_period, store_bills, MonthPeriod};
    let rows = vec![
        reading("000000001001", october(0), dec!(0.00)),
        reading("000000001001", october(1), dec!(5.00)),
        reading("000000001002", october(0), dec!(10.00)),
        reading("000000001002", october(1), dec!(12.50)),
    ];
    let (_dir, location, mut lake) = lake_with(&rows).await;
    let first_version = lake.version().unwrap();
    let period = MonthPeriod::parse("2026-10").unwrap();
    let run = |version: Option<i64>| {
        let location = location.clone();
        async move {
            let session = analytics::LakeSession::open(&location, ZONE, version)
                .await
                .unwrap();
            bill_period(&session, period, "beijing-residential", None, &mut |_| {})
                .await
                .unwrap()
        }
    };
    let bills = run(None).await;
    assert_eq!(bills.len(), 2);
    assert_eq!(bills[0].lake_version, Some(first_version));
    // 5 × 0.4883 = 2.4415 → 2.44; 2.5 × 0.4883 = 1.22075 → 1.22.
    assert_eq!(
        (bills[0].total(), bills[1].total()),
        (dec!(2.44), dec!(1.22))
    );

    // More readings arrive: a new run differs, a run at the first version is identical.
    lake.append(
        vec![readings_to_batch(&[reading("000000001001", october(2), dec!(7.00))]).unwrap()],
        &[],
    )
    .await
    .unwrap();
    let later = run(None).await;
    assert_eq!(later[0].total(), dec!(3.42));
    assert_eq!(run(Some(first_version)).await, bills);

    // Storing twice replaces the period's rows instead of doubling them.
    store_bills(&location, period, &bills).await.unwrap();
    let version = store_bills(&location, period, &later).await.unwrap();
    assert_eq!(version, 1);
    let table = store::DerivedTable::open(&location, "bills", "period")
        .await
        .unwrap();
    let ctx = datafusion::prelude::SessionContext::new();
    ctx.register_table(
        "bills",
        table.table_provider(&ctx.state()).await.unwrap().unwrap(),
    )
    .unwrap();
    let batches = ctx
        .sql("SELECT meter_id, CAST(total AS VARCHAR), lake_version, plan_versions FROM bills ORDER BY meter_id")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let shown = arrow::util::pretty::pretty_format_batches(&batches)
        .unwrap()
        .to_string();
    assert_eq!(
        batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        2,
        "{shown}"
    );
    assert!(shown.contains("3.42") && shown.contains("1.22"), "{shown}");
    assert!(
        !shown.contains("2.44"),
        "the first run's rows were replaced: {shown}"
    );
}

#[tokio::test]
async fn the_bill_command_stores_the_period_and_exports_csv_and_json() {
    let rows = vec![
        reading("000000001001", october(0), dec!(0.00)),
        reading("000000001001", october(1), dec!(5.00)),
    ];
    let (dir, _location, _lake) = lake_with(&rows).await;
    let bill = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_meterlake"))
            .arg("bill")
            .args(args)
            .env("METERLAKE_LAKE__LOCATION", dir.path().join("lake"))
            .env("METERLAKE_LAKE__REGISTRY", dir.path().join("registry"))
            .env("METERLAKE_CONTROL__PLAN", "beijing-residential")
            .output()
            .unwrap()
    };
    let out = bill(&["--period", "2026-10", "--format", "csv"]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.starts_with("meter_id,period,plan"), "{stdout}");
    assert!(
        stdout.contains("000000001001,2026-10,beijing-residential"),
        "{stdout}"
    );
    assert!(stdout.contains(",2.44,"), "{stdout}");
    assert!(stderr.contains("bills table version 0"), "{stderr}");
    let out = bill(&[
        "--period",
        "2026-10",
        "--format",
        "json",
        "--meter",
        "000000001001",
    ]);
    let json: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(json["priced"]["total"], "2.44");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("bills table"),
        "--meter only prints"
    );
    let out = bill(&["--period", "October"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected YYYY-MM"));
}

/// `meterlake control issue-bills` issues a month once: the bills stored in the lake, the issue
/// recorded; a second call finds it issued, and a malformed month is a clear error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_month_is_issued_by_hand_once() {
    let rows: Vec<_> = (0..=96)
        .map(|i| {
            reading(
                "000000001001",
                october(i),
                rust_decimal::Decimal::new(i * 25, 2),
            )
        })
        .collect();
    let (dir, location, _lake) = lake_with(&rows).await;
    let config = billing_support::config_in(dir.path());
    let issued = http_support::cli(
        &config,
        &["control", "issue-bills", "--period", "2026-10"],
        "",
    );
    assert!(
        issued.starts_with("issued 2026-10: 1 bills,") && issued.contains("0 customers told"),
        "{issued}"
    );
    let session = analytics::LakeSession::open(&location, ZONE, None)
        .await
        .unwrap();
    let bills = analytics::report::meter_bills::meter_bills(&session, "000000001001", 5)
        .await
        .unwrap();
    assert_eq!(bills.len(), 1);
    assert_eq!(bills[0].billed_kwh, dec!(24));
    let again = http_support::cli(
        &config,
        &["control", "issue-bills", "--period", "2026-10"],
        "",
    );
    assert!(
        again.starts_with("already issued (nothing done): 2026-10: 1 bills"),
        "{again}"
    );
    let listed = http_support::cli(&config, &["control", "bill-issues"], "");
    assert_eq!(listed.lines().count(), 1, "{listed}");
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "control",
            "issue-bills",
            "--period",
            "2026-13",
        ])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("expected YYYY-MM"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
