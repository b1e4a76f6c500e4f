#!/usr/bin/env bash
# Compare stampede's HTTP/2 path with h2load (nghttp2) on loopback: the
# same h2 target, the same connections, each a closed loop of one request
# at a time per connection. Prints requests/s and the generator's CPU per
# request (user + system time over requests) for each round, and the
# medians as ratios stampede/h2load. Needs: h2load (apt-get install -y
# nghttp2-client), taskset, two CPUs. Every load is bounded and
# loopback-only.
#
#   bench/peers/h2.sh                        # h2c and h2 over TLS, 3 rounds of 10 s at 50 connections
#   ROUNDS=1 DURATION=5 CONNS=10 bench/peers/h2.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${ROUNDS:-3}
duration=${DURATION:-10}   # seconds
conns=${CONNS:-50}
bin=$(mktemp -d)
target_pid=
cleanup() {
  [ -n "$target_pid" ] && kill "$target_pid" 2>/dev/null || true
  rm -rf "$bin"
}
trap cleanup EXIT
command -v h2load >/dev/null || { echo "h2.sh: h2load is missing: apt-get install -y nghttp2-client" >&2; exit 2; }
go build -o "$bin/stampede" ./cmd/stampede
go build -o "$bin/h2target" ./bench/peers/h2target
mkfifo "$bin/urls"
taskset -c 1 "$bin/h2target" > "$bin/urls" &
target_pid=$!
read -r h2c_url h2_url < "$bin/urls"

# cpu_of OUT CMD…: runs CMD with its output in OUT and prints its
# user+system seconds.
cpu_of() {
  local out=$1
  shift
  /usr/bin/time -f "%U %S" -o "$bin/time" "$@" > "$out"
  awk '{ print $1 + $2 }' "$bin/time"
}

run_h2load() { # URL → "requests cpu_s"
  local out cpu
  cpu=$(cpu_of "$bin/h2load.out" taskset -c 0 h2load -c "$conns" -m 1 -D "$duration" "$1")
  out=$(awk '/^requests:/ { print $8 }' "$bin/h2load.out")
  echo "$out $cpu"
}

run_stampede() { # URL → "requests cpu_s"
  cat > "$bin/plan.yaml" <<PLAN
name: h2 bench
target: { base_url: "$1", http: 2, insecure_skip_verify: true }
load: { vus: $conns, duration: ${duration}s }
scenarios: [{ name: get, steps: [{ path: / }] }]
PLAN
  local cpu
  cpu=$(cpu_of /dev/null taskset -c 0 "$bin/stampede" run "$bin/plan.yaml" --quiet --no-default-slo \
    --out json="$bin/run.json" --store "$bin/history.db")
  echo "$(jq .summary.requests "$bin/run.json") $cpu"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for url in "$h2c_url" "$h2_url"; do
  : > "$bin/rps"; : > "$bin/cpu"
  for r in $(seq "$rounds"); do
    read -r hr hc < <(run_h2load "$url")
    read -r sr sc < <(run_stampede "$url")
    awk -v r="$r" -v u="$url" -v hr="$hr" -v hc="$hc" -v sr="$sr" -v sc="$sc" -v d="$duration" 'BEGIN {
      printf "%s round %d: h2load %.0f req/s %.1f µs CPU/req · stampede %.0f req/s %.1f µs CPU/req\n",
        u, r, hr / d, hc / hr * 1e6, sr / d, sc / sr * 1e6 }'
    awk -v hr="$hr" -v sr="$sr" 'BEGIN { print sr / hr }' >> "$bin/rps"
    awk -v hr="$hr" -v hc="$hc" -v sr="$sr" -v sc="$sc" 'BEGIN { print (sc / sr) / (hc / hr) }' >> "$bin/cpu"
  done
  echo "$url median stampede/h2load: requests/s $(median < "$bin/rps") × · CPU per request $(median < "$bin/cpu") ×"
done
