#!/usr/bin/env bash
# Builds {{name}} and calls check, get and put through `pikoci plugin call`, as a pipeline
# would: in a sandbox granted one temporary directory and nothing else.
set -euo pipefail
cd "$(dirname "$0")"
bash build.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
echo 41 > "$dir/value"
call() { pikoci plugin call {{name}}.wasm "$@" --source "{\"file\":\"$dir/value\"}" --allow "write:$dir"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# Capture first: `grep -q` stops reading early, and with pipefail the writer's SIGPIPE would fail.
out=$(call check) && grep -q '"count": "41"' <<<"$out" || fail "check did not find count 41"
call get --version '{"count":"41"}' --dir "$dir/work" >/dev/null
[ "$(cat "$dir/work/count")" = 41 ] || fail "get did not write $dir/work/count"
out=$(call put --dir "$dir/work") && grep -q '"count": "42"' <<<"$out" || fail "put did not return count 42"
[ "$(cat "$dir/value")" = 42 ] || fail "put did not write 42 to $dir/value"
if pikoci plugin call {{name}}.wasm check --source '{"file":"/etc/hostname"}' --allow "write:$dir" 2>/dev/null; then
  fail "a file outside the grant was readable"
fi
echo "{{name}}: check, get and put work, and an ungranted file is refused"
