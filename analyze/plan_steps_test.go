package analyze_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
)

// TestImplementationPlanOfARealRun: a loopback server fails a third of
// its requests; the error_rate finding's recommendation carries its
// plan — risk, ordered steps (confirm, change, verify), the expected
// gain in the run's own number (the error rate the server produced,
// counted here from the requests it answered) and the exact command
// that verifies it: the same load against the same target, compared
// with this run.
func TestImplementationPlanOfARealRun(t *testing.T) {
	var n, failed atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%3 == 0 {
			failed.Add(1)
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	p := &plan.Plan{
		Name:      "",
		Target:    plan.Target{BaseURL: srv.URL, Timeout: plan.Duration(5 * time.Second)},
		Scenarios: []*plan.Scenario{{Name: "default", Weight: 1, Steps: []*plan.Step{{Name: "GET /", Method: "GET", Path: "/"}}}},
		Load:      plan.LoadSpec{VUs: 1, Iterations: 300, Duration: plan.Duration(30 * time.Second)},
	}
	p.ApplyDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	run, err := suite.RunLoad(context.Background(), p, suite.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Close() // every handler has returned: n and failed are final
	run.ID = "run-7"
	analyze.Conclude(run, nil)
	if run.Summary.Requests != n.Load() {
		t.Fatalf("%d requests in the run, the server answered %d", run.Summary.Requests, n.Load())
	}
	var found bool
	for _, rc := range run.Recommendations {
		if rc.Finding != result.KindErrorRate {
			continue
		}
		found = true
		wantRate := float64(failed.Load()) / float64(n.Load())
		if want := fmt.Sprintf("%.0f%% of requests", 100*wantRate); !strings.Contains(rc.Estimate, want) {
			t.Errorf("estimate %q does not give the measured error rate %s", rc.Estimate, want)
		}
		wantVerify := "stampede run --url " + run.Target + " --compare run-7 --fail-on-regression 5%"
		if rc.Verify != wantVerify {
			t.Errorf("verify %q, want %q", rc.Verify, wantVerify)
		}
		if rc.Risk == "" || len(rc.Steps) < 3 || !strings.HasPrefix(rc.Steps[0], "Confirm the cause: ") ||
			!strings.HasPrefix(rc.Steps[1], "Change: "+rc.Techniques[0]) || !strings.HasPrefix(rc.Steps[len(rc.Steps)-1], "Verify: "+wantVerify) {
			t.Errorf("plan: risk %q, steps %q", rc.Risk, rc.Steps)
		}
		if rc.Plan != result.PlanQuickWins && rc.Plan != result.PlanHighPriority && rc.Plan != result.PlanLongTerm {
			t.Errorf("plan group %q", rc.Plan)
		}
	}
	if !found {
		t.Fatalf("no error_rate recommendation among %d", len(run.Recommendations))
	}
}
