#!/usr/bin/env bash
# The long form of the chaos suite: every fault of the chaos tests with N trials each (default 50), then the
# table of docs/reliability.md (fault, trials, readings produced / lost / duplicated, money and commands lost or
# doubled, faults seen in /healthz, time to recover) printed in Markdown.
#   bash scripts/chaos.sh [TRIALS] [OUTAGE_SECONDS] [TEST_FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meterlake-target}"
export METERLAKE_CHAOS_TRIALS="${1:-50}" METERLAKE_CHAOS_OUTAGE_S="${2:-10}"
filter="${3:-}"
report="${METERLAKE_CHAOS_REPORT:-$CARGO_TARGET_DIR/chaos-report.jsonl}"
: > "$report"
export METERLAKE_CHAOS_REPORT="$report"
tests=(--test chaos --test chaos_collect --test chaos_control --test chaos_store --test chaos_load)
cargo test --workspace "${tests[@]}" --no-run
# Children run a copy of the binary: a rebuild during the run must not pull it away.
copy="$(mktemp -d)/meterlake"; cp "$CARGO_TARGET_DIR/debug/meterlake" "$copy"
export METERLAKE_SOAK_BIN="$copy"
started=$(date +%s)
log="${report%.jsonl}.log"
# The whole output goes to the log; the summary keeps each row, each failure and its message.
cargo test --workspace --no-fail-fast "${tests[@]}" -- --include-ignored --test-threads 1 --nocapture $filter > "$log" 2>&1 || true
grep -E -A2 "^chaos \||test result|^thread '[a-z_]+' .*panicked" "$log" | grep -vE "^\[(sink|collect)" || true
echo "full output: $log"
echo "chaos: $(( $(date +%s) - started )) s, ${METERLAKE_CHAOS_TRIALS} trials per fault, outages of ${METERLAKE_CHAOS_OUTAGE_S} s, $(nproc) cores, $(date -u +%F)"
python3 - "$report" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
print("| fault | trials | readings produced | lost | duplicated | money lost / doubled (yuan) "
      "| commands lost / doubled | seen in /healthz while it lasted | time to recover (median / max) |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    seen = f"{r['seen_in_health']} / {r['stopping']}" if r["stopping"] else "— (work went on)"
    trials = f"{r['trials']} passed, then one failed" if r.get("failed") else r["trials"]
    print(f"| {r['fault']} | {trials} | {r['readings']:,} | {r['lost']} | {r['duplicated']} "
          f"| {r['money_lost']} / {r['money_doubled']} | {r['commands_lost']} / {r['commands_doubled']} "
          f"| {seen} | {r['recovery_median_s']:.1f} s / {r['recovery_max_s']:.1f} s |")
PY
