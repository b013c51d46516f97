//! The native `interval_energy` table against its SQL definition, row for row, on a lake with every
//! case the rules name: gaps, rollover, registers going backwards, unaligned readings, null tariff
//! registers, replacements, meters written in several files out of order and across days.

use chrono::{DateTime, Duration, Utc};
use ingest::reading::{readings_to_batch, Quality, Reading};
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;
use store::{Lake, LakeLocation};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

fn meter(i: usize) -> String {
    format!("{:012}", 7_000 + i)
}

/// 2026-10-01 00:00 in Shanghai plus `minutes`.
fn at(minutes: i64) -> DateTime<Utc> {
    "2026-09-30T16:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes)
}

fn kwh(e2: i64) -> Decimal {
    Decimal::new(e2, 2)
}

/// Three days of readings of 40 meters with every irregularity, in three appends: day 2, day 1 with
/// part of day 3, the rest of day 3 (so a meter's runs overlap across files).
fn fleet() -> Vec<Vec<Reading>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(645);
    let mut appends = vec![Vec::new(), Vec::new(), Vec::new()];
    for m in 0..40 {
        let mut registers = [0i64; 6];
        registers[0] = if m % 7 == 0 {
            99_999_000
        } else {
            rng.gen_range(0..5_000_000)
        };
        for q in 0..(3 * 96) {
            if rng.gen_ratio(1, 12) {
                continue; // a lost reading: a gap
            }
            let mut minutes = q * 15;
            if rng.gen_ratio(1, 60) {
                minutes += 7; // off the grid
            }
            let used = rng.gen_range(0..60);
            registers[0] = (registers[0] + used) % 100_000_000;
            if rng.gen_ratio(1, 80) {
                registers[0] -= rng.gen_range(1..500).min(registers[0]); // backwards
            }
            if rng.gen_ratio(1, 150) {
                registers[0] += 2_000; // 20 kWh in a quarter: suspect
            }
            for r in registers.iter_mut().skip(1) {
                *r += rng.gen_range(0..15);
            }
            let mut reading = Reading::empty(meter(m), at(minutes), "bus-1", "c-1");
            reading.quality = Quality::Ok;
            reading.energy_fwd_total_kwh = (!rng.gen_ratio(1, 40)).then(|| kwh(registers[0]));
            for (t, value) in reading.energy_fwd_tariff_kwh.iter_mut().enumerate() {
                *value = (!rng.gen_ratio(1, 30)).then(|| kwh(registers[1 + t]));
            }
            reading.energy_rev_total_kwh = (m % 3 == 0).then(|| kwh(registers[5]));
            let day = q / 96;
            let append = match day {
                1 => 0,
                0 => 1,
                _ if q % 96 < 40 => 1,
                _ => 2,
            };
            appends[append].push(reading);
        }
    }
    appends
}

async fn session() -> (tempfile::TempDir, analytics::LakeSession) {
    let dir = tempfile::tempdir().unwrap();
    let location = LakeLocation::parse(&dir.path().join("lake").display().to_string()).unwrap();
    let mut lake = Lake::open(&location, ZONE).await.unwrap();
    for rows in fleet() {
        lake.append(vec![readings_to_batch(&rows).unwrap()], &[])
            .await
            .unwrap();
    }
    let registry = dir.path().join("registry");
    std::fs::create_dir_all(&registry).unwrap();
    let mut meters = format!("{}\n", ingest::sim::registry::METERS_HEADER);
    for m in 0..40 {
        let row = |installed: &str, number: usize| {
            format!(
                "{},C{m},customer,area-0,feeder-0,bus-1,beijing-residential,3,false,{installed},,{number}\n",
                meter(m)
            )
        };
        meters.push_str(&row("2026-01-01T00:00:00Z", m));
        if m % 5 == 0 {
            // Replaced on day 2, between quarters (and twice for one meter).
            meters.push_str(&row(&at(24 * 60 + 10 * m as i64 + 5).to_rfc3339(), 100 + m));
        }
        if m == 10 {
            meters.push_str(&row(&at(2 * 24 * 60 + 3).to_rfc3339(), 300));
        }
    }
    std::fs::write(registry.join("meters.csv"), meters).unwrap();
    let session = analytics::LakeSession::from_lake_with_registry(&lake, ZONE, Some(&registry))
        .await
        .unwrap();
    // The SQL definition beside the native table, as the reference.
    let reference = analytics::views::interval_energy(ZONE.name()).replacen(
        "CREATE VIEW interval_energy",
        "CREATE VIEW interval_energy_sql",
        1,
    );
    session.query(&reference).await.unwrap();
    (dir, session)
}

/// Every row of `sql` as text, in the query's order.
async fn text_rows(session: &analytics::LakeSession, sql: &str) -> Vec<String> {
    let batches = session.query(sql).await.unwrap();
    let mut out = Vec::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .map(|c| arrow::util::display::array_value_to_string(c, row).unwrap())
                .collect();
            out.push(cells.join("|"));
        }
    }
    out
}

async fn same_both_ways(session: &analytics::LakeSession, sql: &str) -> usize {
    let native = text_rows(session, &sql.replace("{t}", "interval_energy")).await;
    let reference = text_rows(session, &sql.replace("{t}", "interval_energy_sql")).await;
    assert_eq!(native.len(), reference.len(), "{sql}");
    for (n, r) in native.iter().zip(&reference) {
        assert_eq!(n, r, "{sql}");
    }
    native.len()
}

#[tokio::test]
async fn the_native_table_gives_the_sql_definitions_rows() {
    let (_dir, session) = session().await;
    let plan = text_rows(&session, "EXPLAIN SELECT count(*) FROM interval_energy").await;
    assert!(
        plan.iter().any(|l| l.contains("IntervalEnergyExec")),
        "the native table answers: {plan:?}"
    );
    let native = session.context().table("interval_energy").await.unwrap();
    let reference = session
        .context()
        .table("interval_energy_sql")
        .await
        .unwrap();
    assert_eq!(native.schema().as_arrow(), reference.schema().as_arrow());
    let rows = same_both_ways(
        &session,
        "SELECT * FROM {t} ORDER BY meter_id, interval_start",
    )
    .await;
    assert!(rows > 10_000, "{rows} rows");
    // Every quality occurs, replacements included.
    let qualities = text_rows(
        &session,
        "SELECT quality, count(*) FROM interval_energy GROUP BY quality ORDER BY quality",
    )
    .await;
    assert_eq!(qualities.len(), 3, "{qualities:?}");
    // Projections that read some registers only, and aggregates over them.
    same_both_ways(
        &session,
        "SELECT meter_id, date, sum(energy_t2_kwh), count(*) FILTER (WHERE quality = 'suspect') \
         FROM {t} GROUP BY meter_id, date ORDER BY meter_id, date",
    )
    .await;
    same_both_ways(
        &session,
        "SELECT slot, sum(energy_rev_kwh), max(gap_index) FROM {t} GROUP BY slot ORDER BY slot",
    )
    .await;
}

#[tokio::test]
async fn a_meter_filter_reads_only_its_meters() {
    let (_dir, session) = session().await;
    let one = format!("meter_id = '{}'", meter(10));
    let rows = same_both_ways(
        &session,
        &format!("SELECT * FROM {{t}} WHERE {one} ORDER BY interval_start"),
    )
    .await;
    assert!(rows > 200, "{rows} rows");
    let plan = text_rows(
        &session,
        &format!("EXPLAIN SELECT * FROM interval_energy WHERE {one}"),
    )
    .await;
    assert!(
        plan.iter()
            .any(|l| l.contains("IntervalEnergyExec") && l.contains("1 meters")),
        "{plan:?}"
    );
    let list = format!(
        "meter_id IN ('{}', '{}', '000000000000')",
        meter(0),
        meter(39)
    );
    same_both_ways(
        &session,
        &format!("SELECT * FROM {{t}} WHERE {list} ORDER BY meter_id, interval_start"),
    )
    .await;
    // Through an aggregate view, as analysts ask it.
    same_both_ways(
        &session,
        &format!(
            "SELECT date, sum(energy_kwh), count(*) FROM {{t}} WHERE {one} AND date >= DATE '2026-10-02' \
             GROUP BY date ORDER BY date"
        ),
    )
    .await;
    let daily = text_rows(
        &session,
        &format!("SELECT * FROM daily_energy WHERE {one} ORDER BY date"),
    )
    .await;
    assert_eq!(daily.len(), 3, "{daily:?}");
}

#[tokio::test]
async fn a_damaged_file_is_a_clear_error_not_a_crash() {
    let (_dir, session) = session().await;
    let file = session.file_uris()[0].clone();
    std::fs::write(&file, b"not parquet at all").unwrap();
    let error = session
        .query("SELECT count(*) FROM interval_energy")
        .await
        .expect_err("a damaged file cannot be read");
    let message = error.to_string();
    assert!(message.contains("parquet"), "{message}");
}
