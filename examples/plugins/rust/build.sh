#!/usr/bin/env bash
# Builds this crate as a wasm32-wasip2 component; the SDK's export macro writes its manifest
# section. Usage: build.sh [OUT.wasm]   (default: PACKAGE.wasm here)
set -euo pipefail
out=${1:+$(realpath -m "$1")}
cd "$(dirname "$0")"
package=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
out=${out:-$PWD/$package.wasm}
target_dir=${CARGO_TARGET_DIR:-target}

if rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip2; then
  cargo build --quiet --release --target wasm32-wasip2 --target-dir "$target_dir"
else
  # No wasm target in rustup (as on pikoci's CI machines): Debian's rustc-web (apt-get install
  # rustc-web cargo-web rust-web-src wasi-libc lld) builds std from source once, and rustup's
  # wasm-component-ld makes the component. Keep the flags identical between builds, or std is
  # rebuilt.
  linker="$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/wasm-component-ld"
  [ -x "$linker" ] || linker=wasm-component-ld
  RUSTFLAGS="-L /usr/lib/wasm32-wasi -C linker=$linker" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    /usr/bin/cargo build --quiet --release --target wasm32-wasip2 --target-dir "$target_dir" \
    -Zbuild-std=std,panic_abort
fi
cp "$target_dir/wasm32-wasip2/release/${package//-/_}.wasm" "$out"
