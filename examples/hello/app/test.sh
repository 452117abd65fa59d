#!/bin/sh
# The "tests" of the example application.
set -e
echo "testing $(cat VERSION)"
test "$(cat VERSION)" != ""
echo "ok"
