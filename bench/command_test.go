package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	osexec "os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeProc is an Exec that runs nothing: each command line takes the time
// wall(line, n) on its n-th run (0-based), and records the order of calls.
type fakeProc struct {
	mu    sync.Mutex
	calls []string
	count map[string]int
	wall  func(line string, n int) time.Duration
	code  map[string]int
	// hook runs after a call is recorded, before it returns.
	hook func(line string, n int)
}

func newFake(wall func(line string, n int) time.Duration) *fakeProc {
	return &fakeProc{count: map[string]int{}, code: map[string]int{}, wall: wall}
}

// lineOf undoes argv: `sh -c LINE` is LINE, a direct command its words.
func lineOf(argv []string) string {
	if len(argv) == 3 && argv[0] == "sh" && argv[1] == "-c" {
		return argv[2]
	}
	return strings.Join(argv, " ")
}

func (f *fakeProc) exec(ctx context.Context, argv []string) (Measurement, error) {
	f.mu.Lock()
	line := lineOf(argv)
	n := f.count[line]
	f.count[line]++
	f.calls = append(f.calls, line)
	code := f.code[line]
	f.mu.Unlock()
	if f.hook != nil {
		f.hook(line, n)
	}
	d := f.wall(line, n)
	return Measurement{Wall: d, User: d / 2, System: d / 4, MaxRSS: 3 << 20, ExitCode: code}, nil
}

// fixed gives every line a constant time from the map.
func fixed(m map[string]time.Duration) func(string, int) time.Duration {
	return func(line string, _ int) time.Duration { return m[line] }
}

func TestPlannedRuns(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		reason  string
		opts    Options
		times   map[string]time.Duration // "" is the shell's empty command
		prepare string
		want    int
	}{
		{"3 s ÷ 20 ms per run is 150 runs", Options{Shell: "none"}, map[string]time.Duration{"cmd": 20 * ms}, "", 150},
		{"the count is floored, not rounded", Options{Shell: "none"}, map[string]time.Duration{"cmd": 29900 * time.Microsecond}, "", 100},
		{"a slow command gets min-runs", Options{Shell: "none"}, map[string]time.Duration{"cmd": time.Second}, "", 10},
		{"the shell's start-up is part of one iteration", Options{OverheadRuns: 3}, map[string]time.Duration{"": 5 * ms, "cmd": 25 * ms}, "", 120},
		{"the prepare command is part of one iteration", Options{Shell: "none"}, map[string]time.Duration{"prep": 10 * ms, "cmd": 20 * ms}, "prep", 100},
		{"max-runs caps the count", Options{Shell: "none", MaxRuns: 50}, map[string]time.Duration{"cmd": 20 * ms}, "", 50},
		{"runs fixes the count", Options{Shell: "none", Runs: 7}, map[string]time.Duration{"cmd": 20 * ms}, "", 7},
		{"min-runs wins over a short min-time", Options{Shell: "none", MinTime: 100 * ms}, map[string]time.Duration{"cmd": 20 * ms}, "", 10},
		{"a short min-time with fewer min-runs", Options{Shell: "none", MinTime: 100 * ms, MinRuns: 2}, map[string]time.Duration{"cmd": 20 * ms}, "", 5},
		{"a command too fast to time: min-runs", Options{Shell: "none"}, map[string]time.Duration{"cmd": 0}, "", 10},
		{"a command too fast to time: the cap", Options{Shell: "none", MaxRuns: 30}, map[string]time.Duration{"cmd": 0}, "", 30},
	} {
		f := newFake(fixed(tc.times))
		tc.opts.Exec = f.exec
		s, err := RunCommands(context.Background(), []Command{{Line: "cmd", Prepare: tc.prepare}}, tc.opts)
		if err != nil {
			t.Fatalf("%s: %v", tc.reason, err)
		}
		r := s.Results[0]
		if r.Planned != tc.want || len(r.Wall) != tc.want {
			t.Errorf("%s: planned %d, measured %d; want %d", tc.reason, r.Planned, len(r.Wall), tc.want)
		}
		if got := f.count["prep"]; tc.prepare != "" && got != tc.want {
			t.Errorf("%s: prepare ran %d times, want once before each of the %d runs", tc.reason, got, tc.want)
		}
	}
}

func TestRunsAreInterleaved(t *testing.T) {
	f := newFake(fixed(map[string]time.Duration{"A": 250 * time.Millisecond, "B": 500 * time.Millisecond}))
	s, err := RunCommands(context.Background(), []Command{{Line: "A"}, {Line: "B"}},
		Options{Shell: "none", Warmup: 2, MinRuns: 2, MinTime: time.Second, Exec: f.exec})
	if err != nil {
		t.Fatal(err)
	}
	// Warm-ups command by command, one timed run each to plan (A: 4 runs,
	// B: 2), then round robin until each has its runs.
	want := []string{"A", "A", "B", "B", "A", "B", "A", "B", "A", "A"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("order of runs = %v, want %v", f.calls, want)
	}
	if len(s.Results[0].Wall) != 4 || len(s.Results[1].Wall) != 2 {
		t.Errorf("runs = %d, %d; want 4, 2", len(s.Results[0].Wall), len(s.Results[1].Wall))
	}
}

func TestShellOverheadIsSubtracted(t *testing.T) {
	ms := time.Millisecond
	f := newFake(fixed(map[string]time.Duration{"": 2 * ms, "slow": 12 * ms, "fast": ms}))
	s, err := RunCommands(context.Background(), []Command{{Line: "slow"}, {Line: "fast"}}, Options{OverheadRuns: 4, Runs: 3, Exec: f.exec})
	if err != nil {
		t.Fatal(err)
	}
	if f.count[""] != 4 {
		t.Errorf("the empty command ran %d times, want 4", f.count[""])
	}
	if s.Overhead == nil || s.Overhead.Wall != 0.002 || s.Overhead.User != 0.001 || s.Overhead.System != 0.0005 {
		t.Fatalf("overhead = %+v, want wall 2 ms, user 1 ms, system 0.5 ms", s.Overhead)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	slow := s.Results[0]
	if !near(slow.Wall[0], 0.010) || !near(slow.User[0], 0.005) || !near(slow.System[0], 0.0025) {
		t.Errorf("slow: wall %v user %v system %v; want 10 ms, 5 ms, 2.5 ms after subtracting the shell", slow.Wall[0], slow.User[0], slow.System[0])
	}
	if fast := s.Results[1]; fast.Wall[0] != 0 {
		t.Errorf("a run faster than the shell's start-up must clamp to 0, got %v", fast.Wall[0])
	}
	b := slow.Benchmark(s.Overhead)
	if b.ShellOverheadS != 0.002 {
		t.Errorf("shell_overhead_s = %v, want 0.002", b.ShellOverheadS)
	}
}

func TestNoShellMeansNoOverhead(t *testing.T) {
	f := newFake(fixed(map[string]time.Duration{"a b": time.Millisecond}))
	s, err := RunCommands(context.Background(), []Command{{Line: "a 'b'"}}, Options{Shell: "none", Runs: 2, Exec: f.exec})
	if err != nil {
		t.Fatal(err)
	}
	if s.Overhead != nil || f.count[""] != 0 {
		t.Errorf("with --shell none nothing is subtracted and no empty command runs (overhead %+v)", s.Overhead)
	}
	if f.count["a b"] != 2 {
		t.Errorf("calls = %v: the line must be split into words, quotes removed", f.calls)
	}
}

func TestFailingCommand(t *testing.T) {
	wall := fixed(map[string]time.Duration{"ok": time.Millisecond, "bad": time.Millisecond, "prep": time.Millisecond})
	for _, tc := range []struct {
		reason    string
		cmd       Command
		ignore    bool
		wantStage string // "" for no error
	}{
		{"a failing command stops the benchmark", Command{Line: "bad"}, false, "measure"},
		{"a failing warm-up too", Command{Line: "bad"}, false, "warmup"},
		{"--ignore-failure measures it anyway", Command{Line: "bad"}, true, ""},
		{"a failing prepare command always stops it", Command{Line: "ok", Prepare: "bad"}, true, "prepare"},
	} {
		f := newFake(wall)
		f.code["bad"] = 3
		warm := 0
		if tc.wantStage == "warmup" {
			warm = 1
		}
		s, err := RunCommands(context.Background(), []Command{tc.cmd}, Options{Shell: "none", Runs: 2, Warmup: warm, IgnoreFailure: tc.ignore, Exec: f.exec})
		if tc.wantStage == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.reason, err)
				continue
			}
			r := s.Results[0]
			if !slices.Equal(r.ExitCodes, []int{3, 3}) || !slices.ContainsFunc(r.Warnings(), func(w string) bool { return strings.Contains(w, "non-zero") }) {
				t.Errorf("%s: exit codes %v, warnings %q", tc.reason, r.ExitCodes, r.Warnings())
			}
			continue
		}
		var ce *CommandError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCommandFailed) || ce.ExitCode != 3 || ce.Stage != tc.wantStage {
			t.Errorf("%s: error %v, want a CommandError with code 3 in stage %s", tc.reason, err, tc.wantStage)
		}
		if s == nil || !s.Partial {
			t.Errorf("%s: the session must still be returned, marked partial", tc.reason)
		}
	}
}

func TestCancellationReturnsWhatWasMeasured(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newFake(fixed(map[string]time.Duration{"A": time.Millisecond, "B": time.Millisecond}))
	f.hook = func(line string, n int) {
		if line == "B" && n == 2 {
			cancel() // Ctrl+C while B's third run is in flight; it completes
		}
	}
	s, err := RunCommands(ctx, []Command{{Line: "A"}, {Line: "B"}}, Options{Shell: "none", Runs: 10, Exec: f.exec})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if s == nil || !s.Partial {
		t.Fatal("the session must be returned, marked partial")
	}
	a, b := s.Results[0], s.Results[1]
	if len(a.Wall) != 3 || len(b.Wall) != 3 || !a.Partial || !b.Partial {
		t.Errorf("runs = %d, %d (partial %v, %v); want 3 each, partial: it stops between runs", len(a.Wall), len(b.Wall), a.Partial, b.Partial)
	}
	run := s.Run(0)
	if !run.Aborted || !run.Benchmarks[0].Partial {
		t.Errorf("the Run document must say it is partial: aborted=%v partial=%v", run.Aborted, run.Benchmarks[0].Partial)
	}
}

func TestStartErrorIsInvalidInput(t *testing.T) {
	exec := func(ctx context.Context, argv []string) (Measurement, error) {
		return Measurement{}, fmt.Errorf("%w %q: not found", ErrStart, argv[0])
	}
	_, err := RunCommands(context.Background(), []Command{{Line: "nosuchcommand"}}, Options{Shell: "none", Exec: exec})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("err = %v, want ErrInvalid: a command that cannot start is a mistake in the input", err)
	}
	if err := (Options{Warmup: -1, Runs: -2, MinRuns: 5, MaxRuns: 2}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "warmup") || !strings.Contains(err.Error(), "runs must") || !strings.Contains(err.Error(), "min-runs (5) > max-runs (2)") {
		t.Errorf("Validate = %v, want every problem reported at once", err)
	}
}

// noisy gives each line a center time with seeded 1% noise.
func noisy(seed uint64, centers map[string]time.Duration) func(string, int) time.Duration {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(seed, 0))
	return func(line string, _ int) time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return time.Duration(float64(centers[line]) * (1 + 0.01*r.NormFloat64()))
	}
}

func TestCommandComparison(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		reason      string
		a, b        time.Duration
		wantSig     bool
		wantFaster  int
		wantSayings []string
		gate        float64
		wantRegress bool
	}{
		{"B is half again as slow", 20 * ms, 30 * ms, true, 0, []string{"'A' is 1.50 ± 0.0", "times faster than 'B'", "95% CI 1.4"}, 0.05, true},
		{"B is faster: the sentence names B first", 30 * ms, 20 * ms, true, 1, []string{"'B' is 1.50 ± 0.0", "times faster than 'A'"}, 0.05, false},
		{"a slowdown below the gate passes it", 20 * ms, 21 * ms, true, 0, []string{"'A' is 1.05"}, 0.10, false},
		{"the same command twice", 20 * ms, 20 * ms, false, -1, []string{"'A' vs 'B': no significant difference"}, 0.05, false},
	} {
		f := newFake(noisy(42, map[string]time.Duration{"A": tc.a, "B": tc.b}))
		s, err := RunCommands(context.Background(), []Command{{Line: "A"}, {Line: "B"}}, Options{Shell: "none", Runs: 30, Exec: f.exec})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Relative) != 1 {
			t.Fatalf("%s: %d comparisons, want 1", tc.reason, len(s.Relative))
		}
		rel := s.Relative[0]
		if rel.Significant() != tc.wantSig || (tc.wantSig && rel.Faster != tc.wantFaster) {
			t.Errorf("%s: significant %v faster %d (p=%v), want %v, %d", tc.reason, rel.Significant(), rel.Faster, rel.Test.P, tc.wantSig, tc.wantFaster)
		}
		sentence := rel.Sentence(s.Results)
		for _, want := range tc.wantSayings {
			if !strings.Contains(sentence, want) {
				t.Errorf("%s: %q does not say %q", tc.reason, sentence, want)
			}
		}
		if got := len(s.Regressions(tc.gate)) > 0; got != tc.wantRegress {
			t.Errorf("%s: regression at %.0f%% = %v, want %v", tc.reason, tc.gate*100, got, tc.wantRegress)
		}
		if got := string(s.Run(tc.gate).Verdict); got != map[bool]string{true: "fail", false: "pass"}[tc.wantRegress] {
			t.Errorf("%s: verdict %q", tc.reason, got)
		}
	}
}

func TestNoVerdictWhenMeansAndMediansDisagree(t *testing.T) {
	// A's runs are mostly faster than B's, but one huge outlier makes A's
	// mean the larger: the U test rejects, yet "A is faster" and "B is
	// faster" both have support, so no verdict is given.
	a := []float64{10, 10.1, 9.9, 10.05, 9.95, 10.02, 9.98, 10.01, 200}
	b := []float64{11, 11.1, 10.9, 11.05, 10.95, 11.02, 10.98, 11.01, 11}
	rs := []*Result{{Command: Command{Line: "A"}, Wall: a}, {Command: Command{Line: "B"}, Wall: b}}
	rel := Compare2(rs, 0, 1)
	if !rel.Test.Significant || rel.Consistent || rel.Significant() {
		t.Errorf("U significant %v, consistent %v, verdict %v; want true, false, false", rel.Test.Significant, rel.Consistent, rel.Significant())
	}
	if s := rel.Sentence(rs); !strings.Contains(s, "no verdict") {
		t.Errorf("sentence %q must refuse a verdict", s)
	}
}

// deterministicSession is a fixed two-command session for golden files.
func deterministicSession(t *testing.T) *Session {
	t.Helper()
	f := newFake(noisy(7, map[string]time.Duration{"": time.Millisecond, "sleep 0.02": 21 * time.Millisecond, "sleep 0.03": 31 * time.Millisecond}))
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := RunCommands(context.Background(), []Command{{Line: "sleep 0.02"}, {Line: "sleep 0.03"}},
		Options{OverheadRuns: 5, Runs: 12, Warmup: 1, Exec: f.exec, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSessionRenderers(t *testing.T) {
	s := deterministicSession(t)
	for _, tc := range []struct {
		golden string
		write  func(*bytes.Buffer) error
	}{
		{"session.golden.txt", func(b *bytes.Buffer) error { return s.WriteText(b) }},
		{"session.golden.md", func(b *bytes.Buffer) error { return s.WriteMarkdown(b) }},
		{"session.golden.csv", func(b *bytes.Buffer) error { return s.WriteCSV(b) }},
	} {
		var b bytes.Buffer
		if err := tc.write(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.golden, b.Bytes())
	}
}

func TestSessionRunDocument(t *testing.T) {
	s := deterministicSession(t)
	var b bytes.Buffer
	run := s.Run(0.05)
	if err := json.NewEncoder(&b).Encode(run); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Kind       string           `json:"kind"`
		Benchmarks []map[string]any `json:"benchmarks"`
		Comparison map[string]any   `json:"comparison"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Kind != "bench" || len(doc.Benchmarks) != 2 {
		t.Fatalf("kind %q with %d benchmarks, want bench with 2", doc.Kind, len(doc.Benchmarks))
	}
	for _, key := range []string{"command", "runs", "mean_s", "stddev_s", "median_s", "min_s", "max_s", "user_s", "system_s", "max_rss_mb", "outliers", "times_s"} {
		if _, ok := doc.Benchmarks[0][key]; !ok {
			t.Errorf("benchmarks[0] lacks the public key %q", key)
		}
	}
	if doc.Benchmarks[0]["runs"].(float64) != 12 || doc.Benchmarks[0]["warmup"].(float64) != 1 {
		t.Errorf("runs/warmup = %v/%v, want 12/1", doc.Benchmarks[0]["runs"], doc.Benchmarks[0]["warmup"])
	}
	rows, _ := doc.Comparison["rows"].([]any)
	if len(rows) != 1 {
		t.Fatalf("comparison rows = %v, want one (sleep 0.03 against the reference)", doc.Comparison)
	}
	row := rows[0].(map[string]any)
	if row["significant"] != true || row["regression"] != true || row["verdict"] != "worse" {
		t.Errorf("row = %v, want a significant regression", row)
	}
}

func TestRealSleep(t *testing.T) {
	// A command of known duration through the real shell: the shell's
	// start-up is subtracted, so what is left is the sleep. A machine busy
	// with other work delays wake-ups by tens of milliseconds, so up to
	// three attempts are made; a wrong method fails all of them.
	var problems []string
	for attempt := 1; attempt <= 3; attempt++ {
		if plain := plainSleepMedian(t); plain > 0.065 {
			t.Skipf("the machine is too busy to time a 50 ms command: a plain exec of sleep 0.05 takes %.1f ms", plain*1e3)
		}
		problems = realSleepOnce(t)
		if len(problems) == 0 {
			return
		}
		t.Logf("attempt %d: %s", attempt, strings.Join(problems, "; "))
	}
	t.Error(strings.Join(problems, "\n"))
}

// plainSleepMedian times `sleep 0.05` the obvious way, five times, as a
// check of the machine rather than of the package.
func plainSleepMedian(t *testing.T) float64 {
	var xs []float64
	for range 5 {
		start := time.Now()
		if err := osexec.Command("sleep", "0.05").Run(); err != nil {
			t.Fatal(err)
		}
		xs = append(xs, time.Since(start).Seconds())
	}
	return refMedian(xs)
}

func realSleepOnce(t *testing.T) []string {
	start := time.Now()
	s, err := RunCommands(context.Background(), []Command{{Line: "sleep 0.05"}},
		Options{MinTime: 500 * time.Millisecond, MinRuns: 3, OverheadRuns: 10})
	if err != nil {
		t.Fatal(err)
	}
	r := s.Results[0]
	st := r.Stats()
	t.Logf("overhead %.2f ms; %d runs, mean %.2f ms ± %.2f ms, median %.2f ms, in %s",
		s.Overhead.Wall*1e3, st.N, st.Mean*1e3, st.Stddev*1e3, st.Median*1e3, time.Since(start).Round(time.Millisecond))
	var problems []string
	if st.Median < 0.049 || st.Median > 0.075 {
		problems = append(problems, fmt.Sprintf("median %.4f s, want about 0.05 s", st.Median))
	}
	if st.Mean < 0.049 || st.Mean > 0.09 {
		problems = append(problems, fmt.Sprintf("mean %.4f s, want about 0.05 s", st.Mean))
	}
	if st.Stddev > 0.25*st.Mean {
		problems = append(problems, fmt.Sprintf("stddev %.4f s is not small next to the mean %.4f s", st.Stddev, st.Mean))
	}
	// The first run (plus the shell it paid for) decided the count.
	iter := r.Wall[0] + s.Overhead.Wall
	want := max(3, int(math.Floor(0.5/iter)))
	if r.Planned < want-1 || r.Planned > want+1 || len(r.Wall) != r.Planned {
		problems = append(problems, fmt.Sprintf("planned %d runs, measured %d; the min-time rule gives %d for a first iteration of %.4f s", r.Planned, len(r.Wall), want, iter))
	}
	if r.MaxRSS <= 0 {
		problems = append(problems, "no peak memory was read from rusage")
	}
	return problems
}

func TestRunProcess(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		reason   string
		argv     []string
		wantCode int
		wantErr  error
	}{
		{"success", []string{"true"}, 0, nil},
		{"an exit code is reported, not an error", []string{"sh", "-c", "exit 3"}, 3, nil},
		{"a signal is 128 + its number", []string{"sh", "-c", "kill -9 $$"}, 137, nil},
		{"a missing program cannot start", []string{"/nonexistent/program"}, 0, ErrStart},
	} {
		m, err := RunProcess(ctx, tc.argv)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("%s: err = %v, want %v", tc.reason, err, tc.wantErr)
			}
			continue
		}
		if err != nil || m.ExitCode != tc.wantCode || m.Wall <= 0 || m.MaxRSS <= 0 || m.RSSFloor <= 0 {
			t.Errorf("%s: %+v, %v; want exit %d with wall, rss and floor", tc.reason, m, err, tc.wantCode)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	start := time.Now()
	if _, err := RunProcess(cctx, []string{"sleep", "10"}); !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Errorf("cancel: err = %v after %s; want context.Canceled at once", err, time.Since(start))
	}
}
