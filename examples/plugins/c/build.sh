#!/usr/bin/env bash
# Builds the C counter: wit-bindgen writes C bindings, clang compiles against wasi-libc into a
# WASI preview-1 module, wasm-tools makes it a component with the preview-1 adapter, and pikoci
# adds the manifest section. Usage: build.sh [OUT.wasm]
# Needs on PATH: clang, wit-bindgen, wasm-tools, pikoci; WASI_ADAPTER: the preview-1 reactor
# adapter (scripts/install-guest-toolchains.sh installs all of them, the adapter in target/tools/).
set -euo pipefail
out=$(realpath -m "${1:-$(dirname "$0")/counter.wasm}")
cd "$(dirname "$0")"
wit=${PIKOCI_WIT:-../../../wit/since_v0.1.0}
adapter=${WASI_ADAPTER:-../../../target/tools/wasi_snapshot_preview1.reactor.wasm}
gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT

wit-bindgen c "$wit" --world resource-type-plugin --out-dir "$gen" >"$gen/bindgen.log" 2>&1 || { cat "$gen/bindgen.log" >&2; exit 1; }
# A reactor: a library the host calls, with no `main`.
clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Werror -I "$gen" -o "$gen/counter.core.wasm" \
  counter.c "$gen/resource_type_plugin.c" "$gen/resource_type_plugin_component_type.o"
wasm-tools component new "$gen/counter.core.wasm" --adapt "wasi_snapshot_preview1=$adapter" -o "$out"
pikoci plugin embed-manifest "$out" --name counter-c --version 0.1.0 \
  --description "A counter kept in a file (C example)" --capability 'write:{source.file}' -o "$out"
