package bench

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/plan"
)

func TestValidateSuites(t *testing.T) {
	for _, tc := range []struct {
		reason string
		suites []*plan.BenchmarkSuite
		want   []string // every problem, reported at once
	}{
		{"a command suite", []*plan.BenchmarkSuite{{Name: "startup", Command: "app --version"}}, nil},
		{"a go suite", []*plan.BenchmarkSuite{{Name: "codec", Go: "./codec/...", Bench: "Encode", Level: "micro"}}, nil},
		{"neither command nor go", []*plan.BenchmarkSuite{{Name: "x"}}, []string{"benchmarks[0] (x): set command"}},
		{"both command and go", []*plan.BenchmarkSuite{{Name: "x", Command: "a", Go: "./..."}}, []string{"either command or go"}},
		{"several problems in several suites", []*plan.BenchmarkSuite{
			{Command: "a", Level: "huge"},
			{Name: "g", Go: "./...", Prepare: "make", Runs: -1},
		}, []string{"benchmarks[0]: name is required", `benchmarks[0]: level "huge"`, "benchmarks[1] (g): prepare is for command suites", "benchmarks[1] (g): runs must be between 0 and 1000000, got -1"}},
		{"bench on a command suite is a mistake", []*plan.BenchmarkSuite{{Name: "x", Command: "a", Bench: "."}}, []string{"bench is for go suites"}},
		{"an empty entry", []*plan.BenchmarkSuite{nil}, []string{"benchmarks[0]: empty entry"}},
	} {
		err := ValidateSuites(tc.suites)
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.reason, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tc.reason, err)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not report %q", tc.reason, err, w)
			}
		}
	}
}

func TestRunSuites(t *testing.T) {
	ms := time.Millisecond
	proc := newFake(func(line string, n int) time.Duration {
		switch line {
		case "jittery":
			return []time.Duration{100 * ms, 50 * ms, 150 * ms, 60 * ms, 140 * ms}[n%5] / 10
		case "slow":
			return 150 * ms
		}
		return ms
	})
	var goArgs []string
	goTest := func(ctx context.Context, dir string, args []string, out io.Writer) error {
		goArgs = args
		_, err := io.WriteString(out, "pkg: example.com/p\n"+
			"BenchmarkBig-2 10 100 ns/op 2000000 B/op 3 allocs/op\n"+
			"BenchmarkBig-2 10 101 ns/op 2000000 B/op 3 allocs/op\n")
		return err
	}
	suites := []*plan.BenchmarkSuite{
		{Name: "jitter", Command: "jittery", Runs: 10},
		{Name: "startup", Command: "slow", Level: "component", Runs: 3, Warmup: 1},
		{Name: "codec", Go: "./codec", Bench: "Big", Runs: 2, MinTime: plan.Duration(time.Second)},
	}
	bs, err := RunSuites(context.Background(), suites, SuiteOptions{Shell: "none", Exec: proc.exec, GoTest: goTest})
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 3 {
		t.Fatalf("%d benchmarks, want 3", len(bs))
	}
	type want struct {
		name, level string
		runs        int
		note        string
	}
	for i, w := range []want{
		{"jitter", "system", 10, "high variance"},
		{"startup", "component", 3, "one operation takes 150.0 ms"},
		{"codec/Big-2", "micro", 2, "allocates 2.0 MB per operation"},
	} {
		b := bs[i]
		if b.Name != w.name || b.Level != w.level || b.Runs != w.runs || !slices.ContainsFunc(b.Notes, func(n string) bool { return strings.HasPrefix(n, w.note) }) {
			t.Errorf("benchmark %d = %s/%s/%d runs, notes %q; want %s/%s/%d with %q", i, b.Name, b.Level, b.Runs, b.Notes, w.name, w.level, w.runs, w.note)
		}
	}
	if got := strings.Join(goArgs, " "); got != "test -run ^$ -bench Big -benchmem -count 2 -benchtime 1s ./codec" {
		t.Errorf("go args %q: runs is -count and min_time is -benchtime", got)
	}
	if proc.count["slow"] != 4 {
		t.Errorf("startup ran %d times, want 1 warm-up + 3 runs", proc.count["slow"])
	}
}

func TestRunSuitesStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	proc := newFake(fixed(map[string]time.Duration{"a": time.Millisecond, "b": time.Millisecond}))
	proc.hook = func(line string, n int) {
		if line == "a" && n == 4 {
			cancel()
		}
	}
	suites := []*plan.BenchmarkSuite{{Name: "a", Command: "a", Runs: 20}, {Name: "b", Command: "b", Runs: 20}}
	bs, err := RunSuites(ctx, suites, SuiteOptions{Shell: "none", Exec: proc.exec})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(bs) != 1 || bs[0].Runs != 5 || !bs[0].Partial || proc.count["b"] != 0 {
		t.Errorf("got %d benchmarks (%+v), b ran %d times; want a's 5 runs marked partial and b never started", len(bs), bs, proc.count["b"])
	}
}
