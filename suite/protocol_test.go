package suite

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// quickTests is the quick profile with the stress bounded for a small
// loopback server.
func quickTests() *plan.Tests {
	return &plan.Tests{Profile: "quick", Stress: &plan.StressSpec{Max: 1000, Factor: 2, P99: plan.Duration(200 * time.Millisecond)}}
}

func TestProtocolEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about 40 s of real load")
	}
	// Most of its minute is spent waiting on a 40 requests/s server, as
	// is TestStressFindsTheConstructedLimit's on a 33 requests/s one: the
	// two run side by side with the package's other long waits (the
	// scalability tests' instances), two at a time, after its serial
	// tests have ended.
	t.Parallel()
	// A serial server with a 25 ms hold (40 requests/s) gives the stress
	// phase somewhere to break far below what the generator drives even
	// under the race detector on a busy two-core machine: the outcome is
	// the server's, not the machine's.
	srv, _ := serialServer(t, 25*time.Millisecond, 0, 0)
	p := testPlan(srv.URL, quickTests())
	var mu sync.Mutex
	var events []Progress
	var baselines []*result.Run
	benchStarted := make(chan struct{})
	var once sync.Once
	run, err := Test(context.Background(), p, Options{
		TimeScale: 0.1,
		Progress: func(pg Progress) {
			mu.Lock()
			events = append(events, pg)
			mu.Unlock()
			if pg.Phase == "baseline-10" {
				once.Do(func() { close(benchStarted) })
			}
		},
		OnBaseline: func(_ context.Context, r *result.Run) error {
			mu.Lock()
			baselines = append(baselines, r)
			mu.Unlock()
			return errors.New("store unavailable")
		},
		Bench: func(ctx context.Context, suites []*plan.BenchmarkSuite) ([]result.Benchmark, error) {
			// Only returns once the load phases are under way: it runs
			// alongside them, not before or after.
			select {
			case <-benchStarted:
				return []result.Benchmark{{Name: suites[0].Name}}, nil
			case <-time.After(30 * time.Second):
				return nil, errors.New("the load phases never started")
			}
		},
	}.withBench(p))
	if err != nil {
		t.Fatal(err)
	}
	for _, ph := range run.Phases {
		t.Logf("%-12s start %6.2f s, %5.2f s under load, %6d requests, %s", ph.Name, ph.StartS, ph.Summary.DurationS, ph.Summary.Requests, ph.Note)
	}
	want := []string{"warmup", "baseline-1", "baseline-10", "baseline-50", "normal", "peak", "spike", "volume", "stress", "recovery", "soak", "benchmarks"}
	if got := phaseNames(run.Phases); !slices.Equal(got, want) {
		t.Fatalf("phases %v, want %v", got, want)
	}
	var req int64
	var hists []string
	lastStart := -1.0
	for _, ph := range run.Phases {
		if ph.Kind == PhaseBench {
			if !ph.Pass {
				t.Errorf("benchmarks: %s", ph.Note)
			}
			continue
		}
		if ph.Summary.Requests == 0 || len(ph.Series) == 0 {
			t.Errorf("%s: %d requests, %d windows", ph.Name, ph.Summary.Requests, len(ph.Series))
		}
		if ph.StartS <= lastStart {
			t.Errorf("%s starts at %.3f s, not after %.3f s", ph.Name, ph.StartS, lastStart)
		}
		lastStart = ph.StartS
		for _, w := range ph.Series {
			if w.Phase != ph.Name || w.Hist != "" || w.TS < ph.StartS-1e-9 {
				t.Errorf("%s: window %+v", ph.Name, w)
				break
			}
		}
		req += ph.Summary.Requests
		hists = append(hists, ph.Summary.Hist)
	}
	// The whole is the merge of its phases, checked against a slow
	// reference: every recorded value, sorted, read by rank.
	if run.Summary.Requests != req {
		t.Errorf("run has %d requests, its phases %d", run.Summary.Requests, req)
	}
	if want := rankQuantile(t, hists, 0.99); math.Abs(run.Summary.Latency.P99-want) > 0.002*want+0.002 {
		t.Errorf("p99 %.3f ms, reference %.3f ms", run.Summary.Latency.P99, want)
	}
	prev := -1.0
	for _, w := range run.Series {
		if w.TS <= prev || w.Phase == "" || w.Hist == "" && w.Requests > 0 {
			t.Fatalf("series not on one clock or unlabelled: %+v after %.3f", w, prev)
		}
		prev = w.TS
	}
	if run.Kind != "test" || run.Stress == nil || run.Soak == nil || run.Verdict == "" || len(run.Benchmarks) != 1 {
		t.Errorf("kind %q stress %v soak %v verdict %q benchmarks %d", run.Kind, run.Stress != nil, run.Soak != nil, run.Verdict, len(run.Benchmarks))
	}
	// The server, not the generator, is the limit — its queue's latency,
	// or a rate it completed less than 95% of — and no step sustains
	// more than its 40 requests/s. (Where below that it breaks is left to
	// TestStressFindsTheConstructedLimit: one-window steps judge a p99 of
	// a few dozen requests, which one stall of a busy host can break.)
	if s := run.Stress; s != nil && (s.Limit != analyze.LimitLatency && s.Limit != analyze.LimitThroughput || len(s.Curve) == 0 || s.Unit != UnitRequests ||
		s.MaxThroughputRPS > 1.1*40 || s.LastGood <= 0) {
		t.Errorf("stress: limit %q (%s), unit %q, max sustained %.1f requests/s, last good %v", s.Limit, s.Why, s.Unit, s.MaxThroughputRPS, s.LastGood)
	}
	if len(baselines) != 1 || len(baselines[0].Phases) != 1 || baselines[0].Phases[0].Name != "baseline-50" || baselines[0].Kind != "load" {
		t.Errorf("OnBaseline saw %d runs", len(baselines))
	}
	if !slices.ContainsFunc(run.Warnings, func(w string) bool { return strings.Contains(w, "store unavailable") }) {
		t.Errorf("the baseline hook's error is not a warning: %q", run.Warnings)
	}
	// Progress: every phase announced in order, with what comes next and
	// an ETA that ends near zero.
	var announced []string
	for _, e := range events {
		if e.Window == nil && (len(announced) == 0 || announced[len(announced)-1] != e.Phase) {
			announced = append(announced, e.Phase)
			if e.Total != 11 || e.Index != len(announced) {
				t.Errorf("%s is phase %d of %d", e.Phase, e.Index, e.Total)
			}
		}
	}
	if !slices.Equal(announced, want[:11]) {
		t.Errorf("progress announced %v", announced)
	}
	if e := events[len(events)-1]; e.Next != "" || e.ETA > 10*time.Second {
		t.Errorf("last event: next %q, ETA %s", e.Next, e.ETA)
	}
	// The document encodes (no NaN or Inf anywhere) and decodes.
	path := filepath.Join(t.TempDir(), "run.json")
	if err := result.WriteFile(path, run); err != nil {
		t.Fatal(err)
	}
	back, err := result.ReadFile(path)
	if err != nil || len(back.Phases) != len(run.Phases) {
		t.Fatalf("round trip: %v", err)
	}
}

// withBench gives the plan a benchmark suite so that the Bench hook runs.
func (o Options) withBench(p *plan.Plan) Options {
	p.Benchmarks = []*plan.BenchmarkSuite{{Name: "noop", Command: "true"}}
	return o
}

// rankQuantile reads quantile q of the values recorded in encoded
// histograms by listing every value (at its bucket's representative) and
// taking the one at rank ⌊q·n + ½⌋ (clamped to 1…n), as HdrHistogram
// ranks.
func rankQuantile(t *testing.T, encs []string, q float64) float64 {
	t.Helper()
	var vals []int64
	for _, e := range encs {
		h, err := metrics.Decode(e)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range h.Distribution() {
			for range b.Count {
				vals = append(vals, b.To) // the bucket's highest equivalent value

			}
		}
	}
	slices.Sort(vals)
	rank := min(max(int(q*float64(len(vals))+0.5), 1), len(vals)) // HdrHistogram's rank
	return float64(vals[rank-1]) / 1000
}

func TestProtocolInterrupt(t *testing.T) {
	srv, _ := serialServer(t, time.Millisecond, 0, 0)
	p := testPlan(srv.URL, &plan.Tests{Profile: "quick"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// 3 s levels: the first window of baseline-10 closes well before its end.
	run, err := Test(ctx, p, Options{TimeScale: 0.6, Only: []string{"baseline"}, Progress: func(pg Progress) {
		if pg.Phase == "baseline-10" && pg.Window != nil {
			cancel() // Ctrl+C in the middle of the second baseline level
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if run == nil || !run.Aborted || run.Verdict != "fail" {
		t.Fatalf("run: %+v", run)
	}
	got := map[string]result.Phase{}
	for _, ph := range run.Phases {
		got[ph.Name] = ph
	}
	if ph := got["baseline-1"]; !ph.Pass || ph.Summary.Requests == 0 {
		t.Errorf("finished phase: %+v", ph)
	}
	if ph := got["baseline-10"]; ph.Pass || ph.Summary.Requests == 0 || !strings.Contains(ph.Note, "aborted") {
		t.Errorf("interrupted phase keeps what it measured and fails: %+v", ph)
	}
	if ph := got["baseline-50"]; !ph.Skipped {
		t.Errorf("phase after the interrupt: %+v", ph)
	}
	if run.Summary.Requests != got["baseline-1"].Summary.Requests+got["baseline-10"].Summary.Requests {
		t.Errorf("partial run's summary is not the sum of what ran")
	}
}

func TestProtocolRejectsBadSettings(t *testing.T) {
	p := testPlan("http://127.0.0.1:1", nil)
	cases := []struct {
		name string
		o    Options
		tsts *plan.Tests
		want string
	}{
		{"unknown phase", Options{Only: []string{"baseline,nope"}}, nil, "unknown phase nope"},
		{"recovery alone", Options{Only: []string{"recovery"}}, nil, "recovery follows stress"},
		{"unknown profile", Options{Profile: "thorough"}, nil, `unknown profile "thorough"`},
		{"every problem at once", Options{}, &plan.Tests{Baseline: &plan.BaselineSpec{Levels: []int{0}},
			Stress: &plan.StressSpec{Variant: "payload", Max: 1, Start: 5}}, "levels[0]"},
		{"a placeholder no configuration sets", Options{Only: []string{"scalability"}}, &plan.Tests{Scalability: &plan.ScalabilitySpec{
			Apply: "scale --to={{ instances }} --zone={{ zone }}", Configs: []map[string]string{{"instances": "1"}}}}, "{{ zone }}"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := *p
			q.Tests = c.tsts
			run, err := Test(context.Background(), &q, c.o)
			if run != nil || !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Test = %v, %v; want ErrProtocol mentioning %q", run != nil, err, c.want)
			}
		})
	}
	// All the problems of the bad stress block come together.
	q := *p
	q.Tests = &plan.Tests{Stress: &plan.StressSpec{Variant: "payload", Max: 1, Start: 5, ErrorRate: 2}}
	_, err := Test(context.Background(), &q, Options{})
	for _, want := range []string{"tests.stress.max", "tests.stress.error_rate", "variables.payload"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}

func TestCombineMovesWindowsOntoOneClock(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mk := func(start time.Duration, model result.Model, lat ...float64) *result.Run {
		h := metrics.NewHist()
		var ws []result.Window
		for i, v := range lat {
			metrics.RecordUS(h, int64(v*1000))
			wh := metrics.NewHist()
			metrics.RecordUS(wh, int64(v*1000))
			ws = append(ws, result.Window{TS: float64(i), Requests: 1, Hist: metrics.MustEncode(wh), Steps: []result.StepWindow{{Index: 0, Requests: 1}}})
		}
		return &result.Run{Plan: "p", Model: model, StartedAt: t0.Add(start), EndedAt: t0.Add(start + time.Duration(len(lat))*time.Second),
			Summary: result.Summary{Requests: int64(len(lat)), DurationS: float64(len(lat)), Hist: metrics.MustEncode(h), MaxVUs: len(lat)},
			Steps:   []result.StepResult{{Scenario: "s", Step: "a", Requests: int64(len(lat)), Hist: metrics.MustEncode(h)}},
			Series:  ws}
	}
	a := mk(500*time.Millisecond, "closed", 1, 2, 3)
	b := mk(10*time.Second, "open", 10, 20)
	m, err := combine([]*result.Run{a, b}, t0, []string{"one", "two"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Model != "mixed" || m.Summary.Requests != 5 || m.Summary.DurationS != 5 || m.Summary.RPS != 1 || m.Summary.MaxVUs != 3 {
		t.Errorf("summary: model %q %+v", m.Model, m.Summary)
	}
	var ts []float64
	var phases []string
	for _, w := range m.Series {
		ts = append(ts, w.TS)
		phases = append(phases, w.Phase)
	}
	if !slices.Equal(ts, []float64{0.5, 1.5, 2.5, 10, 11}) || !slices.Equal(phases, []string{"one", "one", "one", "two", "two"}) {
		t.Errorf("series at %v labelled %v", ts, phases)
	}
	if math.Abs(m.Summary.Latency.Max-20) > 0.02 || math.Abs(m.Summary.Latency.Min-1) > 0.001 {
		t.Errorf("latency from the merged histograms: %+v", m.Summary.Latency)
	}
	var buf bytes.Buffer
	if err := result.Encode(&buf, m); err != nil {
		t.Errorf("combined run does not encode: %v", err)
	}
}

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
