package analyze

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// judgedRun is a run with a part for most rules: a watched process with
// hotspots, contention and a growing heap, a failed SLO, errors, a
// comparison with a regression, a stress curve and a benchmark.
func judgedRun() *result.Run {
	const own = "example.com/shop"
	r := &result.Run{
		Version: result.Version, Kind: "load", Model: "open", Verdict: VerdictFail,
		Summary: result.Summary{Requests: 6000, Errors: 120, ErrorRate: 0.02, RPS: 100, TargetRPS: 100, DurationS: 60,
			Latency: result.Latency{Mean: 40, P50: 20, P95: 150, P99: 600, Max: 1200}},
		Steps:      []result.StepResult{{Scenario: "s", Step: "list", Kind: "http", Requests: 6000, Errors: 120, RPS: 100, Latency: result.Latency{Mean: 40, P99: 600}}},
		Errors:     []result.ErrorCount{{Scenario: "s", Step: "list", Kind: "timeout", Count: 120}},
		Thresholds: []result.ThresholdResult{{Expr: "p99 < 500ms", Pass: false, Value: 600, Unit: "ms"}},
		Generator:  result.Generator{CPUPercent: 20, GOMAXPROCS: 2},
		Warnings:   []string{"a warning of the run"},
		System: &result.System{
			IntervalS:  1,
			Process:    &result.ProcessStats{PID: 1, CPUPercent: result.Stat{Mean: 170, Max: 195}, RSSMB: result.Span{Start: 20, Max: 200, End: 200}},
			Hotspots:   []result.Hotspot{{Function: "score", Package: own, FlatPct: 50, CumPct: 60, Own: true}},
			Contention: []result.Contention{{Function: own + ".(*Shop).audit", Kind: "mutex", DelayPct: 90, DelayS: 30}},
			Heap: &result.Heap{StartMB: 20, EndMB: 160, GrowthMBPerMin: 70, GrowthCILow: 60, GrowthCIHigh: 80, Confidence: 0.99, Points: 60, WindowS: 59,
				Source: "heap_inuse", LeakSuspected: true, TopGrowth: []result.HeapGrowth{{Function: own + ".remember", MB: 120}}},
		},
		Comparison: &result.Comparison{Base: "a", New: "b", Threshold: 0.05, Regression: true, Rows: []result.ComparisonRow{
			{Name: "overall", Metric: "p99", Unit: "ms", Old: 300, New: 600, DeltaPct: 100, Significant: true, Regression: true, Verdict: VerdictWorse}}},
		Benchmarks: []result.Benchmark{{Name: "BenchmarkScore", Runs: 10, MeanS: 0.2, StddevS: 0.1, BytesOp: 4 << 20}},
	}
	for i := range 60 {
		r.Series = append(r.Series, result.Window{TS: float64(i), Requests: 100, RPS: 100, Errors: 2, P50: 20, P99: 300 + 5*float64(i)})
		r.System.Timeline = append(r.System.Timeline, result.SystemPoint{TS: float64(i + 1), CPUPercent: 170, HostCPU: 90, RSSMB: 20 + 3*float64(i), HeapMB: 20 + 2.3*float64(i)})
	}
	return r
}

// Judge is a pure function: it leaves the Run as it was, and two calls
// on one Run draw the same conclusion.
func TestJudgeChangesNothing(t *testing.T) {
	r := judgedRun()
	before, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]float64{"cpu_percnt": 50}
	c := Judge(r, cfg)
	after, _ := json.Marshal(r)
	if !bytes.Equal(before, after) {
		t.Fatalf("Judge changed the Run:\nbefore %s\nafter  %s", before, after)
	}
	if len(c.Findings) < 3 || c.Verdict != VerdictFail || c.VerdictReason == "" || len(c.Recommendations) == 0 {
		t.Fatalf("conclusion: %d findings, verdict %q (%q), %d recommendations", len(c.Findings), c.Verdict, c.VerdictReason, len(c.Recommendations))
	}
	if len(c.Warnings) != 1 || c.Warnings[0] != `analysis: unknown key "cpu_percnt" (did you mean "cpu_percent"?); it is ignored` {
		t.Errorf("warnings %q", c.Warnings)
	}
	again, _ := json.Marshal(Judge(r, cfg))
	first, _ := json.Marshal(c)
	if !bytes.Equal(first, again) {
		t.Errorf("a second Judge drew another conclusion:\n%s\n%s", first, again)
	}
}

// SetConclusion puts the conclusion in the Run: Conclude is Judge then
// SetConclusion, and the settings' warnings are added once.
func TestSetConclusion(t *testing.T) {
	r := judgedRun()
	c := Judge(r, map[string]float64{"cpu_percnt": 50})
	r.SetConclusion(c)
	r.SetConclusion(c)
	kinds := func(fs []result.Finding) []result.FindingKind {
		var out []result.FindingKind
		for _, f := range fs {
			out = append(out, f.Kind)
		}
		return out
	}
	if !slices.Equal(kinds(r.Findings), kinds(c.Findings)) || r.Verdict != c.Verdict || r.VerdictReason != c.VerdictReason ||
		len(r.NotEvaluated) != len(c.NotEvaluated) || len(r.Recommendations) != len(c.Recommendations) {
		t.Errorf("the Run holds %v %q, the conclusion %v %q", kinds(r.Findings), r.Verdict, kinds(c.Findings), c.Verdict)
	}
	if want := []string{"a warning of the run", c.Warnings[0]}; !slices.Equal(r.Warnings, want) {
		t.Errorf("warnings %q, want %q", r.Warnings, want)
	}
	o := judgedRun()
	Conclude(o, map[string]float64{"cpu_percnt": 50})
	a, _ := json.Marshal(o)
	b, _ := json.Marshal(r)
	if !bytes.Equal(a, b) {
		t.Errorf("Conclude and Judge+SetConclusion differ:\n%s\n%s", a, b)
	}
}
