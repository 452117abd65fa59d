#!/usr/bin/env bash
# Prints the digest of everything the built-in plugins are built from (wit/, sdk/, plugins/).
# plugins/dist/SOURCES.sha256 records it for the committed components; the host's build script
# computes the same value and warns when the two differ (the components are stale).
set -euo pipefail
cd "$(dirname "$0")/.."
find wit sdk plugins -type f \
  -not -path 'plugins/dist/*' -not -path '*/target/*' -not -name 'Cargo.lock' \
  | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1
