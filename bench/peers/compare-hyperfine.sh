#!/bin/sh
# compare-hyperfine.sh — measure the same commands with `stampede bench` and
# with hyperfine, print both means side by side with their ratio, and exit 1
# when they disagree by more than TOL percent on a command that takes long
# enough to time (sleep, a CPU-bound loop). For `true` the two means are
# printed too, but not gated: their difference is each tool's own cost of
# starting a process (the per-run overhead), not a disagreement about the
# command.
#
# Usage: bench/peers/compare-hyperfine.sh            (builds ./cmd/stampede)
#        STAMPEDE=/path/to/stampede RUNS=50 TOL=5 bench/peers/compare-hyperfine.sh
#
# Both tools get the same warm-up and the same number of runs. They take
# turns in ROUNDS rounds (stampede first in odd rounds, hyperfine first in
# even ones) and each mean is the mean over all its rounds' runs, so a drift
# of the machine's load reaches both tools alike. A busy machine still shows
# up as a disagreement: run it on a quiet one.
set -eu

runs=${RUNS:-10}     # per round and tool
rounds=${ROUNDS:-3}
warmup=${WARMUP:-3}
tol=${TOL:-5}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

command -v hyperfine >/dev/null 2>&1 || { echo "compare-hyperfine: hyperfine is not installed" >&2; exit 2; }
stampede=${STAMPEDE:-}
if [ -z "$stampede" ]; then
	(cd "$root" && go build -o "$tmp/stampede" ./cmd/stampede)
	stampede=$tmp/stampede
fi

# value FILE KEY: the first number stored under "KEY" in a JSON file.
value() {
	grep -o "\"$2\": *[-0-9.eE+]*" "$1" | head -n 1 | sed 's/.*: *//'
}

cpu='awk "BEGIN{for(i=0;i<5000000;i++)s+=i}"'
failed=0

# load: the 1-minute load average and the core count, to judge the numbers.
load() {
	if [ -r /proc/loadavg ]; then
		printf '%s on %s cores' "$(cut -d' ' -f1 /proc/loadavg)" "$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?')"
	else
		printf 'unknown'
	fi
}
load_before=$(load)

printf '%-44s %-5s %13s %13s %7s %10s %7s\n' "command" "shell" "stampede mean" "hyperfine mean" "ratio" "" "medians"
# measure GATE SHELL COMMAND
measure() {
	gate=$1 shell=$2 cmd=$3
	if [ "$shell" = none ]; then flag=-N; else flag="--shell=$shell"; fi
	ssum=0 hsum=0 smed=0 hmed=0 r=1
	while [ "$r" -le "$rounds" ]; do
		if [ $((r % 2)) -eq 1 ]; then order="s h"; else order="h s"; fi
		for tool in $order; do
			if [ "$tool" = s ]; then
				"$stampede" bench $flag --warmup "$warmup" --runs "$runs" --out "json=$tmp/s.json" -- "$cmd" >"$tmp/s.txt"
				ssum=$(awk -v a="$ssum" -v b="$(value "$tmp/s.json" mean_s)" 'BEGIN{print a+b}')
				smed=$(awk -v a="$smed" -v b="$(value "$tmp/s.json" median_s)" 'BEGIN{print a+b}')
			else
				hyperfine $flag --warmup "$warmup" --runs "$runs" --style none --export-json "$tmp/h.json" -- "$cmd" >"$tmp/h.txt" 2>&1
				hsum=$(awk -v a="$hsum" -v b="$(value "$tmp/h.json" mean)" 'BEGIN{print a+b}')
				hmed=$(awk -v a="$hmed" -v b="$(value "$tmp/h.json" median)" 'BEGIN{print a+b}')
			fi
		done
		r=$((r + 1))
	done
	s=$(awk -v v="$ssum" -v n="$rounds" 'BEGIN{print v/n}')
	h=$(awk -v v="$hsum" -v n="$rounds" 'BEGIN{print v/n}')
	verdict=$(awk -v s="$s" -v h="$h" -v tol="$tol" -v gate="$gate" 'BEGIN {
		if (gate != "gate") { printf "%+.0f µs", (s - h) * 1e6; exit }
		if (h <= 0) { print "no-mean"; exit }
		d = (s / h - 1) * 100; if (d < 0) d = -d
		if (d > tol) print "DISAGREE"; else print "ok"
	}')
	printf '%-44s %-5s %10.3f ms %10.3f ms %7.3f %10s %7.3f\n' "$cmd" "$shell" \
		"$(awk -v v="$s" 'BEGIN{print v*1000}')" "$(awk -v v="$h" 'BEGIN{print v*1000}')" \
		"$(awk -v s="$s" -v h="$h" 'BEGIN{ if (h > 0) print s/h; else print 0 }')" "$verdict" \
		"$(awk -v s="$smed" -v h="$hmed" 'BEGIN{ if (h > 0) print s/h; else print 0 }')"
	if [ "$verdict" = DISAGREE ] || [ "$verdict" = no-mean ]; then failed=1; fi
	last=$s
}

measure gate sh 'sleep 0.02'
measure gate none 'sleep 0.02'
measure gate sh "$cpu"
measure gate none "$cpu"
measure overhead sh 'true'
measure overhead none 'true'

echo
echo "load average: $load_before before, $(load) after"
echo "means over $rounds rounds of $runs runs per tool; gated rows must agree within ${tol}%."
echo "(the last column is the ratio of the medians, for telling interference from disagreement)"
echo "The 'true' rows show stampede's per-run cost minus hyperfine's. Without a shell nothing is"
echo "subtracted, so 'true' there is the whole cost of one spawn and wait: $(awk -v v="$last" 'BEGIN{printf "%.0f µs", v*1e6}') under stampede."
exit "$failed"
