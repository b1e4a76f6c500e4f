#!/usr/bin/env bash
# What a coordinator (stampede run --agents N) costs per agent: its CPU and
# peak memory with 1, 4 and 16 agent processes on loopback, each sending a
# window a second. The goal: under 1% of a core per agent.
#
#   bench/peers/agents.sh
#   AGENTS=1,4 DURATION=10s bench/peers/agents.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/stampede" ./cmd/stampede
go build -o "$bin/target" ./bench/peers/target
go build -o "$bin/agentcost" ./bench/peers/agentcost
exec "$bin/agentcost" -stampede "$bin/stampede" -target "$bin/target" \
  -agents "${AGENTS:-1,4,16}" -duration "${DURATION:-20s}" -rate "${RATE:-20}"
