package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// SuiteOptions are what RunSuites needs beyond the suites themselves.
type SuiteOptions struct {
	Dir    string // working directory of Go suites (a module root); empty for the current one
	Shell  string // see Options.Shell
	Output io.Writer
	// Exec, GoTest, Now and Progress are injected as in Options and
	// GoOptions; nil uses the real ones.
	Exec     Exec
	GoTest   GoTest
	Now      func() time.Time
	Progress func(Progress)
}

// Suite levels.
const (
	LevelMicro     = "micro"
	LevelComponent = "component"
	LevelSystem    = "system"
)

// LevelDefaults are a level's iterations and warm-up iterations when a
// suite that names its level sets neither runs nor min_time (iterations)
// or warmup: the more isolated the code, the cheaper an iteration and the
// more of them it takes to see through noise.
var LevelDefaults = map[string]struct{ Iterations, Warmup int }{
	LevelMicro:     {100000, 1000},
	LevelComponent: {10000, 100},
	LevelSystem:    {1000, 10},
}

// MaxSuiteRuns bounds a suite's runs and warmup (and so a level's
// defaults): a million timed runs is days of any real command.
const MaxSuiteRuns = 1000000

// suiteIterations resolves a suite's iterations and warm-up: what it sets,
// else its level's defaults when it names a level (0 leaves the choice to
// the runner: hyperfine's rule for commands, go test's for Go).
func suiteIterations(s *plan.BenchmarkSuite) (runs, warmup int) {
	runs, warmup = s.Runs, s.Warmup
	d, ok := LevelDefaults[s.Level]
	if !ok {
		return runs, warmup
	}
	if runs == 0 && s.MinTime == 0 {
		runs = d.Iterations
	}
	if warmup == 0 {
		warmup = d.Warmup
	}
	return runs, warmup
}

// ValidateSuites reports every problem with suites at once, each naming
// the suite by its position and name.
func ValidateSuites(suites []*plan.BenchmarkSuite) error {
	var errs []error
	for i, s := range suites {
		where := fmt.Sprintf("benchmarks[%d]", i)
		if s == nil {
			errs = append(errs, fmt.Errorf("%w: %s: empty entry", ErrInvalid, where))
			continue
		}
		if s.Name != "" {
			where += " (" + s.Name + ")"
		}
		bad := func(format string, a ...any) {
			errs = append(errs, fmt.Errorf("%w: %s: "+format, append([]any{ErrInvalid, where}, a...)...))
		}
		if s.Name == "" {
			bad("name is required")
		}
		switch s.Level {
		case "", LevelMicro, LevelComponent, LevelSystem:
		default:
			bad("level %q: use micro, component or system", s.Level)
		}
		switch {
		case s.Command != "" && s.Go != "":
			bad("set either command or go, not both")
		case s.Command == "" && s.Go == "":
			bad("set command (a command line) or go (a package pattern)")
		case s.Command != "" && s.Bench != "":
			bad("bench is for go suites; a command suite runs its command")
		case s.Go != "" && s.Prepare != "":
			bad("prepare is for command suites")
		case s.Go != "" && s.Warmup != 0:
			bad("warmup is for command suites; go test warms up by itself")
		}
		if s.Warmup < 0 || s.Warmup > MaxSuiteRuns {
			bad("warmup must be between 0 and %d, got %d", MaxSuiteRuns, s.Warmup)
		}
		if s.Runs < 0 || s.Runs > MaxSuiteRuns {
			bad("runs must be between 0 and %d, got %d", MaxSuiteRuns, s.Runs)
		}
		if s.MinTime < 0 {
			bad("min_time must be ≥ 0")
		}
	}
	return errors.Join(errs...)
}

// RunSuites runs the `benchmarks:` suites of a plan in order and returns
// one Benchmark per command suite and per Go benchmark of a go suite
// (named "suite/Benchmark"), each with its level (default: micro for go
// suites, system for command suites) and opportunity notes.
//
// A command suite is measured like `stampede bench` with its warmup, runs
// (exact) or min_time, and prepare; a suite that names its level and
// leaves them out gets the level's LevelDefaults. A go suite runs `go test -bench` on
// its package pattern with count = runs (default 10) and -benchtime =
// min_time when set. When ctx is cancelled, RunSuites returns what was
// measured, the interrupted benchmarks marked Partial, with ctx's error;
// other failures stop at the failing suite, likewise.
func RunSuites(ctx context.Context, suites []*plan.BenchmarkSuite, o SuiteOptions) ([]result.Benchmark, error) {
	if err := ValidateSuites(suites); err != nil {
		return nil, err
	}
	var out []result.Benchmark
	for _, s := range suites {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		var bs []result.Benchmark
		var err error
		if s.Command != "" {
			bs, err = runCommandSuite(ctx, s, o)
		} else {
			bs, err = runGoSuite(ctx, s, o)
		}
		out = append(out, bs...)
		if err != nil {
			return out, fmt.Errorf("benchmark %s: %w", s.Name, err)
		}
	}
	return out, nil
}

func runCommandSuite(ctx context.Context, s *plan.BenchmarkSuite, o SuiteOptions) ([]result.Benchmark, error) {
	cmd := Command{Name: s.Name, Line: s.Command, Prepare: s.Prepare}
	runs, warmup := suiteIterations(s)
	sess, err := RunCommands(ctx, []Command{cmd}, Options{
		Warmup: warmup, Runs: runs, MinTime: s.MinTime.D(), Shell: o.Shell,
		Exec: o.Exec, Now: o.Now, Progress: o.Progress,
	})
	if sess == nil {
		return nil, err
	}
	bs := sess.Benchmarks()
	for i := range bs {
		bs[i].Level = levelOr(s.Level, LevelSystem)
		if len(bs[i].Times) == 0 {
			return nil, err
		}
	}
	return bs, err
}

func runGoSuite(ctx context.Context, s *plan.BenchmarkSuite, o SuiteOptions) ([]result.Benchmark, error) {
	g := GoOptions{Packages: []string{s.Go}, Bench: s.Bench, Count: s.Runs, Dir: o.Dir, Label: s.Name, Output: o.Output, GoTest: o.GoTest}
	if s.MinTime > 0 {
		g.Benchtime = s.MinTime.D().String()
	}
	// A level's iterations are each run's b.N, its warm-up one discarded
	// run of that many first; runs stay the count of measured runs.
	if d, ok := LevelDefaults[s.Level]; ok && s.MinTime == 0 {
		g.Benchtime = fmt.Sprintf("%dx", d.Iterations)
		warm := g
		warm.Count, warm.Benchtime, warm.Output = 1, fmt.Sprintf("%dx", d.Warmup), nil
		if _, err := RunGo(ctx, warm); err != nil {
			return nil, fmt.Errorf("warm-up: %w", err)
		}
	}
	set, err := RunGo(ctx, g)
	if set == nil {
		return nil, err
	}
	bs := set.Benchmarks(levelOr(s.Level, LevelMicro))
	for i := range bs {
		bs[i].Name = s.Name + "/" + bs[i].Name
		if err != nil {
			bs[i].Partial = true
		}
	}
	return bs, err
}

func levelOr(level, def string) string {
	if level == "" {
		return def
	}
	return level
}
