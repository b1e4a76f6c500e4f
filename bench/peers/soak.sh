#!/usr/bin/env bash
# The generator's own soak: stampede holds an open-model rate against the
# loopback bench target and its resident memory is sampled every 10 s; it
# must stay flat within 5% (bench/peers/soak/main.go says how it is judged).
# Bounded and loopback-only; stops by itself.
#
#   bench/peers/soak.sh                          # 1 hour at 2,000 iterations/s
#   DURATION=5m RATE=1000 bench/peers/soak.sh    # a quick look
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/stampede" ./cmd/stampede
go build -o "$bin/target" ./bench/peers/target
go build -o "$bin/soak" ./bench/peers/soak
exec "$bin/soak" -stampede "$bin/stampede" -target "$bin/target" \
  -duration "${DURATION:-1h}" -rate "${RATE:-2000}" -every "${EVERY:-10s}" "$@"
