package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// cleanRun is a load run that no rule finds anything in: a minute at ten
// users, fast, no errors, a quiet system with every section filled.
func cleanRun() *result.Run {
	r := &result.Run{
		Version: result.Version, Kind: "load", Plan: "shop", Model: "closed",
		Host: &result.Host{OS: "linux", Arch: "amd64", Cores: 2},
		Summary: result.Summary{
			Requests: 12000, RPS: 200, DurationS: 60, Iterations: 6000, MaxVUs: 10,
			Latency: result.Latency{Mean: 40, P50: 30, P95: 90, P99: 150, Max: 400},
			Phases:  result.Timing{Connect: 0.5, TLS: 0, TTFB: 35},
		},
		Steps: []result.StepResult{
			{Scenario: "browse", Step: "home", Kind: "http", Requests: 6000, Latency: result.Latency{Mean: 30, P99: 100}, Phases: result.Timing{Connect: 0.5}},
			{Scenario: "browse", Step: "search", Kind: "http", Requests: 6000, Latency: result.Latency{Mean: 50, P99: 200}, Phases: result.Timing{Connect: 0.5}},
		},
		Generator: result.Generator{CPUPercent: 30, GOMAXPROCS: 2},
		System: &result.System{
			Process:  &result.ProcessStats{PID: 42, CPUPercent: result.Stat{Mean: 60, Max: 90}, RSSMB: result.Span{Start: 50, Max: 60, End: 55}},
			Hotspots: []result.Hotspot{{Function: "main", Package: "main", CumPct: 99}, {Function: "(*Server).handle", Package: "example.com/shop", FlatPct: 5, CumPct: 20}},
			Contention: []result.Contention{
				{Function: "example.com/shop.(*Cache).Get", Kind: "mutex", DelayPct: 90, DelayS: 0.5},
			},
			Heap:       &result.Heap{StartMB: 20, EndMB: 21, GrowthMBPerMin: 0.1, PValue: 0.4, Points: 60, WindowS: 59, Source: "heap_inuse", Confidence: 0.99},
			GC:         &result.GC{CyclesPerS: 2, PausePct: 0.5},
			Database:   &result.Database{SlowStatements: []result.SlowStatement{{Query: "SELECT * FROM products WHERE id = $1", Calls: 5000, MeanMS: 2, SharePct: 60}}},
			Goroutines: &result.GoroutineTrend{Start: 50, End: 52, PerMin: 0.5, PValue: 0.5, Points: 60, WindowS: 59},
			Waits:      waits(200, result.WaitState{State: WaitCPU, Pct: 70}, result.WaitState{State: WaitClient, Pct: 20}, result.WaitState{State: WaitDatabase, Pct: 10}),
		},
		Scalability: &result.Scalability{
			Configs: []result.ScaleConfig{{N: 1, RPS: 100}, {N: 2, RPS: 198}, {N: 4, RPS: 390}, {N: 8, RPS: 770}},
			USL:     &result.USL{Sigma: 0.005, Kappa: 0, Lambda: 100, Unbounded: true, R2: 0.99},
		},
		Soak:       &result.Soak{Trend: "stable", Metric: "p99", PValue: 0.6},
		Benchmarks: []result.Benchmark{{Name: "Encode", Package: "example.com/shop", Runs: 10, MeanS: 0.002, StddevS: 0.0001, MedianS: 0.002, BytesOp: 4096, AllocsOp: 3}},
		Comparison: &result.Comparison{Base: "r0", New: "r1", Rows: []result.ComparisonRow{{Name: "overall", Metric: "p99", Unit: "ms", Old: 150, New: 152, Verdict: "~"}}},
	}
	for i := range 60 {
		r.Series = append(r.Series, result.Window{TS: float64(i), Requests: 200, RPS: 200, VUs: 10, P50: 30, P95: 90, P99: 150})
		r.System.Timeline = append(r.System.Timeline, result.SystemPoint{TS: float64(i + 1), CPUPercent: 60, HostCPU: 40, HostMemPct: 50, RSSMB: 55, HeapMB: 20})
	}
	return r
}

// waits is goroutine snapshots of 100 in-request goroutines on average
// over 50 snapshots at rps requests/s, in the given states (Pct set).
func waits(rps float64, states ...result.WaitState) *result.Waits {
	w := &result.Waits{Snapshots: 50, SpanS: 5, InRequest: 100, Observations: 5000, RPS: rps}
	for _, st := range states {
		st.Goroutines = st.Pct
		st.MSPerReq = 1000 * st.Goroutines / rps
		w.States = append(w.States, st)
	}
	return w
}

// ramp makes the run's windows climb from 5 to 50 users, p99 following
// p99(vus) and errors (of kind) errs(vus) per 200 requests.
func ramp(r *result.Run, p99 func(vus int) float64, errs func(vus int) int64, kind string) {
	r.Series = nil
	for i := range 60 {
		vus := 5 + 5*(i/6)
		w := result.Window{TS: float64(i), Requests: 200, RPS: 200, VUs: vus, P99: p99(vus)}
		if e := errs(vus); e > 0 {
			w.Errors = e
			w.ErrKinds = map[string]int64{kind: e}
			r.Summary.Errors += e
			r.Errors = appendErr(r.Errors, kind, e)
		}
		r.Series = append(r.Series, w)
	}
	r.Summary.ErrorRate = float64(r.Summary.Errors) / float64(r.Summary.Requests)
}

func appendErr(errs []result.ErrorCount, kind string, n int64) []result.ErrorCount {
	for i := range errs {
		if errs[i].Kind == kind {
			errs[i].Count += n
			return errs
		}
	}
	return append(errs, result.ErrorCount{Kind: kind, Count: n, Example: "dial tcp 127.0.0.1:8080: connect: connection refused"})
}

func hockey(vus int) float64 {
	if vus <= 30 {
		return 100 + float64(vus)
	}
	return 130 + 60*float64(vus-30)
}

func flat(int) float64 { return 120 }

func noErrs(int) int64 { return 0 }

type ruleCase struct {
	why    string
	kind   result.FindingKind
	change func(r *result.Run)
	cfg    map[string]float64
	fires  bool   // a finding of kind is expected
	missed bool   // kind is expected in NotEvaluated
	title  string // the finding's title contains this
}

func ruleCases() []ruleCase {
	return []ruleCase{
		{"generator saturated", result.KindGeneratorSaturated, func(r *result.Run) {
			r.Generator.Saturated, r.Generator.CPUPercent, r.Generator.Reason = true, 195, "the generator used all the CPU it had"
		}, nil, true, false, "not trustworthy"},
		{"generator busy but keeping up", result.KindGeneratorSaturated, func(r *result.Run) { r.Generator.CPUPercent = 150 }, nil, false, false, ""},
		{"the generator stopped the stress phase", result.KindGeneratorSaturated, func(r *result.Run) {
			r.Generator.Saturated = true
			r.Stress = &result.Stress{BreakingPoint: 224, Unit: "rps", Limit: "generator"}
		}, nil, true, false, "stress phase stopped at its limit, 224 rps"},

		{"p99 regressed against the baseline", result.KindRegression, func(r *result.Run) {
			r.Comparison.Rows = append(r.Comparison.Rows, result.ComparisonRow{Name: "browse/search", Metric: "p99", Unit: "ms", Old: 200, New: 300, DeltaPct: 50, PAdjusted: 0.001, Significant: true, Regression: true, Verdict: "worse"})
			r.Comparison.Regression = true
		}, nil, true, false, "browse/search"},
		{"a better row is no regression", result.KindRegression, func(r *result.Run) {
			r.Comparison.Rows = append(r.Comparison.Rows, result.ComparisonRow{Name: "overall", Metric: "rps", Old: 100, New: 130, DeltaPct: 30, PAdjusted: 0.001, Significant: true, Verdict: "better"})
		}, nil, false, false, ""},
		{"no comparison", result.KindRegression, func(r *result.Run) { r.Comparison = nil }, nil, false, true, ""},

		{"one function dominates the CPU profile", result.KindCPUHotspot, func(r *result.Run) {
			r.System.Hotspots = append(r.System.Hotspots,
				result.Hotspot{Function: "(*Shop).listProducts", Package: "example.com/shop", FlatPct: 1, CumPct: 66},
				result.Hotspot{Function: "scoreProducts", Package: "example.com/shop", FlatPct: 12, CumPct: 62},
				result.Hotspot{Function: "block", Package: "crypto/sha256", FlatPct: 40, CumPct: 40},
				result.Hotspot{Function: "(*conn).serve", Package: "net/http", FlatPct: 0.5, CumPct: 95})
		}, nil, true, false, "scoreProducts"},
		{"shares spread below the threshold", result.KindCPUHotspot, func(r *result.Run) {
			r.System.Hotspots = append(r.System.Hotspots, result.Hotspot{Function: "render", Package: "example.com/shop", FlatPct: 20, CumPct: 29})
		}, nil, false, false, ""},
		{"a threshold of 25% catches a 29% function", result.KindCPUHotspot, func(r *result.Run) {
			r.System.Hotspots = append(r.System.Hotspots, result.Hotspot{Function: "render", Package: "example.com/shop", FlatPct: 20, CumPct: 29})
		}, map[string]float64{"hotspot_share": 0.25}, true, false, "render"},
		{"only plumbing passes the threshold", result.KindCPUHotspot, func(r *result.Run) {
			r.System.Hotspots = []result.Hotspot{{Function: "goexit", Package: "runtime", CumPct: 100}, {Function: "(*conn).serve", Package: "net/http", CumPct: 96}}
		}, nil, false, false, ""},
		{"a middleware that hands every request on is no hotspot", result.KindCPUHotspot, func(r *result.Run) {
			r.System.Hotspots = append(r.System.Hotspots,
				result.Hotspot{Function: "(*Shop).instrument.func1", Package: "example.com/shop", FlatPct: 0.5, CumPct: 49, TopCallee: "net/http.(*ServeMux).ServeHTTP", TopCalleePct: 48},
				result.Hotspot{Function: "(*Shop).listProducts", Package: "example.com/shop", FlatPct: 1, CumPct: 15, TopCallee: "database/sql.(*DB).QueryContext", TopCalleePct: 9})
		}, nil, false, false, ""},
		{"a dispatcher spreading its time thinly is no hotspot", result.KindCPUHotspot, func(r *result.Run) {
			r.System.Hotspots = append(r.System.Hotspots,
				result.Hotspot{Function: "route", Package: "example.com/shop", FlatPct: 1, CumPct: 60, TopCallee: "example.com/shop.cart", TopCalleePct: 14})
		}, nil, false, false, ""},
		{"the work below a wrapper is the hotspot", result.KindCPUHotspot, func(r *result.Run) {
			r.System.Hotspots = append(r.System.Hotspots,
				result.Hotspot{Function: "(*Shop).instrument.func1", Package: "example.com/shop", FlatPct: 0.5, CumPct: 70, TopCallee: "net/http.(*ServeMux).ServeHTTP", TopCalleePct: 69},
				result.Hotspot{Function: "(*Shop).listProducts", Package: "example.com/shop", FlatPct: 1, CumPct: 50, TopCallee: "example.com/shop.scoreProducts", TopCalleePct: 48},
				result.Hotspot{Function: "scoreProducts", Package: "example.com/shop", FlatPct: 6, CumPct: 48, TopCallee: "crypto/sha256.Sum256", TopCalleePct: 30})
		}, nil, true, false, "scoreProducts"},
		{"no CPU profile", result.KindCPUHotspot, func(r *result.Run) { r.System.Hotspots = nil }, nil, false, true, ""},

		{"one lock holds most of the waiting", result.KindLockContention, func(r *result.Run) {
			r.System.Contention = []result.Contention{{Function: "github.com/stampede-perf/stampede/demo.(*Shop).auditTrail", Kind: "mutex", DelayPct: 85, DelayS: 90}}
		}, nil, true, false, "auditTrail"},
		{"a dominant lock with little waiting in all", result.KindLockContention, func(r *result.Run) {}, nil, false, false, ""},
		{"a dominant lock whose waiting is 2.5% of request time", result.KindLockContention, func(r *result.Run) {
			r.Summary.Requests, r.Summary.DurationS, r.Summary.Latency.Mean = 2000, 17, 1.7
			r.System.Contention = []result.Contention{{Function: "example.com/shop.(*Shop).audit", Kind: "mutex", DelayPct: 99.9, DelayS: 0.086}}
		}, nil, true, false, "not yet a bottleneck"},
		{"a block profile alone is not lock contention", result.KindLockContention, func(r *result.Run) {
			r.System.Contention = []result.Contention{{Function: "example.com/shop.(*Worker).wait", Kind: "block", DelayPct: 85, DelayS: 500}}
		}, nil, false, false, ""},
		{"USL serial fraction high", result.KindLockContention, func(r *result.Run) {
			r.System.Contention = nil
			r.Scalability.USL = &result.USL{Sigma: 0.3, Lambda: 100, Unbounded: true, R2: 0.97}
		}, nil, true, false, "σ"},
		{"no lock profiles and no USL", result.KindLockContention, func(r *result.Run) { r.System.Contention, r.Scalability = nil, nil }, nil, false, true, ""},

		{"heap grows with the leak flagged", result.KindMemoryLeak, func(r *result.Run) {
			r.System.Heap = &result.Heap{StartMB: 20, EndMB: 80, GrowthMBPerMin: 6, GrowthCILow: 5, GrowthCIHigh: 7, PValue: 1e-6, Confidence: 0.99, Points: 60, WindowS: 600, Source: "heap_inuse", LeakSuspected: true,
				TopGrowth: []result.HeapGrowth{{Function: "github.com/stampede-perf/stampede/demo.(*Shop).rememberRequest", MB: 55}}}
		}, nil, true, false, "rememberRequest"},
		{"heap grows but the trend is not a leak", result.KindMemoryLeak, func(r *result.Run) {
			r.System.Heap.GrowthMBPerMin, r.System.Heap.PValue = 3, 0.2
		}, nil, false, false, ""},
		{"a leak slower than the plan's threshold", result.KindMemoryLeak, func(r *result.Run) {
			r.System.Heap = &result.Heap{StartMB: 20, EndMB: 40, GrowthMBPerMin: 2, PValue: 1e-4, Points: 60, WindowS: 600, Source: "heap_inuse", LeakSuspected: true}
		}, map[string]float64{"leak_slope_mb_per_h": 600}, false, false, ""},
		{"the live heap leaks over many cycles", result.KindMemoryLeak, func(r *result.Run) {
			r.System.Heap = &result.Heap{StartMB: 20, EndMB: 80, GrowthMBPerMin: 6, PValue: 1e-6, Points: 600, WindowS: 600, Source: result.HeapSourceLive,
				LeakSuspected: true, Verdict: result.HeapLeakSuspected, GCCycles: 300, Half1MBPerMin: 6, Half2MBPerMin: 6}
		}, nil, true, false, "the live heap grows 6 MB/min"},
		{"heap in use grew without completed GC cycles", result.KindMemoryLeak, func(r *result.Run) {
			r.System.Heap = &result.Heap{StartMB: 1.2, EndMB: 3.9, GrowthMBPerMin: 8.6, PValue: 1e-9, Points: 20, WindowS: 19, Source: result.HeapSourceInuse,
				Verdict: result.HeapInconclusive, VerdictReason: "too few completed GC cycles (0 of 5 needed): run longer or at a higher rate"}
		}, nil, true, false, "not enough to tell a leak: too few completed GC cycles (0 of 5 needed)"},
		{"a flat heap too short to judge", result.KindMemoryLeak, func(r *result.Run) {
			r.System.Heap = &result.Heap{StartMB: 3, EndMB: 3, Points: 20, WindowS: 19, PValue: 1, Source: result.HeapSourceGoal,
				Verdict: result.HeapInconclusive, VerdictReason: "too few completed GC cycles (1 of 5 needed): run longer or at a higher rate"}
		}, nil, false, true, ""},
		{"a cache that filled, then stopped", result.KindMemoryLeak, func(r *result.Run) {
			r.System.Heap = &result.Heap{StartMB: 20, EndMB: 60, GrowthMBPerMin: 20, PValue: 1e-6, Points: 120, WindowS: 120, Source: result.HeapSourceLive,
				Verdict: result.HeapNoLeak, GCCycles: 60, Half1MBPerMin: 40, Half2MBPerMin: 0}
		}, nil, false, false, ""},
		{"heap profiles without a timeline", result.KindMemoryLeak, func(r *result.Run) {
			r.System.Heap, r.Soak = &result.Heap{TopGrowth: []result.HeapGrowth{{Function: "main.keep", MB: 30}}}, nil
		}, nil, false, true, ""},
		{"no heap analysis", result.KindMemoryLeak, func(r *result.Run) { r.System.Heap = nil; r.Soak = nil }, nil, false, true, ""},
		{"the soak's memory degrades", result.KindMemoryLeak, func(r *result.Run) {
			r.System.Heap = &result.Heap{Points: 5, WindowS: 4, TopGrowth: []result.HeapGrowth{{Function: "example.com/shop.(*Shop).remember", MB: 40}}}
			r.Soak = &result.Soak{Trend: "degrading", Metric: "memory_mb", SlopePerHour: 4700, PValue: 1e-14,
				Details: []result.Trend{{Metric: "p95_ms", Trend: "stable", PValue: 0.4}, {Metric: "memory_mb", Trend: "degrading", Unit: "MB", SlopePerHour: 4700, PValue: 1e-14, Start: 169, Points: 30}}}
		}, nil, true, false, "in shop.(*Shop).remember: memory grows 78.3 MB/min through the soak"},
		{"the soak's memory degrades slower than the threshold", result.KindMemoryLeak, func(r *result.Run) {
			r.Soak = &result.Soak{Trend: "degrading", Metric: "memory_mb", SlopePerHour: 30, PValue: 1e-3}
		}, nil, false, false, ""},

		{"throughput peaks inside the tested range", result.KindCoherency, func(r *result.Run) {
			r.Scalability.USL = &result.USL{Sigma: 0.02, Kappa: 0.01, Lambda: 100, PeakConcurrency: 9.8, R2: 0.95}
			r.Scalability.Configs = append(r.Scalability.Configs, result.ScaleConfig{N: 16, RPS: 600})
		}, nil, true, false, "peaks near"},
		{"no coherency cost", result.KindCoherency, func(r *result.Run) {}, nil, false, false, ""},
		{"a poor USL fit is not judged", result.KindCoherency, func(r *result.Run) {
			r.Scalability.USL = &result.USL{Kappa: 0.05, Lambda: 100, PeakConcurrency: 4, R2: 0.4}
		}, nil, false, true, ""},

		{"more connections bring no throughput", result.KindScalingEfficiency, func(r *result.Run) {
			r.Scalability = Scalability([]result.ScaleConfig{{Name: "pool=10", N: 10, RPS: 1000}, {Name: "pool=50", N: 50, RPS: 950}, {Name: "pool=100", N: 100, RPS: 940}})
			r.Scalability.Unit = "pool"
		}, nil, true, false, "from pool=10 to pool=50"},
		{"throughput grows with the units", result.KindScalingEfficiency, func(r *result.Run) {}, nil, false, false, ""},
		{"no configurations", result.KindScalingEfficiency, func(r *result.Run) { r.Scalability = nil }, nil, false, true, ""},

		{"the host waits for the disk the target writes", result.KindDiskBound, func(r *result.Run) {
			r.System.Timeline = ioTimeline(30, 45, 256<<10)
		}, nil, true, false, "waits for its disks"},
		{"the host barely waits for its disks", result.KindDiskBound, func(r *result.Run) { r.System.Timeline = ioTimeline(30, 3, 50<<20) }, nil, false, false, ""},
		{"no host samples", result.KindDiskBound, func(r *result.Run) { r.System.Timeline = nil }, nil, false, true, ""},

		{"the target reads and writes its disk at its ceiling", result.KindDiskThroughput, func(r *result.Run) {
			r.System.Timeline = bwTimeline(30, 90e6, 0)
		}, map[string]float64{"disk_mbps": 100}, true, false, "at 90% of the disk's 100 MB/s"},
		{"no disk ceiling given", result.KindDiskThroughput, func(r *result.Run) { r.System.Timeline = bwTimeline(30, 90e6, 0) }, nil, false, false, ""},
		{"no disk traffic sampled", result.KindDiskThroughput, func(r *result.Run) { r.System.Timeline = nil }, map[string]float64{"disk_mbps": 100}, false, true, ""},

		{"the link is nearly full", result.KindNetworkBound, func(r *result.Run) {
			r.System.Timeline = bwTimeline(30, 0, 118e6)
		}, map[string]float64{"net_mbps": 1000}, true, false, "at 94% of its 1000 Mbit/s"},
		{"the link has room", result.KindNetworkBound, func(r *result.Run) { r.System.Timeline = bwTimeline(30, 0, 30e6) }, map[string]float64{"net_mbps": 1000}, false, false, ""},
		{"no network samples", result.KindNetworkBound, func(r *result.Run) { r.System.Timeline = nil }, map[string]float64{"net_mbps": 1000}, false, true, ""},

		{"goroutines pile up in one place", result.KindGoroutineLeak, func(r *result.Run) {
			r.System.Goroutines = &result.GoroutineTrend{Start: 50, End: 650, PerMin: 600, PValue: 1e-9, Points: 60, WindowS: 59, Profiled: true,
				TopGrowth: []result.GoroutineGrowth{{Function: "example.com/shop.(*Hub).wait", Own: true, Via: "sync.(*Cond).Wait", Added: 580}}}
		}, nil, true, false, "580 of them in shop.(*Hub).wait waiting in sync.(*Cond).Wait"},
		{"goroutines grow with the connections", result.KindGoroutineLeak, func(r *result.Run) {
			r.System.Goroutines = &result.GoroutineTrend{Start: 50, End: 650, PerMin: 600, PValue: 1e-9, Points: 60, WindowS: 59, Profiled: true,
				TopGrowth: []result.GoroutineGrowth{{Function: "example.com/shop.tick", Own: true, Via: "time.Sleep", Added: 3}}}
		}, nil, false, false, ""},
		{"goroutines grow, no profiles to name them", result.KindGoroutineLeak, func(r *result.Run) {
			r.System.Goroutines = &result.GoroutineTrend{Start: 50, End: 650, PerMin: 600, PValue: 1e-9, Points: 60, WindowS: 59}
		}, nil, true, false, "600 more goroutines in 59 s"},
		{"goroutines grow with the requests in flight (a queue)", result.KindGoroutineLeak, func(r *result.Run) {
			r.System.Goroutines = &result.GoroutineTrend{Start: 50, End: 650, PerMin: 600, PValue: 1e-9, Points: 60, WindowS: 59}
			for i := range r.Series {
				r.Series[i].VUs = 10 + 10*i
			}
		}, nil, false, false, ""},
		{"a count that wanders", result.KindGoroutineLeak, func(r *result.Run) {
			r.System.Goroutines = &result.GoroutineTrend{Start: 50, End: 90, PerMin: 40, PValue: 0.2, Points: 60, WindowS: 59}
		}, nil, false, false, ""},
		{"no goroutine count", result.KindGoroutineLeak, func(r *result.Run) { r.System.Goroutines = nil }, nil, false, true, ""},

		{"requests wait on an HTTP dependency", result.KindSlowDependency, func(r *result.Run) {
			r.System.Waits = waits(200, result.WaitState{State: WaitDependency, Pct: 55, Sites: []result.WaitSite{
				{Function: "example.com/shop.(*Quotes).fetchPrices", Own: true, Via: "net/http.(*Client).do", Detail: "http", Pct: 50}}},
				result.WaitState{State: WaitCPU, Pct: 45})
		}, nil, true, false, "shop.(*Quotes).fetchPrices spends 50% of request time in outgoing HTTP calls"},
		{"requests queue for the client's connections", result.KindSlowDependency, func(r *result.Run) {
			r.System.Waits = waits(200, result.WaitState{State: WaitDependency, Pct: 80, Sites: []result.WaitSite{
				{Function: "example.com/shop.fetch", Own: true, Via: "net/http.(*Transport).getConn", Detail: "connection pool", Pct: 80}}},
				result.WaitState{State: WaitCPU, Pct: 20})
		}, nil, true, false, "waiting for a connection from the HTTP client's pool"},
		{"dependencies take a fifth of request time", result.KindSlowDependency, func(r *result.Run) {
			r.System.Waits = waits(200, result.WaitState{State: WaitNetwork, Pct: 20, Sites: []result.WaitSite{{Function: "example.com/shop.get", Own: true, Pct: 20}}},
				result.WaitState{State: WaitCPU, Pct: 80})
		}, nil, false, false, ""},
		{"too few goroutines seen serving requests", result.KindSlowDependency, func(r *result.Run) {
			r.System.Waits.Observations = 5
		}, nil, false, true, ""},
		{"no goroutine snapshots", result.KindSlowDependency, func(r *result.Run) { r.System.Waits = nil }, nil, false, true, ""},
		{"each request fsyncs a file", result.KindDiskIO, func(r *result.Run) {
			r.System.Waits = waits(200, result.WaitState{State: WaitDisk, Pct: 65, Sites: []result.WaitSite{
				{Function: "example.com/shop.persistEvent", Own: true, Via: "os.(*File).Sync", Detail: "fsync", Pct: 60}}},
				result.WaitState{State: WaitCPU, Pct: 35})
		}, nil, true, false, "shop.persistEvent spends 60% of request time flushing files to disk"},
		{"requests barely touch files", result.KindDiskIO, func(r *result.Run) {
			r.System.Waits = waits(200, result.WaitState{State: WaitDisk, Pct: 5, Sites: []result.WaitSite{{Function: "example.com/shop.log", Own: true, Pct: 5}}},
				result.WaitState{State: WaitCPU, Pct: 95})
		}, nil, false, false, ""},
		{"no snapshots for disk waits", result.KindDiskIO, func(r *result.Run) { r.System.Waits = nil }, nil, false, true, ""},

		{"large responses dominate a step", result.KindLargeResponses, func(r *result.Run) {
			s := &r.Steps[1]
			s.BytesIn, s.Phases.TTFB, s.Phases.Receive, s.Latency.Mean = s.Requests*512<<10, 10, 40, 50
		}, nil, true, false, "browse/search"},
		{"small responses", result.KindLargeResponses, func(r *result.Run) { r.Steps[1].BytesIn = r.Steps[1].Requests * 2048 }, nil, false, false, ""},
		{"SQL steps only", result.KindLargeResponses, func(r *result.Run) {
			for i := range r.Steps {
				r.Steps[i].Kind = "sql"
			}
		}, nil, false, true, ""},

		{"GC pauses take 12% of the time", result.KindGCPressure, func(r *result.Run) { r.System.GC = &result.GC{CyclesPerS: 40, PausePct: 12} }, nil, true, false, "GC pressure"},
		{"GC pauses at 4%", result.KindGCPressure, func(r *result.Run) { r.System.GC.PausePct = 4 }, nil, false, false, ""},
		{"no GC metrics", result.KindGCPressure, func(r *result.Run) { r.System.GC = nil }, nil, false, true, ""},

		{"a statement takes 800 ms", result.KindSlowDatabase, func(r *result.Run) {
			r.System.Database.SlowStatements = append(r.System.Database.SlowStatements, result.SlowStatement{Query: "SELECT * FROM orders\n  WHERE user_id = $1", Calls: 300, MeanMS: 800, SharePct: 35})
		}, nil, true, false, "SELECT * FROM orders WHERE"},
		{"a SQL step takes 700 ms", result.KindSlowDatabase, func(r *result.Run) {
			r.System.Database = nil
			r.Steps = append(r.Steps, result.StepResult{Scenario: "report", Step: "totals", Kind: "sql", Requests: 100, Latency: result.Latency{Mean: 700, P99: 1500}})
		}, nil, true, false, "report/totals"},
		{"statements at 450 ms", result.KindSlowDatabase, func(r *result.Run) { r.System.Database.SlowStatements[0].MeanMS = 450 }, nil, false, false, ""},
		{"no database data", result.KindSlowDatabase, func(r *result.Run) { r.System.Database = nil }, nil, false, true, ""},

		{"process at 1.8 cores of 2", result.KindCPUSaturation, func(r *result.Run) {
			for i := range r.System.Timeline {
				r.System.Timeline[i].CPUPercent = 180
			}
		}, nil, true, false, "90%"},
		{"host CPU high without a process", result.KindCPUSaturation, func(r *result.Run) {
			for i := range r.System.Timeline {
				r.System.Timeline[i].CPUPercent, r.System.Timeline[i].HostCPU = 0, 97
			}
		}, nil, true, false, "97%"},
		{"a few busy seconds only", result.KindCPUSaturation, func(r *result.Run) {
			for i := range 10 {
				r.System.Timeline[i].CPUPercent = 200
			}
		}, nil, false, false, ""},
		{"no watch", result.KindCPUSaturation, func(r *result.Run) { r.System = nil }, nil, false, true, ""},

		{"host memory peaks at 93%", result.KindMemoryPressure, func(r *result.Run) { r.System.Timeline[30].HostMemPct = 93 }, nil, true, false, "93%"},
		{"host memory at 80%", result.KindMemoryPressure, func(r *result.Run) { r.System.Timeline[30].HostMemPct = 80 }, nil, false, false, ""},
		{"no host memory samples", result.KindMemoryPressure, func(r *result.Run) { r.System.Timeline = nil }, nil, false, true, ""},

		{"slow TLS handshakes", result.KindNetworkLatency, func(r *result.Run) { r.Summary.Phases.Connect, r.Summary.Phases.TLS = 40, 90 }, nil, true, false, "130"},
		{"one step connects slowly", result.KindNetworkLatency, func(r *result.Run) { r.Steps[1].Phases.Connect = 150 }, nil, true, false, "150"},
		{"connections at 60 ms", result.KindNetworkLatency, func(r *result.Run) { r.Summary.Phases.Connect = 60 }, nil, false, false, ""},
		{"only SQL steps", result.KindNetworkLatency, func(r *result.Run) {
			for i := range r.Steps {
				r.Steps[i].Kind = "sql"
			}
		}, nil, false, true, ""},

		{"refused connections rise with users", result.KindConnectionErrors, func(r *result.Run) {
			ramp(r, flat, func(v int) int64 {
				if v >= 35 {
					return int64(v - 30)
				}
				return 0
			}, "connection_refused")
		}, nil, true, false, "rise with load"},
		{"connection timeouts at a constant load", result.KindConnectionErrors, func(r *result.Run) {
			for i := range r.Series {
				r.Series[i].Errors, r.Series[i].ErrKinds = 2, map[string]int64{"timeout": 2}
			}
			r.Errors, r.Summary.Errors = []result.ErrorCount{{Kind: "timeout", Count: 120}}, 120
		}, nil, true, false, "failed to connect"},
		{"connection resets as frequent at every level of a ramp", result.KindConnectionErrors, func(r *result.Run) {
			ramp(r, flat, func(int) int64 { return 3 }, "connection_reset")
		}, nil, true, false, "at every load level"},
		{"HTTP 500s are not connection errors", result.KindConnectionErrors, func(r *result.Run) {
			ramp(r, flat, func(v int) int64 { return int64(v) }, "http_5xx")
		}, nil, false, false, ""},
		{"no requests", result.KindConnectionErrors, func(r *result.Run) { r.Summary.Requests, r.Series, r.Steps = 0, nil, nil }, nil, false, true, ""},

		{"p99 turns up at 30 users without errors", result.KindLatencyKnee, func(r *result.Run) { ramp(r, hockey, noErrs, "") }, nil, true, false, "beyond 30 users"},
		{"the stress curve bends before errors", result.KindLatencyKnee, func(r *result.Run) {
			r.Stress = &result.Stress{Unit: "rps", Curve: []result.StressPoint{
				{Load: 100, P99: 50}, {Load: 200, P99: 52}, {Load: 300, P99: 55}, {Load: 400, P99: 60}, {Load: 500, P99: 180}, {Load: 600, P99: 900}, {Load: 700, P99: 3000, ErrorRate: 0.2},
			}}
		}, nil, true, false, "beyond 500 rps"},
		{"the generator's steps of the stress curve are left out", result.KindLatencyKnee, func(r *result.Run) {
			r.Stress = &result.Stress{Unit: "rps", Limit: "generator", BreakingPoint: 224, Curve: []result.StressPoint{
				{Load: 28, P99: 5.1, OK: true}, {Load: 56, P99: 5.0, OK: true}, {Load: 84, P99: 5.5, OK: true}, {Load: 112, P99: 7.1, OK: true}, {Load: 224, P99: 42.8},
			}}
		}, nil, false, false, ""},
		{"latency grows in proportion", result.KindLatencyKnee, func(r *result.Run) { ramp(r, func(v int) float64 { return 10 * float64(v) }, noErrs, "") }, nil, false, false, ""},
		{"flat latency under a ramp", result.KindLatencyKnee, func(r *result.Run) { ramp(r, flat, noErrs, "") }, nil, false, false, ""},
		{"errors come before the latency rises", result.KindLatencyKnee, func(r *result.Run) {
			ramp(r, hockey, func(v int) int64 {
				if v >= 15 {
					return 20
				}
				return 0
			}, "http_5xx")
		}, nil, false, false, ""},
		{"one load level", result.KindLatencyKnee, func(r *result.Run) {}, nil, false, true, ""},

		{"open model delivers 70% of the asked rate", result.KindThroughputShortfall, func(r *result.Run) {
			r.Model, r.Summary.TargetRPS, r.Summary.Iterations, r.Summary.Dropped = "open", 100, 4200, 1800
		}, nil, true, false, "70%"},
		{"open model delivers 98%", result.KindThroughputShortfall, func(r *result.Run) {
			r.Model, r.Summary.TargetRPS, r.Summary.Iterations = "open", 100, 5880
		}, nil, false, false, ""},
		{"closed model has no target", result.KindThroughputShortfall, func(r *result.Run) {}, nil, false, true, ""},

		{"5% of requests fail", result.KindErrorRate, func(r *result.Run) {
			r.Summary.Errors, r.Errors = 600, []result.ErrorCount{{Kind: "http_5xx", Status: 503, Count: 600, Example: "503 Service Unavailable"}}
		}, nil, true, false, "5.0% of requests failed"},
		{"0.5% of requests fail", result.KindErrorRate, func(r *result.Run) { r.Summary.Errors = 60 }, nil, false, false, ""},
		{"errors only in the stress phase", result.KindErrorRate, func(r *result.Run) {
			r.Phases = []result.Phase{
				{Name: "load", Kind: "load", Summary: result.Summary{Requests: 10000, Errors: 10}},
				{Name: "stress", Kind: "stress", Summary: result.Summary{Requests: 5000, Errors: 2500}},
			}
		}, nil, false, false, ""},
		{"errors in a load phase", result.KindErrorRate, func(r *result.Run) {
			r.Phases = []result.Phase{{Name: "peak", Kind: "load", Summary: result.Summary{Requests: 10000, Errors: 300}}}
		}, nil, true, false, "3.0%"},

		{"mean response 1.5 s", result.KindSlowResponse, func(r *result.Run) { r.Summary.Latency.Mean = 1500 }, nil, true, false, "1500"},
		{"one step is slow", result.KindSlowResponse, func(r *result.Run) { r.Steps[1].Latency.Mean = 2500 }, nil, true, false, "browse/search"},
		{"mean 900 ms", result.KindSlowResponse, func(r *result.Run) { r.Summary.Latency.Mean = 900 }, nil, false, false, ""},
		{"the plan allows 2 s", result.KindSlowResponse, func(r *result.Run) { r.Summary.Latency.Mean = 1500 }, map[string]float64{"mean_response_ms": 2000}, false, false, ""},

		{"soak degrading", result.KindSoakDegradation, func(r *result.Run) {
			r.Soak = &result.Soak{Trend: "degrading", Metric: "p99", SlopePerHour: 40, PValue: 0.001}
		}, nil, true, false, "p99"},
		{"soak stable", result.KindSoakDegradation, func(r *result.Run) {}, nil, false, false, ""},
		{"soak memory degrading is the leak rule's", result.KindSoakDegradation, func(r *result.Run) {
			r.Soak = &result.Soak{Trend: "degrading", Metric: "memory_mb", SlopePerHour: 4700, PValue: 1e-14,
				Details: []result.Trend{{Metric: "memory_mb", Trend: "degrading", SlopePerHour: 4700, PValue: 1e-14}}}
		}, nil, false, false, ""},
		{"no soak", result.KindSoakDegradation, func(r *result.Run) { r.Soak = nil }, nil, false, true, ""},

		{"a scenario of 4 sequential round trips under stepped latency", result.KindNetworkSensitivity, func(r *result.Run) {
			r.Stress = &result.Stress{Variant: "network", Network: &result.NetworkStress{Condition: "latency", BrokeAt: 200,
				Steps:      []result.NetworkStep{{Value: 0, OK: true, RPS: 50}, {Value: 200, RPS: 20, Limit: LimitLatency}},
				Chattiness: []result.ScenarioRoundTrips{{Scenario: "checkout", RequestsPerIteration: 4, RoundTrips: 4, AddedMS: 1600}}}}
		}, nil, true, false, "checkout makes 4 sequential round trips"},
		{"one round trip per iteration is not chatty", result.KindNetworkSensitivity, func(r *result.Run) {
			r.Stress = &result.Stress{Variant: "network", Network: &result.NetworkStress{Condition: "latency",
				Steps:      []result.NetworkStep{{Value: 0, OK: true, RPS: 50}, {Value: 200, OK: true, RPS: 20}},
				Chattiness: []result.ScenarioRoundTrips{{Scenario: "home", RequestsPerIteration: 1, RoundTrips: 1, AddedMS: 400}}}}
		}, nil, false, false, ""},
		{"no network stress", result.KindNetworkSensitivity, func(r *result.Run) {}, nil, false, false, ""},
		{"the cpu variant saturated 1.9 of 2 cores", result.KindCPULimit, func(r *result.Run) {
			r.Stress = &result.Stress{Unit: "requests/s", Limit: "latency", BreakingPoint: 430, Variant: "cpu"}
			r.Stress.Curve = []result.StressPoint{{Load: 200, RPS: 200, OK: true, CPUCores: 0.9}, {Load: 410, RPS: 405, OK: true, CPUCores: 1.9}, {Load: 430, RPS: 408, Limit: "latency", CPUCores: 1.95}}
			r.Stress.Resource = CPULimit(r.Stress, 2, "plan")
		}, nil, true, false, "saturates 1.9 of 2 cores (tests.stress.cores) at 405 requests/s (410 requests/s); latency breaks at 430"},
		{"the cpu variant broke with the CPU half used", result.KindCPULimit, func(r *result.Run) {
			r.Stress = &result.Stress{Unit: "requests/s", Limit: "latency", BreakingPoint: 430, Variant: "cpu"}
			r.Stress.Curve = []result.StressPoint{{Load: 200, RPS: 200, OK: true, CPUCores: 0.5}, {Load: 430, RPS: 300, Limit: "latency", CPUCores: 1}}
			r.Stress.Resource = CPULimit(r.Stress, 2, "plan")
		}, nil, false, false, ""},
		{"no cpu variant", result.KindCPULimit, func(r *result.Run) {}, nil, false, false, ""},
		{"the memory variant passed the RSS limit", result.KindMemoryLimit, func(r *result.Run) {
			r.Stress = &result.Stress{Unit: "× rows", Limit: LimitMemory, BreakingPoint: 8, Variant: "memory"}
			r.Stress.Curve = []result.StressPoint{{Load: 4, RPS: 50, OK: true, RSSMB: 120}, {Load: 8, RPS: 40, Limit: LimitMemory, RSSMB: 260}}
			r.Stress.Resource = MemoryLimit(r.Stress, MemoryLimits{RSSMB: 200, GCPct: 25}, "rows", func(m float64) string { return fmt.Sprint(1000 * m) }, map[float64]string{8: MemoryRSS}, Use{})
		}, nil, true, false, "passes its 200 MB memory limit at 8 × rows (rows = 8000): RSS 260 MB"},
		{"the memory variant held", result.KindMemoryLimit, func(r *result.Run) {
			r.Stress = &result.Stress{Unit: "× rows", Limit: LimitNone, Variant: "memory"}
			r.Stress.Curve = []result.StressPoint{{Load: 4, RPS: 50, OK: true, RSSMB: 120}}
			r.Stress.Resource = MemoryLimit(r.Stress, MemoryLimits{RSSMB: 200, GCPct: 25}, "rows", func(m float64) string { return fmt.Sprint(1000 * m) }, nil, Use{})
		}, nil, false, false, ""},
		{"no memory variant", result.KindMemoryLimit, func(r *result.Run) {}, nil, false, false, ""},

		{"benchmark varies by 30%", result.KindBenchVariance, func(r *result.Run) { r.Benchmarks[0].StddevS = 0.0006 }, nil, true, false, "Encode"},
		{"benchmark varies by 5%", result.KindBenchVariance, func(r *result.Run) {}, nil, false, false, ""},
		{"no benchmarks", result.KindBenchVariance, func(r *result.Run) { r.Benchmarks = nil }, nil, false, true, ""},

		{"benchmark allocates 3 MiB per op", result.KindBenchMemory, func(r *result.Run) { r.Benchmarks[0].BytesOp = 3 << 20 }, nil, true, false, "3 MiB per operation"},
		{"benchmark allocates 4 KiB per op", result.KindBenchMemory, func(r *result.Run) {}, nil, false, false, ""},
		{"no benchmarks for memory", result.KindBenchMemory, func(r *result.Run) { r.Benchmarks = nil }, nil, false, true, ""},

		{"an operation takes 250 ms", result.KindBenchSlowOp, func(r *result.Run) { r.Benchmarks[0].MeanS = 0.25 }, nil, true, false, "250 ms"},
		{"an operation takes 2 ms", result.KindBenchSlowOp, func(r *result.Run) {}, nil, false, false, ""},
		{"no benchmarks for time", result.KindBenchSlowOp, func(r *result.Run) { r.Benchmarks = nil }, nil, false, true, ""},
	}
}

func TestRules(t *testing.T) {
	for _, tc := range ruleCases() {
		t.Run(tc.why, func(t *testing.T) {
			r := cleanRun()
			tc.change(r)
			Conclude(r, tc.cfg)
			var got []result.Finding
			for _, f := range r.Findings {
				if f.Kind == tc.kind {
					got = append(got, f)
				}
			}
			missed := slices.ContainsFunc(r.NotEvaluated, func(n result.NotEvaluated) bool { return n.Rule == tc.kind })
			if (len(got) > 0) != tc.fires {
				t.Fatalf("%s fired: %v, want %v; findings:\n%s", tc.kind, len(got) > 0, tc.fires, dump(r.Findings))
			}
			if missed != tc.missed {
				t.Fatalf("%s not evaluated: %v, want %v; not evaluated: %+v", tc.kind, missed, tc.missed, r.NotEvaluated)
			}
			if tc.title != "" && !slices.ContainsFunc(got, func(f result.Finding) bool { return strings.Contains(f.Title, tc.title) }) {
				t.Errorf("no %s finding's title says %q:\n%s", tc.kind, tc.title, dump(got))
			}
		})
	}
}

// TestEveryRuleIsTested: each rule has data that triggers it and data
// that must not.
func TestEveryRuleIsTested(t *testing.T) {
	fires, quiet := map[result.FindingKind]bool{}, map[result.FindingKind]bool{}
	for _, tc := range ruleCases() {
		if tc.fires {
			fires[tc.kind] = true
		} else {
			quiet[tc.kind] = true
		}
	}
	for _, r := range rules() {
		if !fires[r.kind] || !quiet[r.kind] {
			t.Errorf("rule %s: a case that fires %v, a case that does not %v", r.kind, fires[r.kind], quiet[r.kind])
		}
	}
}

func TestCleanRunHasNoFindings(t *testing.T) {
	r := cleanRun()
	Conclude(r, nil)
	if len(r.Findings) != 0 || len(r.Recommendations) != 0 {
		t.Errorf("findings on a clean run:\n%s", dump(r.Findings))
	}
	// The clean run has no ramp and no target rate: those two rules say so.
	var rules []result.FindingKind
	for _, n := range r.NotEvaluated {
		rules = append(rules, n.Rule)
	}
	if want := []result.FindingKind{result.KindLatencyKnee, result.KindThroughputShortfall}; !slices.Equal(rules, want) {
		t.Errorf("not evaluated %v, want %v", rules, want)
	}
}

// TestBareRunSaysWhatIsMissing: a run with nothing but requests gets a
// NotEvaluated, with something to add, for every rule that needs more.
func TestBareRunSaysWhatIsMissing(t *testing.T) {
	r := &result.Run{Version: 1, Kind: "load", Model: "closed", Summary: result.Summary{Requests: 100, DurationS: 10, Latency: result.Latency{Mean: 5}}}
	Conclude(r, nil)
	if len(r.Findings) != 0 {
		t.Errorf("findings on a bare run:\n%s", dump(r.Findings))
	}
	seen := map[result.FindingKind]bool{}
	for _, n := range r.NotEvaluated {
		if n.Reason == "" || n.Add == "" {
			t.Errorf("%s: reason %q, add %q", n.Rule, n.Reason, n.Add)
		}
		seen[n.Rule] = true
	}
	for _, k := range []result.FindingKind{result.KindRegression, result.KindCPUHotspot, result.KindLockContention, result.KindMemoryLeak, result.KindCoherency, result.KindGCPressure,
		result.KindSlowDatabase, result.KindCPUSaturation, result.KindMemoryPressure, result.KindLatencyKnee, result.KindThroughputShortfall, result.KindSoakDegradation,
		result.KindBenchVariance, result.KindBenchMemory, result.KindBenchSlowOp} {
		if !seen[k] {
			t.Errorf("%s is neither evaluated nor listed as not evaluated", k)
		}
	}
	for _, k := range []result.FindingKind{result.KindGeneratorSaturated, result.KindErrorRate, result.KindSlowResponse, result.KindNetworkLatency, result.KindConnectionErrors} {
		if seen[k] {
			t.Errorf("%s has its data in a bare run but was not evaluated", k)
		}
	}
}

// demoRun is shaped like `stampede demo --fault leak,hotspot,lock` with
// the watch beside it: the CPU profile names scoreProducts, the heap
// profiles rememberRequest, the mutex profile auditTrail; latency rises
// as users ramp up, as it does in the demo.
func demoRun() *result.Run {
	r := cleanRun()
	r.Comparison, r.Soak, r.Benchmarks, r.Scalability = nil, nil, nil, nil
	ramp(r, func(v int) float64 { return 20 + float64(v*v)/10 }, noErrs, "")
	const demo = "github.com/stampede-perf/stampede/demo"
	r.System.Hotspots = []result.Hotspot{
		{Function: "goexit", Package: "runtime", FlatPct: 0, CumPct: 97},
		{Function: "(*conn).serve", Package: "net/http", FlatPct: 0.2, CumPct: 90},
		{Function: "(*Shop).listProducts", Package: demo, FlatPct: 0.4, CumPct: 64},
		{Function: "scoreProducts", Package: demo, FlatPct: 6, CumPct: 61},
		{Function: "block", Package: "crypto/internal/fips140/sha256", FlatPct: 38, CumPct: 38},
		{Function: "mallocgc", Package: "runtime", FlatPct: 7, CumPct: 9},
	}
	r.System.Contention = []result.Contention{
		{Function: demo + ".(*Shop).auditTrail", Kind: "mutex", DelayPct: 92, DelayS: 300},
		{Function: demo + ".(*Shop).auditTrail", Kind: "block", DelayPct: 88, DelayS: 130},
		{Function: "net/http.(*conn).serve", Kind: "block", DelayPct: 9, DelayS: 13},
	}
	r.System.Heap = &result.Heap{StartMB: 12, EndMB: 70, GrowthMBPerMin: 58, GrowthCILow: 55, GrowthCIHigh: 61, Confidence: 0.99, PValue: 1e-9,
		Points: 55, WindowS: 55, Source: result.HeapSourceLive, LeakSuspected: true, Verdict: result.HeapLeakSuspected, GCCycles: 40, Half1MBPerMin: 59, Half2MBPerMin: 57,
		TopGrowth: []result.HeapGrowth{{Function: demo + ".(*Shop).rememberRequest", MB: 52}, {Function: "encoding/json.(*decodeState).literalStore", MB: 0.5}}}
	r.System.Profiles = []result.Profile{{Kind: "cpu", Path: "cpu.pb.gz", TS: 30, DurationS: 10}, {Kind: "heap_start", Path: "heap-start.pb.gz", TS: 5}, {Kind: "heap_end", Path: "heap-end.pb.gz", TS: 60}, {Kind: "mutex", Path: "mutex.pb.gz", TS: 60}}
	return r
}

func TestDemoFaultsAreTheTopFindings(t *testing.T) {
	r := demoRun()
	Conclude(r, nil)
	if len(r.Findings) < 3 {
		t.Fatalf("findings:\n%s", dump(r.Findings))
	}
	t.Logf("findings:\n%s", dump(r.Findings))
	top := r.Findings[:3]
	for _, fault := range []string{"scoreProducts", "rememberRequest", "auditTrail"} {
		if !slices.ContainsFunc(top, func(f result.Finding) bool { return strings.Contains(f.Title, fault) && f.Severity == SeverityHigh }) {
			t.Errorf("%s is not named by a high finding among the top three:\n%s", fault, dump(r.Findings))
		}
	}
	// Each planted fault gets advice aimed at the function.
	for _, fault := range []string{"scoreProducts", "rememberRequest", "auditTrail"} {
		if !slices.ContainsFunc(r.Recommendations, func(rc result.Recommendation) bool { return strings.Contains(rc.Title, fault) && rc.Because != "" }) {
			t.Errorf("no recommendation names %s", fault)
		}
	}
	// The sha256 block the hotspot calls is not reported on its own.
	for _, f := range r.Findings {
		if strings.Contains(f.Title, "sha256") || strings.Contains(f.Title, "listProducts") {
			t.Errorf("a caller or callee of the hotspot was reported: %s", f.Title)
		}
	}
}

func TestGeneratorFindingComesFirst(t *testing.T) {
	r := demoRun()
	r.Generator.Saturated = true
	r.Summary.Errors, r.Errors = 3000, []result.ErrorCount{{Kind: "timeout", Count: 3000}}
	Conclude(r, nil)
	if r.Findings[0].Kind != result.KindGeneratorSaturated {
		t.Fatalf("first finding is %s", r.Findings[0].Kind)
	}
	for i := 1; i < len(r.Findings); i++ {
		a, b := r.Findings[i-1], r.Findings[i]
		if i > 1 && severityRank(a.Severity) > severityRank(b.Severity) {
			t.Errorf("%s (%s) before %s (%s)", a.Kind, a.Severity, b.Kind, b.Severity)
		}
	}
	if r.Recommendations[0].Plan != result.PlanQuickWins && r.Recommendations[0].Finding != result.KindGeneratorSaturated {
		t.Errorf("recommendations not ordered by plan: %+v", r.Recommendations[0])
	}
}

// TestFindingsAreExplained: every finding carries numbers with their
// source, a confidence, and advice that quotes them; every piece of
// advice answers a finding.
func TestFindingsAreExplained(t *testing.T) {
	for _, tc := range ruleCases() {
		r := cleanRun()
		tc.change(r)
		Conclude(r, tc.cfg)
		subjects := map[string]bool{}
		for _, f := range r.Findings {
			subjects[string(f.Kind)+"\x00"+f.Subject] = true
			if f.Title == "" || f.Subject == "" || f.Detail == "" || len(f.Evidence) == 0 {
				t.Errorf("%s: %s finding incomplete: %+v", tc.why, f.Kind, f)
			}
			if f.Confidence <= 0 || f.Confidence > 1 {
				t.Errorf("%s: %s confidence %v", tc.why, f.Kind, f.Confidence)
			}
			if f.Severity != SeverityHigh && f.Severity != SeverityMedium && f.Severity != SeverityLow {
				t.Errorf("%s: %s severity %q", tc.why, f.Kind, f.Severity)
			}
			for _, e := range f.Evidence {
				if e.Metric == "" || e.Source == "" {
					t.Errorf("%s: %s evidence without metric or source: %+v", tc.why, f.Kind, e)
				}
			}
			if !slices.ContainsFunc(r.Recommendations, func(rc result.Recommendation) bool { return rc.Finding == f.Kind && rc.Subject == f.Subject }) {
				t.Errorf("%s: no recommendation for %s %s", tc.why, f.Kind, f.Subject)
			}
		}
		for _, rc := range r.Recommendations {
			if !subjects[string(rc.Finding)+"\x00"+rc.Subject] {
				t.Errorf("%s: advice without a finding: %+v", tc.why, rc)
			}
			if rc.Because == "" || len(rc.Techniques) == 0 || rc.Title == "" || strings.Contains(rc.Title, "%!") {
				t.Errorf("%s: recommendation incomplete: %+v", tc.why, rc)
			}
			switch rc.Plan {
			case result.PlanQuickWins, result.PlanHighPriority, result.PlanLongTerm:
			default:
				t.Errorf("%s: plan %q", tc.why, rc.Plan)
			}
		}
		if b, err := json.Marshal(r); err != nil {
			t.Errorf("%s: the concluded run does not encode: %v", tc.why, err)
		} else if bytes.Contains(b, []byte("NaN")) {
			t.Errorf("%s: NaN in the document", tc.why)
		}
	}
}

func TestConcludeAgainReplaces(t *testing.T) {
	r := demoRun()
	Conclude(r, map[string]float64{"cpu_percnt": 50})
	var once bytes.Buffer
	result.Encode(&once, r)
	Conclude(r, map[string]float64{"cpu_percnt": 50})
	var twice bytes.Buffer
	result.Encode(&twice, r)
	if once.String() != twice.String() {
		t.Error("concluding twice changed the run")
	}
	n := 0
	for _, w := range r.Warnings {
		if strings.Contains(w, `unknown key "cpu_percnt"`) && strings.Contains(w, `did you mean "cpu_percent"`) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the unknown key is warned about %d times: %q", n, r.Warnings)
	}
}

func TestCheckSettings(t *testing.T) {
	errs := CheckSettings(map[string]float64{"cpu_percent": 90, "error_rate": -1, "nonsense": 3, "knee_error_rate": 0.05, "leak_slope_mb_per_h": 10})
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	if len(got) != 2 || !strings.Contains(got[0], "error_rate: -1") || !strings.Contains(got[1], `unknown key "nonsense"`) {
		t.Errorf("got %q", got)
	}
	s := settingsFrom(map[string]float64{"error_rate": -1, "cpu_percent": 90})
	if s["error_rate"] != 0.01 || s["cpu_percent"] != 90 {
		t.Errorf("settings %v", s)
	}
	keys := map[string]bool{}
	for _, st := range Settings() {
		if keys[st.Key] {
			t.Errorf("key %s twice", st.Key)
		}
		keys[st.Key] = true
		if ruleRank(st.Rule) < 0 {
			t.Errorf("key %s tunes no rule (%s)", st.Key, st.Rule)
		}
	}
}

func ruleRank(kind result.FindingKind) int {
	return slices.IndexFunc(rules(), func(r rule) bool { return r.kind == kind })
}

// TestKneedle against curves whose knee is known.
func TestKneedle(t *testing.T) {
	xs := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		why  string
		ys   []float64
		want int
	}{
		{"hockey stick bends at 6", []float64{10, 10, 11, 11, 12, 12, 30, 60, 90, 120}, 5},
		{"a straight line has no knee", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, -1},
		{"flat has no knee", []float64{5, 5, 5, 5, 5, 5, 5, 5, 5, 5}, -1},
		{"queueing curve 1/(1-ρ)", queueing(xs, 11), 7},
	} {
		got, d := kneedle(xs, tc.ys)
		if tc.want < 0 && got >= 0 && d >= kneeMinBend {
			t.Errorf("%s: knee at %d (bend %.2f), want none", tc.why, got, d)
		}
		if tc.want >= 0 && got != tc.want {
			t.Errorf("%s: knee at %d (bend %.2f), want %d", tc.why, got, d, tc.want)
		}
	}
}

func queueing(xs []float64, capacity float64) []float64 {
	ys := make([]float64, len(xs))
	for i, x := range xs {
		ys[i] = 1 / (1 - x/capacity)
	}
	return ys
}

// TestHotspotLead: when only the caller passes the threshold, the
// finding names it and points at the largest own function below it; the
// shares' granularity tells how many samples stand behind them.
func TestHotspotLead(t *testing.T) {
	r := cleanRun()
	const demo = "github.com/stampede-perf/stampede/demo"
	r.System.Hotspots = []result.Hotspot{ // a light load: 30 samples, 3.33% each
		{Function: "(*conn).serve", Package: "net/http", CumPct: 90},
		{Function: "(*Shop).instrument.func1", Package: demo, CumPct: 63.33},
		{Function: "(*Shop).listProducts", Package: demo, CumPct: 33.33},
		{Function: "scoreProducts", Package: demo, FlatPct: 3.33, CumPct: 26.67},
		{Function: "(*DB).retry", Package: "database/sql", CumPct: 16.67},
	}
	Conclude(r, nil)
	var f *result.Finding
	for i := range r.Findings {
		if r.Findings[i].Kind == result.KindCPUHotspot {
			f = &r.Findings[i]
		}
	}
	if f == nil || f.Subject != "demo.(*Shop).listProducts" {
		t.Fatalf("hotspot finding: %+v", f)
	}
	if !slices.ContainsFunc(f.Evidence, func(e result.Evidence) bool { return e.Metric == "next: demo.scoreProducts" && e.Value == 26.67 }) ||
		!strings.Contains(f.Detail, "demo.scoreProducts takes 27%") {
		t.Errorf("no lead to scoreProducts: %+v", f)
	}
	if !strings.Contains(f.Evidence[0].Note, "at least 30 samples") {
		t.Errorf("note %q", f.Evidence[0].Note)
	}
	if profileSamples(nil) != 0 || profileSamples([]result.Hotspot{{FlatPct: 0.1, CumPct: 50}}) != 1000 {
		t.Error("profileSamples")
	}
}

func TestShortFunc(t *testing.T) {
	for in, want := range map[string]string{
		"github.com/stampede-perf/stampede/demo.(*Shop).auditTrail":            "demo.(*Shop).auditTrail",
		"github.com/stampede-perf/stampede/demo.(*Shop).auditTrail.deferwrap1": "demo.(*Shop).auditTrail",
		"github.com/stampede-perf/stampede/demo.(*Shop).instrument.func1":      "demo.(*Shop).instrument.func1",
		"main.worker.gowrap2":           "main.worker",
		"net/http.(*conn).serve":        "http.(*conn).serve",
		"0x4a5b6c":                      "0x4a5b6c",
		"example.com/a.b/pkg.Func[...]": "pkg.Func[...]",
	} {
		if got := shortFunc(in); got != want {
			t.Errorf("shortFunc(%q) = %q, want %q", in, got, want)
		}
	}
}

func dump(fs []result.Finding) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  [%s %s %.2f] %s\n", f.Severity, f.Kind, f.Confidence, f.Title)
	}
	return b.String()
}

// TestKneeNeedsAMaterialRise: a knee whose p99 rises by two milliseconds
// is steep as a ratio and a low note; the same curve in tens of
// milliseconds, or with knee_min_rise_ms lowered under its rise, is medium.
func TestKneeNeedsAMaterialRise(t *testing.T) {
	curve := func(scale float64) []result.StressPoint {
		ms := []float64{1.9, 1.9, 2.0, 1.96, 4.23}
		pts := make([]result.StressPoint, len(ms))
		for i, v := range ms {
			pts[i] = result.StressPoint{Load: float64(50 * (i + 1)), P99: v * scale}
		}
		return pts
	}
	for _, tc := range []struct {
		why   string
		scale float64
		cfg   map[string]float64
		want  result.Severity
	}{
		{"two milliseconds", 1, nil, SeverityLow},
		{"twenty milliseconds", 10, nil, SeverityMedium},
		{"two milliseconds with knee_min_rise_ms 1", 1, map[string]float64{"knee_min_rise_ms": 1}, SeverityMedium},
	} {
		t.Run(tc.why, func(t *testing.T) {
			r := cleanRun()
			r.Stress = &result.Stress{Unit: "rps", Curve: curve(tc.scale)}
			Conclude(r, tc.cfg)
			i := slices.IndexFunc(r.Findings, func(f result.Finding) bool { return f.Kind == result.KindLatencyKnee })
			if i < 0 {
				t.Fatalf("no latency_knee finding; findings:\n%s", dump(r.Findings))
			}
			if f := r.Findings[i]; f.Severity != tc.want {
				t.Fatalf("severity %s, want %s: %s — %s", f.Severity, tc.want, f.Title, f.Detail)
			}
		})
	}
}

// TestNoKneeAtOneRate: an open model held at one rate delivers a little
// more or less each second, and a second after a stall delivers more,
// late, with a high p99 (10 or 20 % above the rate): that is one load
// level, not a curve to find a knee on. The same windows under a ramp from a tenth of the rate to it
// do make levels.
func TestNoKneeAtOneRate(t *testing.T) {
	for _, tc := range []struct {
		why       string
		rate      func(i int) float64
		wantLevel bool
	}{
		{"one rate", func(int) float64 { return 2000 }, false},
		{"a ramp", func(i int) float64 { return 200 + 30*float64(i) }, true},
	} {
		t.Run(tc.why, func(t *testing.T) {
			r := cleanRun()
			r.Model, r.Series = "open", nil
			for i := range 60 {
				rps, p99 := tc.rate(i)+float64(i%5)-2, 2.5+0.01*float64(i%7)
				off := 0.1 * float64(1+i/10%2) // stalls of two depths
				switch i % 10 {
				case 8: // a stall…
					rps, p99 = (1-off)*rps, 9
				case 9: // …then its backlog, late
					rps, p99 = (1+off)*rps, 98
				}
				r.Series = append(r.Series, result.Window{TS: float64(i), Requests: int64(rps), RPS: rps, P99: p99})
			}
			Conclude(r, nil)
			for _, f := range r.Findings {
				if f.Kind == result.KindLatencyKnee && !tc.wantLevel {
					t.Fatalf("a knee at one rate: %s", f.Title)
				}
			}
			lv, _, _ := (&evaluation{run: r}).loadLevels()
			if got := len(lv) >= minLevels; got != tc.wantLevel {
				t.Fatalf("%d load levels %+v: want at least %d = %v", len(lv), lv, minLevels, tc.wantLevel)
			}
		})
	}
}
