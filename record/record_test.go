package record

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
	"github.com/stampede-perf/stampede/suite"
)

// loopPlan is a short open-model load of url: rate requests a second
// for d.
func loopPlan(t *testing.T, url string, rate float64, d time.Duration) *plan.Plan {
	t.Helper()
	p := &plan.Plan{
		Name:       "record",
		Target:     plan.Target{BaseURL: url},
		Scenarios:  []*plan.Scenario{{Name: "s", Weight: 1, Steps: []*plan.Step{{Name: "get", Method: "GET", Path: "/"}}}},
		Load:       plan.LoadSpec{Rate: rate, Duration: plan.Duration(d)},
		Thresholds: []*plan.Threshold{{Expr: "error_rate < 1%", Metric: "error_rate", Op: "<", Value: 0.01}},
		Analysis:   map[string]float64{"mean_response_ms": 500},
	}
	p.ApplyDefaults()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// A run recorded through the service is in the history as it goes and,
// once finished, as the final Run: concluded once, by Finish, with the
// plan's analysis settings, every window handed to the sinks. Finish
// stores it even when the run's context was cancelled (an interrupted
// run keeps its results).
func TestRecordingStoresAndConcludes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	s := openStore(t)
	p := loopPlan(t, srv.URL, 20, 3*time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var seen []float64
	meta := MetaOf(ctx, p, "load", time.Now())
	meta.Tags = map[string]string{"env": "test"}
	rec, err := Begin(ctx, Options{Store: s, Meta: meta, Sinks: []Sink{func(w result.Window) { seen = append(seen, w.TS) }}})
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID() == "" {
		t.Fatal("no run id")
	}
	if e, err := s.Entry(ctx, rec.ID()); err != nil || e.State != store.StateRunning {
		t.Fatalf("the history has %+v (%v), want a running run", e, err)
	}
	run, err := suite.RunLoad(ctx, p, suite.LoadOptions{DeferConclusions: true,
		OnWindow: func(w result.Window, _ *result.Run) { rec.Window(w) }})
	if err != nil {
		t.Fatal(err)
	}
	if run.Findings != nil || run.NotEvaluated != nil || !maps.Equal(run.Analysis, p.Analysis) {
		t.Fatalf("a deferred run came back concluded (%d findings, %d not evaluated) or without its settings %v", len(run.Findings), len(run.NotEvaluated), run.Analysis)
	}
	cancel() // the run was interrupted as it ended: Finish still stores it
	out, err := rec.Finish(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if out.Regressed || out.Late != nil {
		t.Errorf("outcome %+v", out)
	}
	if run.ID != rec.ID() || run.Verdict == "" || len(run.NotEvaluated) == 0 || run.Comparison != nil {
		t.Fatalf("finished run: id %q (want %q), verdict %q, %d rules not evaluated, comparison %v", run.ID, rec.ID(), run.Verdict, len(run.NotEvaluated), run.Comparison)
	}
	want := analyze.Judge(run, p.Analysis)
	if a, b := marshal(t, want.NotEvaluated), marshal(t, run.NotEvaluated); a != b || want.Verdict != run.Verdict {
		t.Errorf("the run holds another conclusion than its plan's settings give:\n%s\n%s", b, a)
	}
	if len(seen) != len(run.Series) || len(seen) < 3 {
		t.Errorf("the sink saw %d windows, the run has %d", len(seen), len(run.Series))
	}
	stored, err := s.Get(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Tags["env"] != "test" || stored.Host == nil || stored.PlanHash != suite.Hash(p) {
		t.Errorf("stored without what Begin knew: tags %v host %v hash %q", stored.Tags, stored.Host, stored.PlanHash)
	}
	stored.Tags, stored.Host, stored.Git = nil, nil, nil // the history's own facts of the run
	if a, b := marshal(t, stored), marshal(t, run); a != b {
		t.Errorf("the history holds another Run:\n%s\n%s", a, b)
	}
	if _, err := rec.Finish(context.Background(), run); !errors.Is(err, ErrFinished) {
		t.Errorf("a second Finish: %v", err)
	}
	rec.Window(result.Window{TS: 99}) // after Finish: ignored, no panic
}

// Finish compares before it concludes: the regression it finds is a
// finding of the run, and fails the gate. Both Runs are documents made
// here, ten one-second windows each, the new one three times slower.
func TestRecordingComparesBeforeConcluding(t *testing.T) {
	base, head := windowed(10), windowed(30)
	if _, err := Begin(context.Background(), Options{Gate: 0.05}); err == nil {
		t.Error("a gate without a run to compare with was accepted")
	}
	for _, g := range []float64{2 * MaxGate, -0.05, math.NaN()} {
		if _, err := Begin(context.Background(), Options{Base: base, Gate: g}); err == nil {
			t.Errorf("a gate of %g was accepted", g)
		}
	}
	rec, err := Begin(context.Background(), Options{Base: base, Gate: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	out, err := rec.Finish(context.Background(), head)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Regressed || head.Comparison == nil || !head.Comparison.Regression {
		t.Fatalf("outcome %+v, comparison %+v", out, head.Comparison)
	}
	if !slices.ContainsFunc(head.Findings, func(f result.Finding) bool { return f.Kind == result.KindRegression }) {
		t.Errorf("no regression finding among %d findings: the conclusion was drawn before the comparison", len(head.Findings))
	}
	if head.ID != "" {
		t.Errorf("a run not stored got id %q", head.ID)
	}
	// Without a gate the comparison is made and concluded, never failed.
	rec, err = Begin(context.Background(), Options{Base: base})
	if err != nil {
		t.Fatal(err)
	}
	head = windowed(30)
	if out, err := rec.Finish(context.Background(), head); err != nil || out.Regressed || head.Comparison == nil {
		t.Errorf("no gate: outcome %+v (%v), comparison %v", out, err, head.Comparison != nil)
	}
}

// windowed is a passing load Run of ten one-second windows whose
// latencies lie around p50 ms.
func windowed(p50 float64) *result.Run {
	r := &result.Run{Version: result.Version, Kind: "load", Model: "closed", Verdict: analyze.VerdictPass,
		Summary: result.Summary{Requests: 1000, RPS: 100, DurationS: 10, Iterations: 1000,
			Latency: result.Latency{Mean: p50, P50: p50, P90: 2 * p50, P95: 2 * p50, P99: 3 * p50, Max: 4 * p50}}}
	for i := range 10 {
		d := float64(i%3) / 10
		r.Series = append(r.Series, result.Window{TS: float64(i), Requests: 100, RPS: 100, VUs: 10,
			P50: p50 + d, P95: 2*p50 + d, P99: 3*p50 + d, Max: 4 * p50})
	}
	return r
}

// A run that never produced a Run is kept as aborted, with why and the
// windows that reached the history.
func TestAbortKeepsTheWindows(t *testing.T) {
	s := openStore(t)
	rec, err := Begin(context.Background(), Options{Store: s, Meta: store.Meta{Plan: "aborted", Kind: "load"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		rec.Window(result.Window{TS: float64(i), Requests: 10, RPS: 10, P50: 1, P95: 2, P99: 3})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := rec.Abort(ctx, errors.New("the watch could not start")); err != nil {
		t.Fatal(err)
	}
	run, err := s.Get(context.Background(), rec.ID())
	if err != nil {
		t.Fatal(err)
	}
	if !run.Aborted || run.AbortReason != "the watch could not start" || run.Plan != "aborted" || len(run.Series) != 3 {
		t.Errorf("stored: aborted %v (%q), plan %q, %d windows", run.Aborted, run.AbortReason, run.Plan, len(run.Series))
	}
	if err := rec.Abort(ctx, nil); !errors.Is(err, ErrFinished) {
		t.Errorf("a second Abort: %v", err)
	}
}

func marshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
