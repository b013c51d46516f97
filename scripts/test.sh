#!/usr/bin/env bash
# The test command of the README: installs what the tests need, then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/meterlake-target}"
# Build-time needs of the pinned stack: a C toolchain, make and OpenSSL headers (rdkafka with ssl), pkg-config.
missing=()
for tool in cc make pkg-config; do command -v "$tool" >/dev/null || missing+=("$tool"); done
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing build prerequisites: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq build-essential pkg-config libssl-dev
fi
# The simulator's serial test talks over a pseudo-terminal pair made by socat.
if ! command -v socat >/dev/null; then
  echo "installing test prerequisite: socat" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq socat
fi
# The SQL endpoint's tests connect with the real psql client.
if ! command -v psql >/dev/null; then
  echo "installing test prerequisite: postgresql-client (psql)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq postgresql-client
fi
# The control service's tests run against a real PostgreSQL server that they start themselves on a
# temporary directory and a free port; they need the server binaries (Debian's postgresql package).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "installing test prerequisite: postgresql (server binaries)" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  # No default cluster: the tests make their own.
  $SUDO mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/meterlake.conf >/dev/null
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq postgresql
fi
# The chaos suite steps a collector's wall clock with libfaketime preloaded into it.
if ! ls /usr/lib/*/faketime/libfaketime.so.1 >/dev/null 2>&1; then
  echo "installing test prerequisite: libfaketime" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq libfaketime
fi
# The browser tests drive Debian's Chromium through ChromeDriver (WebDriver), headless and offline.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "installing test prerequisites: chromium chromium-driver" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-noto-cjk
fi
# Interop and S3 tests drive Python tools (deltalake, pyarrow, Polars, DuckDB, moto) from a private venv.
VENV="${METERLAKE_VENV:-$HOME/.cache/meterlake-venv}"
if ! "$VENV/bin/python" -c "import deltalake, pyarrow, polars, duckdb, moto, boto3, pandas" 2>/dev/null; then
  echo "installing test prerequisites: Python venv $VENV (scripts/requirements-test.txt)" >&2
  if ! python3 -m venv "$VENV" 2>/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3-venv python3-pip
    python3 -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q -r scripts/requirements-test.txt
fi
export METERLAKE_PYTHON="$VENV/bin/python"
cargo test --workspace --all-targets "$@"
