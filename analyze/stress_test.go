package analyze

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// testWindow is a one-second window holding latencies (ms) and errors.
func stressWindow(ts float64, lat []float64, errs int64) result.Window {
	h := metrics.NewHist()
	for _, v := range lat {
		metrics.RecordUS(h, int64(v*1000))
	}
	q := h.ValueAtPercentiles([]float64{50, 95, 99})
	return result.Window{TS: ts, Requests: int64(len(lat)), RPS: float64(len(lat)), Errors: errs, VUs: 10,
		P50: float64(q[50]) / 1000, P95: float64(q[95]) / 1000, P99: float64(q[99]) / 1000, Hist: metrics.MustEncode(h)}
}

// exactQuantile is the nearest-rank quantile of a plain sorted copy.
func stressExactQuantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	k := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(k, 0)]
}

func TestHeldMergesOnlyTheHeldWindows(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var series []result.Window
	var held []float64
	for ts := 0; ts < 8; ts++ {
		lat := make([]float64, 200)
		for i := range lat {
			lat[i] = 1 + float64(ts)*rng.ExpFloat64()
		}
		series = append(series, stressWindow(float64(ts), lat, int64(ts)))
		if ts >= 2 && ts < 6 {
			held = append(held, lat...)
		}
	}
	s, err := Held(series, 2, 6)
	if err != nil {
		t.Fatal(err)
	}
	if s.Requests != 800 || s.Errors != 2+3+4+5 || s.DurationS != 4 || s.RPS != 200 {
		t.Errorf("counts: %+v", s)
	}
	for _, q := range []struct {
		got  float64
		want float64
	}{{s.Latency.P50, stressExactQuantile(held, 0.50)}, {s.Latency.P99, stressExactQuantile(held, 0.99)}} {
		if math.Abs(q.got-q.want) > 0.002*q.want+0.001 { // HDR: 3 significant digits
			t.Errorf("percentile %v, exact %v", q.got, q.want)
		}
	}
	if _, err := Held(series, 20, 30); err == nil {
		t.Error("no windows in range should be an error")
	}
}

func TestStressJudge(t *testing.T) {
	ths := func(exprs ...string) []*plan.Threshold {
		var out []*plan.Threshold
		for _, e := range exprs {
			m, op, v, err := plan.ParseThreshold(e)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, &plan.Threshold{Expr: e, Metric: m, Op: op, Value: v})
		}
		return out
	}
	held := func(p99, p95, errRate float64) result.Summary {
		return result.Summary{Requests: 1000, Errors: int64(errRate * 1000), ErrorRate: errRate, RPS: 100,
			Latency: result.Latency{P50: 1, P95: p95, P99: p99}}
	}
	first := &result.StressPoint{Efficiency: 1}
	lim := StressLimits{P99: 100, ErrorRate: 0.01, Efficiency: 0.5, Thresholds: ths("p95 < 50ms", "rps > 1000")}
	fast := result.Latency{P95: 5, P99: 8}
	cases := []struct {
		name      string
		pt        result.StressPoint
		held      result.Summary
		service   result.Latency
		first     *result.StressPoint
		saturated bool
		limit     string
		why       string
		delivered bool
	}{
		{"holds", result.StressPoint{Efficiency: 0.9}, held(80, 40, 0.005), fast, first, false, "", "", false},
		{"errors before latency", result.StressPoint{Efficiency: 0.9}, held(500, 40, 0.02), fast, first, false, LimitErrors, "error rate 2.00% > 1.00%", false},
		{"p99 over the limit", result.StressPoint{Efficiency: 0.9}, held(101, 40, 0), fast, first, false, LimitLatency, "p99 101.0ms > 100.0ms", false},
		{"a plan SLO on p95", result.StressPoint{Efficiency: 0.9}, held(90, 60, 0), fast, first, false, LimitLatency, "p95 < 50ms failed", false},
		{"throughput: efficiency under half the first", result.StressPoint{Efficiency: 0.49, RPS: 100}, held(90, 40, 0), fast, first, false, LimitThroughput, "efficiency 0.49", false},
		{"the first step is not compared with itself", result.StressPoint{Efficiency: 0.1}, held(90, 40, 0), fast, nil, false, "", "", false},
		{"nothing completed", result.StressPoint{}, result.Summary{}, fast, first, false, LimitErrors, "no request", false},
		{"saturated generator, but the service time breaks the SLO too: the target",
			result.StressPoint{Efficiency: 0.6}, held(700, 600, 0), result.Latency{P95: 550, P99: 650}, first, true, LimitLatency, "service time alone breaks it too", false},
		{"saturated generator and only its lateness breaks the SLO: the generator",
			result.StressPoint{Efficiency: 0.9}, held(150, 40, 0), fast, first, true, LimitGenerator, "only with the generator's own lateness", false},
		{"saturated generator, nothing else broke: the generator", result.StressPoint{Efficiency: 0.9}, held(50, 40, 0), fast, first, true, LimitGenerator, "saturated", false},
		{"saturated generator, errors are still the target's", result.StressPoint{Efficiency: 0.9}, held(50, 40, 0.3), fast, first, true, LimitErrors, "error rate", false},
		{"saturated generator and a throughput fall: the generator", result.StressPoint{Efficiency: 0.2}, held(50, 40, 0), fast, first, true, LimitGenerator, "saturated", false},
		{"saturated generator that delivered the load and held: held", result.StressPoint{Efficiency: 1}, held(50, 40, 0), fast, first, true, "", "", true},
		{"saturated generator that delivered the load, only its lateness breaks the SLO: the generator",
			result.StressPoint{Efficiency: 1}, held(150, 40, 0), fast, first, true, LimitGenerator, "only with the generator's own lateness", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			limit, why := lim.Judge(StressStep{Point: c.pt, Held: c.held, Service: c.service, Saturated: c.saturated, Delivered: c.delivered}, c.first)
			if limit != c.limit || !strings.Contains(why, c.why) {
				t.Errorf("Judge = %q, %q; want %q containing %q", limit, why, c.limit, c.why)
			}
		})
	}
	// An open-model step must complete the rate it sent (Sustain).
	sustain := lim
	sustain.Sustain = true
	short := result.StressPoint{Offered: 1600, RPS: 1420, Efficiency: 1420.0 / 1600}
	atRest := &result.StressPoint{Efficiency: 1, P50: 3}
	queued := result.Latency{P50: 20, P95: 40, P99: 90}
	sustained := result.StressPoint{Offered: 1520, RPS: 1450, Efficiency: 1450.0 / 1520}
	for _, c := range []struct {
		name             string
		pt               result.StressPoint
		held             result.Summary
		service          result.Latency
		saturated, deliv bool
		limit, why       string
	}{
		{"a rate it completed 89% of: throughput, not a held step", short, held(80, 40, 0), fast, false, false, LimitThroughput, "throughput 1420.0/s is 89% of the 1600.0/s sent"},
		{"a rate above the capacity it still delivered: held", sustained, held(80, 40, 0), fast, false, true, "", ""},
		{"a shortfall whose latency broke too: latency first", short, held(500, 40, 0), fast, false, false, LimitLatency, "p99"},
		{"a shortfall with errors: errors first", short, held(80, 40, 0.3), fast, false, false, LimitErrors, "error rate"},
		{"a shortfall of a saturated generator, the target at rest: the generator", short, held(80, 40, 0), result.Latency{P50: 4, P95: 5, P99: 8}, true, false, LimitGenerator, "saturated"},
		{"a shortfall of a saturated generator, the requests queued at the target: throughput", short, held(95, 40, 0), queued, true, false, LimitThroughput, "queued at the target (service time p50 20.0ms, 3.0ms"},
		// A bounded overload step: its arrivals waited for a VU (latency),
		// the target's service time shows the queue, the generator's late
		// wakes at the step's start marked it saturated.
		{"a shortfall of a saturated generator whose latency broke only with the wait for a VU, the requests queued at the target: throughput",
			short, held(2400, 40, 0), queued, true, false, LimitThroughput, "queued at the target (service time p50 20.0ms"},
		{"the same with the target at rest: the generator", short, held(2400, 40, 0), result.Latency{P50: 4, P95: 5, P99: 8}, true, false, LimitGenerator, "only with the generator's own lateness"},
	} {
		t.Run("sustain/"+c.name, func(t *testing.T) {
			limit, why := sustain.Judge(StressStep{Point: c.pt, Held: c.held, Service: c.service, Saturated: c.saturated, Delivered: c.deliv}, atRest)
			if limit != c.limit || !strings.Contains(why, c.why) {
				t.Errorf("Judge = %q, %q; want %q containing %q", limit, why, c.limit, c.why)
			}
			// Without Sustain only the efficiency against the first step
			// judges throughput: 89% of the rate is well within half.
			if limit, _ := lim.Judge(StressStep{Point: c.pt, Held: c.held, Service: c.service, Saturated: c.saturated, Delivered: c.deliv}, atRest); c.limit == LimitThroughput && !c.saturated && limit != "" {
				t.Errorf("without Sustain: %q, want held", limit)
			}
		})
	}
	// An error-rate threshold in the plan counts as errors.
	l2 := StressLimits{ErrorRate: -1, Thresholds: ths("error_rate < 0.5%")}
	if limit, _ := l2.Judge(StressStep{Held: held(1, 1, 0.006)}, nil); limit != LimitErrors {
		t.Errorf("error_rate threshold: limit %q", limit)
	}
}

func TestStressOutcome(t *testing.T) {
	curve := []result.StressPoint{
		{Load: 100, RPS: 100, OK: true},
		{Load: 200, RPS: 199, OK: true},
		{Load: 400, RPS: 390, OK: true},
		{Load: 800, RPS: 480, OK: false, Limit: LimitLatency},
		{Load: 600, RPS: 470, OK: false, Limit: LimitErrors, Probe: true},
		{Load: 500, RPS: 478, OK: true, Probe: true},
	}
	s := StressOutcome(curve, "rps", nil)
	if s.BreakingPoint != 600 || s.Limit != LimitErrors || s.LastGood != 500 || s.MaxThroughputRPS != 478 {
		t.Errorf("outcome: breaking %v limit %q last good %v max %v", s.BreakingPoint, s.Limit, s.LastGood, s.MaxThroughputRPS)
	}
	if s.Knee != 500 {
		t.Errorf("knee %v, want 500", s.Knee)
	}
	if s.Precision != 0.1667 { // (600 − 500) ÷ 600
		t.Errorf("precision %v, want 0.1667", s.Precision)
	}
	// A good step above a bad one (noise) does not move the breaking
	// point up, and is not the last good load either.
	noisy := append(slices.Clone(curve), result.StressPoint{Load: 700, RPS: 485, OK: true})
	s = StressOutcome(noisy, "rps", nil)
	if s.BreakingPoint != 600 || s.LastGood != 500 || s.MaxThroughputRPS != 485 {
		t.Errorf("noisy: breaking %v last good %v max %v", s.BreakingPoint, s.LastGood, s.MaxThroughputRPS)
	}
	s = StressOutcome(curve[:3], "rps", nil)
	if s.Limit != LimitNone || s.BreakingPoint != 0 || s.LastGood != 400 {
		t.Errorf("unbroken: %+v", s)
	}
	s = StressOutcome([]result.StressPoint{{Load: 10, OK: false, Limit: LimitErrors}}, "rps", nil)
	if len(s.Warnings) == 0 {
		t.Error("no warning when the first step already broke")
	}
}

func TestLittleCheck(t *testing.T) {
	if err := LittleCheck(1000, 50, 50); err != nil { // 50 in flight, 50 VUs
		t.Errorf("consistent numbers flagged: %v", err)
	}
	if err := LittleCheck(1000, 100, 50); err == nil { // 100 in flight from 50 VUs
		t.Error("impossible concurrency not flagged")
	}
}

func TestSystemAt(t *testing.T) {
	sys := &result.System{Timeline: []result.SystemPoint{
		{TS: 9, CPUPercent: 10, HostCPU: 10},
		{TS: 10, CPUPercent: 97, HostCPU: 96, HostMemPct: 90, RSSMB: 300, GCPausePct: 12, FDs: 800},
		{TS: 11, CPUPercent: 99, HostCPU: 98, HostMemPct: 88, RSSMB: 320, GCPausePct: 14, FDs: 812},
	}}
	got := SystemAt(sys, 10, 12)
	for _, want := range []string{"process CPU 98%", "host CPU 97%", "host memory 89%", "RSS up to 320 MB", "GC 13.0%", "812 open descriptors",
		"the process kept at least a core busy", "host CPU saturated", "memory pressure", "GC pressure"} {
		if !strings.Contains(got, want) {
			t.Errorf("SystemAt = %q, lacks %q", got, want)
		}
	}
	if got := SystemAt(sys, 100, 200); got != "" {
		t.Errorf("no points: %q", got)
	}
	if got := SystemAt(nil, 0, 1); got != "" {
		t.Errorf("no watch: %q", got)
	}
}

func TestClosedCapacity(t *testing.T) {
	pts := []result.ClosedPoint{{Users: 1, RPS: 16}, {Users: 2, RPS: 33}}
	if ClosedPlateau(pts, 0.01) {
		t.Error("doubling throughput is no plateau")
	}
	pts = append(pts, result.ClosedPoint{Users: 4, RPS: 33.5})
	if !ClosedPlateau(pts, 0.01) {
		t.Error("1.5% more throughput for twice the users is a plateau")
	}
	c := ClosedOutcome(pts, 0.01, 32)
	if c.MaxThroughputRPS != 33.5 || c.Users != 2 || c.Ratio != 1.0469 {
		t.Errorf("closed capacity %+v; want 33.5/s, reached at 2 users, 1.0469× the open model's", c)
	}
	// Points the generator could not drive, or that failed, do not count.
	bad := []result.ClosedPoint{{Users: 1, RPS: 16}, {Users: 2, RPS: 90, Saturated: true}}
	if !ClosedPlateau(bad, 0.01) {
		t.Error("a saturated generator ends the search")
	}
	if c := ClosedOutcome(append(bad, result.ClosedPoint{Users: 4, RPS: 80, ErrorRate: 0.5}), 0.01, 0); c.MaxThroughputRPS != 16 || c.Users != 1 || c.Ratio != 0 {
		t.Errorf("closed capacity %+v; want 16/s at 1 user and no ratio", c)
	}
}
