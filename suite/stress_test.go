package suite

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// serialServer serves one request at a time, each holding a mutex for
// hold: its capacity is 1/hold requests per second by construction. Once
// more than 50 requests are queued it is overloaded, and it stays slow
// (slow more per request, outside the mutex, so capacity is unchanged)
// until after the queue has been short again for degrade: a recovery
// time known by construction.
func serialServer(t *testing.T, hold, slow, degrade time.Duration) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var mu sync.Mutex
	var served, queued atomic.Int64
	var degradedUntil atomic.Int64 // unix ns
	var lastEnd time.Time          // guarded by mu: when the previous request's service ended
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if queued.Add(1) > 50 {
			degradedUntil.Store(time.Now().Add(degrade).UnixNano())
		}
		mu.Lock()
		// While busy, each service ends exactly hold after the previous
		// one, so a sleep that overshoots is made up by the next: the
		// capacity is 1/hold however late the sleeps wake.
		start := time.Now()
		if start.Sub(lastEnd) < hold {
			start = lastEnd
		}
		lastEnd = start.Add(hold)
		time.Sleep(time.Until(lastEnd))
		mu.Unlock()
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

func TestStressFindsTheConstructedLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about 25 s of real load")
	}
	const hold = 2 * time.Millisecond
	capacity := float64(time.Second / hold) // 500 requests/s
	const degrade = 3 * time.Second
	srv, served := serialServer(t, hold, 20*time.Millisecond, degrade)
	// Not scaled: the first step holds the ten reference windows that
	// recovery is judged against, as in real use.
	p := testPlan(srv.URL, &plan.Tests{
		CoolDown: plan.Duration(500 * time.Millisecond),
		Stress: &plan.StressSpec{Variant: "rate", Start: 300, Factor: 1.5, Max: 2000, Bisect: 3,
			Hold: plan.Duration(time.Second), Warmup: plan.Duration(time.Second), P99: plan.Duration(100 * time.Millisecond)},
		Recovery: &plan.RecoverySpec{Limit: plan.Duration(20 * time.Second), Windows: 3},
	})
	var phases []string
	var run *result.Run
	var elapsed time.Duration
	// When stampede reports its own generator as the limit (the host is
	// too busy to keep the schedule), the measurement says nothing about
	// the server: measure again, and give up only if the host stays busy.
	for attempt := 1; ; attempt++ {
		phases = nil
		start := time.Now()
		var err error
		run, err = Test(context.Background(), p, Options{Only: []string{"stress"}, Progress: func(pg Progress) {
			if pg.Window == nil {
				phases = append(phases, pg.Phase)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		elapsed = time.Since(start)
		if run.Stress == nil || run.Stress.Limit != analyze.LimitGenerator {
			break
		}
		load, _ := os.ReadFile("/proc/loadavg")
		t.Logf("attempt %d: generator saturated (%s); load average %s", attempt, run.Stress.Why, strings.TrimSpace(string(load)))
		if attempt == 3 {
			t.Skipf("the host stayed too busy for the generator to keep its schedule in %d attempts: no measurement of the server was possible", attempt)
		}
	}
	s := run.Stress
	if s == nil {
		t.Fatalf("no stress section: %+v", run.Phases)
	}
	for _, pt := range s.Curve {
		t.Logf("step %6.1f/s: achieved %6.1f/s p50 %7.2fms p99 %7.2fms eff %.2f ok=%v %s probe=%v",
			pt.Load, pt.RPS, pt.P50, pt.P99, pt.Efficiency, pt.OK, pt.Limit, pt.Probe)
	}
	t.Logf("breaking point %.1f/s (%s: %s), last good %.1f/s, max sustained %.1f req/s, knee %.1f; recovered %v in %.1f s; %d served in %s",
		s.BreakingPoint, s.Limit, s.Why, s.LastGood, s.MaxThroughputRPS, s.Knee, s.Recovered, s.RecoveryS, served.Load(), elapsed)

	within := func(what string, v float64) {
		if v < 0.85*capacity || v > 1.15*capacity {
			t.Errorf("%s %.1f is not within ±15%% of the constructed capacity %.0f/s", what, v, capacity)
		}
	}
	within("breaking point", s.BreakingPoint)
	within("maximum sustained throughput", s.MaxThroughputRPS)
	if s.Limit != analyze.LimitLatency {
		t.Errorf("limit %q, want latency (a queue in front of a serial server)", s.Limit)
	}
	if s.Unit != "rps" || s.Variant != "rate" || len(s.Curve) < 5 {
		t.Errorf("unit %q variant %q, %d steps", s.Unit, s.Variant, len(s.Curve))
	}
	logWindows(t, run.Phases[len(run.Phases)-1].Series)
	// The server stays slow for 3 s after its queue clears: the recovery
	// time must cover that (its first windows are slow by construction).
	// Later, a stall of the host can queue enough requests to make the
	// server slow again, which is a real relapse, so the upper bound is
	// only the limit.
	rec := run.Phases[len(run.Phases)-1]
	if !s.Recovered || s.RecoveryS < degrade.Seconds()-1 || s.RecoveryLoad != 300 {
		t.Errorf("recovery: recovered %v after %.1f s at %v/s; the server was built to take about %s", s.Recovered, s.RecoveryS, s.RecoveryLoad, degrade)
	}
	if len(rec.Series) < 2 || rec.Series[0].P50 < 20 || rec.Series[1].P50 < 20 {
		t.Errorf("the first recovery windows should show the constructed slowness (20 ms more per request)")
	}
	if len(run.Phases) != 2 || run.Phases[0].Name != "stress" || run.Phases[1].Name != "recovery" || !run.Phases[1].Pass {
		t.Errorf("phases: %+v", phaseNames(run.Phases))
	}
	if len(phases) != 2 || phases[0] != "stress" || phases[1] != "recovery" {
		t.Errorf("progress saw phases %v", phases)
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

// TestStressPayloadVariant: a server that takes 1 ms per KiB of body
// breaks a p99 < 20 ms SLO between 16 and 32 KiB.
func TestStressPayloadVariant(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about 10 s of load")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		time.Sleep(time.Duration(n) * time.Millisecond / 1024)
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	p := testPlan(srv.URL, &plan.Tests{
		CoolDown: plan.Duration(time.Millisecond),
		Stress: &plan.StressSpec{Variant: "payload", Users: 2, Factor: 2, Max: 64, Bisect: 2,
			Hold: plan.Duration(time.Second), Warmup: plan.Duration(time.Millisecond), P99: plan.Duration(20 * time.Millisecond)},
		Recovery: &plan.RecoverySpec{Skip: true},
	})
	p.Variables = map[string]string{"payload": strings.Repeat("x", 1024)}
	p.Scenarios[0].Steps[0] = &plan.Step{Name: "POST /", Method: "POST", Path: "/", Body: "{{ payload }}"}
	run, err := Test(context.Background(), p, Options{Only: []string{"stress"}})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Stress
	for _, pt := range s.Curve {
		t.Logf("×%v: p99 %.1f ms ok=%v %s", pt.Load, pt.P99, pt.OK, pt.Limit)
	}
	if s.Unit != "× payload" || s.Limit != analyze.LimitLatency || s.BreakingPoint <= 16 || s.BreakingPoint > 32 || s.LastGood < 16 {
		t.Errorf("breaking point ×%v (%s), last good ×%v", s.BreakingPoint, s.Limit, s.LastGood)
	}
	if len(run.Phases) != 1 {
		t.Errorf("phases %v: recovery was skipped", phaseNames(run.Phases))
	}
}
