#!/usr/bin/env bash
# Installs the toolchains that build pikoci plugins in languages other than Rust, for
# examples/plugins/ and the projects `pikoci plugin new` scaffolds:
#   - componentize-py (Python -> component), in a venv under target/guest-toolchains/;
#   - componentize-js (JavaScript -> component), in examples/plugins/js/node_modules (git-ignored);
#   - clang, lld, wasi-libc and the wasm32 compiler-rt builtins (C -> wasm32-wasi module), from Debian;
#   - wasm-tools and wit-bindgen-cli (C bindings, module -> component), into target/tools/;
#   - the WASI preview-1 adapter, into target/tools/.
# Idempotent: each step checks what is there first, so a second run takes about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tools="$root/target/tools"
venv="$root/target/guest-toolchains/python"

COMPONENTIZE_PY=0.25.1
WASM_TOOLS=1.263.0
WIT_BINDGEN=0.63.0

as_root() { if [ "$(id -u)" -ne 0 ]; then sudo "$@"; else "$@"; fi; }

apt_packages=(clang lld wasi-libc libclang-rt-14-dev-wasm32 python3-venv)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Python: a venv keeps componentize-py away from the system's and the user's packages.
if ! "$venv/bin/componentize-py" --version 2>/dev/null | grep -q "$COMPONENTIZE_PY"; then
  echo "installing componentize-py $COMPONENTIZE_PY into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "componentize-py==$COMPONENTIZE_PY"
fi

# JavaScript: the version is pinned by examples/plugins/js/package.json and its lock file;
# `npm ci` installs exactly the lock file and never rewrites it.
js=examples/plugins/js
if [ ! -f "$js/node_modules/@bytecodealliance/componentize-js/package.json" ] || [ ! -f "$js/node_modules/@bytecodealliance/preview2-shim/package.json" ]; then
  echo "installing componentize-js into $js/node_modules" >&2
  (cd "$js" && npm ci --no-audit --no-fund --loglevel=error)
fi

# Rust-built tools, from crates.io; --locked builds them with the dependencies they were tested with.
cargo_tool() { # binary crate version
  if ! "$tools/bin/$1" --version 2>/dev/null | grep -q "$3"; then
    echo "building $2 $3 into $tools (a few minutes, once)" >&2
    cargo install --quiet --locked --root "$tools" "$2@$3"
  fi
}
cargo_tool wasm-tools wasm-tools "$WASM_TOOLS"
cargo_tool wit-bindgen wit-bindgen-cli "$WIT_BINDGEN"

adapter="$tools/wasi_snapshot_preview1.reactor.wasm"
if [ ! -s "$adapter" ]; then
  echo "writing the WASI preview-1 adapter to $adapter" >&2
  cargo run --quiet --locked --release --manifest-path examples/plugins/c/fetch-adapter/Cargo.toml \
    --target-dir "$tools/fetch-adapter" -- "$adapter"
fi
