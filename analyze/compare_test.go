package analyze

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// synth describes a synthetic measurement of a target: per-second windows
// of requests whose latencies are log-normal, split over two steps.
type synth struct {
	windows int
	rps     float64 // mean requests per window
	scale   float64 // latency multiplier (1.2 = 20% slower)
	errProb float64
}

var steady = synth{windows: 30, rps: 200, scale: 1, errProb: 0.01}

// run draws one Run from s with the given seed.
func (s synth) run(seed uint64) *result.Run {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	r := &result.Run{Version: 1, ID: fmt.Sprintf("seed-%d", seed), Kind: "load", Plan: "shop",
		Steps: []result.StepResult{{Scenario: "shop", Step: "home"}, {Scenario: "shop", Step: "item"}}}
	var all []float64
	stepAll := [2][]float64{}
	var stepErr [2]int64
	var errs int64
	for w := 0; w < s.windows; w++ {
		n := int(math.Round(s.rps * (1 + 0.05*rng.NormFloat64())))
		if n < 1 {
			n = 1
		}
		var lat []float64
		var stepLat [2][]float64
		var wErr int64
		var wStepErr [2]int64
		for i := 0; i < n; i++ {
			step := 0
			base, sigma := 10.0, 0.5
			if rng.Float64() < 0.3 {
				step, base, sigma = 1, 25, 0.4
			}
			v := math.Exp(math.Log(base)+sigma*rng.NormFloat64()) * s.scale
			lat = append(lat, v)
			stepLat[step] = append(stepLat[step], v)
			if rng.Float64() < s.errProb {
				wErr++
				wStepErr[step]++
			}
		}
		win := result.Window{TS: float64(w), Requests: int64(n), RPS: float64(n), Errors: wErr,
			P50: rank(lat, 50), P95: rank(lat, 95), P99: rank(lat, 99)}
		for i := 0; i < 2; i++ {
			if len(stepLat[i]) == 0 {
				continue
			}
			win.Steps = append(win.Steps, result.StepWindow{Index: i, Requests: int64(len(stepLat[i])), Errors: wStepErr[i],
				P50: rank(stepLat[i], 50), P95: rank(stepLat[i], 95), P99: rank(stepLat[i], 99)})
			stepAll[i] = append(stepAll[i], stepLat[i]...)
			stepErr[i] += wStepErr[i]
		}
		r.Series = append(r.Series, win)
		all = append(all, lat...)
		errs += wErr
	}
	d := float64(s.windows)
	r.Summary = result.Summary{Requests: int64(len(all)), Errors: errs, ErrorRate: float64(errs) / float64(len(all)),
		RPS: float64(len(all)) / d, DurationS: d,
		Latency: result.Latency{P50: rank(all, 50), P95: rank(all, 95), P99: rank(all, 99)}}
	for i := range r.Steps {
		st := &r.Steps[i]
		st.Requests, st.Errors, st.RPS = int64(len(stepAll[i])), stepErr[i], float64(len(stepAll[i]))/d
		st.Latency = result.Latency{P50: rank(stepAll[i], 50), P95: rank(stepAll[i], 95), P99: rank(stepAll[i], 99)}
	}
	return r
}

// rank is the nearest-rank percentile of xs.
func rank(xs []float64, p float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	if k < 0 {
		k = 0
	}
	return s[k]
}

func row(c *result.Comparison, name, metric string) *result.ComparisonRow {
	for i := range c.Rows {
		if c.Rows[i].Name == name && c.Rows[i].Metric == metric {
			return &c.Rows[i]
		}
	}
	return nil
}

// TestCompareSameTargetTwice: measuring one target twice must not raise a
// regression, in at least 95% of seeds.
func TestCompareSameTargetTwice(t *testing.T) {
	const seeds = 200
	var regressions, improvements, significant int
	for seed := uint64(1); seed <= seeds; seed++ {
		c := Compare(steady.run(seed), steady.run(seed+10_000), CompareOptions{})
		if c.Regression {
			regressions++
		}
		for _, r := range c.Rows {
			if r.Verdict == VerdictBetter {
				improvements++
				break
			}
		}
		for _, r := range c.Rows {
			if r.Significant {
				significant++
				break
			}
		}
		if len(c.Rows) != 15 {
			t.Fatalf("seed %d: %d rows, want 15 (overall and 2 steps × 5 metrics)", seed, len(c.Rows))
		}
	}
	t.Logf("%d seeds: %d with a false regression, %d with a false improvement, %d with any significant row",
		seeds, regressions, improvements, significant)
	if regressions > seeds*5/100 {
		t.Errorf("false regressions in %d of %d seeds, want ≤ 5%%", regressions, seeds)
	}
	if improvements > seeds*5/100 {
		t.Errorf("false improvements in %d of %d seeds, want ≤ 5%%", improvements, seeds)
	}
}

func TestCompareDetectsChanges(t *testing.T) {
	type check func(t *testing.T, c *result.Comparison)
	verdict := func(name, metric string, want result.Change, lo, hi float64) check {
		return func(t *testing.T, c *result.Comparison) {
			t.Helper()
			r := row(c, name, metric)
			if r == nil {
				t.Fatalf("no row %s %s", name, metric)
			}
			if r.Verdict != want {
				t.Errorf("%s %s: verdict %q (Δ %+.1f%%, p %.3g, adj %.3g), want %q", name, metric, r.Verdict, r.DeltaPct, r.PValue, r.PAdjusted, want)
			}
			if want == VerdictWorse != r.Regression {
				t.Errorf("%s %s: regression %v with verdict %q", name, metric, r.Regression, r.Verdict)
			}
			if lo != hi && (r.DeltaPct < lo || r.DeltaPct > hi) {
				t.Errorf("%s %s: Δ %+.1f%%, want within [%g, %g]", name, metric, r.DeltaPct, lo, hi)
			}
		}
	}
	regression := func(want bool) check {
		return func(t *testing.T, c *result.Comparison) {
			t.Helper()
			if c.Regression != want {
				t.Errorf("Regression = %v, want %v", c.Regression, want)
			}
		}
	}
	warns := func(sub string) check {
		return func(t *testing.T, c *result.Comparison) {
			t.Helper()
			for _, w := range c.Warnings {
				if strings.Contains(w, sub) {
					return
				}
			}
			t.Errorf("no warning containing %q in %q", sub, c.Warnings)
		}
	}
	slower, faster, fewer, failing := steady, steady, steady, steady
	slower.scale, faster.scale, fewer.rps, failing.errProb = 1.2, 0.8, 160, 0.05
	clean := steady
	clean.errProb = 0
	short := steady
	short.windows = 3

	for _, tc := range []struct {
		why        string
		base, head synth
		opts       CompareOptions
		checks     []check
	}{
		{"20% slower: latency worse by about +20%, throughput unchanged", steady, slower, CompareOptions{}, []check{
			regression(true),
			verdict("overall", "p50", VerdictWorse, 12, 28),
			verdict("overall", "p95", VerdictWorse, 12, 28),
			verdict("overall", "p99", VerdictWorse, 10, 30),
			verdict("shop/home", "p50", VerdictWorse, 12, 28),
			verdict("shop/item", "p95", VerdictWorse, 10, 30),
			verdict("overall", "rps", VerdictSame, -5, 5),
		}},
		{"20% faster: better, not a regression", steady, faster, CompareOptions{}, []check{
			regression(false),
			verdict("overall", "p50", VerdictBetter, -28, -12),
			verdict("overall", "p95", VerdictBetter, -28, -12),
		}},
		{"20% less throughput: rps worse with a negative delta", steady, fewer, CompareOptions{}, []check{
			regression(true),
			verdict("overall", "rps", VerdictWorse, -25, -15),
			verdict("overall", "p50", VerdictSame, -5, 5),
		}},
		{"errors from 1% to 5%: error rate worse", steady, failing, CompareOptions{}, []check{
			regression(true),
			verdict("overall", "error_rate", VerdictWorse, 200, 600),
		}},
		{"errors from none to 5%: worse though the relative change is undefined", clean, failing, CompareOptions{}, []check{
			regression(true),
			verdict("overall", "error_rate", VerdictWorse, 0, 0),
		}},
		{"no errors on either side: ~", clean, clean, CompareOptions{}, []check{
			regression(false),
			verdict("overall", "error_rate", VerdictSame, 0, 0),
			verdict("shop/item", "error_rate", VerdictSame, 0, 0),
		}},
		{"a 20% slowdown under a 30% threshold is not a regression", steady, slower, CompareOptions{Threshold: 0.30}, []check{
			regression(false),
			verdict("overall", "p50", VerdictSame, 12, 28),
		}},
		{"3 windows: no verdict, a warning", short, short, CompareOptions{}, []check{
			regression(false),
			verdict("overall", "p50", VerdictUnknown, 0, 0),
			warns("too few windows"),
		}},
		{"3 windows even when slower: still no verdict", short, func() synth { s := short; s.scale = 1.5; return s }(), CompareOptions{}, []check{
			regression(false),
			verdict("overall", "p99", VerdictUnknown, 0, 0),
		}},
	} {
		t.Run(tc.why, func(t *testing.T) {
			for seed := uint64(1); seed <= 5; seed++ {
				c := Compare(tc.base.run(seed), tc.head.run(seed+100), tc.opts)
				for _, ch := range tc.checks {
					ch(t, c)
				}
			}
		})
	}
}

func TestCompareMatchesStepsByName(t *testing.T) {
	base := steady.run(1)
	head := steady.run(2)
	// Reverse the steps of the new run and add one the base does not have:
	// matching is by scenario and step name, not by position.
	head.Steps[0], head.Steps[1] = head.Steps[1], head.Steps[0]
	for i := range head.Series {
		for j := range head.Series[i].Steps {
			head.Series[i].Steps[j].Index = 1 - head.Series[i].Steps[j].Index
		}
	}
	head.Steps = append(head.Steps, result.StepResult{Scenario: "shop", Step: "checkout", Requests: 5})
	c := Compare(base, head, CompareOptions{})
	for _, name := range []string{"shop/home", "shop/item"} {
		b, h := row(c, name, "p50"), row(c, name, "p50")
		if b == nil {
			t.Fatalf("no row for %s", name)
		}
		want := lookupStep(base, name).Latency.P50
		if b.Old != want || h.New != lookupStep(head, name).Latency.P50 {
			t.Errorf("%s: old %v new %v, want %v → %v", name, b.Old, h.New, want, lookupStep(head, name).Latency.P50)
		}
		if b.Verdict != VerdictSame {
			t.Errorf("%s matched wrongly: verdict %s (Δ %+.1f%%)", name, b.Verdict, b.DeltaPct)
		}
	}
	found := false
	for _, w := range c.Warnings {
		found = found || strings.Contains(w, "shop/checkout is only in the new run")
	}
	if !found {
		t.Errorf("no warning for the new step: %q", c.Warnings)
	}
}

func lookupStep(r *result.Run, name string) *result.StepResult {
	for i := range r.Steps {
		if stepName(&r.Steps[i]) == name {
			return &r.Steps[i]
		}
	}
	return nil
}

func TestCompareWarnsAboutContext(t *testing.T) {
	for _, tc := range []struct {
		why    string
		mutate func(b, h *result.Run)
		want   string
	}{
		{"plan edited", func(b, h *result.Run) { b.PlanHash, h.PlanHash = "a", "b" }, "plan changed"},
		{"other plan", func(b, h *result.Run) { h.Plan = "other" }, "different plans"},
		{"other machine", func(b, h *result.Run) {
			b.Host = &result.Host{CPUModel: "A", Cores: 2}
			h.Host = &result.Host{CPUModel: "B", Cores: 8}
		}, "different machines"},
		{"aborted", func(b, h *result.Run) { h.Aborted = true }, "new run was aborted"},
		{"saturated generator", func(b, h *result.Run) { b.Generator.Saturated = true }, "saturated in the base run"},
		{"warm-up windows are left out", func(b, h *result.Run) {
			for i := range h.Series[:10] {
				h.Series[i].Phase = "warmup"
			}
		}, ""},
	} {
		b, h := steady.run(1), steady.run(2)
		tc.mutate(b, h)
		c := Compare(b, h, CompareOptions{})
		got := strings.Join(c.Warnings, "\n")
		if tc.want == "" {
			if r := row(c, "overall", "p50"); r.NNew != 20 {
				t.Errorf("%s: %d new windows compared, want 20", tc.why, r.NNew)
			}
			continue
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: warnings %q lack %q", tc.why, got, tc.want)
		}
	}
}

func TestCompareBenchmarks(t *testing.T) {
	times := func(rng *rand.Rand, scale float64) []float64 {
		var out []float64
		for i := 0; i < 12; i++ {
			out = append(out, scale*(1+0.02*rng.NormFloat64()))
		}
		return out
	}
	rng := rand.New(rand.NewPCG(1, 2))
	bench := func(scale float64) *result.Run {
		ts := times(rng, scale)
		s := append([]float64(nil), ts...)
		sort.Float64s(s)
		return &result.Run{Version: 1, Kind: "bench", Benchmarks: []result.Benchmark{{Name: "grep", Command: "grep x", Runs: len(ts), Times: ts, MedianS: (s[5] + s[6]) / 2}}}
	}
	c := Compare(bench(1), bench(1.3), CompareOptions{})
	r := row(c, "bench grep", "time")
	if r == nil || r.Verdict != VerdictWorse || !c.Regression || r.DeltaPct < 20 || r.DeltaPct > 40 {
		t.Fatalf("30%% slower benchmark: %+v", r)
	}
	c = Compare(bench(1), bench(1), CompareOptions{})
	if r := row(c, "bench grep", "time"); r == nil || r.Verdict != VerdictSame {
		t.Fatalf("same benchmark: %+v", r)
	}
}

func TestComparePowerWarning(t *testing.T) {
	five := steady
	five.windows = 5
	c := Compare(five.run(1), five.run(2), CompareOptions{})
	found := false
	for _, w := range c.Warnings {
		found = found || strings.Contains(w, "no difference can be significant")
	}
	if !found {
		t.Errorf("5 windows per side across 15 rows cannot reach significance; want a warning, got %q", c.Warnings)
	}
	c = Compare(steady.run(1), steady.run(2), CompareOptions{})
	for _, w := range c.Warnings {
		if strings.Contains(w, "no difference can be significant") {
			t.Errorf("30 windows per side: unexpected warning %q", w)
		}
	}
}

func TestCompareMissingRun(t *testing.T) {
	c := Compare(nil, steady.run(1), CompareOptions{})
	if c.Regression || len(c.Rows) != 0 || len(c.Warnings) == 0 {
		t.Fatalf("comparing with no base: %+v", c)
	}
}

// TestCompareMinDelta: sub-millisecond percentiles 30% higher, with every
// window showing it, are no regression by default (a tenth of a
// millisecond is the noise of a busy host), and are one when the floor
// is turned off.
func TestCompareMinDelta(t *testing.T) {
	fast := steady
	fast.scale = 0.005 // p50 about 0.06 ms
	slower := fast
	slower.scale = 0.0065
	base, head := fast.run(1), slower.run(2)
	c := Compare(base, head, CompareOptions{})
	if c.Regression {
		t.Errorf("a change of %.3f ms at p95 called a regression", head.Summary.Latency.P95-base.Summary.Latency.P95)
	}
	r := row(c, "overall", "p95")
	if r == nil || !r.Significant {
		t.Fatalf("the change should still be significant: %+v", r)
	}
	c = Compare(base, head, CompareOptions{MinDeltaMS: -1})
	if !c.Regression {
		t.Error("with no floor, a significant 30% worsening is a regression")
	}
}
