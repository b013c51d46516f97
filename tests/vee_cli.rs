//! `meterlake vee run|show|edit|edits` and `meterlake bill --validated` against a lake, a registry and
//! the control database: a three-hour gap is estimated from the meter's own profile keeping the
//! registers' energy, a spike is removed and interpolated, a person's edit wins with who and why, and
//! the validated bill says what was estimated and how.

mod billing_support;
mod http_support;

use std::str::FromStr;

use billing_support::{config_in, lake_with, october, reading};
use http_support::cli;
use rust_decimal::Decimal;

const METER: &str = "000000000001";

/// Energy of quarter `q` of a day, 0.01 kWh: 0.13 kWh, 0.39 kWh in the evening (18:00–21:00).
fn step(q: i64) -> i64 {
    if (72..84).contains(&q) {
        39
    } else {
        13
    }
}

/// October 2026 of one meter; on the third day quarter 30 carries an 8 kWh spike and the readings of
/// quarters 66..=77 are missing (a 13-interval gap over the evening).
fn readings() -> Vec<ingest::reading::Reading> {
    let mut register = 100_000;
    let mut rows = Vec::new();
    for i in 0..=31 * 96 {
        if i > 0 {
            let q = (i - 1) % 96;
            register += if i - 1 == 192 + 30 { 800 } else { step(q) };
        }
        if (192 + 66..=192 + 77).contains(&i) {
            continue;
        }
        rows.push(reading(METER, october(i), Decimal::new(register, 2)));
    }
    rows
}

/// Runs the binary expecting failure; returns standard error.
fn fails(config: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args([&["--config", config.to_str().unwrap()][..], args].concat())
        .output()
        .unwrap();
    assert!(!out.status.success(), "{args:?} should fail");
    String::from_utf8_lossy(&out.stderr).to_string()
}

fn bill(config: &std::path::Path, validated: bool) -> serde_json::Value {
    let mut args = vec![
        "bill", "--period", "2026-10", "--meter", METER, "--format", "json",
    ];
    if validated {
        args.push("--validated");
    }
    serde_json::from_str(cli(config, &args, "").trim()).unwrap()
}

fn kwh(value: &serde_json::Value) -> Decimal {
    Decimal::from_str(value.as_str().unwrap_or(&value.to_string())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validation_estimates_edits_and_bills_say_how() {
    let (dir, _location, _lake) = lake_with(&readings()).await;
    let registry = dir.path().join("registry");
    std::fs::create_dir_all(&registry).unwrap();
    std::fs::write(
        registry.join("meters.csv"),
        format!(
            "meter_id,customer_id,kind,area_id,feeder_id,bus_id,tariff_plan,household_size,has_pv,\
             installed_on,removed_on,meter_number\n\
             {METER},C1,customer,A1,F1,bus-0,,3,false,2026-09-01T00:00:00Z,,100000000001\n"
        ),
    )
    .unwrap();
    let config = config_in(dir.path());
    let refused = fails(&config, &["bill", "--period", "2026-10", "--validated"]);
    assert!(refused.contains("no validated intervals"), "{refused}");

    let first = cli(
        &config,
        &["vee", "run", "--from", "2026-10-01", "--to", "2026-10-02"],
        "",
    );
    assert!(first.contains("2 day(s) validated"), "{first}");
    let day_one: Vec<&str> = first
        .lines()
        .find(|l| l.starts_with("2026-10-01"))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(
        day_one[..8],
        ["2026-10-01", "1", "96", "96", "0", "0", "0", "0"],
        "date, meters, intervals, valid, estimated, edited, unestimated, linear: {first}"
    );
    let refused = fails(&config, &["bill", "--period", "2026-10", "--validated"]);
    assert!(
        refused.contains("29 day(s) of 2026-10 are not validated (2026-10-03 … 2026-10-31)"),
        "{refused}"
    );
    // The rest of the month, with the first two days as the meter's history.
    let rest = cli(
        &config,
        &["vee", "run", "--from", "2026-10-03", "--to", "2026-10-31"],
        "",
    );
    assert!(rest.contains("29 day(s) validated"), "{rest}");
    let third = rest.lines().find(|l| l.starts_with("2026-10-03")).unwrap();
    assert!(
        third.contains("spike 1") && third.contains("gap 13"),
        "{third}"
    );
    let shown = cli(
        &config,
        &["vee", "show", "--meter", METER, "--date", "2026-10-03"],
        "",
    );
    assert!(
        shown.contains("spike") && shown.contains("profile"),
        "{shown}"
    );

    let raw = bill(&config, false);
    let validated = bill(&config, true);
    assert_eq!(validated["estimation"]["profile"], 13, "{validated}");
    assert_eq!(validated["estimation"]["linear"], 1, "{validated}");
    let raw_kwh = kwh(&raw["priced"]["billed_kwh"]);
    let validated_kwh = kwh(&validated["priced"]["billed_kwh"]);
    assert_eq!(
        raw_kwh - validated_kwh,
        Decimal::new(800 - 13, 2),
        "the spike is replaced by its neighbours' 0.13 kWh; the gap keeps its registers' energy"
    );

    // Someone knows better: the spike interval really was 0.5 kWh.
    let spike_start = october(192 + 30).to_rfc3339();
    let edit = |at: &str, kwh: &str, reason: &str| {
        [
            "vee", "edit", "--meter", METER, "--at", at, "--kwh", kwh, "--reason", reason,
        ]
        .map(String::from)
    };
    let args = edit(&spike_start, "0.5", "field check of the register photo");
    let edited = cli(&config, &args.each_ref().map(String::as_str), "");
    assert!(edited.contains("set to 0.5 kWh"), "{edited}");
    let off_grid = (october(10) + chrono::Duration::minutes(5)).to_rfc3339();
    for (args, problem) in [
        (edit(&spike_start, "-1", "x"), "negative"),
        (edit(&off_grid, "1", "x"), "15-minute"),
    ] {
        let bad = fails(&config, &args.each_ref().map(String::as_str));
        assert!(bad.contains(problem), "{bad}");
    }
    cli(
        &config,
        &["vee", "run", "--from", "2026-10-03", "--to", "2026-10-03"],
        "",
    );
    let shown = cli(
        &config,
        &["vee", "show", "--meter", METER, "--date", "2026-10-03"],
        "",
    );
    assert!(
        shown.contains("edited") && shown.contains("field check of the register photo"),
        "{shown}"
    );
    let validated = bill(&config, true);
    assert_eq!(validated["estimation"]["edited"], 1, "{validated}");
    assert_eq!(validated["estimation"]["linear"], 0, "{validated}");
    assert_eq!(
        raw_kwh - kwh(&validated["priced"]["billed_kwh"]),
        Decimal::new(750, 2)
    );
    let edits = cli(
        &config,
        &[
            "vee",
            "edits",
            "--meter",
            METER,
            "--from",
            "2026-10-01",
            "--to",
            "2026-10-31",
        ],
        "",
    );
    assert!(
        edits.contains("field check of the register photo") && edits.contains("cli:"),
        "{edits}"
    );
    let audit = cli(&config, &http_support::AUDIT_EXPORT_ALL, "");
    assert!(audit.contains("interval_edited"), "{audit}");
}
