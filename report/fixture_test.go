package report

import (
	"flag"
	"math"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/result"
)

var update = flag.Bool("update", false, "rewrite the golden files (and the screenshot) in testdata")

// richRun is a run with every section a report shows: phases, errors by
// kind, a watched system with profiles, a stress curve, a scalability
// fit, a baseline comparison and benchmarks, concluded by analyze.
func richRun() *result.Run {
	start := time.Date(2026, 3, 4, 10, 30, 0, 0, time.UTC)
	const demo = "github.com/stampede-perf/stampede/demo"
	r := &result.Run{
		Version: result.Version, ID: "run-42", Kind: "test", Plan: "Demo shop, standard mix", Target: "http://127.0.0.1:8080",
		Model: "closed", StartedAt: start, EndedAt: start.Add(2 * time.Minute), Verdict: "fail",
		Tags: map[string]string{"env": "ci"},
		Host: &result.Host{Hostname: "ci-1", OS: "linux", Arch: "amd64", Cores: 2, GOMAXPROCS: 2, GoVersion: "go1.26"},
		Git:  &result.Git{Commit: "0123456789abcdef0123", Branch: "main"},
		Summary: result.Summary{
			Requests: 24000, Errors: 310, ErrorRate: 310.0 / 24000, RPS: 200, DurationS: 120, Iterations: 8000, MaxVUs: 60,
			Latency: result.Latency{Min: 0.4, Mean: 38, Stddev: 40, P50: 22, P90: 80, P95: 120, P99: 410, P999: 900, Max: 2100},
			Phases:  result.Timing{Connect: 0.3, TTFB: 30, Receive: 0.5},
		},
		Steps: []result.StepResult{
			{Scenario: "Browse Products", Step: "list products", Kind: "http", Requests: 12000, Errors: 10, RPS: 100, Latency: result.Latency{Mean: 45, P50: 30, P90: 90, P95: 140, P99: 480, P999: 950, Max: 2100}},
			{Scenario: "Add to Cart", Step: "add to cart", Kind: "http", Requests: 12000, Errors: 300, RPS: 100, Latency: result.Latency{Mean: 31, P50: 15, P90: 70, P95: 100, P99: 300, P999: 700, Max: 1500},
				Redirects: 12100, RedirectMS: 4.2, Hops: []result.HopResult{
					{Status: 302, To: "/cart", Requests: 12000, Errors: 3, RPS: 100, Latency: result.Latency{Mean: 4.1, P50: 3.5, P90: 6, P95: 7.25, P99: 12.5, P999: 30, Max: 41}},
					{Status: 307, To: "/cart/<b>|x*_y", Requests: 60, RPS: 0.5, Latency: result.Latency{Mean: 9, P50: 8, P90: 11, P95: 13, P99: 19, P999: 19, Max: 19}},
					{Status: 0, To: "(other destinations)", Requests: 40, Errors: 1, RPS: 0.333, Latency: result.Latency{Mean: 12, P50: 10, P90: 20, P95: 22, P99: 30, P999: 30, Max: 30}},
				}},
		},
		Errors: []result.ErrorCount{
			{Scenario: "Add to Cart", Step: "add to cart", Kind: "timeout", Count: 240, Example: "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"},
			{Kind: "http_5xx", Status: 503, Count: 70, Example: `503 <html><script>alert("x")</script></html> | pipe`},
		},
		Thresholds: []result.ThresholdResult{
			{Expr: "p95 < 500ms", Pass: true, Value: 120, Unit: "ms"},
			{Expr: "error_rate < 1%", Pass: false, Value: 310.0 / 24000, Unit: "ratio"},
			{Expr: "p95 < 800ms", Scope: "Checkout", Pass: true, Value: 300, Unit: "ms"},
		},
		Generator: result.Generator{CPUPercent: 35, CPUSeconds: 42, GOMAXPROCS: 2, StartLagP99: 0.2},
		Warnings:  []string{"metrics collection fell behind the VUs; some requests waited to be recorded"},
	}
	for i := range 120 {
		ts := float64(i)
		phase, vus := "warm-up", 5
		switch {
		case i >= 90:
			phase, vus = "spike", 60
		case i >= 10:
			phase, vus = "load", 10+(i-10)/4
		}
		p50 := 15 + 0.2*float64(vus) + 2*math.Sin(ts/5)
		w := result.Window{TS: ts, Requests: int64(150 + vus*2), RPS: float64(150 + vus*2), VUs: vus, Phase: phase,
			P50: p50, P95: 3 * p50, P99: 6*p50 + float64(vus*vus)/20, Max: 10 * p50}
		if i >= 95 {
			w.Errors = 8
			w.ErrKinds = map[string]int64{"timeout": 6, "http_5xx": 2}
		}
		r.Series = append(r.Series, w)
	}
	sys := &result.System{
		IntervalS: 1,
		Process:   &result.ProcessStats{PID: 4242, Name: "shop", CPUPercent: result.Stat{Mean: 120, Max: 190}, RSSMB: result.Span{Start: 40, Max: 210, End: 205}, Threads: result.Stat{Mean: 12, Max: 14}, FDs: result.Stat{Mean: 40, Max: 70}},
		Hotspots: []result.Hotspot{
			{Function: "(*conn).serve", Package: "net/http", FlatPct: 0.2, CumPct: 92},
			{Function: "(*Shop).listProducts", Package: demo, FlatPct: 0.5, CumPct: 66, Own: true, OwnBelowPct: 62},
			{Function: "scoreProducts", Package: demo, FlatPct: 6, CumPct: 62, Own: true, Path: []result.CallShare{
				{Function: "crypto/sha256.Sum256", Pct: 45}, {Function: "crypto/internal/fips140/sha256.blockSHANI", Pct: 41}}},
			{Function: "blockSHANI", Package: "crypto/internal/fips140/sha256", FlatPct: 41, CumPct: 41},
		},
		Waits: &result.Waits{Snapshots: 100, SpanS: 10, InRequest: 12.5, Observations: 1250, RPS: 250, States: []result.WaitState{
			{State: "lock", Pct: 60, Goroutines: 7.5, MSPerReq: 30, Sites: []result.WaitSite{{Function: demo + ".(*Shop).auditTrail", Own: true, Via: "sync.(*Mutex).Lock", Pct: 60}}},
			{State: "cpu", Pct: 40, Goroutines: 5, MSPerReq: 20, Sites: []result.WaitSite{{Function: demo + ".scoreProducts", Own: true, Pct: 38}}},
		}},
		Contention: []result.Contention{
			{Function: demo + ".(*Shop).auditTrail", Kind: "mutex", DelayPct: 99, DelayS: 480},
			{Function: demo + ".(*Shop).auditTrail", Kind: "block", DelayPct: 70, DelayS: 420},
		},
		Heap: &result.Heap{StartMB: 20, EndMB: 160, GrowthMBPerMin: 70, GrowthCILow: 66, GrowthCIHigh: 74, Confidence: 0.99, PValue: 1e-8, Points: 110, WindowS: 109, Source: "heap_inuse", LeakSuspected: true,
			TopGrowth: []result.HeapGrowth{{Function: demo + ".(*Shop).rememberRequest", MB: 131.5}, {Function: "bufio.NewWriterSize", MB: 0.5}}},
		GC:       &result.GC{CyclesPerS: 6, PausePct: 1.2},
		Profiles: []result.Profile{{Kind: "cpu", Path: "results/run-42/cpu.pb.gz", TS: 50, DurationS: 10}, {Kind: "heap_start", Path: "results/run-42/heap-start.pb.gz", TS: 1}},
		Database: &result.Database{CacheHitRatio: 0.97, MaxConnections: 100, SlowStatements: []result.SlowStatement{{Query: "SELECT id, name FROM products ORDER BY score DESC LIMIT $1", Calls: 12000, TotalMS: 36000, MeanMS: 3, SharePct: 71}}},
		Warnings: []string{"process 4242: 2 samples could not read /proc/4242/io"},
	}
	for i := range 120 {
		ts := float64(i + 1)
		sys.Timeline = append(sys.Timeline, result.SystemPoint{TS: ts, CPUPercent: 60 + float64(i), HostCPU: 40 + float64(i)/3, HostMemPct: 55 + float64(i)/10,
			RSSMB: 40 + 1.4*float64(i), HeapMB: 20 + 1.17*float64(i), Goroutines: 80,
			ReadBPS: 2e6, WriteBPS: 5e5 + 1e4*float64(i), NetInBPS: 3e6, NetOutBPS: 9e6})
	}
	r.System = sys
	r.Phases = []result.Phase{
		{Name: "warm-up", Kind: "warmup", StartS: 0, Pass: true, Summary: result.Summary{Requests: 1600, DurationS: 10, Latency: result.Latency{Mean: 20}}},
		{Name: "load", Kind: "load", StartS: 10, Pass: true, Summary: result.Summary{Requests: 16000, Errors: 0, DurationS: 80, Latency: result.Latency{Mean: 30, P95: 100}},
			Thresholds: []result.ThresholdResult{{Expr: "p99 < 1s", Pass: true, Value: 380, Unit: "ms"}}},
		{Name: "spike", Kind: "spike", StartS: 90, Pass: false, Summary: result.Summary{Requests: 6400, Errors: 310, DurationS: 30, Latency: result.Latency{Mean: 70, P95: 300}}},
	}
	r.Stress = &result.Stress{BreakingPoint: 500, Unit: "rps", Limit: "latency", MaxThroughputRPS: 520, RecoveryS: 4, Recovered: true,
		Curve: []result.StressPoint{
			{Load: 100, RPS: 100, P50: 12, P99: 40, OK: true, Efficiency: 1},
			{Load: 200, RPS: 199, P50: 13, P99: 45, OK: true, Efficiency: 0.99},
			{Load: 300, RPS: 297, P50: 14, P99: 52, OK: true, Efficiency: 0.99},
			{Load: 400, RPS: 392, P50: 18, P99: 90, OK: true, Efficiency: 0.98},
			{Load: 500, RPS: 470, P50: 40, P99: 420, OK: true, Efficiency: 0.94},
			{Load: 600, RPS: 520, P50: 180, P99: 2400, ErrorRate: 0.04, OK: false, Efficiency: 0.87},
		}}
	r.Scalability = &result.Scalability{
		Configs: []result.ScaleConfig{
			{Name: "1 replica", N: 1, RPS: 100, P99: 40}, {Name: "2 replicas", N: 2, RPS: 185, P99: 42},
			{Name: "4 replicas", N: 4, RPS: 300, P99: 50}, {Name: "8 replicas", N: 8, RPS: 360, P99: 80}, {Name: "16 replicas", N: 16, RPS: 330, P99: 150, ErrorRate: 0.001},
		},
		Efficiency: []float64{1, 0.93, 0.75, 0.45, 0.21}, LinearityR2: 0.7,
		USL: &result.USL{Sigma: 0.08, Kappa: 0.004, Lambda: 102, PeakConcurrency: 15.2, R2: 0.97},
	}
	r.Comparison = &result.Comparison{Base: "run-41", New: "run-42", Threshold: 0.05, Alpha: 0.05, Tested: 3, Regression: true,
		Rows: []result.ComparisonRow{
			{Name: "overall", Metric: "p99", Unit: "ms", Old: 300, New: 410, DeltaPct: 36.7, Delta: 110, PValue: 0.0001, PAdjusted: 0.0003, Significant: true, Regression: true, Verdict: "worse", NOld: 120, NNew: 120},
			{Name: "overall", Metric: "rps", Unit: "req/s", Old: 198, New: 200, DeltaPct: 1, Delta: 2, PValue: 0.5, PAdjusted: 1, Verdict: "~", NOld: 120, NNew: 120},
			{Name: "Add to Cart/add to cart", Metric: "p50", Unit: "ms", Old: 18, New: 15, DeltaPct: -16.7, Delta: -3, PValue: 0.001, PAdjusted: 0.002, Significant: true, Verdict: "better", NOld: 120, NNew: 120},
		}}
	r.Benchmarks = []result.Benchmark{
		{Name: "BenchmarkScore", Package: demo, Runs: 10, MeanS: 0.0021, StddevS: 0.0009, MedianS: 0.002, MinS: 0.0015, MaxS: 0.0045, BytesOp: 3 << 20, AllocsOp: 120},
	}
	analyze.Conclude(r, nil)
	return r
}

// bareRun is a run with almost nothing: a few requests, no series.
func bareRun() *result.Run {
	r := &result.Run{Version: result.Version, Kind: "load", Model: "open", Verdict: "pass",
		Summary: result.Summary{Requests: 10, RPS: 1, DurationS: 10, Iterations: 10, TargetRPS: 1, Latency: result.Latency{Mean: 2, P50: 2, P95: 3, P99: 3}}}
	analyze.Conclude(r, nil)
	return r
}
