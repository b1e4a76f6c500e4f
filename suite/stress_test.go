package suite

import (
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// serialServer serves one request at a time, each holding a mutex for
// hold: its capacity is 1/hold requests per second by construction (see
// workerServer).
func serialServer(t *testing.T, hold, slow, degrade time.Duration) (*httptest.Server, *atomic.Int64) {
	return workerServer(t, 1, hold, slow, degrade, 50)
}

// workerServer serves requests with a fixed number of workers, each
// request holding one for service: its capacity is workers/service
// requests per second by construction. Once more than overload requests
// are in it (queued or served) it is overloaded, and it stays slow (slow
// more per request, outside the workers, so capacity is unchanged) until
// after it has held fewer for degrade: a recovery time known by
// construction.
func workerServer(t *testing.T, workers int, service, slow, degrade time.Duration, overload int64) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	free := make(chan int, workers)
	lastEnd := make([]time.Time, workers) // lastEnd[w] is owned by whoever holds worker w
	for w := range workers {
		free <- w
	}
	var served, queued atomic.Int64
	var degradedUntil atomic.Int64 // unix ns
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if queued.Add(1) > overload {
			degradedUntil.Store(time.Now().Add(degrade).UnixNano())
		}
		k := <-free
		// While a worker is busy, each service ends exactly service after
		// its previous one, so a sleep that overshoots is made up by the
		// next: the capacity is workers/service however late sleeps wake.
		start := time.Now()
		if start.Sub(lastEnd[k]) < service {
			start = lastEnd[k]
		}
		lastEnd[k] = start.Add(service)
		time.Sleep(time.Until(lastEnd[k]))
		free <- k
		queued.Add(-1)
		if time.Now().UnixNano() < degradedUntil.Load() {
			time.Sleep(slow)
		}
		served.Add(1)
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv, &served
}

// testPlan is a one-step GET plan against url with tests.
func testPlan(url string, tests *plan.Tests) *plan.Plan {
	p := &plan.Plan{
		Name:      "protocol test",
		Target:    plan.Target{BaseURL: url, Timeout: plan.Duration(5 * time.Second)},
		Scenarios: []*plan.Scenario{{Name: "default", Weight: 1, Steps: []*plan.Step{{Name: "GET /", Method: "GET", Path: "/"}}}},
		Load:      plan.LoadSpec{VUs: 1, Duration: plan.Duration(time.Second)},
		Tests:     tests,
	}
	p.ApplyDefaults()
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return p
}

// TestStressFindsTheConstructedLimit runs the stress search, the
// closed-model search and recovery against a server whose capacity is
// set by construction — two workers, 60 ms each: 33.3 requests/s — far
// below what the generator drives even under the race detector on a
// busy two-core machine, so what is found is the server's limit, not the
// machine's.
func TestStressFindsTheConstructedLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about 50 s of real load")
	}
	// Beside TestProtocolEndToEnd, which also mostly waits on a slow
	// server (see there).
	t.Parallel()
	const workers, service = 2, 60 * time.Millisecond
	capacity := float64(workers) / service.Seconds() // 33.3 requests/s
	const slow, degrade = 200 * time.Millisecond, 2 * time.Second
	// Overloaded past 30 requests in it: a queue only a step well above
	// capacity builds, not the bunching of a stalled host.
	srv, served := workerServer(t, workers, service, slow, degrade, 30)
	// Not scaled: the first step holds the ten reference windows that
	// recovery is judged against, as in real use.
	p := testPlan(srv.URL, &plan.Tests{
		CoolDown: plan.Duration(500 * time.Millisecond),
		Stress: &plan.StressSpec{Variant: "rate", Start: 15, Factor: 2, Max: 1000, Bisect: 8, Precision: 0.05, Budget: plan.Duration(time.Minute),
			Hold: plan.Duration(2 * time.Second), Warmup: plan.Duration(time.Second),
			Closed: true, ClosedUsers: 16},
		Recovery: &plan.RecoverySpec{Limit: plan.Duration(20 * time.Second), Windows: 3},
	})
	// The latency limit is the median at two service times: a queue 5%
	// above capacity doubles it within a step (latency is counted from
	// each request's intended start), while a stall of a busy host —
	// which bunches a few requests and would break a p99 or p95 of the
	// hundred requests of a step far below capacity — does not.
	p.Thresholds = []*plan.Threshold{{Expr: "p50 < 120ms", Metric: "p50", Op: "<", Value: 120}}
	var phases, details []string
	start := time.Now()
	run, err := Test(context.Background(), p, Options{Only: []string{"stress"}, Progress: func(pg Progress) {
		if pg.Window == nil {
			phases = append(phases, pg.Phase)
			details = append(details, pg.Detail)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	s := run.Stress
	if s == nil {
		t.Fatalf("no stress section: %+v", run.Phases)
	}
	logCurve(t, s)
	if c := s.Closed; c != nil {
		for _, pt := range c.Curve {
			t.Logf("closed %3d users: %6.2f/s p50 %7.2fms p99 %7.2fms saturated=%v", pt.Users, pt.RPS, pt.P50, pt.P99, pt.Saturated)
		}
	}
	t.Logf("breaking point %.2f %s (%s: %s), last good %.2f, precision %.3f, max sustained %.2f req/s; recovered %v in %.1f s; %d served in %s; warnings %q",
		s.BreakingPoint, s.Unit, s.Limit, s.Why, s.LastGood, s.Precision, s.MaxThroughputRPS, s.Recovered, s.RecoveryS, served.Load(), elapsed, s.Warnings)

	// The generator is far from its limit here: a step it could not keep
	// up with is measured again, and the search must end on the server.
	if s.Limit != analyze.LimitLatency {
		t.Fatalf("limit %q, want latency (a queue in front of a fixed pool of workers)", s.Limit)
	}
	within := func(what string, v, tol float64) {
		t.Helper()
		if v < (1-tol)*capacity || v > (1+tol)*capacity {
			t.Errorf("%s %.2f is not within ±%.0f%% of the constructed capacity %.2f/s", what, v, 100*tol, capacity)
		}
	}
	within("maximum sustained throughput", s.MaxThroughputRPS, 0.10)
	within("breaking point", s.BreakingPoint, 0.10)
	within("last good level", s.LastGood, 0.10)
	if s.Precision <= 0 || s.Precision > 0.05 {
		t.Errorf("the search ended with a bracket of %.1f%%, want ≤ 5%%", 100*s.Precision)
	}
	if s.Unit != UnitRequests || s.Variant != "rate" || s.RequestsPerIteration != 1 || math.Abs(s.BreakingPointRPS-s.BreakingPoint) > 1e-9 {
		t.Errorf("unit %q variant %q, %.2f requests per iteration, breaking point %.2f = %.2f requests/s", s.Unit, s.Variant, s.RequestsPerIteration, s.BreakingPoint, s.BreakingPointRPS)
	}
	// The search's steps ran within their default bound; the overload
	// recovery is measured from, the last step, without it.
	for i, pt := range s.Curve {
		last := i == len(s.Curve)-1
		if bounded := pt.MaxVUs > 0; bounded == last || pt.MaxVUs > 0 && pt.VUs > pt.MaxVUs {
			t.Errorf("step %d at %.2f/s: %d VUs within a bound of %d (0: none); want the search's steps bounded, the last overload not", i+1, pt.Load, pt.VUs, pt.MaxVUs)
		}
	}
	// Every probe after a broken step waited for the server to drain.
	if !slices.ContainsFunc(details, func(d string) bool { return strings.HasPrefix(d, "waiting for the target to drain") }) {
		t.Errorf("no probe waited for the target to drain: %q", details)
	}
	// The closed model finds the same capacity: two users keep both
	// workers busy.
	c := s.Closed
	if c == nil {
		t.Fatal("no closed-model capacity")
	}
	within("closed-model capacity", c.MaxThroughputRPS, 0.10)
	if c.Users != workers || c.Ratio < 0.9 || c.Ratio > 1.1 {
		t.Errorf("closed model: %d users reach %.2f/s, %.2f× the open model's; want %d users, 0.9–1.1×", c.Users, c.MaxThroughputRPS, c.Ratio, workers)
	}
	logWindows(t, run.Phases[len(run.Phases)-1].Series)
	// The server stays slow for 2 s after its queue clears: the recovery
	// time must cover that.
	// Later, a stall of the host can queue enough requests to make the
	// server slow again, which is a real relapse, so the upper bound is
	// only the limit.
	if !s.Recovered || s.RecoveryS < degrade.Seconds()-1 || s.RecoveryLoad != 15 {
		t.Errorf("recovery: recovered %v after %.1f s at %v/s; the server was built to take about %s", s.Recovered, s.RecoveryS, s.RecoveryLoad, degrade)
	}
	if len(run.Phases) != 2 || run.Phases[0].Name != "stress" || run.Phases[1].Name != "recovery" || !run.Phases[0].Pass || !run.Phases[1].Pass {
		t.Errorf("phases: %+v", run.Phases)
	}
	if run.Verdict != analyze.VerdictPass {
		t.Errorf("verdict %q (%s)", run.Verdict, run.VerdictReason)
	}
	// The Run's summary is the exact merge of its phases.
	var req int64
	for _, ph := range run.Phases {
		req += ph.Summary.Requests
	}
	if run.Summary.Requests != req || req == 0 {
		t.Errorf("summary has %d requests, phases %d", run.Summary.Requests, req)
	}
}

func phaseNames(ps []result.Phase) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func logWindows(t *testing.T, ws []result.Window) {
	for _, w := range ws {
		t.Logf("  t=%6.2f req %4d p50 %7.2f p99 %7.2f err %d", w.TS, w.Requests, w.P50, w.P99, w.Errors)
	}
}

func TestStressLoadVariants(t *testing.T) {
	p := testPlan("http://127.0.0.1:1", nil)
	p.Variables = map[string]string{"payload": "ab", "other": "x"}
	p.Databases = map[string]*plan.Database{"main": {Driver: "sqlite", DSN: "sqlite:x.db", Pool: 5, MinPool: 4}}
	cases := []struct {
		name    string
		spec    plan.StressSpec
		level   float64
		model   string
		vus     int
		rate    float64
		payload string
		pool    int
	}{
		{"rate: open model at the level", plan.StressSpec{Variant: "rate"}, 250, "open", 0, 250, "", 0},
		{"users: closed model at the level", plan.StressSpec{Variant: "users"}, 40, "closed", 40, 0, "", 0},
		{"payload: constant users, the variable repeated", plan.StressSpec{Variant: "payload", Users: 3}, 4, "closed", 3, 0, "abababab", 0},
		{"payload at a constant rate", plan.StressSpec{Variant: "payload", Rate: 50}, 2, "open", 0, 50, "abab", 0},
		{"database: every pool at the level", plan.StressSpec{Variant: "database"}, 2, "closed", 1, 0, "", 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := c.spec
			spec.Warmup = plan.Duration(time.Second)
			pr := &protocol{p: p, tests: &plan.Tests{Stress: &spec}}
			l, vars, dbs := pr.stressLoad(c.level, 3*time.Second)
			if l.Model != c.model || l.VUs != c.vus || l.Rate != c.rate || l.Duration != plan.Duration(3*time.Second) {
				t.Errorf("load %+v", l)
			}
			if c.payload != "" && (vars["payload"] != c.payload || vars["other"] != "x") {
				t.Errorf("variables %v", vars)
			}
			if c.payload == "" && vars != nil {
				t.Errorf("variables changed: %v", vars)
			}
			if c.pool > 0 && (dbs["main"].Pool != c.pool || dbs["main"].MinPool != c.pool || dbs["main"].DSN != "sqlite:x.db") {
				t.Errorf("databases %+v", dbs["main"])
			}
			if p.Variables["payload"] != "ab" || p.Databases["main"].Pool != 5 {
				t.Error("the plan itself was changed")
			}
		})
	}
}

// TestStressPayloadVariant: a server that takes 5 ms per KiB of body
// breaks a p50 < 100 ms SLO between 16 and 32 KiB. The median, and a
// service time of tens of milliseconds, leave a busy host's scheduling
// noise out of the outcome.
func TestStressPayloadVariant(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about 10 s of load")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		time.Sleep(5 * time.Duration(n) * time.Millisecond / 1024)
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	p := testPlan(srv.URL, &plan.Tests{
		CoolDown: plan.Duration(time.Millisecond),
		Stress: &plan.StressSpec{Variant: "payload", Users: 2, Factor: 2, Max: 64, Bisect: 2,
			Hold: plan.Duration(time.Second), Warmup: plan.Duration(time.Millisecond)},
		Recovery: &plan.RecoverySpec{Skip: true},
	})
	p.Thresholds = []*plan.Threshold{{Expr: "p50 < 100ms", Metric: "p50", Op: "<", Value: 100}}
	p.Variables = map[string]string{"payload": strings.Repeat("x", 1024)}
	p.Scenarios[0].Steps[0] = &plan.Step{Name: "POST /", Method: "POST", Path: "/", Body: "{{ payload }}"}
	run, err := Test(context.Background(), p, Options{Only: []string{"stress"}})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Stress
	for _, pt := range s.Curve {
		t.Logf("×%v: p50 %.1f ms ok=%v %s", pt.Load, pt.P50, pt.OK, pt.Limit)
	}
	if s.Unit != "× payload" || s.Limit != analyze.LimitLatency || s.BreakingPoint <= 16 || s.BreakingPoint > 32 || s.LastGood < 16 {
		t.Errorf("breaking point ×%v (%s), last good ×%v", s.BreakingPoint, s.Limit, s.LastGood)
	}
	if len(run.Phases) != 1 {
		t.Errorf("phases %v: recovery was skipped", phaseNames(run.Phases))
	}
}

// TestStressUnits: the rate variant's levels are in the plan's own unit,
// iterations/s unless every scenario is one request, and an iteration
// level is written beside the requests/s it makes.
func TestStressUnits(t *testing.T) {
	p := testPlan("http://127.0.0.1:1", nil)
	pr := &protocol{p: p, tests: &plan.Tests{Stress: &plan.StressSpec{Variant: plan.VariantRate}}}
	if u := pr.stressUnit(); u != UnitRequests {
		t.Errorf("one request an iteration: unit %q, want %q", u, UnitRequests)
	}
	q := *p
	q.Scenarios = []*plan.Scenario{p.Scenarios[0], {Name: "journey", Weight: 1, Steps: []*plan.Step{
		{Name: "a", Method: "GET", Path: "/a"}, {Name: "b", Method: "GET", Path: "/b"}, {Name: "c", Method: "GET", Path: "/c"}}}}
	pr = &protocol{p: &q, tests: pr.tests}
	pr.stress = &stressState{unit: pr.stressUnit()}
	if pr.stress.unit != UnitIterations {
		t.Errorf("a three-request journey: unit %q, want %q", pr.stress.unit, UnitIterations)
	}
	if got, want := pr.levelText(2320, 2.99), "2320 iterations/s (6937 requests/s at 2.99 requests per iteration)"; got != want {
		t.Errorf("level %q, want %q", got, want)
	}
	pr.tests = &plan.Tests{Stress: &plan.StressSpec{Variant: plan.VariantUsers}}
	if u := pr.stressUnit(); u != "users" {
		t.Errorf("users variant: unit %q", u)
	}
}

// logCurve logs the steps of a stress search.
func logCurve(t *testing.T, s *result.Stress) {
	t.Helper()
	for _, pt := range s.Curve {
		t.Logf("step %6.2f/s: achieved %6.2f/s p50 %7.2fms p99 %7.2fms eff %.2f ok=%v %s probe=%v saturated=%v",
			pt.Load, pt.RPS, pt.P50, pt.P99, pt.Efficiency, pt.OK, pt.Limit, pt.Probe, pt.Saturated)
	}
}

// TestStressPool: a rate step's bound on its iterations in flight is the
// plan's tests.stress.max_vus, else StressPoolHeadroom times what its
// rate needs at the duration of an iteration at rest, at least
// MinStressPool, and none (the open model's default) once that reaches
// the default, before anything was measured, or for the last overload
// and the recovery.
func TestStressPool(t *testing.T) {
	p := testPlan("http://127.0.0.1:1", nil)
	cases := []struct {
		name   string
		maxVUs int
		iterMS float64
		full   bool
		level  float64
		want   int
	}{
		{"nothing measured at rest", 0, 0, false, 1400, 0},
		{"a fast service: the floor", 0, 0.66, false, 1400, MinStressPool},
		{"Little's law with headroom", 0, 50, false, 200, 200}, // 20 × 200/s × 50 ms
		{"rounded up", 0, 50, false, 201, 201},                 // 201 exactly
		{"at the default: unbounded", 0, 100, false, 500, 0},   // 1000 ≥ the default 1000
		{"a slow journey: unbounded", 0, 2000, false, 100, 0},  // 4000 > 1000
		{"the plan's own bound", 300, 0.66, false, 1400, 300},  // whatever was measured
		{"the plan's own bound holds for the last overload", 300, 0.66, true, 1400, 300},
		{"the last overload and recovery: unbounded", 0, 0.66, true, 1400, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pr := &protocol{p: p, tests: &plan.Tests{Stress: &plan.StressSpec{Variant: "rate", MaxVUs: c.maxVUs}}}
			pr.stress = &stressState{iterMS: c.iterMS, full: c.full}
			if got := pr.stressPool(c.level); got != c.want {
				t.Errorf("stressPool(%v) = %d, want %d", c.level, got, c.want)
			}
			l, _, _ := pr.stressLoad(c.level, time.Second)
			if l.MaxVUs != c.want {
				t.Errorf("the step's load bounds %d VUs, want %d", l.MaxVUs, c.want)
			}
		})
	}
}
