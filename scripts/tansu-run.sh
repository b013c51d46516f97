#!/usr/bin/env bash
# By-hand run of the sink against tansu 0.6.0, a separately written Kafka-compatible broker:
# a simulated fleet, one collector round and `meterlake sink`, all through tansu; then the lake is checked.
#   bash scripts/tansu-run.sh [WORK_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meterlake-target}"
work="${1:-$(mktemp -d)}"; mkdir -p "$work"
if ! command -v tansu >/dev/null; then
  echo "installing tansu 0.6.0 (about 11 minutes)" >&2
  cargo install tansu@0.6.0 --locked --features dynostore,libsql,postgres
fi
cargo build --release --bin meterlake
bin="$CARGO_TARGET_DIR/release/meterlake"
work="$(cd "$work" && pwd)"
# tansu reads the path of a sqlite:// URL relative to its working directory.
export LISTENER_URL=tcp://127.0.0.1:9092 ADVERTISED_LISTENER_URL=tcp://127.0.0.1:9092 STORAGE_ENGINE="sqlite://tansu.db"
(cd "$work" && exec tansu broker >"$work/tansu.log" 2>&1) &
broker=$!
sim=""; sink=""
trap 'kill $sink $sim $broker 2>/dev/null || true' EXIT
sleep 3
kill -0 $broker 2>/dev/null || { cat "$work/tansu.log"; echo "tansu did not start" >&2; exit 1; }
export METERLAKE_LOG=error
for topic in meterlake.readings.v1 meterlake.commands.v1 meterlake.acks.v1; do
  tansu topic create "$topic" --partitions 3 || true
done
cat >"$work/meterlake.toml" <<TOML
[lake]
location = "$work/lake"
[kafka]
brokers = "127.0.0.1:9092"
[collector]
spool_dir = "$work/spool"
buses_file = "$work/sim/buses.toml"
listen = "127.0.0.1:0"
[sink]
listen = "127.0.0.1:0"
[control]
database = "sqlite://$work/control.db"
audit_keys_dir = "$work/keys/audit"
command_keys_dir = "$work/keys/commands"
[tls]
allow_plaintext = true              # loopback only
TOML
export METERLAKE_CONFIG="$work/meterlake.toml"
"$bin" sim --meters 200 --meters-per-bus 20 --base-port 7600 --out "$work/sim" >"$work/sim.log" 2>&1 &
sim=$!
sleep 2
"$bin" sink >"$work/sink.log" 2>&1 &
sink=$!
# Three collections of the same interval: the second and third are copies the lake must drop.
for round in 1 2 3; do
  "$bin" collect --once
  sleep 1
done
for _ in $(seq 1 60); do
  rows=$("$bin" sql --format csv "SELECT count(*) AS n FROM readings" 2>/dev/null | tail -1 || echo 0)
  [ "$rows" -ge 200 ] 2>/dev/null && break
  sleep 1
done
sleep 3
"$bin" sql "SELECT count(*) AS rows, count(DISTINCT meter_id || CAST(boundary_ts AS VARCHAR)) AS distinct_keys, CAST(sum(energy_fwd_total_kwh) AS VARCHAR) AS kwh FROM readings"
kill -TERM $sink; wait $sink || true; sink=""
echo "tansu run done; logs and lake in $work"
