package netcond_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/internal/racedetect"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/report"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
)

// The network variant steps added latency at a fixed load until the
// p95 SLO breaks, places the break between the steps, and names the
// chatty scenario: checkout makes four requests one after another, so
// each added round trip costs its iteration four, where browse pays one.
// The server answers at once: every millisecond of difference between
// the steps is the network's.
func TestNetworkStressFindsTheChattyScenario(t *testing.T) {
	racedetect.Skip(t, "timing: the race detector's late timers blur the round trips")
	body := bytes.Repeat([]byte("x"), 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	t.Cleanup(srv.Close)
	p := &plan.Plan{Name: "network stress", Target: plan.Target{BaseURL: srv.URL, Timeout: plan.Duration(5 * time.Second)},
		Load: plan.LoadSpec{VUs: 1, Duration: plan.Duration(time.Second)}}
	p.Tests = &plan.Tests{
		CoolDown: plan.Duration(time.Millisecond),
		Stress: &plan.StressSpec{Variant: plan.VariantNetwork, Users: 2, Factor: 2, Max: 1,
			Hold: plan.Duration(2 * time.Second), Warmup: plan.Duration(time.Millisecond),
			Network: &plan.NetworkSteps{Latency: []plan.Duration{0, plan.Duration(20 * time.Millisecond), plan.Duration(60 * time.Millisecond), plan.Duration(200 * time.Millisecond)}}},
		Recovery: &plan.RecoverySpec{Skip: true},
	}
	get := func(name string) *plan.Step { return &plan.Step{Name: name, Method: "GET", Path: "/" + name} }
	p.Scenarios = []*plan.Scenario{
		{Name: "checkout", Weight: 1, Steps: []*plan.Step{get("cart"), get("address"), get("shipping"), get("pay")}},
		{Name: "browse", Weight: 1, Steps: []*plan.Step{get("home")}},
	}
	p.Thresholds = []*plan.Threshold{{Expr: "p95 < 100ms", Metric: "p95", Op: "<", Value: 100}}
	p.ApplyDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run, err := suite.Test(ctx, p, suite.Options{Only: []string{"stress"}})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Stress
	if s == nil || s.Network == nil {
		t.Fatalf("no network stress outcome: %+v", s)
	}
	ns := s.Network
	for _, st := range ns.Steps {
		t.Logf("%v ms: p50 %.1f p95 %.1f ok=%v %s", st.Value, st.P50, st.P95, st.OK, st.Why)
	}
	t.Logf("%s; chattiness %+v; sensitive %+v", ns.Summary, ns.Chattiness, ns.Sensitive)
	// p95 is one round trip: 40 ms at 20 ms each way holds, 120 ms at 60
	// breaks, and 100 ms is crossed at 50 ms each way.
	if len(ns.Steps) != 3 || !ns.Steps[1].OK || ns.Steps[2].OK || ns.LastHeld != 20 || ns.BrokeAt != 60 {
		t.Fatalf("want 0 and 20 ms held, 60 ms broke and the 200 ms step never run; got %+v", ns.Steps)
	}
	if ns.BreaksAt < 40 || ns.BreaksAt > 58 || !strings.HasPrefix(ns.Summary, "p95 over 100 ms once added latency passes") {
		t.Errorf("summary %q (breaks at %v ms each way, want about 50)", ns.Summary, ns.BreaksAt)
	}
	if s.Limit != analyze.LimitLatency {
		t.Errorf("limit %q", s.Limit)
	}
	if len(ns.Chattiness) != 2 || ns.Chattiness[0].Scenario != "checkout" {
		t.Fatalf("chattiness %+v: checkout first", ns.Chattiness)
	}
	// A busy host adds its own delay to every request alike: the ratio
	// of the two scenarios is held tighter than either.
	c, b := ns.Chattiness[0], ns.Chattiness[1]
	if c.RoundTrips < 3.5 || c.RoundTrips > 5 || c.RequestsPerIteration < 3.9 || c.RequestsPerIteration > 4.1 {
		t.Errorf("checkout: %v round trips, %v requests per iteration; want 4 and 4", c.RoundTrips, c.RequestsPerIteration)
	}
	if b.RoundTrips < 0.85 || b.RoundTrips > 1.25 {
		t.Errorf("browse: %v round trips, want 1", b.RoundTrips)
	}
	if r := c.RoundTrips / b.RoundTrips; r < 3.4 || r > 4.6 {
		t.Errorf("checkout makes %.2f× browse's round trips, want 4", r)
	}
	var found bool
	for _, f := range run.Findings {
		if f.Kind == result.KindNetworkSensitivity && f.Subject == "checkout" {
			found = true
			t.Logf("finding: %s", f.Title)
		}
	}
	var out strings.Builder
	if err := report.Console(&out, run); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"stress (network: latency, ms added each way)", ns.Summary, "checkout: 4 requests per iteration"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the console report lacks %q:\n%s", want, out.String())
		}
	}
	if !found {
		t.Errorf("no network_sensitivity finding names checkout: %+v", run.Findings)
	}
}
