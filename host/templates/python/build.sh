#!/usr/bin/env bash
# Builds {{name}}: componentize-py bundles CPython and app.py into a component, then pikoci adds
# the manifest section. Usage: build.sh [OUT.wasm]   (default: {{name}}.wasm here)
# Needs on PATH: componentize-py (pip install componentize-py==0.25.1) and pikoci.
set -euo pipefail
out=$(realpath -m "${1:-$(dirname "$0")/{{name}}.wasm}")
cd "$(dirname "$0")"
componentize-py -d wit -w {{world}} componentize app -o "$out" >/dev/null
pikoci plugin embed-manifest "$out" --name {{name}} --version 0.1.0 --capability 'write:{source.file}' -o "$out"
echo "built $out"
