package suite

// The test protocol (Test) is one command's worth of performance testing:
//
//	warm-up → baseline (1, 10, 50 users) → load suite (normal, peak,
//	spike, volume) → stress to the breaking point → recovery → soak →
//	scalability → connection-pool scaling,       benchmarks alongside
//
// Every phase is one or more loads run by RunLoad, one after another, so
// the engine's measurement rules hold everywhere and no engine logic lives
// here. What this file adds is the ordering, the cool-downs between
// tests, a watcher beside each phase, and the bookkeeping that turns many
// loads into one Run of kind "test":
//
//   - Time: each load's windows are moved onto the protocol's clock (t_s
//     from the protocol's start, window.phase set) and concatenated; the
//     watch's timelines use the same clock. Loads never overlap, so
//     nothing is merged window by window.
//   - Summaries (of each phase and of the whole test) merge the loads'
//     HDR histograms (metrics.Merge); percentiles are never averaged.
//     Duration is time under load, so RPS is requests per second of load,
//     not of wall time with cool-downs.
//   - Concurrency: loads run on the calling goroutine, one at a time,
//     because they share the machine and the target. Each phase's
//     analysis (merging, thresholds, the soak's trend tests) runs on its
//     own goroutine as soon as the phase's data is in, while the next
//     phase loads; the benchmark suites, which do not load the target,
//     run on another from the start. Decisions the protocol needs at
//     once — whether a stress step held, when recovery is complete — are
//     taken on the calling goroutine from the loads' own windows.
//   - Interrupts: cancelling ctx stops the running load at once (RunLoad
//     keeps what it measured), skips the phases not yet run and still
//     returns the complete, aborted Run.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/bench"
	"github.com/stampede-perf/stampede/internal/devprobe"
	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/netcond"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// Phase groups, as --only names them. A load test's own name (normal,
// peak, …) selects just that test; stress brings its recovery along.
const (
	PhaseWarmup      = "warmup"
	PhaseBaseline    = "baseline"
	PhaseLoad        = "load"
	PhaseStress      = "stress"
	PhaseRecovery    = "recovery"
	PhaseSoak        = "soak"
	PhaseScalability = "scalability"
	PhasePool        = "pool"
	PhaseBench       = "bench"
)

// PhaseGroups lists the phase groups in the order they run.
func PhaseGroups() []string {
	return []string{PhaseWarmup, PhaseBaseline, PhaseLoad, PhaseStress, PhaseRecovery, PhaseSoak, PhaseScalability, PhasePool, PhaseBench}
}

// ErrProtocol wraps problems with the protocol's settings or options,
// found before anything runs.
var ErrProtocol = errors.New("invalid test protocol")

// Options tune a protocol run. Every function field may be nil.
type Options struct {
	// Profile is standard or quick; "" takes the plan's tests.profile.
	Profile string
	// Only runs just these phases (PhaseGroups, or load test names, each
	// entry possibly a comma-separated list); empty runs every phase.
	Only []string
	// TimeScale multiplies every duration of the protocol (plan.Tests
	// Scaled): rehearsals and the protocol's own tests. 0 means 1.
	TimeScale float64
	Getenv    func(string) string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Sleep waits d or until ctx ends: cool-downs and stabilisation.
	Sleep func(ctx context.Context, d time.Duration) error
	// Progress hears about phase changes (from the goroutine that called
	// Test) and every closed window (from the running load's collector).
	// Calls never overlap: each happens-before the next.
	Progress func(Progress)
	// ProfileDir is where the watch (RunLoad's, beside every load when the
	// plan has a system block) saves profiles: one directory per load
	// under it. "" takes none.
	ProfileDir string
	// Logf hears what the watch notices as it goes.
	Logf func(string, ...any)
	// OnSystem sees each point of the watched system under test as it
	// is taken, on the protocol's clock (t_s since the test started, as
	// in the finished Run), from the watch's goroutine.
	OnSystem func(result.SystemPoint)
	// Exec runs a scalability apply or revert command line. When nil it
	// runs under sh -c with its output to Log.
	Exec func(ctx context.Context, command string) error
	// Bench runs the plan's benchmark suites; bench.RunSuites when nil.
	// It runs on its own goroutine, alongside the load phases.
	Bench func(ctx context.Context, suites []*plan.BenchmarkSuite) ([]result.Benchmark, error)
	// OnBaseline receives the baseline's top level as a complete load Run
	// as soon as it is measured, to record it as the plan's baseline in
	// the run history. Its error becomes a warning of the test. It is
	// called from an analysis goroutine.
	OnBaseline func(ctx context.Context, run *result.Run) error
	// DeferConclusions leaves the test's findings and the settling of its
	// verdict to the caller (see LoadOptions.DeferConclusions). The
	// protocol's own loads are never concluded one by one: only the test
	// is, and the baseline handed to OnBaseline.
	DeferConclusions bool
	// Log receives the output of commands; discarded when nil.
	Log io.Writer
}

// Progress is what the protocol is doing.
type Progress struct {
	Phase        string        // the phase running
	Kind         string        // its kind
	Index, Total int           // its position among the phases that run (1-based)
	Next         string        // the phase after it ("" for the last)
	Detail       string        // what within the phase: "step 3: 240 rps", "cool-down"
	Elapsed      time.Duration // since the protocol started
	ETA          time.Duration // estimated time left for the whole protocol
	// Window is the window that just closed, on the protocol's clock
	// (t_s from the protocol's start, phase set); nil at phase changes.
	Window *result.Window
	Run    *result.Run // the running load so far
}

// stage is one phase to run: its name, kind, planned length (for the
// ETA) and what to do.
type stage struct {
	name, kind string
	planned    time.Duration
	run        func(ctx context.Context) error
}

// protocol is the state of one Test call. Fields below mu are written by
// analysis goroutines.
type protocol struct {
	p     *plan.Plan
	tests *plan.Tests
	o     Options
	now   func() time.Time
	t0    time.Time

	stages      []stage
	selectedSet map[string]bool // --only; empty: everything
	benchListed bool            // benchmarks run alongside
	current     int             // index into stages of the running one
	started     time.Time
	extra       time.Duration // re-estimated length of the running stage
	loadStart   time.Time     // of the running load, for progress windows
	loads       int           // loads run so far, to name profile directories

	recs     []*phaseRec // in the order the phases ran
	analyses sync.WaitGroup

	baseTop *result.Run // the baseline's top level, for the stress start
	stress  *stressState
	// the analysis settings, with the measured device ceilings (set
	// before the first phase)
	cfg   map[string]float64
	ceil  *result.Ceilings
	disks devprobe.Cache // the disk probes of the test, one per device
	// what the resource variants read of the watched process at their
	// last step: its limits (the CPU capacity) and use (its cgroup's
	// memory limit and OOM kills)
	procLimits *result.ProcessLimits
	lastUse    analyze.Use

	mu        sync.Mutex // guards the fields below
	warnings  []string
	stressR   *result.Stress
	soak      *result.Soak
	scale     *result.Scalability
	poolScale *result.Scalability // the pool phase's, with unit "pool"
}

// phaseRec is one phase: its loads in order and the Phase its analysis
// fills in.
type phaseRec struct {
	ph    result.Phase
	loads []*result.Run
}

// Test runs the protocol the plan's `tests:` block describes (with the
// profile's defaults) and returns its Run, kind "test". The Run is
// complete even when ctx is cancelled — then it is marked aborted and
// ctx's error is returned with it. A nil Run comes with an error wrapping
// ErrProtocol or ErrCompile: nothing ran.
func Test(ctx context.Context, p *plan.Plan, o Options) (*result.Run, error) {
	tests, err := p.Protocol(o.Profile)
	if err != nil {
		return nil, errors.Join(ErrProtocol, err)
	}
	if o.TimeScale > 0 {
		tests = tests.Scaled(o.TimeScale)
	}
	if err := Compile(p, o.Getenv); err != nil {
		return nil, err
	}
	pr := &protocol{p: p, tests: tests, o: o, now: o.Now}
	if pr.now == nil {
		pr.now = time.Now
	}
	if pr.o.Sleep == nil {
		pr.o.Sleep = sleep
	}
	if pr.o.Log == nil {
		pr.o.Log = io.Discard
	}
	if err := pr.plan(o.Only); err != nil {
		return nil, errors.Join(ErrProtocol, err)
	}

	pr.t0 = pr.now()
	pr.measureCeilings(ctx)
	var benchOut []result.Benchmark
	var benchErr error
	benchDone := make(chan struct{})
	runBench := pr.selected(PhaseBench) && len(p.Benchmarks) > 0
	if runBench {
		run := o.Bench
		if run == nil {
			run = func(ctx context.Context, s []*plan.BenchmarkSuite) ([]result.Benchmark, error) {
				return bench.RunSuites(ctx, s, bench.SuiteOptions{Dir: filepath.Dir(cmp.Or(p.File, "./plan")), Output: pr.o.Log})
			}
		}
		go func() {
			defer close(benchDone)
			benchOut, benchErr = run(ctx, p.Benchmarks)
		}()
	} else {
		close(benchDone)
	}

	var runErr error
	for i, st := range pr.stages {
		if ctx.Err() != nil {
			break
		}
		pr.current, pr.started, pr.extra = i, pr.now(), 0
		pr.report(Progress{})
		err := st.run(ctx)
		if ctx.Err() != nil {
			break
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			if len(pr.recs) == 0 {
				pr.analyses.Wait()
				<-benchDone
				return nil, fatal.err // nothing ran: the setup is wrong
			}
			runErr = fatal.err
			break
		}
		if err != nil {
			pr.warn(fmt.Sprintf("%s: %v", st.name, err))
		}
	}
	if ctx.Err() != nil {
		runErr = ctx.Err()
	}
	pr.analyses.Wait()
	<-benchDone

	run := pr.assemble(ctx)
	if runBench {
		ph := result.Phase{Name: "benchmarks", Kind: PhaseBench, Pass: benchErr == nil}
		if benchErr != nil {
			ph.Note = benchErr.Error()
		}
		ph.Note = joinNote(ph.Note, fmt.Sprintf("%d benchmark(s), run alongside the load phases", len(benchOut)))
		run.Benchmarks = benchOut
		run.Phases = append(run.Phases, ph)
	}
	for _, st := range pr.stages[min(pr.current, len(pr.stages)):] {
		if runErr != nil && !slices.ContainsFunc(run.Phases, func(ph result.Phase) bool { return ph.Name == st.name }) {
			run.Phases = append(run.Phases, result.Phase{Name: st.name, Kind: st.kind, Skipped: true, Note: "not run: the test was stopped"})
		}
	}
	if runErr != nil {
		run.Aborted, run.AbortReason = true, "interrupted"
		if ctx.Err() == nil {
			run.AbortReason = runErr.Error()
		}
	}
	// The generator counts as saturated where a phase's result rests on
	// it: a step measured again after a moment's saturation, or a
	// phase that failed on its errors anyway, says nothing against the
	// run's measurements (its warnings keep the moment).
	run.Generator.Saturated, run.Generator.Reason = false, ""
	var unmeasured []string
	run.Verdict = analyze.VerdictPass
	for _, ph := range run.Phases {
		switch {
		case ph.Inconclusive:
			unmeasured = append(unmeasured, ph.Name)
		case !ph.Skipped && !ph.Pass:
			run.Verdict = analyze.VerdictFail
		}
	}
	if len(unmeasured) > 0 {
		run.Generator.Saturated = true
		run.Generator.Reason = "it could not keep up in " + strings.Join(unmeasured, ", ")
	}
	if run.Aborted {
		run.Verdict = analyze.VerdictFail
	}
	if !pr.o.DeferConclusions {
		run.SetConclusion(analyze.Judge(run, run.Analysis)) // settles the verdict with the findings'
	}
	return run, runErr
}

// plan lays out the stages that --only selects.
func (pr *protocol) plan(only []string) error {
	t := pr.tests
	known := PhaseGroups()
	for _, l := range t.Load {
		known = append(known, l.Name)
	}
	want := map[string]bool{}
	var bad []string
	for _, o := range only {
		for _, name := range strings.Split(o, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			if !slices.Contains(known, name) {
				bad = append(bad, name)
			}
			want[name] = true
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("--only: unknown phase %s (use %s)", strings.Join(bad, ", "), strings.Join(known, ", "))
	}
	if want[PhaseRecovery] && !want[PhaseStress] && len(want) > 0 {
		return errors.New("--only: recovery follows stress and is measured against it; ask for stress (it brings recovery along)")
	}
	all := len(want) == 0
	pr.selectedSet = want
	sel := func(group string) bool { return all || want[group] }

	cool := t.CoolDown.D()
	add := func(s stage) { pr.stages = append(pr.stages, s) }
	if w := t.Warmup; sel(PhaseWarmup) && !w.Skip {
		add(stage{name: "warmup", kind: "warmup", planned: w.RampUp.D() + w.Duration.D(),
			run: func(ctx context.Context) error { return pr.steady(ctx, "warmup", "warmup", *w, false) }})
	}
	if b := t.Baseline; sel(PhaseBaseline) && !b.Skip {
		for i, users := range b.Levels {
			name := fmt.Sprintf("baseline-%d", users)
			top := i == len(b.Levels)-1
			ramp, pause := b.LevelRampUp(i), time.Duration(0)
			if i > 0 {
				pause = b.Pause.D()
			}
			add(stage{name: name, kind: "baseline", planned: pause + ramp.D() + b.Duration.D(),
				run: func(ctx context.Context) error {
					if err := pr.rest(ctx, "pause", pause); err != nil {
						return err
					}
					return pr.baseline(ctx, name, plan.PhaseSpec{Name: name, Users: users, Duration: b.Duration, RampUp: ramp}, top)
				}})
		}
	}
	for _, l := range t.Load {
		if l.Skip || !(sel(PhaseLoad) || want[l.Name]) {
			continue
		}
		kind := "load"
		if l.Name == "spike" {
			kind = "spike"
		}
		add(stage{name: l.Name, kind: kind, planned: cool + l.RampUp.D() + l.Duration.D(),
			run: func(ctx context.Context) error {
				if err := pr.coolDown(ctx); err != nil {
					return err
				}
				return pr.steady(ctx, l.Name, kind, *l, true)
			}})
	}
	if s := t.Stress; sel(PhaseStress) && !s.Skip {
		add(stage{name: "stress", kind: "stress", planned: cool + pr.stressEstimate(),
			run: func(ctx context.Context) error {
				if err := pr.coolDown(ctx); err != nil {
					return err
				}
				return pr.runStress(ctx)
			}})
		if r := t.Recovery; !r.Skip {
			add(stage{name: "recovery", kind: "recovery", planned: r.Limit.D() / 2,
				run: func(ctx context.Context) error { return pr.runRecovery(ctx) }})
		}
	}
	if s := t.Soak; sel(PhaseSoak) && !s.Skip {
		add(stage{name: "soak", kind: "soak", planned: cool + s.RampUp.D() + s.Duration.D(),
			run: func(ctx context.Context) error {
				if err := pr.coolDown(ctx); err != nil {
					return err
				}
				return pr.runSoak(ctx, *s)
			}})
	}
	if s := t.Scalability; sel(PhaseScalability) && !s.Skip && len(s.Configs) > 0 {
		if err := checkApply(s); s.Instances == nil && err != nil {
			return err
		}
		add(stage{name: "scalability", kind: "scalability",
			planned: time.Duration(len(s.Configs)) * (s.Stabilize.D() + s.Duration.D()),
			run:     func(ctx context.Context) error { return pr.runScalability(ctx) }})
	}
	if s := t.Pool; sel(PhasePool) && !s.Skip {
		// Without a database to scale the phase is skipped, as scalability
		// is without configurations.
		if db := pr.p.PoolDB(s); db != "" {
			add(stage{name: PhasePool, kind: "pool_scaling", planned: cool + time.Duration(len(s.Sizes))*s.Duration.D(),
				run: func(ctx context.Context) error {
					if err := pr.coolDown(ctx); err != nil {
						return err
					}
					return pr.runPool(ctx, db)
				}})
		}
	}
	if sel(PhaseBench) && len(pr.p.Benchmarks) > 0 {
		// Benchmarks run alongside; a stage keeps their place in the list.
		pr.benchListed = true
	}
	if len(pr.stages) == 0 && !(pr.benchListed) {
		return errors.New("no phase to run: every selected phase is skipped or not configured")
	}
	return nil
}

func (pr *protocol) selected(group string) bool {
	return len(pr.selectedSet) == 0 || pr.selectedSet[group]
}

// report tells Progress where the protocol is.
func (pr *protocol) report(p Progress) {
	if pr.o.Progress == nil || pr.current >= len(pr.stages) {
		return
	}
	st := pr.stages[pr.current]
	p.Phase, p.Kind = st.name, st.kind
	p.Index, p.Total = pr.current+1, len(pr.stages)
	if pr.current+1 < len(pr.stages) {
		p.Next = pr.stages[pr.current+1].name
	}
	now := pr.now()
	p.Elapsed = now.Sub(pr.t0)
	planned := st.planned
	if pr.extra > 0 {
		planned = pr.extra
	}
	left := max(planned-now.Sub(pr.started), 0)
	for _, later := range pr.stages[pr.current+1:] {
		left += later.planned
	}
	p.ETA = left
	pr.o.Progress(p)
}

// window is the OnWindow hook of every load: progress, with detail. The
// windows belong to phase, or to the running stage when phase is "".
func (pr *protocol) window(phase, detail string) func(w result.Window, run *result.Run) {
	if phase == "" {
		phase = pr.stages[pr.current].name
	}
	return func(w result.Window, run *result.Run) {
		w.TS += offset(pr.t0, pr.loadStart)
		w.Phase = phase
		pr.report(Progress{Detail: detail, Window: &w, Run: run})
	}
}

func (pr *protocol) coolDown(ctx context.Context) error {
	return pr.rest(ctx, "cool-down", pr.tests.CoolDown.D())
}

// rest lets the target idle for d (a cool-down, the pause between
// baseline levels), said in the progress as what d.
func (pr *protocol) rest(ctx context.Context, what string, d time.Duration) error {
	if d <= 0 || len(pr.recs) == 0 {
		return nil // nothing to rest from
	}
	pr.report(Progress{Detail: what + " " + d.String()})
	return pr.o.Sleep(ctx, d)
}

func (pr *protocol) warn(msg string) {
	pr.mu.Lock()
	pr.warnings = append(pr.warnings, msg)
	pr.mu.Unlock()
}

// load runs one load of the plan with the given load block (and, for the
// stress variants, variables and databases) and returns its Run.
func (pr *protocol) load(ctx context.Context, l plan.LoadSpec, detail string, vars map[string]string, dbs map[string]*plan.Database, until func(result.Window) bool) (*result.Run, error) {
	q := pr.loadPlan(l, vars, dbs)
	lo, err := pr.loadOptions(q, "", detail, until)
	if err != nil {
		return nil, &fatalError{err}
	}
	run, err := RunLoad(ctx, q, lo)
	if run == nil {
		return nil, &fatalError{err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return run, err
	}
	return run, nil // an abort threshold ended it: the Run says so
}

// loadPlan is the plan of one load of the protocol: the plan with the
// given load block and, for the stress variants, variables and databases
// (nil keeps the plan's).
func (pr *protocol) loadPlan(l plan.LoadSpec, vars map[string]string, dbs map[string]*plan.Database) *plan.Plan {
	q := *pr.p
	q.Load = l
	q.Load.Arrivals = cmp.Or(l.Arrivals, pr.p.Load.Arrivals)
	q.Load.Seed = pr.p.Load.Seed
	if q.Load.Network == nil { // the plan's conditions hold in every phase
		q.Load.Network = pr.p.Load.Network
	}
	if q.Load.GracefulStop == 0 {
		q.Load.GracefulStop = pr.gracefulStop()
	}
	if vars != nil {
		q.Variables = vars
	}
	if dbs != nil {
		q.Databases = dbs
	}
	pr.stressScenarios(&q)
	q.ApplyDefaults()
	return &q
}

// loadOptions are the options of the next load, of plan q: progress
// (its windows labelled phase, "" for the running stage) with detail,
// a profile directory of its own, and until. It marks the load's start
// for the progress windows, so it is called just before the load.
func (pr *protocol) loadOptions(q *plan.Plan, phase, detail string, until func(result.Window) bool) (LoadOptions, error) {
	pr.loads++
	// The protocol measures the target under the loads it asks: a
	// stress step above capacity and the recovery after it must put the
	// whole backlog on the target, not hold it in the generator.
	lo := LoadOptions{Getenv: pr.o.Getenv, Now: pr.o.Now, OnWindow: pr.window(phase, detail), Logf: pr.o.Logf, DeferConclusions: true, FullPool: true}
	if pr.o.ProfileDir != "" && q.System != nil {
		lo.ProfileDir = filepath.Join(pr.o.ProfileDir, fmt.Sprintf("%02d-%s", pr.loads, pr.stages[pr.current].name))
		if err := os.MkdirAll(lo.ProfileDir, 0o755); err != nil {
			return lo, fmt.Errorf("cannot create %s for the profiles: %w", lo.ProfileDir, err)
		}
	}
	if until != nil {
		lo.Until = func(w result.Window, _ *result.Run) bool { return until(w) }
	}
	pr.loadStart = pr.now()
	if pr.o.OnSystem != nil {
		t0, on := pr.t0, pr.o.OnSystem
		lo.OnSystem = func(start time.Time, pt result.SystemPoint) {
			pt.TS = round3(pt.TS + offset(t0, start))
			on(pt)
		}
	}
	return lo, nil
}

// gracefulStop is the plan's, scaled with the protocol's durations.
func (pr *protocol) gracefulStop() plan.Duration {
	gs := pr.p.Load.GracefulStop
	if gs == 0 {
		gs = plan.DefaultGracefulStop
	}
	if f := pr.o.TimeScale; f > 0 && f < 1 {
		gs = max(plan.Duration(float64(gs)*f), plan.Duration(time.Second))
	}
	return gs
}

// record keeps a phase's loads and starts its analysis on its own
// goroutine: the merge into the phase's summary and series, then finish
// (the phase's own judgement), while the next phase runs.
func (pr *protocol) record(ph result.Phase, loads []*result.Run, finish func(rec *phaseRec)) *phaseRec {
	rec := &phaseRec{ph: ph, loads: loads}
	pr.recs = append(pr.recs, rec)
	pr.analyses.Add(1)
	go func() {
		defer pr.analyses.Done()
		pr.summarize(rec)
		if finish != nil {
			finish(rec)
		}
	}()
	return rec
}

// summarize merges a phase's loads into its summary and series.
func (pr *protocol) summarize(rec *phaseRec) {
	ph := &rec.ph
	if len(rec.loads) == 0 {
		return
	}
	ph.StartS = offset(pr.t0, rec.loads[0].StartedAt)
	names := make([]string, len(rec.loads))
	for i := range names {
		names[i] = ph.Name
	}
	m, err := combine(rec.loads, pr.t0, names)
	if err != nil {
		pr.warn(fmt.Sprintf("%s: %v", ph.Name, err))
		return
	}
	ph.Summary = m.Summary
	ph.Series = stripHists(m.Series)
	ph.System = m.System
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// fatalError is a load that could not start (a plan the engine refuses,
// a system that cannot be watched): the protocol stops.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

func joinNote(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// cloneVars copies the plan's variables so a step can change one.
func cloneVars(m map[string]string) map[string]string {
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	return out
}

// assemble builds the test's Run from the phases, once every analysis is
// done.
func (pr *protocol) assemble(ctx context.Context) *result.Run {
	p := pr.p
	run := &result.Run{Version: result.Version, Kind: "test", Plan: p.Name, PlanHash: Hash(p), Target: redact.String(p.Target.BaseURL),
		StartedAt: pr.t0, EndedAt: pr.now(), Analysis: pr.cfg, Ceilings: pr.ceil}
	if p.Load.Network.Shapes() {
		run.Network = []result.Network{netcond.Conditions(p.Load.Network)}
	}
	var loads []*result.Run
	var names []string
	for _, rec := range pr.recs {
		run.Phases = append(run.Phases, rec.ph)
		for _, l := range rec.loads {
			loads = append(loads, l)
			names = append(names, rec.ph.Name)
		}
	}
	if len(loads) > 0 {
		m, err := combine(loads, pr.t0, names)
		if err != nil {
			pr.warn("cannot combine the phases: " + err.Error())
		} else {
			run.Model, run.Summary, run.Steps, run.Scenarios, run.Errors = m.Model, m.Summary, m.Steps, m.Scenarios, m.Errors
			run.Series, run.Generator, run.Warnings, run.System = m.Series, m.Generator, m.Warnings, m.System
		}
	}
	pr.mu.Lock()
	run.Warnings = dedupe(append(run.Warnings, pr.warnings...))
	run.Stress, run.Soak, run.Scalability = pr.stressR, pr.soak, pr.scale
	if run.Scalability == nil {
		// The Run has one scalability section: the scalability phase's
		// when it ran, else the pool phase's (unit "pool"), whose own
		// phases carry its figures either way.
		run.Scalability = pr.poolScale
	}
	pr.mu.Unlock()
	if run.Stress != nil && run.Stress.Curve == nil {
		run.Stress = nil // recovery without a stress curve: nothing to say
	}
	return run
}
