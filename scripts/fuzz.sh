#!/usr/bin/env bash
# Runs the libFuzzer targets of fuzz/ (the DL/T 645 codec) for a bounded time on the stable toolchain:
# cargo-fuzz's `--sanitizer none` mode (coverage-guided, no AddressSanitizer; the codec is safe Rust).
# Then the structure-aware mutation tests of all three external decoders (DL/T 645 frames, Kafka message
# values, tariff plan files) with 3,000 cases per second given (the test command runs ~200 each); the
# Kafka and tariff decoders sit on arrow/DataFusion/librdkafka, whose instrumented build would cost CI
# ~20 minutes, so they are fuzzed by mutation rather than by libFuzzer.
# Usage: bash scripts/fuzz.sh [seconds per target, default 60]. A crash fails the script and leaves the
# input in the artifacts directory it prints. The committed corpus is copied, never modified.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
case "$seconds" in ''|*[!0-9]*) echo "seconds per target must be a whole number, got '$seconds'" >&2; exit 2;; esac
if ! command -v cargo-fuzz >/dev/null; then
  echo "installing cargo-fuzz (once)" >&2
  cargo install cargo-fuzz --locked --quiet
fi
target_dir="${METERLAKE_FUZZ_TARGET:-$HOME/.cache/meterlake-fuzz-target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd fuzz
cargo fuzz build -s none --target-dir "$target_dir"
for target in frame_decode stream_chunks round_trip; do
  mkdir -p "$work/corpus/$target" "$work/artifacts/$target"
  cp -r "corpus/$target/." "$work/corpus/$target/"
  echo "fuzzing $target for ${seconds} s" >&2
  if ! cargo fuzz run -s none --target-dir "$target_dir" "$target" "$work/corpus/$target" -- \
      -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$work/artifacts/$target/" \
      2> "$work/$target.log"; then
    tail -40 "$work/$target.log" >&2
    kept="${TMPDIR:-/tmp}/meterlake-fuzz-crash-$target"
    rm -rf "$kept"; cp -r "$work/artifacts/$target" "$kept"
    echo "fuzz target $target crashed; the input is in $kept" >&2
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$work/$target.log" | sed "s/^/  $target /" >&2
done
echo "libFuzzer passed: 3 targets × ${seconds} s" >&2
cd ..
cases=$(( seconds * 3000 ))
echo "mutation tests: frames, Kafka messages, tariff plans × $cases cases (fresh random seeds)" >&2
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meterlake-target}" METERLAKE_FUZZ_CASES="$cases" cargo test --workspace --lib --quiet -- mutated
echo "fuzzing passed" >&2
