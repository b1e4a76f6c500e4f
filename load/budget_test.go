package load

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// Weights whose sum overflows an int used to panic in the draw (IntN of
// a negative number); they must be drawn in proportion instead.
func TestPickHugeWeights(t *testing.T) {
	for _, tc := range []struct {
		name    string
		weights []int
		want    []float64 // expected shares
	}{
		{"two at 2^62 overflow the sum", []int{1 << 62, 1 << 62}, []float64{0.5, 0.5}},
		{"max int beside 1", []int{int(^uint(0) >> 1), 1}, []float64{1, 0}},
		{"three at max int", []int{int(^uint(0) >> 1), int(^uint(0) >> 1), int(^uint(0) >> 1)}, []float64{1. / 3, 1. / 3, 1. / 3}},
		{"zero weight never drawn", []int{3, 0, 1}, []float64{0.75, 0, 0.25}},
		{"all zero: equal", []int{0, 0}, []float64{0.5, 0.5}},
		{"negative counts as zero", []int{-5, 2}, []float64{0, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			test := &Test{}
			for _, w := range tc.weights {
				test.Scenarios = append(test.Scenarios, Scenario{Weight: w})
			}
			e := New(test, Options{})
			vu := &VU{test: test, cum: e.cum, Rand: rand.New(rand.NewPCG(1, 2))}
			const n = 20000
			counts := make([]int, len(tc.weights))
			for range n {
				sc := vu.pick()
				counts[sc.idx]++
			}
			for i, want := range tc.want {
				got := float64(counts[i]) / n
				if got < want-0.02 || got > want+0.02 {
					t.Fatalf("scenario %d drawn %.3f of the time, want %.3f (counts %v)", i, got, want, counts)
				}
			}
		})
	}
}

// countingTest is a one-step test that counts the VUs created and lets a
// hook run as each one is.
func countingTest(onVU func(n int64)) (*Test, metrics.Layout, *atomic.Int64) {
	var n atomic.Int64
	test, layout := oneStepTest(&sleepStep{d: fixed(time.Millisecond)})
	test.NewSlots = func(*VU) []any {
		if onVU != nil {
			onVU(n.Add(1))
		} else {
			n.Add(1)
		}
		return nil
	}
	return test, layout, &n
}

var roomy = &HostLimits{OpenFiles: 1 << 30, MemAvailable: 1 << 50}

// A stop (SIGTERM) while the closed model is still creating its VUs ends
// the creating at once; it used to go on until every VU existed.
func TestClosedModelStopsSpawningOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		test, layout, n := countingTest(func(n int64) {
			if n == 100 {
				cancel()
			}
		})
		e := New(test, Options{Model: "closed", Levels: []Level{{Target: 20000, Hold: time.Second}}, GracefulStop: time.Second, Limits: roomy})
		var run result.Run
		e.Run(ctx, layout, &run)
		if got := n.Load(); got > 101 {
			t.Fatalf("%d VUs were created after the stop at the 100th, want none", got-100)
		}
	})
}

func TestOpenModelStopsSpawningOnStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		test, layout, n := countingTest(func(n int64) {
			if n == 100 {
				cancel()
			}
		})
		e := New(test, Options{Model: "open", Levels: []Level{{Target: 10, Hold: time.Second}}, MaxVUs: 20000, PreVUs: 20000, GracefulStop: time.Second, Limits: roomy})
		var run result.Run
		e.Run(ctx, layout, &run)
		if got := n.Load(); got > 101 {
			t.Fatalf("%d VUs were created after the stop at the 100th, want none", got-100)
		}
	})
}

// The engine refuses, before creating a single VU, a load whose VUs need
// more open files or memory than the process has, and says how to get
// past the limit.
func TestRefusesWhatItCannotHold(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opt    Options
		lim    HostLimits
		wantIn []string
	}{
		{"closed model beyond open files", Options{Model: "closed", Levels: []Level{{Target: 5000, Hold: time.Second}}},
			HostLimits{OpenFiles: 1024}, []string{"5000 VUs need 5064 open files", "may open 1024", "ulimit -n 5064", "--segment"}},
		{"closed model beyond memory", Options{Model: "closed", Levels: []Level{{Target: 1e9, Hold: time.Second}}},
			HostLimits{OpenFiles: 1 << 40, MemAvailable: 4 << 30}, []string{"1000000000 VUs need about 59.6 TiB", "4.0 GiB is available", "--segment"}},
		{"a segment's share is what counts", Options{Model: "closed", Levels: []Level{{Target: 4000, Hold: time.Second}}, Segment: Segment{K: 0, N: 2}},
			HostLimits{OpenFiles: 1024}, []string{"2000 VUs need"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			test, layout, n := countingTest(nil)
			tc.opt.Limits = &tc.lim
			tc.opt.GracefulStop = time.Second
			var run result.Run
			err := New(test, tc.opt).Run(context.Background(), layout, &run)
			if !errors.Is(err, ErrCapacity) {
				t.Fatalf("err = %v, want ErrCapacity", err)
			}
			for _, w := range tc.wantIn {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if n.Load() != 0 || !run.Aborted {
				t.Fatalf("%d VUs created, aborted=%v: want none and an aborted run", n.Load(), run.Aborted)
			}
		})
	}
}

// The open model's ceiling (and its pre-allocated VUs) is a ceiling, not
// a demand: beyond what the host allows it is lowered, with a warning.
func TestOpenModelPoolHeldWithinLimits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		test, layout, _ := countingTest(nil)
		test.Scenarios[0].Steps[0] = &sleepStep{d: fixed(time.Second)}
		lim := &HostLimits{OpenFiles: reservedFiles + 10}
		e := New(test, Options{Model: "open", Levels: []Level{{Target: 100, Hold: 2 * time.Second}}, MaxVUs: 1000, PreVUs: 500, GracefulStop: time.Second, Limits: lim})
		var run result.Run
		if err := e.Run(context.Background(), layout, &run); err != nil {
			t.Fatal(err)
		}
		if run.Summary.MaxVUs > 10 {
			t.Fatalf("%d VUs ran, the host allows 10", run.Summary.MaxVUs)
		}
		if len(run.Warnings) == 0 || !strings.Contains(strings.Join(run.Warnings, "\n"), "held at 10 VUs") {
			t.Fatalf("warnings %q do not say the pool was held", run.Warnings)
		}
	})
}

func TestRefusesALoadThatSendsNothing(t *testing.T) {
	for _, levels := range [][]Level{nil, {{Target: 0, Hold: time.Second}}, {{Target: 5}}} {
		test, layout, n := countingTest(nil)
		var run result.Run
		err := New(test, Options{Model: "closed", Levels: levels, Limits: roomy}).Run(context.Background(), layout, &run)
		if !errors.Is(err, ErrNothingToRun) || n.Load() != 0 {
			t.Fatalf("levels %v: err = %v, %d VUs: want ErrNothingToRun and none", levels, err, n.Load())
		}
	}
}

func TestMemAvailable(t *testing.T) {
	in := []byte("MemTotal:       32768000 kB\nMemFree:  100 kB\nMemAvailable:   19646988 kB\n")
	if got := memAvailable(in); got != 19646988<<10 {
		t.Fatalf("got %d", got)
	}
	if got := memAvailable([]byte("MemTotal: 1 kB\n")); got != 0 {
		t.Fatalf("no MemAvailable line: got %d, want 0", got)
	}
}

// Samples carry 16-bit step indexes: a test with more steps is refused
// rather than measured under the wrong names.
func TestRefusesMoreStepsThanSamplesCanName(t *testing.T) {
	test, layout, n := countingTest(nil)
	steps := make([]Step, 1<<16)
	for i := range steps {
		steps[i] = test.Scenarios[0].Steps[0]
	}
	test.Scenarios[0].Steps = steps
	var run result.Run
	err := New(test, Options{Model: "closed", Levels: []Level{{Target: 1, Hold: time.Second}}, Limits: roomy}).Run(context.Background(), layout, &run)
	if !errors.Is(err, ErrCapacity) || !strings.Contains(err.Error(), "65536 steps") || n.Load() != 0 {
		t.Fatalf("err = %v, %d VUs", err, n.Load())
	}
}
