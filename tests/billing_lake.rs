//! Billing from the lake: `interval_energy` rows priced by the tariff engine, with totals worked out
//! by hand from Beijing's published ladder (240 / 400 kWh per month, 0.4883 / 0.5383 / 0.7883 yuan/kWh).

use chrono::{DateTime, Duration, TimeZone, Utc};
use ingest::reading::{readings_to_batch, Quality, Reading};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use store::{Lake, LakeLocation};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn reading(meter: &str, boundary: DateTime<Utc>, kwh: Decimal) -> Reading {
    let mut r = Reading::empty(meter.to_string(), boundary, "bus-0", "c-1");
    r.energy_fwd_total_kwh = Some(kwh);
    r.quality = Quality::Ok;
    r
}

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
    let bills = analytics::billing::bill_meters(&session, &plan, midnight, to, None)
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
