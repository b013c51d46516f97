//! `meterlake alarms rescan|list|ack|clear` against a lake and the control database: the rules re-run
//! over history raise and clear alarms exactly once, and staff take and close them, audited.

mod billing_support;
mod http_support;

use billing_support::{config_in, lake_with, october, reading};
use http_support::cli;
use rust_decimal::Decimal;

/// Two days of two meters: 000000000001 sags to 175 V for quarters 20..40; 000000000002 rises to
/// 246 V from quarter 180 to the end.
fn readings() -> Vec<ingest::reading::Reading> {
    let mut rows = Vec::new();
    for meter in ["000000000001", "000000000002"] {
        for i in 0..192 {
            let mut r = reading(meter, october(i), Decimal::new(100_000 + 13 * i, 2));
            r.energy_fwd_tariff_kwh = [
                Some(Decimal::ZERO),
                Some(Decimal::new(100_000 + 13 * i, 2)),
                Some(Decimal::ZERO),
                Some(Decimal::ZERO),
            ];
            r.energy_rev_total_kwh = Some(Decimal::ZERO);
            r.voltage_v = Some(match (meter.ends_with('1'), i) {
                (true, 20..40) => 175.0,
                (false, 180..) => 246.0,
                _ => 221.0,
            });
            r.current_a = Some(2.4);
            r.active_power_kw = Some(0.5);
            r.power_factor = Some(0.95);
            r.frequency_hz = Some(50.0);
            r.status_words[0] = Some(0);
            r.status_words[2] = Some(0x0200);
            rows.push(r);
        }
    }
    rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rescan_raises_and_clears_once_and_staff_close_alarms() {
    let (dir, _location, _lake) = lake_with(&readings()).await;
    let config = config_in(dir.path());
    let rescan = || {
        cli(
            &config,
            &[
                "alarms",
                "rescan",
                "--from",
                "2026-10-01",
                "--to",
                "2026-10-02",
            ],
            "",
        )
    };
    let out = rescan();
    assert!(
        out.contains("2 day(s), 384 readings judged: 2 alarm(s) raised, 1 cleared"),
        "{out}"
    );
    // The same range again adds nothing.
    let again = rescan();
    assert!(
        again.contains("0 alarm(s) raised, 0 cleared, 2 already known"),
        "{again}"
    );
    let listed = cli(&config, &["alarms", "list", "--all", "--json"], "");
    let alarms: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(alarms.len(), 2, "{listed}");
    let alarm = alarms.iter().find(|a| a["kind"] == "voltage_low").unwrap();
    assert_eq!(alarm["meter_id"], "000000000001");
    assert_eq!(alarm["kind"], "voltage_low");
    assert_eq!(alarm["state"], "cleared");
    assert_eq!(alarm["cleared_by"], "system");
    assert_eq!(
        alarm["since_at"],
        october(20).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    assert_eq!(alarm["evidence"][1]["values"]["voltage_v"], 175.0);
    // The high voltage is still open: someone takes it and closes it with a note.
    let open = cli(&config, &["alarms", "list", "--json"], "");
    let high: serde_json::Value = serde_json::from_str(open.trim()).unwrap();
    assert_eq!(
        (high["kind"].as_str(), high["state"].as_str()),
        (Some("voltage_high"), Some("raised"))
    );
    let high_id = high["id"].as_str().unwrap();
    cli(&config, &["alarms", "ack", high_id], "");
    cli(
        &config,
        &[
            "alarms",
            "clear",
            high_id,
            "--note",
            "tap changer reset at the transformer",
        ],
        "",
    );
    let closed: serde_json::Value = serde_json::from_str(
        cli(
            &config,
            &[
                "alarms",
                "list",
                "--all",
                "--kind",
                "voltage_high",
                "--json",
            ],
            "",
        )
        .trim(),
    )
    .unwrap();
    assert_eq!(closed["state"], "cleared");
    assert_eq!(closed["clear_note"], "tap changer reset at the transformer");
    assert!(closed["acknowledged_by"]
        .as_str()
        .unwrap()
        .starts_with("cli:"));
    let audit = cli(&config, &http_support::AUDIT_EXPORT_ALL, "");
    assert!(
        audit.contains("alarm_acknowledged") && audit.contains("alarm_cleared"),
        "{audit}"
    );
    // A cleared alarm can be neither acknowledged nor cleared again.
    assert!(cli(&config, &["alarms", "list", "--json"], "")
        .trim()
        .is_empty());
    let id = alarm["id"].as_str().unwrap();
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args(["--config", config.to_str().unwrap(), "alarms", "ack", id])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("already cleared"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alarms_go_to_the_lake_and_sql_reads_them() {
    let (dir, _location, _lake) = lake_with(&readings()).await;
    let config = config_in(dir.path());
    let range = ["--from", "2026-10-01", "--to", "2026-10-02"];
    cli(&config, &[&["alarms", "rescan"][..], &range].concat(), "");
    let exported = cli(&config, &[&["alarms", "export"][..], &range].concat(), "");
    assert!(
        exported.contains("2026-10-01: 1 alarm(s), 0 event(s)")
            && exported.contains("2026-10-02: 1 alarm(s), 0 event(s)"),
        "{exported}"
    );
    // Exporting again replaces the days: still one row per alarm.
    cli(&config, &[&["alarms", "export"][..], &range].concat(), "");
    let sql = cli(
        &config,
        &[
            "sql",
            "--format",
            "csv",
            "SELECT kind, state, date FROM alarms ORDER BY kind",
        ],
        "",
    );
    assert_eq!(
        sql.lines().collect::<Vec<_>>(),
        [
            "kind,state,date",
            "voltage_high,raised,2026-10-02",
            "voltage_low,cleared,2026-10-01"
        ],
        "{sql}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_area_losing_energy_and_readings_raises_on_its_supply_meter() {
    // Area A1: a supply meter measuring 1 kWh per quarter, two customers recording 0.4 kWh each
    // (20 % line loss); the second customer is silent for 20 rounds (≈ 90 % collection success).
    let supply = "000000009001";
    let mut rows = Vec::new();
    for i in 0..=96 {
        rows.push(reading(
            supply,
            october(i),
            Decimal::new(10_000 + 100 * i, 2),
        ));
        for meter in ["000000000001", "000000000002"] {
            let mut r = reading(meter, october(i), Decimal::new(5_000 + 40 * i, 2));
            if meter.ends_with('2') && (30..50).contains(&i) {
                r.quality = ingest::reading::Quality::NoResponse;
                r.energy_fwd_total_kwh = None;
            }
            rows.push(r);
        }
    }
    let (dir, _location, _lake) = lake_with(&rows).await;
    let registry = dir.path().join("registry");
    std::fs::create_dir_all(&registry).unwrap();
    let mut meters = String::from(
        "meter_id,customer_id,kind,area_id,feeder_id,bus_id,tariff_plan,household_size,has_pv,\
         installed_on,removed_on,meter_number\n",
    );
    for (meter, kind) in [
        (supply, "supply"),
        ("000000000001", "customer"),
        ("000000000002", "customer"),
    ] {
        meters.push_str(&format!(
            "{meter},,{kind},A1,F1,bus-0,,,false,2026-09-01T00:00:00Z,,{meter}\n"
        ));
    }
    std::fs::write(registry.join("meters.csv"), meters).unwrap();
    let config = config_in(dir.path());
    cli(
        &config,
        &[
            "alarms",
            "rescan",
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-01",
        ],
        "",
    );
    let listed = cli(&config, &["alarms", "list", "--all", "--json"], "");
    let alarms: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let on_supply = |kind: &str| {
        alarms
            .iter()
            .find(|a| a["kind"] == kind && a["meter_id"] == supply)
            .unwrap_or_else(|| panic!("no {kind} on the supply meter: {listed}"))
    };
    let loss = on_supply("line_loss_high");
    assert_eq!(loss["area_id"], "A1");
    let loss_pct = loss["evidence"][0]["values"]["line_loss_pct"]
        .as_f64()
        .unwrap();
    assert!((loss_pct - 20.0).abs() < 1e-9, "{loss}");
    let collection = on_supply("collection_low");
    let pct = collection["evidence"][0]["values"]["collection_pct"]
        .as_f64()
        .unwrap();
    assert!((pct - 100.0 * 172.0 / 192.0).abs() < 1e-9, "{collection}");
    assert!(
        alarms.iter().all(|a| a["kind"] != "line_loss_negative"),
        "{listed}"
    );
}
