#!/usr/bin/env bash
# The test command of the README and of CI: installs what the tests need, builds the guest
# components, runs every test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
bash scripts/install-guest-toolchains.sh
bash scripts/install-package-tools.sh
bash scripts/build-plugins.sh >/dev/null
bash examples/plugins/build-all.sh >/dev/null

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
