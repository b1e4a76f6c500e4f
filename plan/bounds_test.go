package plan

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const oneScenario = "scenarios: [{name: a, steps: [{path: /}]}]\n"

func TestBounds(t *testing.T) {
	runProblemCases(t, []problemCase{
		{
			name: "vus beyond the bound",
			why:  "a trillion VUs used to grow until the kernel killed the process",
			doc:  "target: {base_url: http://x}\nload: {vus: 999999999999, duration: 1s}\n" + oneScenario,
			want: []string{"t.yaml:2:13: load.vus: 999,999,999,999 is above the limit of 1,000,000 (lower it; for more, run several stampede processes with --segment k/n and merge their results)"},
		},
		{
			name: "rate written as 1.0e+300",
			why:  "an absurd rate used to run and report 9e18 dropped iterations",
			doc:  "target: {base_url: http://x}\nload: {rate: 1.0e+300, duration: 1s}\n" + oneScenario,
			want: []string{"t.yaml:2:14: load.rate: 1e+300 is above the limit of 10,000,000 (lower it; for more, run several stampede processes with --segment k/n and merge their results)"},
		},
		{
			name: "rate written as 1e12",
			why:  "1e12 is a number like 1.0e+12: it is read as one, then bounded",
			doc:  "target: {base_url: http://x}\nload: {rate: 1e12, duration: 1s}\n" + oneScenario,
			want: []string{"t.yaml:2:14: load.rate: 1,000,000,000,000 is above the limit of 10,000,000 (lower it; for more, run several stampede processes with --segment k/n and merge their results)"},
		},
		{
			name: "weights beyond the bound",
			why:  "two weights of 2^62 overflowed the sum and panicked the draw",
			doc: "target: {base_url: http://x}\nload: {duration: 1s}\nscenarios:\n" +
				"  - {name: a, weight: 4611686018427387904, steps: [{path: /}]}\n" +
				"  - {name: b, weight: 4611686018427387904, steps: [{path: /}]}\n",
			want: []string{
				"t.yaml:4:23: scenarios[0].weight: 4,611,686,018,427,387,904 is above the limit of 1,000,000 (lower it)",
				"t.yaml:5:23: scenarios[1].weight: 4,611,686,018,427,387,904 is above the limit of 1,000,000 (lower it)",
			},
		},
		{
			name: "durations and waits",
			why:  "a run keeps a window per second; waits beyond an hour are typos",
			doc: "target: {base_url: http://x, timeout: 2h}\nload: {duration: 25h, graceful_stop: 90m}\n" +
				"scenarios: [{name: a, think: 3h, steps: [{path: /, timeout: 61m}]}]\n",
			want: []string{
				"t.yaml:1:39: target.timeout: 2h0m0s is above the limit of 1h0m0s (lower it)",
				"t.yaml:2:18: load.duration: the load lasts 25h0m0s; at most 24h0m0s is allowed (split a longer soak into several runs)",
				"t.yaml:2:38: load.graceful_stop: 1h30m0s is above the limit of 1h0m0s (lower it)",
				"t.yaml:3:30: scenarios[0].think.min: 3h0m0s is above the limit of 1h0m0s (lower it)",
				"t.yaml:3:30: scenarios[0].think.max: 3h0m0s is above the limit of 1h0m0s (lower it)",
				"t.yaml:3:61: scenarios[0].steps[0].timeout: 1h1m0s is above the limit of 1h0m0s (lower it)",
			},
		},
		{
			name: "stages sum",
			why:  "the whole load counts, not each stage",
			doc:  "target: {base_url: http://x}\nload: {stages: [{users: 1, duration: 20h}, {users: 2, duration: 5h}]}\n" + oneScenario,
			want: []string{"t.yaml:2:16: load.stages: the load lasts 25h0m0s; at most 24h0m0s is allowed (split a longer soak into several runs)"},
		},
		{
			name: "iterations and open-model VUs",
			why:  "every count a plan sets is bounded",
			doc:  "target: {base_url: http://x}\nload: {rate: 10, duration: 1s, max_vus: 2000000, pre_allocated_vus: 2000000, iterations: 2000000000000}\n" + oneScenario,
			want: []string{
				"t.yaml:2:41: load.max_vus: 2,000,000 is above the limit of 1,000,000 (lower it; for more, run several stampede processes with --segment k/n and merge their results)",
				"t.yaml:2:69: load.pre_allocated_vus: 2,000,000 is above the limit of 1,000,000 (lower it; for more, run several stampede processes with --segment k/n and merge their results)",
				"t.yaml:2:90: load.iterations: 2,000,000,000,000 is above the limit of 1,000,000,000,000 (lower it; for more, run several stampede processes with --segment k/n and merge their results)",
			},
		},
		{
			name: "a load that sends nothing",
			why:  "zero VUs, zero rate or idle stages used to pass having sent nothing",
			doc:  "target: {base_url: http://x}\nload: {vus: 0, duration: 1s}\n" + oneScenario,
			want: []string{"t.yaml:2:13: load.vus: must be ≥ 1: with no VUs the load would send nothing"},
		},
		{
			name: "the protocol's phases",
			why:  "a phase is a load like any other",
			doc: head + oneScenario + "tests:\n  soak: {users: 2000000, duration: 48h}\n  stress: {variant: users, max: 5000000, max_vus: 2000000}\n" +
				"  baseline: {levels: [1, 2000000]}\n  cool_down: 2h\nsystem: {interval: 2h}\n",
			want: []string{
				"t.yaml:5:17: tests.soak.users: 2,000,000 is above the limit of 1,000,000 (lower it)",
				"t.yaml:5:36: tests.soak.duration: 48h0m0s is above the limit of 24h0m0s (lower it)",
				"t.yaml:6:33: tests.stress.max: 5,000,000 is above the limit of 1,000,000 (lower it)",
				"t.yaml:6:51: tests.stress.max_vus: 2,000,000 is above the limit of 1,000,000 (lower it)",
				"t.yaml:7:26: tests.baseline.levels[1]: 2,000,000 is above the limit of 1,000,000 (lower it)",
				"t.yaml:8:14: tests.cool_down: 2h0m0s is above the limit of 1h0m0s (lower it)",
				"t.yaml:9:20: system.interval: 2h0m0s is above the limit of 1h0m0s (lower it)",
			},
		},
		{
			name: "rate 0",
			why:  "rate 0 used to fall back to the closed model's one VU",
			doc:  "target: {base_url: http://x}\nload: {rate: 0, duration: 1s}\n" + oneScenario,
			want: []string{"t.yaml:2:14: load.rate: must be > 0: at rate 0 the load would send nothing"},
		},
		{
			name: "idle stages",
			why:  "stages that all hold zero users send nothing",
			doc:  "target: {base_url: http://x}\nload: {stages: [{users: 0, duration: 1s}, {users: 0, ramp_up: 1s}]}\n" + oneScenario,
			want: []string{"t.yaml:2:16: load.stages: every stage has users 0: the load would send nothing"},
		},
		{
			name: "port out of range",
			why:  "a port above 65535 cannot be dialled",
			doc:  "target: {base_url: \"http://127.0.0.1:99999\"}\nload: {duration: 1s}\n" + oneScenario,
			want: []string{`t.yaml:1:20: target.base_url: port 99999 is not a TCP port (use 1 to 65535)`},
		},
		{
			name: "max_body",
			why:  "what a VU keeps of a response is bounded",
			doc:  "target: {base_url: http://x, max_body: 2GiB}\nload: {duration: 1s}\n" + oneScenario,
			want: []string{"t.yaml:1:40: target.max_body: 2048 MiB is above the limit of 256 MiB (lower it)"},
		},
		{
			name: "max_body not a size",
			why:  "sizes have units from B to GiB",
			doc:  "target: {base_url: http://x, max_body: lots}\nload: {duration: 1s}\n" + oneScenario,
			want: []string{`t.yaml:1:40: target.max_body: expected a size like 4MiB, 512KiB or a number of bytes, got "lots"`},
		},
	})
}

func TestByteSizeForms(t *testing.T) {
	for in, want := range map[string]ByteSize{"1048576": 1 << 20, "512KiB": 512 << 10, "4 MiB": 4 << 20, "1GiB": 1 << 30, "4MB": 4e6, "10kb": 1e4, "100B": 100} {
		if got, ok := ParseByteSize(in); !ok || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "MiB", "1TiB", "-1", "1e3", "x1"} {
		if got, ok := ParseByteSize(in); ok {
			t.Errorf("ParseByteSize(%q) = %d, want refused", in, got)
		}
	}
}

// Counts of things a plan lists are bounded: a 10 MB plan of 163,925
// scenarios used to take 3.7 GB and half a minute, then send nothing.
func TestBoundsOnCounts(t *testing.T) {
	var b strings.Builder
	b.WriteString("target: {base_url: http://x}\nload: {duration: 1s}\nscenarios:\n")
	for i := range MaxScenarios + 1 {
		b.WriteString("  - {name: s" + itoa(i) + ", steps: [{path: /}]}\n")
	}
	got := problemLines(t, b.String())
	want := []string{
		"t.yaml:4:3: scenarios: 1001 scenarios; at most 1000 are allowed (merge similar journeys and use weights)",
		"t.yaml:4:3: scenarios: 1001 steps in all; at most 1000 are allowed (each keeps its own histograms)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestLoadRefusesAPlanFileTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	data := []byte(minimal + "# " + strings.Repeat("x", MaxPlanBytes) + "\n")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "big.yaml: the plan is larger than 1 MiB") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line naming the file and the 1 MiB limit", err)
	}
	if _, err := Parse("big.yaml", data); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("Parse: err = %v, want the limit", err)
	}
	// A plan at the limit is read.
	data = []byte(minimal + "# " + strings.Repeat("x", MaxPlanBytes-len(minimal)-3) + "\n")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err != nil {
		t.Fatal(err)
	}
}

// The README's table of bounds says what the code checks.
func TestREADMEBounds(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if cells := strings.Split(line, "|"); len(cells) == 4 && strings.HasPrefix(line, "| ") {
			rows[strings.TrimSpace(cells[1])] = strings.TrimSpace(cells[2])
		}
	}
	mib := func(n int) string { return strconv.Itoa(n>>20) + " MiB" }
	for setting, want := range map[string]string{
		"`load.vus`, `stages[].users`, `max_vus`, `pre_allocated_vus`": groupDigits(MaxVUs) + " (whole test)",
		"`load.rate`, `stages[].rate`":                                 groupDigits(MaxRate) + " iterations/s",
		"`load.iterations`":                                            groupDigits(MaxIterations),
		"`load.stages`":                                                groupDigits(MaxStages) + " stages",
		"the whole load (ramps + duration, or the stages' sum)":        strings.TrimSuffix(MaxLoadDuration.D().String(), "0m0s"),
		"`graceful_stop`, `timeout`s, `think`":                         strings.TrimSuffix(MaxWait.D().String(), "0m0s"),
		"`scenarios` / steps of all scenarios together":                groupDigits(MaxScenarios) + " / " + groupDigits(MaxSteps),
		"`weight`":                                groupDigits(MaxWeight),
		"headers per request / one header":        strconv.Itoa(MaxHeaders) + " / " + strconv.Itoa(MaxHeaderBytes>>10) + " KiB",
		"a step's `body`":                         mib(MaxRequestBody),
		"`target.max_body` (default 4 MiB)":       mib(MaxMaxBody),
		"`data` feeders / one feeder file":        strconv.Itoa(MaxFeeders) + " / " + mib(MaxFeederBytes),
		"`thresholds`":                            groupDigits(MaxThresholds),
		"`loads` / a load's `start` + its length": strconv.Itoa(MaxLoads) + " / " + strings.TrimSuffix(MaxLoadDuration.D().String(), "0m0s"),
		"`databases.*.pool`, `min_pool`":          groupDigits(MaxPool),
		"the plan file":                           mib(MaxPlanBytes),
		"`system.interval`, `cpu_profile`":        strings.TrimSuffix(MaxWait.D().String(), "0m0s"),
	} {
		if got, ok := rows[setting]; !ok || got != want {
			t.Errorf("README bound for %s is %q, the code's is %q", setting, got, want)
		}
	}
	if DefaultMaxBody != 4<<20 {
		t.Errorf("the README says target.max_body defaults to 4 MiB")
	}
}

// A plan that does not set max_body encodes as before it existed, so its
// hash in the run history stays the same.
func TestMaxBodyLeftUnsetKeepsThePlansEncoding(t *testing.T) {
	p, err := Parse("t.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "max_body") {
		t.Fatalf("max_body in %s", b)
	}
}
