//! Named failure points for crash tests.
//!
//! `METERLAKE_FAIL_POINT=name` aborts the process the first time the named point is passed;
//! `name:n` aborts on the n-th pass. Unset (always, in production), a point costs one atomic load.
//! The points of the sink's commit path are listed in `docs/sink-protocol.md`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// Environment variable naming the point to fail at.
pub const FAIL_POINT_ENV: &str = "METERLAKE_FAIL_POINT";

struct Armed {
    name: String,
    on_pass: u64,
    passes: AtomicU64,
}

fn armed() -> Option<&'static Armed> {
    static ARMED: OnceLock<Option<Armed>> = OnceLock::new();
    ARMED
        .get_or_init(|| {
            let spec = std::env::var(FAIL_POINT_ENV).ok()?;
            parse(&spec)
        })
        .as_ref()
}

fn parse(spec: &str) -> Option<Armed> {
    let (name, on_pass) = match spec.split_once(':') {
        Some((name, n)) => (name, n.trim().parse().ok().filter(|n| *n > 0)?),
        None => (spec, 1),
    };
    let name = name.trim();
    (!name.is_empty()).then(|| Armed {
        name: name.to_string(),
        on_pass,
        passes: AtomicU64::new(0),
    })
}

/// Passes the point `name`: aborts the process if it is the armed point's failing pass.
pub fn pass(name: &str) {
    if let Some(armed) = armed() {
        if armed.name == name && armed.passes.fetch_add(1, Ordering::SeqCst) + 1 == armed.on_pass {
            eprintln!("fail point {name}: aborting as {FAIL_POINT_ENV} asked");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_a_point_and_an_optional_pass() {
        let armed = parse("sink.after_lake_commit:3").unwrap();
        assert_eq!(
            (armed.name.as_str(), armed.on_pass),
            ("sink.after_lake_commit", 3)
        );
        assert_eq!(parse("x").unwrap().on_pass, 1);
        assert!(parse("x:0").is_none());
        assert!(parse("x:many").is_none());
        assert!(parse(" ").is_none());
    }
}
