#!/usr/bin/env bash
# Builds the JavaScript counter: componentize-js embeds counter.js in a SpiderMonkey engine
# component, then pikoci adds the manifest section.
# Usage: build.sh [OUT.wasm]   (needs node_modules: `npm install`, and `pikoci` on PATH)
set -euo pipefail
out=$(realpath -m "${1:-$(dirname "$0")/counter.wasm}")
cd "$(dirname "$0")"
pikoci_wit=${PIKOCI_WIT:-../../../wit/since_v0.1.0}
wasi_wit=node_modules/@bytecodealliance/jco/lib/wit/builtin

# The WIT folder componentize-js reads: our world, pikoci's package, and the WASI packages it
# uses (jco ships them; filesystem is taken from 0.2.12 at the engine's 0.2.10, its interface is
# the same).
wit=$(mktemp -d)
trap 'rm -rf "$wit"' EXIT
mkdir -p "$wit/deps/pikoci-plugin" "$wit/deps/wasi-filesystem"
cp wit/world.wit "$wit/"
cp "$pikoci_wit"/*.wit "$wit/deps/pikoci-plugin/"
cp -r "$wasi_wit/0.2.10/wasi-io" "$wasi_wit/0.2.10/wasi-clocks" "$wit/deps/"
sed 's/@0\.2\.12/@0.2.10/g' "$wasi_wit/0.2.12/wasi-filesystem/package.wit" > "$wit/deps/wasi-filesystem/package.wit"

node build.mjs counter.js "$wit" counter "$out"
pikoci plugin embed-manifest "$out" --name counter-js --version 0.1.0 \
  --description "A counter kept in a file (JavaScript example)" --capability 'write:{source.file}' -o "$out"
