package load

import (
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// sleepStep takes a fixed service time and remembers when each call was
// due and began, so schedules can be checked against fake time.
type sleepStep struct {
	d      func(now time.Time) time.Duration
	calls  atomic.Int64
	mu     sync.Mutex
	starts []time.Duration
	t0     time.Time
}

func (s *sleepStep) Do(ctx context.Context, vu *VU, smp *metrics.Sample) (time.Time, time.Time) {
	send := time.Now()
	s.calls.Add(1)
	s.mu.Lock()
	s.starts = append(s.starts, send.Sub(vu.T0))
	s.mu.Unlock()
	t := time.NewTimer(s.d(send))
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	return send, time.Now()
}

func fixed(d time.Duration) func(time.Time) time.Duration {
	return func(time.Time) time.Duration { return d }
}

func oneStepTest(st Step) (*Test, metrics.Layout) {
	t := &Test{Scenarios: []Scenario{{Name: "s", Weight: 1, Steps: []Step{st}}}}
	return t, metrics.Layout{Scenarios: []metrics.ScenarioInfo{{Name: "s", Weight: 1, Steps: []metrics.StepInfo{{Name: "x"}}}}}
}

func TestOpenModelKeepsTheSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &sleepStep{d: fixed(5 * time.Millisecond)}
		test, layout := oneStepTest(st)
		e := New(test, Options{Model: "open", Levels: []Level{{Target: 200, Hold: 2 * time.Second}}, MaxVUs: 100, PreVUs: 2, GracefulStop: time.Second})
		var run result.Run
		if err := e.Run(context.Background(), layout, &run); err != nil {
			t.Fatal(err)
		}
		if got := run.Summary.Requests; got != 400 {
			t.Fatalf("requests = %d, want exactly 400 (200/s for 2 s)", got)
		}
		// Fake time: every iteration starts exactly when it is due.
		for i, s := range sortedDurations(st.starts) {
			want := time.Duration(i) * 5 * time.Millisecond
			if s != want {
				t.Fatalf("iteration %d started at %v, want %v", i, s, want)
			}
		}
		if run.Summary.Dropped != 0 || run.Summary.Latency.Max > 5.01 {
			t.Fatalf("dropped %d, max latency %.2fms: want 0 and 5ms", run.Summary.Dropped, run.Summary.Latency.Max)
		}
		if run.Summary.MaxVUs < 1 || run.Summary.MaxVUs > 3 {
			t.Fatalf("5 ms iterations every 5 ms need 1–2 VUs, used %d", run.Summary.MaxVUs)
		}
	})
}

// A target that stalls makes late iterations wait for VUs: their latency
// counts from the intended start (no coordinated omission).
func TestOpenModelMeasuresFromIntendedStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var t0 time.Time
		var once sync.Once
		st := &sleepStep{d: func(now time.Time) time.Duration {
			once.Do(func() { t0 = now })
			// The first second of the run the target answers only at 1 s.
			if el := now.Sub(t0); el < time.Second {
				return time.Second - el
			}
			return time.Millisecond
		}}
		test, layout := oneStepTest(st)
		e := New(test, Options{Model: "open", Levels: []Level{{Target: 100, Hold: 3 * time.Second}}, MaxVUs: 1000, PreVUs: 1, GracefulStop: time.Second})
		var run result.Run
		if err := e.Run(context.Background(), layout, &run); err != nil {
			t.Fatal(err)
		}
		// 100 of 300 requests waited for the stall's end: U(0,1s).
		if got := run.Summary.Requests; got != 300 {
			t.Fatalf("requests = %d, want 300", got)
		}
		// A third waited U(0, 1 s): p90 is the 70th percentile of those.
		p90 := run.Summary.Latency.P90
		if p90 < 650 || p90 > 750 {
			t.Fatalf("p90 = %.1fms, want ≈ 700ms", p90)
		}
		if p := run.Summary.Latency.P50; p > 2 {
			t.Fatalf("p50 = %.2fms", p)
		}
		if max := run.Summary.Latency.Max; max < 990 || max > 1010 {
			t.Fatalf("max = %.1fms, want the full 1 s stall", max)
		}
		if run.Summary.MaxVUs < 90 {
			t.Fatalf("the pool must grow to cover the stall: %d VUs", run.Summary.MaxVUs)
		}
	})
}

func TestOpenModelCountsDroppedIterations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &sleepStep{d: fixed(100 * time.Millisecond)}
		test, layout := oneStepTest(st)
		// 100/s with 100 ms each needs 10 VUs; 2 can do 20/s.
		e := New(test, Options{Model: "open", Levels: []Level{{Target: 100, Hold: time.Second}}, MaxVUs: 2, PreVUs: 2, GracefulStop: 0})
		var run result.Run
		if err := e.Run(context.Background(), layout, &run); err != nil {
			t.Fatal(err)
		}
		got := run.Summary.Requests + run.Summary.Dropped + run.Summary.Interrupted
		if got != 100 {
			t.Fatalf("requests %d + dropped %d + interrupted %d = %d, want every planned iteration accounted for (100)",
				run.Summary.Requests, run.Summary.Dropped, run.Summary.Interrupted, got)
		}
		if run.Summary.Dropped < 70 {
			t.Fatalf("dropped = %d, want ≈ 80", run.Summary.Dropped)
		}
	})
}

// TestOpenModelSupervisorRestsAtTheCeiling: while every VU the pool may
// hold is busy and iterations are overdue, the supervisor looks again
// once per ceilingPoll, not once a millisecond: a VU that finishes takes
// the next overdue iteration itself.
func TestOpenModelSupervisorRestsAtTheCeiling(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &sleepStep{d: fixed(100 * time.Millisecond)}
		test, layout := oneStepTest(st)
		// 100/s with 100 ms each needs 10 VUs; the pool may hold 2: at
		// the ceiling from the start to the end of the 2 s.
		const hold = 2 * time.Second
		e := New(test, Options{Model: "open", Levels: []Level{{Target: 100, Hold: hold}}, MaxVUs: 2, PreVUs: 2, GracefulStop: 0})
		var run result.Run
		if err := e.Run(context.Background(), layout, &run); err != nil {
			t.Fatal(err)
		}
		if run.Summary.Requests < 30 {
			t.Fatalf("%d requests: 2 VUs of 100 ms each should complete about 40", run.Summary.Requests)
		}
		// At most about a hundred looks a second: one per 10 ms, and one
		// per finished iteration.
		t.Logf("the supervisor looked %d times in %v", e.looks.Load(), hold)
		if n, most := e.looks.Load(), int64(hold/(10*time.Millisecond))+run.Summary.Requests+5; n > most {
			t.Errorf("the supervisor looked %d times in %v at the ceiling, want at most %d", n, hold, most)
		}
	})
}

func TestClosedModelFollowsStages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &sleepStep{d: fixed(100 * time.Millisecond)}
		test, layout := oneStepTest(st)
		var peakAt2s int64
		e := New(test, Options{Model: "closed", Levels: []Level{{Target: 10, Ramp: 2 * time.Second, Hold: 2 * time.Second}, {Target: 0, Ramp: time.Second}}, GracefulStop: time.Second})
		var run result.Run
		go func() {
			time.Sleep(3 * time.Second)
			peakAt2s = e.active.Load()
		}()
		if err := e.Run(context.Background(), layout, &run); err != nil {
			t.Fatal(err)
		}
		if peakAt2s != 10 || run.Summary.MaxVUs != 10 {
			t.Fatalf("VUs during the hold = %d, peak %d; want 10", peakAt2s, run.Summary.MaxVUs)
		}
		// Ramp 0→10 over 2 s (10 VU·s), hold 2 s (20), ramp down 1 s (≈5):
		// ≈ 35 VU·seconds at 10 iterations per VU·second.
		if n := run.Summary.Requests; n < 300 || n > 380 {
			t.Fatalf("requests = %d, want ≈ 350", n)
		}
		if len(run.Series) < 5 {
			t.Fatalf("series has %d windows", len(run.Series))
		}
		for _, w := range run.Series[2:4] {
			if w.VUs != 10 {
				t.Fatalf("window %v shows %d VUs, want 10", w.TS, w.VUs)
			}
		}
	})
}

func TestIterationLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &sleepStep{d: fixed(10 * time.Millisecond)}
		test, layout := oneStepTest(st)
		e := New(test, Options{Model: "closed", Levels: []Level{{Target: 4, Hold: time.Hour}}, Iterations: 37, GracefulStop: time.Second})
		var run result.Run
		if err := e.Run(context.Background(), layout, &run); err != nil {
			t.Fatal(err)
		}
		if run.Summary.Iterations != 37 {
			t.Fatalf("iterations = %d, want 37", run.Summary.Iterations)
		}
	})
}

// An interrupt ends the run at once, keeps what was measured and marks it.
func TestInterruptKeepsResults(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &sleepStep{d: fixed(time.Hour)}
		fast := &sleepStep{d: fixed(10 * time.Millisecond)}
		test := &Test{Scenarios: []Scenario{{Name: "s", Weight: 1, Steps: []Step{fast, st}}}}
		layout := metrics.Layout{Scenarios: []metrics.ScenarioInfo{{Name: "s", Steps: []metrics.StepInfo{{Name: "fast"}, {Name: "stuck"}}}}}
		ctx, cancel := context.WithCancel(context.Background())
		e := New(test, Options{Model: "closed", Levels: []Level{{Target: 3, Hold: time.Hour}}, GracefulStop: time.Hour})
		go func() { time.Sleep(5 * time.Second); cancel() }()
		var run result.Run
		start := time.Now()
		err := e.Run(ctx, layout, &run)
		if err == nil || !run.Aborted || run.AbortReason != "interrupted" {
			t.Fatalf("err=%v aborted=%v reason=%q", err, run.Aborted, run.AbortReason)
		}
		if d := time.Since(start); d > 6*time.Second {
			t.Fatalf("stopping took until %v", d)
		}
		if run.Steps[0].Requests != 3 || run.Steps[1].Requests != 0 {
			t.Fatalf("fast=%d stuck=%d: want the 3 finished requests and no interrupted one", run.Steps[0].Requests, run.Steps[1].Requests)
		}
	})
}

func TestWeightsPickScenarios(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		steps := []*sleepStep{{d: fixed(time.Millisecond)}, {d: fixed(time.Millisecond)}, {d: fixed(time.Millisecond)}}
		weights := []int{20, 40, 0}
		test := &Test{}
		var layout metrics.Layout
		for i, st := range steps {
			test.Scenarios = append(test.Scenarios, Scenario{Name: string(rune('a' + i)), Weight: weights[i], Steps: []Step{st}})
			layout.Scenarios = append(layout.Scenarios, metrics.ScenarioInfo{Name: string(rune('a' + i)), Steps: []metrics.StepInfo{{Name: "x"}}})
		}
		e := New(test, Options{Model: "closed", Levels: []Level{{Target: 5, Hold: 10 * time.Second}}, Seed: 7, GracefulStop: time.Second})
		var run result.Run
		if err := e.Run(context.Background(), layout, &run); err != nil {
			t.Fatal(err)
		}
		a, b, c := steps[0].calls.Load(), steps[1].calls.Load(), steps[2].calls.Load()
		if c != 0 {
			t.Fatalf("a zero-weight scenario ran %d times", c)
		}
		n := float64(a + b)
		// Chi-square with one degree of freedom; 10.83 is p = 0.001.
		ea, eb := n/3, 2*n/3
		chi := (float64(a)-ea)*(float64(a)-ea)/ea + (float64(b)-eb)*(float64(b)-eb)/eb
		if chi > 10.83 {
			t.Fatalf("a=%d b=%d: chi² = %.1f, weights 20:40 not honoured", a, b, chi)
		}
	})
}

func sortedDurations(d []time.Duration) []time.Duration {
	out := append([]time.Duration(nil), d...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// The open model stops at the iteration count too, instead of running to
// the end of its (24 h) cap.
func TestOpenModelIterationLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &sleepStep{d: fixed(time.Millisecond)}
		test, layout := oneStepTest(st)
		e := New(test, Options{Model: "open", Levels: []Level{{Target: 20, Hold: IterationsCap}}, Iterations: 5, MaxVUs: 10, PreVUs: 1, GracefulStop: time.Second})
		var run result.Run
		start := time.Now()
		if err := e.Run(context.Background(), layout, &run); err != nil {
			t.Fatal(err)
		}
		if run.Summary.Iterations != 5 || run.Summary.Dropped != 0 {
			t.Fatalf("iterations %d dropped %d, want 5 and 0", run.Summary.Iterations, run.Summary.Dropped)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("5 iterations at 20/s took %v", d)
		}
	})
}

// Every iteration a VU claimed runs, even when several VUs wait for their
// intended starts as the count is reached: the run ends when the last one
// has started, not when the last one was handed out.
func TestOpenModelRunsEveryCountedIteration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &sleepStep{d: fixed(time.Millisecond)}
		test, layout := oneStepTest(st)
		e := New(test, Options{Model: "open", Levels: []Level{{Target: 40, Hold: IterationsCap}}, Iterations: 80, MaxVUs: 100, PreVUs: 10, GracefulStop: time.Second})
		var run result.Run
		if err := e.Run(context.Background(), layout, &run); err != nil {
			t.Fatal(err)
		}
		if run.Summary.Iterations != 80 || run.Summary.Dropped != 0 || st.calls.Load() != 80 {
			t.Fatalf("iterations %d dropped %d requests %d, want 80, 0 and 80", run.Summary.Iterations, run.Summary.Dropped, st.calls.Load())
		}
	})
}

// Segments split the iteration count: the parts add up to the whole.
func TestSegmentsSplitIterations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var total int64
		for k := 0; k < 3; k++ {
			st := &sleepStep{d: fixed(time.Millisecond)}
			test, layout := oneStepTest(st)
			e := New(test, Options{Model: "closed", Levels: []Level{{Target: 4, Hold: time.Hour}}, Iterations: 10,
				Segment: Segment{K: k, N: 3}, GracefulStop: time.Second})
			var run result.Run
			if err := e.Run(context.Background(), layout, &run); err != nil {
				t.Fatal(err)
			}
			total += run.Summary.Iterations
		}
		if total != 10 {
			t.Fatalf("three segments ran %d iterations of 10", total)
		}
	})
}

// The pool grows to what the schedule needs, one VU per overdue
// iteration, not one per look at the same iteration.
func TestOpenModelDoesNotOverSpawn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &sleepStep{d: fixed(50 * time.Millisecond)}
		test, layout := oneStepTest(st)
		// 100/s × 50 ms: five iterations in flight at a time.
		e := New(test, Options{Model: "open", Levels: []Level{{Target: 100, Hold: 2 * time.Second}}, MaxVUs: 1000, PreVUs: 1, GracefulStop: time.Second})
		var run result.Run
		if err := e.Run(context.Background(), layout, &run); err != nil {
			t.Fatal(err)
		}
		if n := run.Summary.MaxVUs; n < 5 || n > 7 {
			t.Fatalf("peak VUs %d, want 5–7 for five iterations in flight", n)
		}
		// An iteration no VU holds waits at most the supervisor's 1 ms
		// slack for a new VU.
		if run.Summary.Requests != 200 || run.Summary.Latency.Max > 51.1 {
			t.Fatalf("requests %d, max latency %.1fms", run.Summary.Requests, run.Summary.Latency.Max)
		}
	})
}

// Poisson arrivals with VUs to spare drop nothing: the dropped count is
// the arrivals the schedule really drew, not their expectation.
func TestPoissonDropsNothingWithSpareVUs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for seed := uint64(1); seed <= 4; seed++ {
			st := &sleepStep{d: fixed(time.Millisecond)}
			test, layout := oneStepTest(st)
			e := New(test, Options{Model: "open", Arrivals: "poisson", Levels: []Level{{Target: 200, Hold: 2 * time.Second}},
				MaxVUs: 100, PreVUs: 10, Seed: seed, GracefulStop: time.Second})
			var run result.Run
			if err := e.Run(context.Background(), layout, &run); err != nil {
				t.Fatal(err)
			}
			if run.Summary.Dropped != 0 {
				t.Fatalf("seed %d: %d dropped of %d", seed, run.Summary.Dropped, run.Summary.Requests)
			}
			if n := run.Summary.Requests; n < 330 || n > 470 {
				t.Fatalf("seed %d: %d arrivals in 2 s at 200/s", seed, n)
			}
		}
	})
}

// With too few VUs the counted iterations start late, after the intended
// start of the next, uncounted one: the supervisor, always behind, must
// still see that the last counted iteration started and end the run,
// not spawn VUs that find nothing to do until the iteration cap's 24 h.
func TestOpenModelIterationLimitWhenBehind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := &sleepStep{d: fixed(100 * time.Millisecond)}
		test, layout := oneStepTest(st)
		// 40/s asked, two VUs of 100 ms: 20/s served, ever later.
		e := New(test, Options{Model: "open", Levels: []Level{{Target: 40, Hold: IterationsCap}}, Iterations: 10, MaxVUs: 2, PreVUs: 2, GracefulStop: time.Second})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var run result.Run
		start := time.Now()
		if err := e.Run(ctx, layout, &run); err != nil {
			t.Fatalf("%v after %v: the run did not end by itself", err, time.Since(start))
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("10 iterations of 100 ms on 2 VUs took %v, want about 0.5 s", d)
		}
		if run.Summary.Iterations != 10 || run.Summary.Dropped != 0 || st.calls.Load() != 10 {
			t.Errorf("iterations %d dropped %d requests %d, want 10, 0 and 10", run.Summary.Iterations, run.Summary.Dropped, st.calls.Load())
		}
	})
}

// A long run interrupted midway still has every window in its Run,
// though most of them were spilled to disk (metrics.DefaultKeepWindows)
// while it ran; and the spill file is gone from the directory.
func TestInterruptedLongRunKeepsEveryWindow(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	synctest.Test(t, func(t *testing.T) {
		test, layout := oneStepTest(&sleepStep{d: fixed(100 * time.Millisecond)})
		ctx, cancel := context.WithCancel(context.Background())
		e := New(test, Options{Model: "closed", Levels: []Level{{Target: 2, Hold: time.Hour}}, GracefulStop: time.Second})
		go func() { time.Sleep(100*time.Second + 500*time.Millisecond); cancel() }()
		var run result.Run
		if err := e.Run(ctx, layout, &run); err == nil || run.AbortReason != "interrupted" {
			t.Fatalf("err=%v reason=%q", err, run.AbortReason)
		}
		for _, w := range run.Warnings {
			if strings.Contains(w, "windows") {
				t.Fatalf("the windows were not spilled: %s", w)
			}
		}
		if len(run.Series) != 101 {
			t.Fatalf("%d windows for 100.5 s, want 101", len(run.Series))
		}
		var n int64
		for i, w := range run.Series {
			if w.TS != float64(i) {
				t.Fatalf("window %d starts at %g s", i, w.TS)
			}
			if i > 0 && i < 100 && w.Requests != 20 {
				t.Fatalf("window %d has %d requests, want 20 (2 VUs, 100 ms each)", i, w.Requests)
			}
			n += w.Requests
		}
		if n != run.Summary.Requests || n < 2000 {
			t.Fatalf("windows hold %d requests, the summary %d", n, run.Summary.Requests)
		}
	})
	if ents, _ := os.ReadDir(tmp); len(ents) != 0 {
		t.Fatalf("left in TMPDIR: %v", ents)
	}
}
