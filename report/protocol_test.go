package report

import (
	stdbytes "bytes"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
)

// protocolRun is a test Run with every protocol section filled.
func protocolRun() *result.Run {
	ph := func(name, kind string, users int, req int64, pass bool, note string) result.Phase {
		return result.Phase{Name: name, Kind: kind, Users: users, Pass: pass, Note: note,
			Summary: result.Summary{Requests: req, DurationS: 10, RPS: float64(req) / 10, Errors: req / 200, ErrorRate: 0.005,
				Latency: result.Latency{P50: 2.5, P95: 11.25, P99: 40}}}
	}
	return &result.Run{
		Version: result.Version, Kind: "test", Plan: "shop", Model: "mixed",
		StartedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Summary:   result.Summary{Requests: 12000, RPS: 200, DurationS: 60, Latency: result.Latency{P50: 2, P99: 40}},
		Phases: []result.Phase{
			ph("warmup", "warmup", 10, 500, true, "not judged: it warms the target up"),
			ph("baseline-50", "baseline", 50, 2000, true, ""),
			ph("spike", "spike", 1000, 4000, false, "1 SLO(s) failed"),
			{Name: "stress", Kind: "stress", Pass: true, Note: "breaks at 480 rps",
				Summary: result.Summary{Requests: 5000, DurationS: 20, RPS: 250, Latency: result.Latency{P50: 3, P95: 200, P99: 400}}},
			{Name: "recovery", Kind: "recovery", Rate: 300, Pass: true, Note: "recovered 3 s after the load dropped",
				Summary: result.Summary{Requests: 900, DurationS: 3, RPS: 300, Latency: result.Latency{P50: 2, P95: 3, P99: 4}}},
			{Name: "scalability", Kind: "scalability", Skipped: true, Note: "not run: the test was stopped"},
		},
		Stress: &result.Stress{Variant: "rate", Unit: "rps", BreakingPoint: 478.125, Limit: "latency", Why: "p99 206.3ms > 100.0ms",
			LastGood: 450, MaxThroughputRPS: 448, Knee: 450, Recovered: true, RecoveryS: 3, RecoveryLoad: 300,
			System: "process CPU 97% (max 99%) — the process kept at least a core busy",
			Curve: []result.StressPoint{
				{Load: 300, RPS: 300, P50: 2.8, P99: 4.78, Efficiency: 1, OK: true},
				{Load: 450, RPS: 444, P50: 11.77, P99: 23.31, Efficiency: 0.99, OK: true},
				{Load: 675, RPS: 416, P50: 600.06, P99: 780.29, Efficiency: 0.62, Limit: "latency"},
				{Load: 478.125, RPS: 435, P50: 135.55, P99: 206.34, Efficiency: 0.91, Limit: "latency", Probe: true},
			},
			Warnings: []string{"450 rps: the generator was saturated; measured again"}},
		Soak: &result.Soak{Trend: "degrading", Metric: "memory_mb", SlopePerHour: 42.5, PValue: 0.0001, Details: []result.Trend{
			{Metric: "p95_ms", Unit: "ms", Trend: "stable", SlopePerHour: 0.12, CILow: -0.3, CIHigh: 0.5, PValue: 0.61, Start: 11, Points: 60},
			{Metric: "error_rate", Unit: "ratio", Trend: "unknown", Points: 3},
			{Metric: "memory_mb", Unit: "MB", Trend: "degrading", SlopePerHour: 42.5, CILow: 39, CIHigh: 46, PValue: 0.0001, Start: 120, Points: 60},
		}},
		Scalability: &result.Scalability{Unit: "replicas",
			Configs:    []result.ScaleConfig{{N: 1, RPS: 1000, P99: 12}, {N: 2, RPS: 1900, P99: 13}, {N: 4, RPS: 2600, P99: 25}, {N: 8, RPS: 2800, P99: 60}},
			Efficiency: []float64{1, 0.95, 0.65, 0.35}, LinearityR2: 0.41,
			USL:   &result.USL{Lambda: 1010, Sigma: 0.05, Kappa: 0.012, PeakConcurrency: 8.9, R2: 0.998},
			Drops: []result.ScaleDrop{{From: 2, To: 4, DropPct: 31.6}, {From: 4, To: 8, DropPct: 46.2}},
		},
		Verdict: "fail",
	}
}

func TestConsoleProtocolGolden(t *testing.T) {
	golden(t, "protocol.golden.txt", renderRun(t, Console, protocolRun()))
}

func TestConsoleProtocolSections(t *testing.T) {
	var b stdbytes.Buffer
	if err := Console(&b, protocolRun()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// Sections in order, the protocol's verdict before the run's.
	order := []string{"\nphases\n", "\nstress (rate)\n", "\nsoak: degrading\n", "\nscalability (replicas)\n",
		"\nprotocol: 4 of 5 phases passed; failed: spike\n", "\nverdict: FAIL\n"}
	at := 0
	for _, s := range order {
		i := strings.Index(out[at:], s)
		if i < 0 {
			t.Fatalf("%q missing or out of order in:\n%s", s, out)
		}
		at += i
	}
	for _, s := range []string{"✗ spike", "– scalability", "breaking point 478.1 rps — limit: latency (p99 206.3ms > 100.0ms)",
		"recovery: 3 s after the load dropped to 300 rps", "peak at N* ≈ 8.9", "efficiency drops 46% from 4 to 8"} {
		if !strings.Contains(out, s) {
			t.Errorf("summary lacks %q", s)
		}
	}
	// A load Run has none of it.
	b.Reset()
	r := protocolRun()
	r.Kind = "load"
	Console(&b, r)
	if strings.Contains(b.String(), "\nphases\n") || strings.Contains(b.String(), "protocol:") {
		t.Errorf("a load run printed protocol sections:\n%s", b.String())
	}
}
