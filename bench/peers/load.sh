#!/usr/bin/env bash
# Compare stampede with wrk and hey on loopback: requests/s, generator CPU
# per request, p50/p99 and peak RSS, as ratios to wrk; then 10,000 VUs
# against a 1 s endpoint for memory. Needs: wrk, hey (apt-get install -y
# wrk hey), taskset, two CPUs. Every load is bounded and loopback-only.
#
#   bench/peers/load.sh                 # 3 rounds of 10 s at 50 connections
#   ROUNDS=1 DURATION=5s bench/peers/load.sh
#   bench/peers/load.sh -watch-cost     # requests/s with and without watching the target
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/stampede" ./cmd/stampede
go build -o "$bin/target" ./bench/peers/target
go build -o "$bin/loadcmp" ./bench/peers/loadcmp
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec "$bin/loadcmp" -stampede "$bin/stampede" -target "$bin/target" \
  -duration "${DURATION:-10s}" -rounds "${ROUNDS:-3}" -conns "${CONNS:-50}" \
  -many-vus "${MANY_VUS:-10000}" -many-duration "${MANY_DURATION:-15s}" "$@"
