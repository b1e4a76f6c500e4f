package bench

import (
	"context"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/plan"
)

// rankReference is the nearest-rank p-quantile by its definition, slowly:
// the smallest value of xs with at least p·n of the values at or below it.
func rankReference(xs []float64, p float64) float64 {
	best := math.Inf(1)
	for _, x := range xs {
		atOrBelow := 0
		for _, y := range xs {
			if y <= x {
				atOrBelow++
			}
		}
		if float64(atOrBelow) >= p*float64(len(xs))-1e-9 && x < best {
			best = x
		}
	}
	return best
}

// TestLevelDefaults: a suite that names its level and sets no runs or
// warm-up gets the level's (system: 1,000 runs after 10 warm-ups;
// component: 10,000 after 100), a suite that sets them keeps its own, and
// a suite without a level keeps the runner's choice. Every benchmark
// carries p95, p99 (checked against their definition over its times) and
// operations per second (1 / mean).
func TestLevelDefaults(t *testing.T) {
	proc := newFake(func(line string, n int) time.Duration {
		return time.Duration(1+n%97) * time.Microsecond
	})
	suites := []*plan.BenchmarkSuite{
		{Name: "sys", Command: "sys", Level: LevelSystem},
		{Name: "comp", Command: "comp", Level: LevelComponent},
		{Name: "own", Command: "own", Level: LevelSystem, Runs: 7, Warmup: 2},
	}
	bs, err := RunSuites(context.Background(), suites, SuiteOptions{Shell: "none", Exec: proc.exec})
	if err != nil {
		t.Fatal(err)
	}
	for i, w := range []struct {
		runs, warm int
	}{{1000, 10}, {10000, 100}, {7, 2}} {
		b := bs[i]
		if b.Runs != w.runs || b.Warmup != w.warm || proc.count[suites[i].Command] != w.runs+w.warm {
			t.Errorf("%s: %d runs after %d warm-ups (%d executions); want %d after %d", b.Name, b.Runs, b.Warmup, proc.count[suites[i].Command], w.runs, w.warm)
		}
		if b.P95S != rankReference(b.Times, 0.95) || b.P99S != rankReference(b.Times, 0.99) || b.P99S < b.P95S {
			t.Errorf("%s: p95 %v p99 %v; by definition %v, %v", b.Name, b.P95S, b.P99S, rankReference(b.Times, 0.95), rankReference(b.Times, 0.99))
		}
		sum := 0.0
		for _, x := range b.Times {
			sum += x
		}
		if want := float64(len(b.Times)) / sum; math.Abs(b.OpsPerS-want) > 1e-9*want {
			t.Errorf("%s: %v ops/s, want runs ÷ total time %v", b.Name, b.OpsPerS, want)
		}
	}
}

// TestGoLevelDefaults runs a real Go benchmark at the micro level: one
// discarded warm-up run of 1,000 iterations, then the measured runs of
// 100,000 iterations each.
func TestGoLevelDefaults(t *testing.T) {
	var calls [][]string
	goTest := func(ctx context.Context, dir string, args []string, out io.Writer) error {
		calls = append(calls, slices.Clone(args))
		return RunGoCommand(ctx, dir, args, out)
	}
	bs, err := RunSuites(context.Background(), []*plan.BenchmarkSuite{{Name: "g", Go: "./testdata/gobench", Level: LevelMicro, Runs: 2}},
		SuiteOptions{GoTest: goTest})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || !strings.Contains(strings.Join(calls[0], " "), "-count 1 -benchtime 1000x") ||
		!strings.Contains(strings.Join(calls[1], " "), "-count 2 -benchtime 100000x") {
		t.Fatalf("go test calls %q: want a warm-up of 1000x, then 2 runs of 100000x", calls)
	}
	for _, b := range bs {
		if b.Runs != 2 || b.P99S < b.P95S || b.P95S < b.MinS || b.OpsPerS != 1/b.MeanS {
			t.Errorf("%s: %d runs, p95 %v p99 %v min %v, %v ops/s (mean %v s)", b.Name, b.Runs, b.P95S, b.P99S, b.MinS, b.OpsPerS, b.MeanS)
		}
	}
}
