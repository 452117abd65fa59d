#!/usr/bin/env bash
# The packaging tools scripts/package.sh uses, built from crates.io into target/tools/ (once;
# --locked builds them with the dependencies their authors tested).
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$PWD/target/tools"

tool() { # binary crate version
  if ! "$tools/bin/$1" --version 2>/dev/null | grep -q "$3"; then
    echo "building $2 $3 into $tools (a few minutes, once)" >&2
    cargo install --quiet --locked --root "$tools" "$2@$3"
  fi
}
tool cargo-deb cargo-deb 3.8.0
tool cargo-generate-rpm cargo-generate-rpm 0.21.1
