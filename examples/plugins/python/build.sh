#!/usr/bin/env bash
# Builds the Python counter: componentize-py bundles CPython and app.py into a component, then
# pikoci adds the manifest section. Usage: build.sh [OUT.wasm]
# (needs `componentize-py` and `pikoci` on PATH: scripts/install-guest-toolchains.sh)
set -euo pipefail
out=$(realpath -m "${1:-$(dirname "$0")/counter.wasm}")
cd "$(dirname "$0")"
wit=${PIKOCI_WIT:-../../../wit/since_v0.1.0}

componentize-py -d "$wit" -w resource-type-plugin componentize app -o "$out" >/dev/null
pikoci plugin embed-manifest "$out" --name counter-py --version 0.1.0 \
  --description "A counter kept in a file (Python example)" --capability 'write:{source.file}' -o "$out"
