//! Billing's direct file scan against the views, the ladder carried into a period, a run over several
//! plans, and daily charges with their true-up (stored per period, and from the CLI).

use std::collections::BTreeMap;

use analytics::billing::lake_scan::ChunkLimits;
use analytics::billing::meter_intervals::{for_each_meter, for_each_meter_sql};
use analytics::billing::MeterSelection;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rust_decimal_macros::dec;

mod billing_support;

use billing_support::{lake_with, october, reading, ZONE};

/// Each meter's (starts, energies, estimated intervals, estimated energy).
type Visited = BTreeMap<String, (Vec<i64>, Vec<i64>, u64, i64)>;

fn recorder(
    into: &mut Visited,
) -> impl FnMut(String, analytics::billing::MeterIntervals) -> Result<(), analytics::AnalyticsError> + '_
{
    |meter, m| {
        assert!(
            into.insert(meter, (m.starts, m.energy, m.estimated, m.estimated_e6))
                .is_none(),
            "a meter visited twice"
        );
        Ok(())
    }
}

fn november(i: i64) -> DateTime<Utc> {
    ZONE.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
        + Duration::minutes(15 * i)
}

fn write_registry(dir: &std::path::Path, rows: &[&str]) -> std::path::PathBuf {
    let registry = dir.join("registry");
    std::fs::create_dir_all(&registry).unwrap();
    let mut text = format!("{}\n", ingest::sim::registry::METERS_HEADER);
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    std::fs::write(registry.join("meters.csv"), text).unwrap();
    registry
}

/// Every meter's intervals of [`from`, `to`] through [`for_each_meter`] (the file scan and its
/// fallback) and through the views alone.
async fn both_ways(
    session: &analytics::LakeSession,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (Visited, Visited) {
    let (mut both, mut views) = (Visited::new(), Visited::new());
    for_each_meter(
        session,
        from,
        to,
        MeterSelection::All,
        &mut recorder(&mut both),
    )
    .await
    .unwrap();
    for_each_meter_sql(
        session,
        from,
        to,
        MeterSelection::All,
        &mut recorder(&mut views),
    )
    .await
    .unwrap();
    (both, views)
}

#[tokio::test]
async fn the_file_scan_gives_exactly_the_views_intervals() {
    let rows = vec![
        // Plain quarters.
        reading("000000002001", october(0), dec!(1.00)),
        reading("000000002001", october(1), dec!(1.25)),
        reading("000000002001", october(2), dec!(1.75)),
        // A gap of five quarters over 1.00 kWh.
        reading("000000002002", october(0), dec!(7.00)),
        reading("000000002002", october(5), dec!(8.00)),
        reading("000000002002", october(6), dec!(8.10)),
        // Rollover at 1,000,000 kWh.
        reading("000000002003", october(0), dec!(999999.50)),
        reading("000000002003", october(1), dec!(0.30)),
        // A register that went backwards bills nothing.
        reading("000000002004", october(0), dec!(10.00)),
        reading("000000002004", october(1), dec!(9.00)),
        reading("000000002004", october(2), dec!(12.00)),
        // Off the grid: 20 minutes, then 25 (two quarters' span).
        reading("000000002005", october(0), dec!(3.00)),
        reading(
            "000000002005",
            october(0) + Duration::minutes(20),
            dec!(3.40),
        ),
        reading(
            "000000002005",
            october(0) + Duration::minutes(50),
            dec!(4.00),
        ),
        // 50 kWh in a quarter (suspect, still billed), across local midnight into 2 October.
        reading("000000002006", october(0), dec!(99.00)),
        reading("000000002006", october(95), dec!(100.00)),
        reading("000000002006", october(96), dec!(150.00)),
        reading("000000002006", october(97), dec!(150.50)),
        // Replaced at quarter 2 (+5 min): left to the views.
        reading("000000002007", october(0), dec!(500.00)),
        reading("000000002007", october(1), dec!(500.50)),
        reading("000000002007", october(3), dec!(0.40)),
        // Its last reading before the period lies in an older partition: left to the views.
        reading("000000002008", october(-96 * 3), dec!(20.00)),
        reading("000000002008", october(24), dec!(26.00)),
    ];
    let (dir, _location, lake) = lake_with(&rows).await;
    let replaced = (october(2) + Duration::minutes(5)).to_rfc3339();
    let registry = write_registry(dir.path(), &[
        "000000002007,C1,customer,A1,F1,bus-0,beijing-residential,3,false,2020-01-01T00:00:00Z,,000000002007",
        &format!("000000002007,C1,customer,A1,F1,bus-0,beijing-residential,3,false,{replaced},,000000009007"),
    ]);
    let session = analytics::LakeSession::from_lake_with_registry(&lake, ZONE, Some(&registry))
        .await
        .unwrap();
    let (from, to) = (october(0), october(96 * 31));
    let scan_with = |limits| {
        analytics::billing::lake_scan::scan_meters(
            &session,
            from,
            to,
            MeterSelection::All,
            limits,
            &|_, m| Ok(m.clone()),
        )
    };
    let scan = scan_with(ChunkLimits::default())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("a local lake is scanned: {:?}", session.file_uris()));
    // Cut at every meter a row group starts with: ranges whose row groups straddle each other.
    let cut_everywhere = ChunkLimits {
        rows: 1,
        cap_rows: 1,
    };
    let in_ranges = scan_with(cut_everywhere).await.unwrap().unwrap();
    assert_eq!(in_ranges.meters, scan.meters);
    assert_eq!(in_ranges.fallback, scan.fallback);
    let scanned: Visited = scan
        .meters
        .into_iter()
        .map(|(k, m)| (k, (m.starts, m.energy, m.estimated, m.estimated_e6)))
        .collect();
    // 2007 was replaced; 2008 starts after `from` while an older partition exists, so its span into the
    // period starts outside the scanned window.
    assert_eq!(scan.fallback, ["000000002007", "000000002008"]);
    assert_eq!(
        scanned.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "000000002001",
            "000000002002",
            "000000002003",
            "000000002004",
            "000000002005",
            "000000002006"
        ]
    );
    assert_eq!(
        scanned["000000002002"].1,
        [200_000, 200_000, 200_000, 200_000, 200_000, 100_000]
    );
    assert_eq!(scanned["000000002003"].1, [800_000]);
    let (both, views) = both_ways(&session, from, to).await;
    assert_eq!(both, views);
    assert_eq!(both.len(), 8);
    // A period that cuts a gap and a midnight: the same again.
    let (from, to) = (october(3), october(96));
    let (both, views) = both_ways(&session, from, to).await;
    assert_eq!(both, views);
}

#[tokio::test]
async fn the_ladder_carries_from_the_settlement_and_each_plan_prices_its_meters() {
    use analytics::billing::period_run::{bill_period, MonthPeriod};
    let rows = vec![
        // 3,000 kWh in October, then 200 kWh in November's first (valley) quarter.
        reading("000000003001", october(0), dec!(0.00)),
        reading("000000003001", october(1), dec!(3000.00)),
        reading("000000003001", november(0), dec!(3000.00)),
        reading("000000003001", november(1), dec!(3200.00)),
        // No plan in the registry: the default plan prices it.
        reading("000000003002", november(0), dec!(10.00)),
        reading("000000003002", november(1), dec!(20.00)),
    ];
    let (dir, _location, lake) = lake_with(&rows).await;
    let registry = write_registry(dir.path(), &[
        "000000003001,C1,customer,A1,F1,bus-0,shanghai-residential,3,false,2020-01-01T00:00:00Z,,000000003001",
        "000000003002,C2,customer,A1,F1,bus-0,,3,false,2020-01-01T00:00:00Z,,000000003002",
    ]);
    let session = analytics::LakeSession::from_lake_with_registry(&lake, ZONE, Some(&registry))
        .await
        .unwrap();
    let bills = bill_period(
        &session,
        MonthPeriod::parse("2026-11").unwrap(),
        "beijing-residential",
        None,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(bills.len(), 2);
    // Shanghai's annual ladder: 3,000 kWh used since 1 January, so 120 kWh fill tier 1 (≤ 3,120) and
    // 80 go to tier 2: 120 × 0.307 + 80 × 0.337 = 36.84 + 26.96 = 63.80 (61.40 without the carry).
    assert_eq!(bills[0].priced.plan, "shanghai-residential");
    assert_eq!(bills[0].priced.ladder_start_kwh, dec!(3000));
    assert_eq!(bills[0].total(), dec!(63.80));
    // Beijing (the default): 10 × 0.4883 = 4.883 → 4.88.
    assert_eq!(bills[1].priced.plan, "beijing-residential");
    assert_eq!(bills[1].total(), dec!(4.88));
    let october_bills = bill_period(
        &session,
        MonthPeriod::parse("2026-10").unwrap(),
        "beijing-residential",
        None,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(october_bills.len(), 1, "3002 has no October intervals");
    assert_eq!(october_bills[0].priced.ladder_start_kwh, dec!(0));
}

#[tokio::test]
async fn daily_charges_and_their_true_up_add_up_to_the_bill_and_are_stored_once_per_period() {
    use analytics::billing::daily_run::{daily_period, store_daily_charges};
    use analytics::billing::period_run::{bill_period, MonthPeriod};
    // Beijing, monthly 240 / 400 kWh: 200 kWh on 1 November, 100 on the 2nd, 0.01 on the 3rd.
    let rows = vec![
        reading("000000004001", november(0), dec!(0.00)),
        reading("000000004001", november(1), dec!(200.00)),
        reading("000000004001", november(96), dec!(200.00)),
        reading("000000004001", november(97), dec!(300.00)),
        reading("000000004001", november(192), dec!(300.00)),
        reading("000000004001", november(193), dec!(300.01)),
    ];
    let (dir, location, lake) = lake_with(&rows).await;
    let session = analytics::LakeSession::from_lake(&lake, ZONE)
        .await
        .unwrap();
    let period = MonthPeriod::parse("2026-11").unwrap();
    let charges = daily_period(&session, period, "beijing-residential", None, &mut |_| {})
        .await
        .unwrap();
    let bills = bill_period(&session, period, "beijing-residential", None, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(charges.len(), 1);
    let days = &charges[0].charges.days;
    assert_eq!(days.len(), 30);
    // Day 1: 200 × 0.4883 = 97.66. Day 2: 40 × 0.4883 + 60 × 0.5383 = 19.532 + 32.298 = 51.83.
    // Day 3: 0.01 × 0.5383 = 0.005383 → 0.01. The bill: 117.192 + 32.303383 = 149.495383 → 149.50.
    assert_eq!(
        (days[0].charge, days[1].charge, days[2].charge),
        (dec!(97.66), dec!(51.83), dec!(0.01))
    );
    assert_eq!(bills[0].total(), dec!(149.50));
    assert_eq!(charges[0].charges.bill_total, bills[0].total());
    let sum: rust_decimal::Decimal = days.iter().map(|d| d.charge).sum();
    assert_eq!(sum + charges[0].charges.true_up, bills[0].total());
    assert_eq!(charges[0].charges.true_up, dec!(0.00));
    store_daily_charges(&location, period, &charges)
        .await
        .unwrap();
    let version = store_daily_charges(&location, period, &charges)
        .await
        .unwrap();
    assert_eq!(version, 1);
    let table = store::DerivedTable::open(&location, "daily_charges", "period")
        .await
        .unwrap();
    let ctx = datafusion::prelude::SessionContext::new();
    ctx.register_table(
        "daily_charges",
        table.table_provider(&ctx.state()).await.unwrap().unwrap(),
    )
    .unwrap();
    let counts = ctx
        .sql("SELECT kind, count(*), CAST(sum(charge) AS VARCHAR) FROM daily_charges GROUP BY kind ORDER BY kind")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let shown = arrow::util::pretty::pretty_format_batches(&counts)
        .unwrap()
        .to_string();
    assert!(shown.contains("| day     | 30       | 149.50"), "{shown}");
    assert!(shown.contains("| true_up | 1        | 0.00"), "{shown}");

    // The CLI prints and stores them.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args(["bill", "--period", "2026-11", "--daily", "--format", "csv"])
        .env("METERLAKE_LAKE__LOCATION", dir.path().join("lake"))
        .env("METERLAKE_LAKE__REGISTRY", dir.path().join("registry"))
        .env("METERLAKE_CONTROL__PLAN", "beijing-residential")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("meter_id,period,kind,date,plan"),
        "{stdout}"
    );
    assert!(
        stdout.contains("000000004001,2026-11,day,2026-11-02,beijing-residential,"),
        "{stdout}"
    );
    assert!(stdout.contains(",51.83\n"), "{stdout}");
    assert!(
        stdout.contains("000000004001,2026-11,true_up,,"),
        "{stdout}"
    );
    assert!(stderr.contains("daily_charges table version 2"), "{stderr}");
}
