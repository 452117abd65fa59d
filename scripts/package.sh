#!/usr/bin/env bash
# Builds pikoci's packages: pikoci_VERSION_ARCH.deb (cargo-deb), pikoci-VERSION-1.ARCH.rpm
# (cargo-generate-rpm), each holding the binary, the pikoci-server systemd unit, /etc/pikoci/server.yaml,
# bash/zsh/fish completions and man pages generated from the command line's definition; and
# SHA256SUMS over them.
#
#   scripts/package.sh [--profile release|dev] [--no-build] [--out DIR]
#
# --profile dev packages the development build (for tests: no release build of wasmtime);
# --no-build packages the binary already in target/. The packaging tools are built from crates.io
# into target/tools/ the first time.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

profile=release
build=1
out="$root/target/packages"
while (($#)); do
  case "$1" in
    --profile) profile=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --out) out=$2; shift 2 ;;
    *) echo "usage: scripts/package.sh [--profile release|dev] [--no-build] [--out DIR]" >&2; exit 2 ;;
  esac
done

bash scripts/install-package-tools.sh
tools="$root/target/tools/bin"
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
profile_dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
binary="$target_dir/$profile_dir/pikoci"

# A package says which commit it holds, also when built from a tarball with PIKOCI_COMMIT set.
if [ -z "${PIKOCI_COMMIT:-}" ] && git rev-parse --short=12 HEAD >/dev/null 2>&1; then
  export PIKOCI_COMMIT=$(git rev-parse --short=12 HEAD)
fi
if ((build)); then
  cargo build --quiet --profile "$profile" -p pikoci --bin pikoci
fi
[ -x "$binary" ] || { echo "no binary at $binary: build it or drop --no-build" >&2; exit 1; }

# Generated assets, at the paths host/Cargo.toml's package metadata names.
assets="$root/target/package-assets"
rm -rf "$assets"
mkdir -p "$assets/completions"
"$binary" completion bash >"$assets/completions/pikoci.bash"
"$binary" completion zsh >"$assets/completions/_pikoci"
"$binary" completion fish >"$assets/completions/pikoci.fish"
"$binary" man-pages "$assets/man"

mkdir -p "$out"
rm -f "$out"/pikoci*.deb "$out"/pikoci*.rpm "$out/SHA256SUMS"
# A development build (for tests) is large and unstripped: compress it fast.
deb_fast=() rpm_fast=()
if [ "$profile" = dev ]; then deb_fast=(--fast) rpm_fast=(--payload-compress gzip); fi
PATH="$tools:$PATH" cargo deb --quiet -p pikoci --no-build --profile "$profile" "${deb_fast[@]}" --output "$out" >/dev/null
PATH="$tools:$PATH" cargo generate-rpm -p host --profile "$profile" "${rpm_fast[@]}" --output "$out"
(cd "$out" && sha256sum pikoci*.deb pikoci*.rpm >SHA256SUMS)
ls -1 "$out"
