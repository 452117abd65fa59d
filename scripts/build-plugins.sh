#!/usr/bin/env bash
# Builds pikoci's guest components for wasm32-wasip2:
#   - the built-in plugins (plugins/) into plugins/dist/, which the host embeds;
#   - the test fixture plugins (tests/plugins/) into target/test-plugins/.
# Uses rustup's wasm32-wasip2 target when it is installed, otherwise Debian's rustc-web
# (scripts/install-deps.sh installs it), which builds std from source on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target_dir="$root/target/wasm"

# Debian's rustc does not ship wasm-component-ld (the linker that turns a core module into a
# component); rustup's toolchain does, and otherwise it is built from crates.io once.
component_linker() {
  local sysroot_ld
  sysroot_ld="$(rustc --print sysroot 2>/dev/null)/lib/rustlib/x86_64-unknown-linux-gnu/bin/wasm-component-ld"
  if [ -x "$sysroot_ld" ]; then
    echo "$sysroot_ld"
    return
  fi
  local tools="$root/target/tools"
  if [ ! -x "$tools/bin/wasm-component-ld" ]; then
    cargo install --quiet --locked --root "$tools" wasm-component-ld >&2
  fi
  echo "$tools/bin/wasm-component-ld"
}

wasm_cargo() {
  if rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
    cargo build --release --target wasm32-wasip2 --target-dir "$target_dir" "$@"
  elif [ -x /usr/bin/rustc ] && /usr/bin/rustc --print target-list | grep -qx wasm32-wasip2; then
    # Flags must stay identical between builds, or cargo rebuilds std.
    RUSTFLAGS="-L /usr/lib/wasm32-wasi -C linker=$(component_linker)" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
      /usr/bin/cargo build --release --target wasm32-wasip2 --target-dir "$target_dir" \
      -Zbuild-std=std,panic_abort "$@"
  else
    echo "error: no Rust toolchain for wasm32-wasip2." >&2
    echo "  Run scripts/install-deps.sh (Debian), or: rustup target add wasm32-wasip2" >&2
    exit 1
  fi
}

out="$target_dir/wasm32-wasip2/release"

(cd plugins && wasm_cargo --workspace --quiet)
mkdir -p plugins/dist
for wasm in "$out"/pikoci_plugin_*.wasm; do
  name=$(basename "$wasm" .wasm)
  name=${name#pikoci_plugin_}
  # Crate pikoci-plugin-exec-resource-type builds pikoci_plugin_exec_resource_type.wasm;
  # the built-in is addressed as pikoci://exec-resource-type.
  cp "$wasm" "plugins/dist/${name//_/-}.wasm"
done
scripts/plugin-sources-digest.sh > plugins/dist/SOURCES.sha256

if [ -f tests/plugins/Cargo.toml ]; then
  (cd tests/plugins && wasm_cargo --workspace --quiet)
  mkdir -p target/test-plugins
  for wasm in "$out"/test_plugin_*.wasm; do
    name=$(basename "$wasm" .wasm)
    name=${name#test_plugin_}
    cp "$wasm" "target/test-plugins/${name//_/-}.wasm"
  done
fi
ls -l plugins/dist/*.wasm target/test-plugins/*.wasm 2>/dev/null | awk '{print $5, $NF}'
