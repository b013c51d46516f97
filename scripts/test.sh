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
cargo test --workspace --all-targets "$@"
