#!/usr/bin/env bash
# Runs `pikoci bench-server` on SQLite and on a fresh database of the local PostgreSQL
# (127.0.0.1:5432, user postgres), dropped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
db="pikoci_bench_$$"
psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $db"
trap 'psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
cargo run -q --release -p pikoci -- bench-server --postgres-url "postgres://postgres@127.0.0.1:5432/$db" "$@"
