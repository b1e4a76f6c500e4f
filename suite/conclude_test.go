package suite

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// hasAnalysisWarning says whether a Run warns of the plan's analysis
// settings (what concluding it adds).
func hasAnalysisWarning(r *result.Run) bool {
	return slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.HasPrefix(w, "analysis: ") })
}

// A load concludes itself unless its caller defers the conclusions, and
// then it carries its analysis settings for the caller, its verdict
// judged by its thresholds only.
func TestRunLoadDefersConclusions(t *testing.T) {
	srv, _ := serialServer(t, time.Millisecond, 0, 0)
	p := testPlan(srv.URL, nil)
	p.Analysis = map[string]float64{"cpu_percnt": 50}
	concluded, err := RunLoad(context.Background(), p, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(concluded.NotEvaluated) == 0 || !hasAnalysisWarning(concluded) {
		t.Errorf("concluded: %d rules not evaluated, warnings %q", len(concluded.NotEvaluated), concluded.Warnings)
	}
	deferred, err := RunLoad(context.Background(), p, LoadOptions{DeferConclusions: true})
	if err != nil {
		t.Fatal(err)
	}
	if deferred.NotEvaluated != nil || deferred.Findings != nil || hasAnalysisWarning(deferred) || !maps.Equal(deferred.Analysis, p.Analysis) {
		t.Errorf("deferred: %d rules not evaluated, %d findings, warnings %q, analysis %v", len(deferred.NotEvaluated), len(deferred.Findings), deferred.Warnings, deferred.Analysis)
	}
	if deferred.Verdict != result.VerdictPass {
		t.Errorf("deferred verdict %q, want the thresholds' pass", deferred.Verdict)
	}
	deferred.SetConclusion(analyze.Judge(deferred, deferred.Analysis))
	if len(deferred.NotEvaluated) == 0 || !hasAnalysisWarning(deferred) {
		t.Errorf("concluded later: %d rules not evaluated, warnings %q", len(deferred.NotEvaluated), deferred.Warnings)
	}
}

// A test whose conclusions are deferred comes back with the plan's
// analysis settings and no conclusions; the baseline handed to the
// history is a Run of its own and is concluded.
func TestProtocolDefersConclusions(t *testing.T) {
	srv, _ := serialServer(t, time.Millisecond, 0, 0)
	p := testPlan(srv.URL, &plan.Tests{Profile: "quick"})
	p.Analysis = map[string]float64{"cpu_percnt": 50}
	var (
		mu        sync.Mutex
		baselines []*result.Run
	)
	run, err := Test(context.Background(), p, Options{TimeScale: 0.2, Only: []string{"baseline"}, DeferConclusions: true,
		OnBaseline: func(_ context.Context, r *result.Run) error {
			mu.Lock()
			defer mu.Unlock()
			baselines = append(baselines, r)
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if run.NotEvaluated != nil || run.Findings != nil || hasAnalysisWarning(run) || !maps.Equal(run.Analysis, p.Analysis) {
		t.Errorf("deferred test: %d rules not evaluated, %d findings, warnings %q, analysis %v", len(run.NotEvaluated), len(run.Findings), run.Warnings, run.Analysis)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(baselines) != 1 || len(baselines[0].NotEvaluated) == 0 || !hasAnalysisWarning(baselines[0]) {
		t.Fatalf("%d baselines recorded, the first not concluded", len(baselines))
	}
}
