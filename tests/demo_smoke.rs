//! The README's first command, small: `meterlake demo` runs the whole system on embedded defaults and
//! ends well — every section it prints is reached (collection, billing, trips, the month's bills,
//! VEE, prediction, notifications, the day close, a hotline ticket, a customer registering), the ledger and the audit
//! trail check out.

use std::process::Command;

#[test]
fn the_demo_runs_every_section_and_ends_well() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_meterlake"))
        .args([
            "demo",
            "--meters",
            "40",
            "--intervals",
            "40",
            "--interval-ms",
            "100",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for section in [
        "readings committed  1640",
        "month-end bills 2026-10",
        "40 bills",
        "validation, estimation, editing (VEE)",
        "inspection list",
        "ledger check: every balance is the sum of its entries",
        "chain intact",
        "webhook received",
        "day close 2026-10-01",
        "took down a billing call",
        "self-registration (/register)",
        "registered and signed in",
    ] {
        assert!(stdout.contains(section), "{section:?} missing:\n{stdout}");
    }
}
