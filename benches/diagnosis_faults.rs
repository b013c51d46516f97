//! Fault diagnosis measured: a fleet with every injected fault kind, collected through DL/T 645 over
//! TCP, the collector, Kafka and the streaming diagnosis; per fault kind the recall, the precision and
//! the delay from onset to alarm ([`fault_fleet`]).
//!
//! `cargo bench --bench diagnosis_faults -- [METERS] [DAYS] [SHARE_PERCENT] [ROUNDS_PER_DAY]` (default
//! 10,000 meters × 7 days × 1 % of meters per kind × 96 rounds). Without `--bench` (as under
//! `cargo test --all-targets`) it runs 40 meters for 16 rounds as a smoke test.

mod args;
mod fault_fleet;

use args::positional as arg;

fn main() -> anyhow::Result<()> {
    let bench = args::full_run();
    let (meters, days, percent, rounds_per_day) = if bench {
        (arg(1, 10_000), arg(2, 7), arg(3, 1), arg(4, 96))
    } else {
        (40, 1, 10, 16)
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let run = fault_fleet::FaultRun {
        meters,
        meters_per_bus: 8,
        start: "2026-10-01T00:00:00Z".parse()?,
        rounds: u32::try_from(days * rounds_per_day)?,
        timeout: std::time::Duration::from_millis(if bench { 500 } else { 150 }),
        late_reply_ms: if bench { 1500 } else { 500 },
        share: percent as f64 / 100.0,
        seed: 7,
    };
    println!(
        "diagnosis_faults: {meters} meters × {days} days, {percent} % of meters per fault kind"
    );
    let scores = runtime.block_on(fault_fleet::run(run, |rounds, s| {
        let last = s.round_times.last().copied().unwrap_or_default();
        println!(
            "  {rounds} rounds: {} readings judged, {:.0} s (last round: collected {:.2} s, forwarded \
             {:.2} s, judged {:.2} s)",
            s.readings,
            s.elapsed.as_secs_f64(),
            last[0].as_secs_f64(),
            last[1].as_secs_f64(),
            last[2].as_secs_f64()
        );
    }))?;
    println!(
        "{} readings in {:.0} s; {} healthy meters tripped\n",
        scores.readings,
        scores.elapsed.as_secs_f64(),
        scores.healthy_trips
    );
    let mut times = scores.round_times.clone();
    for (i, phase) in ["collect", "forward", "judge"].iter().enumerate() {
        times.sort_by_key(|t| t[i]);
        if let (Some(median), Some(max)) = (times.get(times.len() / 2), times.last()) {
            println!(
                "round wall time until {phase} done: median {:.2} s, max {:.2} s",
                median[i].as_secs_f64(),
                max[i].as_secs_f64()
            );
        }
    }
    println!("{}", fault_fleet::table(&scores));
    for note in &scores.notes {
        println!("note: {note}");
    }
    Ok(())
}
