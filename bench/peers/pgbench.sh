#!/usr/bin/env bash
# Compare stampede with pgbench on pgbench's TPC-B-like transaction: a
# throwaway PostgreSQL on loopback, pgbench -i -s 1, then pgbench's
# built-in script and the same five statements in one transaction through
# stampede, at the same client count, in alternating rounds; prints
# transactions/s side by side and fails when stampede is below 0.8 of
# pgbench. Needs PostgreSQL's server binaries and pgbench (apt-get install
# -y postgresql postgresql-contrib). Every load is bounded and loopback-only.
#
#   bench/peers/pgbench.sh                          # 3 rounds of 10 s at 8 clients
#   CLIENTS=16 DURATION=30s ROUNDS=1 bench/peers/pgbench.sh
#   bench/peers/pgbench.sh -mode simple             # pgbench -M simple instead
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/stampede" ./cmd/stampede
go build -o "$bin/pgbench-cmp" ./bench/peers/pgbench
"$bin/pgbench-cmp" -stampede "$bin/stampede" -pgbench "${PGBENCH:-pgbench}" \
  -clients "${CLIENTS:-8}" -duration "${DURATION:-10s}" -rounds "${ROUNDS:-3}" "$@"
