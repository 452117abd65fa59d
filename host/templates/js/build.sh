#!/usr/bin/env bash
# Builds {{name}}: componentize-js embeds plugin.js in a SpiderMonkey engine component, then
# pikoci adds the manifest section. Usage: build.sh [OUT.wasm]   (default: {{name}}.wasm here)
# Needs node/npm and pikoci on PATH; installs componentize-js into node_modules on first use.
set -euo pipefail
out=$(realpath -m "${1:-$(dirname "$0")/{{name}}.wasm}")
cd "$(dirname "$0")"
[ -d node_modules/@bytecodealliance/componentize-js ] || npm install --silent --no-audit --no-fund

# wit/ has this world and pikoci's package; add the WASI packages jco ships (filesystem from
# 0.2.12 at the engine's 0.2.10: the interface is the same).
wasi=node_modules/@bytecodealliance/jco/lib/wit/builtin
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cp -r wit "$build/wit"
mkdir -p "$build/wit/deps/wasi-filesystem"
cp -r "$wasi/0.2.10/wasi-io" "$wasi/0.2.10/wasi-clocks" "$build/wit/deps/"
sed 's/@0\.2\.12/@0.2.10/g' "$wasi/0.2.12/wasi-filesystem/package.wit" > "$build/wit/deps/wasi-filesystem/package.wit"

node build.mjs plugin.js "$build/wit" plugin "$out"
pikoci plugin embed-manifest "$out" --name {{name}} --version 0.1.0 --capability 'write:{source.file}' -o "$out"
echo "built $out"
