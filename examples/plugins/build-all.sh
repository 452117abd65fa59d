#!/usr/bin/env bash
# Builds the four example plugins into target/example-plugins/{rust,python,js,c}.wasm, each with
# its own build.sh, exactly as the plugin author's guide (docs/plugins/guide.md) shows them.
# Needs scripts/install-deps.sh and scripts/install-guest-toolchains.sh to have run.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
out="$root/target/example-plugins"
mkdir -p "$out"

# The toolchains the install script put under target/, and this checkout's pikoci for
# `pikoci plugin embed-manifest`.
cargo build --quiet -p pikoci
export PATH="$root/target/debug:$root/target/guest-toolchains/python/bin:$root/target/tools/bin:$PATH"
# Scaffolded Rust projects share this target directory, so std for wasm is built once.
export CARGO_TARGET_DIR="$root/target/guest-rust"

for lang in rust python js c; do
  started=$SECONDS
  bash "examples/plugins/$lang/build.sh" "$out/$lang.wasm"
  echo "$lang: $(stat -c %s "$out/$lang.wasm") bytes in $((SECONDS - started)) s"
done
