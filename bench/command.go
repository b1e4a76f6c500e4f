package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"time"
)

// Defaults of Options, hyperfine's.
const (
	DefaultMinRuns      = 10
	DefaultMinTime      = 3 * time.Second
	DefaultOverheadRuns = 50
)

// Options configure RunCommands. The zero value is hyperfine's default:
// no warm-up, at least 10 runs and 3 s per command, through sh.
type Options struct {
	Warmup  int           // untimed runs per command before measuring
	Runs    int           // exact number of timed runs; 0 chooses from MinRuns, MinTime and MaxRuns
	MinRuns int           // default DefaultMinRuns
	MaxRuns int           // 0: no cap
	MinTime time.Duration // default DefaultMinTime
	// Shell runs each command line as `Shell -c line`; "none" splits the
	// line into words and starts it directly (no overhead to subtract).
	// Default "sh".
	Shell string
	// OverheadRuns is how many times the empty command is run through the
	// shell to measure its start-up time. Default DefaultOverheadRuns.
	OverheadRuns int
	// IgnoreFailure keeps measuring commands that exit non-zero; otherwise
	// the first failure stops the benchmark with a *CommandError.
	IgnoreFailure bool

	Exec Exec             // nil: RunProcess
	Now  func() time.Time // nil: time.Now; stamps Session.StartedAt/EndedAt
	// Progress, when set, is called before every run from the goroutine
	// that called RunCommands.
	Progress func(Progress)
}

// Progress is where a benchmark session is.
type Progress struct {
	Stage   string // "overhead", "warmup" or "measure"
	Index   int    // the command's index in the list, -1 for the shell overhead
	Command string
	Run     int           // runs of this stage done so far
	Runs    int           // runs of this stage planned (0 while not yet known)
	Mean    time.Duration // mean of the timed runs so far
}

func (o Options) withDefaults() Options {
	if o.MinRuns == 0 {
		o.MinRuns = DefaultMinRuns
	}
	if o.MinTime == 0 {
		o.MinTime = DefaultMinTime
	}
	if o.Shell == "" {
		o.Shell = "sh"
	}
	if o.OverheadRuns == 0 {
		o.OverheadRuns = DefaultOverheadRuns
	}
	if o.Exec == nil {
		o.Exec = RunProcess
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, a...)...))
	}
	if o.Warmup < 0 {
		bad("warmup must be ≥ 0, got %d", o.Warmup)
	}
	if o.Runs < 0 {
		bad("runs must be ≥ 0, got %d", o.Runs)
	}
	if o.MinRuns < 0 {
		bad("min-runs must be ≥ 0, got %d", o.MinRuns)
	}
	if o.MaxRuns < 0 {
		bad("max-runs must be ≥ 0, got %d", o.MaxRuns)
	}
	if o.MaxRuns > 0 && o.MinRuns > o.MaxRuns {
		bad("min-runs (%d) > max-runs (%d)", o.MinRuns, o.MaxRuns)
	}
	if o.MinTime < 0 {
		bad("min-time must be ≥ 0, got %s", o.MinTime)
	}
	if o.OverheadRuns < 0 {
		bad("overhead runs must be ≥ 0, got %d", o.OverheadRuns)
	}
	return errors.Join(errs...)
}

// ErrCommandFailed reports a benchmarked command that exited non-zero.
var ErrCommandFailed = errors.New("command failed")

// CommandError is a command that exited non-zero without IgnoreFailure.
type CommandError struct {
	Command  string
	Stage    string // "prepare", "warmup" or "measure"
	ExitCode int
}

func (e *CommandError) Error() string {
	what := "command"
	if e.Stage == "prepare" {
		what = "prepare command"
	}
	return fmt.Sprintf("%s %q exited with code %d: use --ignore-failure to measure it anyway", what, e.Command, e.ExitCode)
}

// Is makes errors.Is(err, ErrCommandFailed) true.
func (e *CommandError) Is(target error) bool { return target == ErrCommandFailed }

// Overhead is the mean cost of starting the shell, subtracted from every
// run.
type Overhead struct {
	Runs   int
	Wall   float64 // seconds
	User   float64
	System float64
}

// Result is every timed run of one command. Times are in seconds with the
// shell overhead already subtracted (never below 0).
type Result struct {
	Command   Command
	Wall      []float64 // in the order the runs were made
	User      []float64
	System    []float64
	MaxRSS    int64 // bytes, the largest of all runs
	RSSFloor  int64 // bytes, see Measurement.RSSFloor
	ExitCodes []int
	Warmup    int
	Planned   int  // runs chosen by the min-time rule (or Runs)
	Partial   bool // stopped before Planned runs
}

// RSSBound reports whether MaxRSS is only an upper bound: not clearly
// above the floor the spawning process imposes (see Measurement.RSSFloor).
func (r *Result) RSSBound() bool {
	return r.RSSFloor > 0 && r.MaxRSS <= r.RSSFloor+rssSlack
}

// rssSlack allows for the spawning process growing a little between
// reading its own peak and starting the command.
const rssSlack = 1 << 20

// Stats describes the wall times.
func (r *Result) Stats() Stats { return Describe(r.Wall) }

// Outliers are the indexes of the outlying runs (see Outliers).
func (r *Result) Outliers() []int { return Outliers(r.Wall) }

// Warnings explain what may make r misleading.
func (r *Result) Warnings() []string {
	var w []string
	if s := OutlierWarning(r.Wall); s != "" {
		w = append(w, s)
	}
	for _, c := range r.ExitCodes {
		if c != 0 {
			w = append(w, "the command exited non-zero in some runs: its times may measure an error path")
			break
		}
	}
	for _, t := range r.Wall {
		if t < 0.005 {
			w = append(w, "some runs took less than 5 ms: process start-up may dominate; --shell none removes the shell's part")
			break
		}
	}
	if r.RSSBound() {
		w = append(w, fmt.Sprintf("peak memory is only an upper bound: it is not above stampede's own %s, which the kernel charges a child with until exec", fmtBytes(float64(r.RSSFloor))))
	}
	if r.Partial {
		w = append(w, fmt.Sprintf("partial: %d of %d planned runs", len(r.Wall), r.Planned))
	}
	return w
}

// Session is the outcome of RunCommands.
type Session struct {
	Results  []*Result
	Overhead *Overhead // nil with Shell "none"
	// Relative compares every other result with Results[0], the reference.
	Relative  []Relative
	Partial   bool
	StartedAt time.Time
	EndedAt   time.Time
}

// RunCommands benchmarks cmds with hyperfine's method (see the package
// documentation). On cancellation, or when a command fails, it returns the
// session measured so far, marked Partial, together with the error, so the
// caller can still report it. RunCommands runs one process at a time and
// calls o.Exec and o.Progress only from the calling goroutine.
func RunCommands(ctx context.Context, cmds []Command, o Options) (*Session, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if len(cmds) == 0 {
		return nil, fmt.Errorf("%w: no command to benchmark", ErrInvalid)
	}
	// Real processes get their program looked up in PATH once, not before
	// every run (that search costs tens of microseconds a run), and share
	// one open null device.
	resolve := o.Exec == nil
	if resolve {
		if devnull, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
			defer devnull.Close()
			o.Exec = func(ctx context.Context, argv []string) (Measurement, error) {
				return runProcess(ctx, argv, devnull)
			}
		}
	}
	o = o.withDefaults()
	r := &runner{o: o, s: &Session{StartedAt: o.Now()}, resolve: resolve, argvs: map[string][]string{}}
	for _, c := range cmds {
		r.s.Results = append(r.s.Results, &Result{Command: c, Warmup: o.Warmup})
	}
	err := r.run(ctx)
	r.s.EndedAt = o.Now()
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		r.s.Partial = true
		for _, res := range r.s.Results {
			res.Partial = len(res.Wall) < res.Planned || res.Planned == 0
		}
	}
	r.s.Relative = compareResults(r.s.Results)
	return r.s, err
}

type runner struct {
	o       Options
	s       *Session
	resolve bool                // look programs up in PATH once
	argvs   map[string][]string // command line → argv, built once
}

// argv is how line runs, built and looked up once per line.
func (r *runner) argv(line string) ([]string, error) {
	if a, ok := r.argvs[line]; ok {
		return a, nil
	}
	a, err := argv(r.o.Shell, line)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if r.resolve {
		p, err := exec.LookPath(a[0])
		if err != nil {
			return nil, fmt.Errorf("%w: %w %q: %v", ErrInvalid, ErrStart, a[0], err)
		}
		a = append([]string{p}, a[1:]...)
	}
	r.argvs[line] = a
	return a, nil
}

func (r *runner) run(ctx context.Context) error {
	argvs := make([][]string, len(r.s.Results))
	for i, res := range r.s.Results {
		a, err := r.argv(res.Command.Line)
		if err != nil {
			return err
		}
		argvs[i] = a
		if res.Command.Prepare != "" {
			if _, err := r.argv(res.Command.Prepare); err != nil {
				return fmt.Errorf("prepare: %w", err)
			}
		}
	}
	if r.o.Shell != "none" && r.o.OverheadRuns > 0 {
		if err := r.measureOverhead(ctx); err != nil {
			return err
		}
	}
	// Warm-up, command by command.
	for i, res := range r.s.Results {
		for k := range r.o.Warmup {
			r.progress(Progress{Stage: "warmup", Index: i, Command: res.Command.Label(), Run: k, Runs: r.o.Warmup})
			if _, _, err := r.once(ctx, res, argvs[i], "warmup"); err != nil {
				return err
			}
		}
	}
	// One timed run each decides the number of runs.
	for i, res := range r.s.Results {
		r.progress(Progress{Stage: "measure", Index: i, Command: res.Command.Label()})
		m, prep, err := r.once(ctx, res, argvs[i], "measure")
		if err != nil {
			return err
		}
		res.Planned = r.plannedRuns(m.Wall + prep)
		r.record(res, m)
	}
	// The rest interleaved: A B A B …, each command until it has its runs.
	for {
		more := false
		for i, res := range r.s.Results {
			if len(res.Wall) >= res.Planned {
				continue
			}
			more = true
			r.progress(Progress{Stage: "measure", Index: i, Command: res.Command.Label(), Run: len(res.Wall), Runs: res.Planned,
				Mean: time.Duration(meanOf(res.Wall) * float64(time.Second))})
			m, _, err := r.once(ctx, res, argvs[i], "measure")
			if err != nil {
				return err
			}
			r.record(res, m)
		}
		if !more {
			return nil
		}
	}
}

// meanOf is the mean of xs (0 for none): the progress line's, after
// every run, so without Describe's sort (thousands of runs made it
// quadratic).
func meanOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// plannedRuns is hyperfine's rule: enough runs to fill MinTime at the cost
// of one iteration (the run, its prepare and the shell's start-up), at
// least MinRuns and at most MaxRuns; or exactly Runs.
func (r *runner) plannedRuns(iteration time.Duration) int {
	if r.o.Runs > 0 {
		return r.o.Runs
	}
	n := r.o.MinRuns
	if iteration > 0 {
		inTime := math.Floor(r.o.MinTime.Seconds() / iteration.Seconds())
		if inTime > float64(n) {
			n = int(min(inTime, math.MaxInt32))
		}
	} else {
		// Too fast to see: the cap, if any, decides.
		n = max(n, r.o.MaxRuns)
	}
	if r.o.MaxRuns > 0 {
		n = min(n, r.o.MaxRuns)
	}
	return max(n, 1)
}

// once runs the prepare command, if any, then the command. It returns the
// command's measurement with the shell overhead still in, and the prepare
// command's wall time.
func (r *runner) once(ctx context.Context, res *Result, av []string, stage string) (Measurement, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return Measurement{}, 0, err
	}
	var prep time.Duration
	if res.Command.Prepare != "" {
		pav, err := r.argv(res.Command.Prepare)
		if err != nil {
			return Measurement{}, 0, fmt.Errorf("prepare: %w", err)
		}
		pm, err := r.o.Exec(ctx, pav)
		if err != nil {
			return Measurement{}, 0, r.execErr(ctx, err)
		}
		if pm.ExitCode != 0 {
			return Measurement{}, 0, &CommandError{Command: res.Command.Prepare, Stage: "prepare", ExitCode: pm.ExitCode}
		}
		prep = pm.Wall
	}
	m, err := r.o.Exec(ctx, av)
	if err != nil {
		return Measurement{}, 0, r.execErr(ctx, err)
	}
	if m.ExitCode != 0 && !r.o.IgnoreFailure {
		return Measurement{}, 0, &CommandError{Command: res.Command.Line, Stage: stage, ExitCode: m.ExitCode}
	}
	return m, prep, nil
}

// execErr prefers the context's error: a run killed by cancellation is an
// interruption, not a broken command.
func (r *runner) execErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, ErrStart) {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return err
}

// record stores one timed run with the shell overhead subtracted.
func (r *runner) record(res *Result, m Measurement) {
	var ov Overhead
	if r.s.Overhead != nil {
		ov = *r.s.Overhead
	}
	res.Wall = append(res.Wall, max(m.Wall.Seconds()-ov.Wall, 0))
	res.User = append(res.User, max(m.User.Seconds()-ov.User, 0))
	res.System = append(res.System, max(m.System.Seconds()-ov.System, 0))
	res.MaxRSS = max(res.MaxRSS, m.MaxRSS)
	res.RSSFloor = max(res.RSSFloor, m.RSSFloor)
	res.ExitCodes = append(res.ExitCodes, m.ExitCode)
}

// measureOverhead runs the empty command through the shell.
func (r *runner) measureOverhead(ctx context.Context) error {
	av, err := r.argv("")
	if err != nil {
		return fmt.Errorf("cannot measure the shell's start-up time: %w", err)
	}
	var wall, user, sys float64
	n := r.o.OverheadRuns
	for k := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		r.progress(Progress{Stage: "overhead", Index: -1, Command: r.o.Shell + ` -c ""`, Run: k, Runs: n})
		m, err := r.o.Exec(ctx, av)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%w: cannot measure the shell's start-up time: make sure '%s -c \"\"' runs: %v", ErrInvalid, r.o.Shell, err)
		}
		if m.ExitCode != 0 {
			return fmt.Errorf("%w: cannot measure the shell's start-up time: '%s -c \"\"' exited with code %d", ErrInvalid, r.o.Shell, m.ExitCode)
		}
		wall += m.Wall.Seconds()
		user += m.User.Seconds()
		sys += m.System.Seconds()
	}
	f := float64(n)
	r.s.Overhead = &Overhead{Runs: n, Wall: wall / f, User: user / f, System: sys / f}
	return nil
}

func (r *runner) progress(p Progress) {
	if r.o.Progress != nil {
		r.o.Progress(p)
	}
}
