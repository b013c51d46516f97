//! Command-line arguments of the harness benchmarks.

/// The `index`-th positional argument (flags skipped) as a number, or `default`.
pub fn positional(index: usize, default: usize) -> usize {
    std::env::args()
        .filter(|a| !a.starts_with('-'))
        .nth(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// True under `cargo bench` (which passes `--bench`); false under `cargo test --all-targets`.
pub fn full_run() -> bool {
    std::env::args().any(|a| a == "--bench")
}
