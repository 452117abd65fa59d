#!/usr/bin/env bash
# The plugin's logic, tested on this machine, then the component build.
set -euo pipefail
cd "$(dirname "$0")"
cargo test --quiet --lib ${CARGO_TARGET_DIR:+--target-dir "$CARGO_TARGET_DIR"}
bash build.sh
