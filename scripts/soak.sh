#!/usr/bin/env bash
# Soak of the sink's exactly-once promise: N random SIGKILL trials (default 50) of a `meterlake sink` child,
# each followed by a restart and an exact check of the lake. Prints one line per trial.
#   bash scripts/soak.sh [TRIALS] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meterlake-target}"
export METERLAKE_SOAK_TRIALS="${1:-50}" METERLAKE_SOAK_SEED="${2:-645}"
cargo test --workspace --all-targets --no-run
# Children run a copy of the binary: a rebuild during the soak must not pull it away.
copy="$(mktemp -d)/meterlake"; cp "$CARGO_TARGET_DIR/debug/meterlake" "$copy"
export METERLAKE_SOAK_BIN="$copy"
cargo test --workspace --all-targets -- --exact random_sigkills_of_the_sink_never_lose_or_duplicate_a_reading --nocapture 2>&1 \
  | grep -E "soak trial|test result: ok. 1 passed|panicked|FAILED"
