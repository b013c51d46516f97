//! The catalog's views against literal values worked out by hand on a small lake: gaps, rollover,
//! a backwards register, an implausible interval and a meter replacement.

use chrono::{DateTime, Duration, Utc};
use ingest::reading::{readings_to_batch, Quality, Reading};
use rust_decimal::Decimal;
use store::{Lake, LakeLocation};

const ZONE: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

/// 2026-10-02 00:00 in Shanghai.
fn t(quarter: i64) -> DateTime<Utc> {
    "2026-10-01T16:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(15 * quarter)
}

fn reading(meter: &str, quarter: i64, register: Option<&str>) -> Reading {
    let mut r = Reading::empty(meter.to_string(), t(quarter), "bus-1", "c-1");
    if let Some(value) = register {
        r.energy_fwd_total_kwh = Some(value.parse::<Decimal>().unwrap());
        r.quality = Quality::Ok;
    }
    r
}

const A: &str = "000000000001";
const B: &str = "000000000002";
const C: &str = "000000000003";

async fn session() -> (tempfile::TempDir, analytics::LakeSession) {
    let dir = tempfile::tempdir().unwrap();
    let location = LakeLocation::parse(&dir.path().join("lake").display().to_string()).unwrap();
    let rows = vec![
        // A: 0.50, 0.75, then two readings without registers (a gap of three intervals), then flat.
        reading(A, 0, Some("100.00")),
        reading(A, 1, Some("100.50")),
        reading(A, 2, Some("101.25")),
        reading(A, 3, None),
        reading(A, 4, None),
        reading(A, 5, Some("102.75")),
        reading(A, 6, Some("102.75")),
        // B: rollover (+0.80), backwards (suspect, null), 20 kWh in 15 minutes (suspect).
        reading(B, 0, Some("999999.50")),
        reading(B, 1, Some("0.30")),
        reading(B, 2, Some("0.20")),
        reading(B, 3, Some("20.20")),
        // C: 10.00, then replaced at 00:20 local: the new register reads 1.20 at 00:30.
        reading(C, 0, Some("500.00")),
        reading(C, 1, Some("510.00")),
        reading(C, 2, Some("1.20")),
    ];
    let mut lake = Lake::open(&location, ZONE).await.unwrap();
    lake.append(vec![readings_to_batch(&rows).unwrap()], &[])
        .await
        .unwrap();
    let registry = dir.path().join("registry");
    std::fs::create_dir_all(&registry).unwrap();
    let row = |meter: &str, installed: &str, removed: &str, number: &str| {
        format!("{meter},C{meter},customer,a-area-0,a-feeder-0,bus-1,shanghai-tou-tier1,3,false,{installed},{removed},{number}\n")
    };
    std::fs::write(
        registry.join("meters.csv"),
        format!(
            "{}\n{}{}{}{}",
            ingest::sim::registry::METERS_HEADER,
            row(A, "2026-09-01T00:00:00Z", "", "100000000001"),
            row(B, "2026-09-01T00:00:00Z", "", "100000000002"),
            row(
                C,
                "2026-09-01T00:00:00Z",
                "2026-10-01T16:20:00Z",
                "100000000003"
            ),
            row(C, "2026-10-01T16:20:00Z", "", "100000000033"),
        ),
    )
    .unwrap();
    std::fs::write(
        registry.join("areas.csv"),
        format!(
            "{}\na-area-0,a-feeder-0,,3\n",
            ingest::sim::registry::AREAS_HEADER
        ),
    )
    .unwrap();
    let session = analytics::LakeSession::from_lake_with_registry(&lake, ZONE, Some(&registry))
        .await
        .unwrap();
    (dir, session)
}

/// Every row of a query as text cells.
async fn rows(session: &analytics::LakeSession, sql: &str) -> Vec<Vec<String>> {
    let batches = session.query(sql).await.unwrap();
    let mut out = Vec::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            out.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| {
                        if c.is_null(row) {
                            "null".to_string()
                        } else {
                            arrow::util::display::array_value_to_string(c, row).unwrap()
                        }
                    })
                    .collect(),
            );
        }
    }
    out
}

fn expect(lines: &[&str]) -> Vec<Vec<String>> {
    lines
        .iter()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn interval_energy_shows_gaps_rollover_suspects_and_replacements() {
    let (_dir, session) = session().await;
    let got = rows(
        &session,
        "SELECT meter_id, CAST(date AS VARCHAR), slot, CAST(energy_kwh AS VARCHAR), quality, gap_intervals, \
         CAST(gap_energy_kwh AS VARCHAR) FROM interval_energy ORDER BY meter_id, interval_start",
    )
    .await;
    assert_eq!(
        got,
        expect(&[
            "000000000001|2026-10-02|0|0.50|measured|1|null",
            "000000000001|2026-10-02|1|0.75|measured|1|null",
            "000000000001|2026-10-02|2|null|missing|3|1.50",
            "000000000001|2026-10-02|3|null|missing|3|1.50",
            "000000000001|2026-10-02|4|null|missing|3|1.50",
            "000000000001|2026-10-02|5|0.00|measured|1|null",
            "000000000002|2026-10-02|0|0.80|measured|1|null",
            "000000000002|2026-10-02|1|null|suspect|1|null",
            "000000000002|2026-10-02|2|20.00|suspect|1|null",
            "000000000003|2026-10-02|0|10.00|measured|1|null",
            "000000000003|2026-10-02|1|1.20|suspect|1|null",
        ])
    );
    let bounds = rows(
        &session,
        "SELECT CAST(interval_start AS VARCHAR), CAST(interval_end AS VARCHAR) FROM interval_energy \
         WHERE meter_id = '000000000001' AND slot = 3",
    )
    .await;
    assert_eq!(
        bounds,
        expect(&["2026-10-01T16:45:00Z|2026-10-01T17:00:00Z"])
    );
}

#[tokio::test]
async fn daily_energy_load_curve_and_registry_tables_add_up() {
    let (_dir, session) = session().await;
    assert_eq!(
        rows(
            &session,
            "SELECT meter_id, CAST(energy_kwh AS VARCHAR), intervals, measured_intervals, missing_intervals, \
             suspect_intervals FROM daily_energy ORDER BY meter_id",
        )
        .await,
        expect(&[
            "000000000001|1.25|6|3|3|0",
            "000000000002|0.80|3|1|0|2",
            "000000000003|10.00|2|1|0|1",
        ])
    );
    assert_eq!(
        rows(
            &session,
            "SELECT slot, CAST(avg_kw AS VARCHAR) FROM load_curve WHERE meter_id = '000000000001' \
             AND quality = 'measured' ORDER BY slot",
        )
        .await,
        expect(&["0|2.00", "1|3.00", "5|0.00"])
    );
    assert_eq!(
        rows(
            &session,
            "SELECT m.meter_number, a.customers FROM meters m JOIN areas a USING (area_id) \
             WHERE m.meter_id = '000000000003' ORDER BY m.installed_on",
        )
        .await,
        expect(&["100000000003|3", "100000000033|3"])
    );
}

#[tokio::test]
async fn a_malformed_registry_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let location = LakeLocation::parse(&dir.path().join("lake").display().to_string()).unwrap();
    std::fs::write(
        dir.path().join("meters.csv"),
        format!(
            "{}\n000000000001,,customer,a,f,b,p,three,false,2026-09-01T00:00:00Z,,1\n",
            ingest::sim::registry::METERS_HEADER
        ),
    )
    .unwrap();
    let lake = Lake::open(&location, ZONE).await.unwrap();
    let err = analytics::LakeSession::from_lake_with_registry(&lake, ZONE, Some(dir.path()))
        .await
        .err()
        .expect("a bad household_size must be refused")
        .to_string();
    assert!(err.contains("meters.csv"), "{err}");
}

/// Runs `meterlake sql ARGS` on the fixture's lake with `stdin`; returns (success, stdout, stderr).
fn sql_cli(dir: &std::path::Path, args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .arg("sql")
        .args(args)
        .env("METERLAKE_LAKE__LOCATION", dir.join("lake"))
        .env("METERLAKE_LAKE__REGISTRY", dir.join("registry"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_sql_cli_runs_statements_from_stdin_and_writes_parquet() {
    let (dir, _session) = session().await;
    let script = "-- two statements, one spanning lines\nSELECT count(*) AS n\n  FROM readings;\nSELECT ';' AS semi;\n";
    let (ok, out, err) = sql_cli(dir.path(), &["--format", "csv"], script);
    assert!(ok, "{err}");
    assert_eq!(out, "n\n14\nsemi\n;\n");

    let file = dir.path().join("energy.parquet");
    let (ok, _, err) = sql_cli(
        dir.path(),
        &["--format", "parquet", "--output", file.to_str().unwrap()],
        "SELECT meter_id, energy_kwh FROM daily_energy ORDER BY meter_id",
    );
    assert!(ok, "{err}");
    assert!(err.contains("3 rows written"), "{err}");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&file).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 3);

    let (ok, _, err) = sql_cli(dir.path(), &["--format", "parquet"], "SELECT 1");
    assert!(!ok && err.contains("--output"), "{err}");
    let (ok, out, err) = sql_cli(dir.path(), &["--format", "csv"], "SELECT 1 AS a; SELEC 2;");
    assert!(!ok, "a bad statement fails the run");
    assert_eq!(out, "a\n1\n", "statements before the bad one ran");
    assert!(
        err.contains("statement 2 failed") && err.contains("SELEC"),
        "{err}"
    );
}

#[tokio::test]
async fn the_sql_prompt_takes_multi_line_statements_survives_errors_and_keeps_history() {
    use std::io::Write;
    let (dir, _session) = session().await;
    // `script` gives the prompt a terminal; its input is what a user would type.
    let command = format!("{} sql --format csv", env!("CARGO_BIN_EXE_meterlake"));
    let mut child = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("METERLAKE_LAKE__LOCATION", dir.path().join("lake"))
        .env("METERLAKE_LAKE__REGISTRY", dir.path().join("registry"))
        .env("HOME", dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    for line in [
        "SELECT count(*)",
        "AS rows_in_lake FROM readings;",
        "SELEC 1;",
        "SELECT 7 * 6 AS answer;",
        "\\q",
    ] {
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\r").unwrap();
        stdin.flush().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("rows_in_lake") && text.contains("14"),
        "{text}"
    );
    assert!(text.contains("error:") && text.contains("SELEC"), "{text}");
    assert!(
        text.contains("answer") && text.contains("42"),
        "the prompt went on after the error: {text}"
    );
    let history = std::fs::read_to_string(dir.path().join(".meterlake_history")).unwrap();
    assert!(history.contains("SELECT 7 * 6 AS answer;"), "{history}");
}
