#!/usr/bin/env bash
# Prediction benchmark (issue 20): train on one simulated fleet, evaluate on a 10,000-meter 60-day fleet with a
# different seed, and time scoring 100,000 meters × 30 days. Uses the release binary; fleets are kept below
# $CARGO_TARGET_DIR/bench-lakes/prediction (about 15 GB; delete it afterwards). Results go to benches/RESULTS.md
# by hand, with the machine and date.
#
#   bash benches/prediction.sh            # the full run (~15 min after the build)
#   SMALL=1 bash benches/prediction.sh    # a quick run on small fleets
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release --quiet
bin="$target/release/meterlake"
root="$target/bench-lakes/prediction"
mkdir -p "$root"

if [[ "${SMALL:-}" == 1 ]]; then
  train=(--areas 10 --customers-per-area 50) eval=(--areas 10 --customers-per-area 100) big=(--areas 20 --customers-per-area 100)
else
  train=(--areas 40 --customers-per-area 100) eval=(--areas 100 --customers-per-area 100) big=(--areas 1000 --customers-per-area 100)
fi

fleet() { # name, then history arguments
  local name=$1; shift
  if [[ ! -f "$root/$name/complete" ]]; then
    rm -rf "${root:?}/$name"
    METERLAKE_LAKE__LOCATION="$root/$name/lake" METERLAKE_LAKE__REGISTRY="$root/$name/registry" \
      "$bin" history "$@"
    touch "$root/$name/complete"
  fi
}
on() { # name, then meterlake arguments
  local name=$1; shift
  METERLAKE_LAKE__LOCATION="$root/$name/lake" METERLAKE_LAKE__REGISTRY="$root/$name/registry" "$bin" "$@"
}

echo "== fleets"
fleet train "${train[@]}" --days 60 --from 2026-09-01 --seed 1000
fleet eval "${eval[@]}" --days 60 --from 2026-09-01 --seed 7
fleet big "${big[@]}" --days 30 --from 2026-10-01 --seed 99

echo "== training on the seed-1000 fleet"
on train model train theft --from 2026-09-01 --to 2026-10-30 -o "$root/theft.json"
on train model train failure --from 2026-09-01 --to 2026-10-30 -o "$root/failure.json"

echo "== evaluation on the seed-7 fleet (10,000 meters × 60 days in the full run)"
on eval model evaluate --from 2026-09-01 --to 2026-10-30 \
  --theft-model "$root/theft.json" --failure-model "$root/failure.json"

echo "== scoring the 100,000-meter × 30-day fleet (wall clock)"
start=$(date +%s.%N)
on big model score theft --from 2026-10-01 --to 2026-10-30 --model "$root/theft.json" --format csv -o "$root/big-scores.csv"
end=$(date +%s.%N)
echo "scored $(($(wc -l < "$root/big-scores.csv") - 1)) meters in $(echo "$end - $start" | bc) s"
