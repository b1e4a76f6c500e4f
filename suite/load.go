// Package suite carries out plans: one load run (RunLoad), and the test
// protocol's ordering of phases, cool-downs and the watchers beside them.
// It holds no engine logic of its own: load runs iterations, proto builds
// steps, metrics measures and analyze judges. A Run is concluded once:
// by RunLoad or Test themselves, or — when the caller defers it
// (DeferConclusions) — by the run service (package record), after it has
// compared the run with its base. The protocol's own loads are phases of
// one test and are never concluded one by one.
package suite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/internal/devprobe"
	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/netcond"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/proto"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/watch"
	"github.com/stampede-perf/stampede/watch/postgres"
)

// LoadOptions tune one load run.
type LoadOptions struct {
	Segment load.Segment
	// FullPool: the open model's pool grows to max_vus whenever
	// iterations are due (see load.Options.FullPool); the protocol's
	// phases set it, so the target meets the whole load they ask.
	FullPool bool
	Getenv   func(string) string
	// OnWindow sees every closed one-second window and the run so far
	// (progress display, incremental storage). Called from one goroutine.
	OnWindow func(w result.Window, run *result.Run)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// ProfileDir is where the watch saves profiles of the system under
	// test (next to the run's JSON); empty: no profiles are saved.
	ProfileDir string
	// Logf reports what the watch notices as it goes (nil: nothing).
	Logf func(string, ...any)
	// Until, when set, ends the run early once it returns true for a
	// closed window, as a complete run rather than an aborted one: for a
	// phase that stops as soon as it has seen what it measures (recovery).
	// In-flight iterations get the graceful stop. Called from one
	// goroutine, after OnWindow.
	Until func(w result.Window, run *result.Run) bool
	// OnSystem sees each point of the watched system under test as it
	// is taken (a live dashboard), with start, the load's t0: the point's
	// t_s is seconds since it, as in the finished Run. From the watch's
	// goroutine; it must not block.
	OnSystem func(start time.Time, pt result.SystemPoint)
	// DefaultSLO judges a run whose plan sets no thresholds by
	// DefaultSLOExpr, and says so in the Run's warnings: a run that
	// fails every request must not pass because nobody wrote an SLO.
	DefaultSLO bool
	// DeferConclusions leaves the findings and the settling of the
	// verdict to the caller, which draws them once when every input is
	// known (record.Recording.Finish does, after comparing the run with
	// a reference; a protocol does for the whole test). Otherwise
	// RunLoad draws them itself from the plan's analysis block.
	DeferConclusions bool
	// Start, when set, is the instant the load starts: RunLoad compiles
	// the plan and starts the watchers, then waits for it (a
	// coordinator's start barrier, so agents start together).
	Start time.Time
	// ProbeDisk measures the disk's ceiling before the load when the plan
	// watches a process and states none (see deviceCeilings), once per
	// device of Disks (a cache of its own when nil).
	ProbeDisk bool
	Disks     *devprobe.Cache

	analysis map[string]float64 // the plan's, with measured ceilings
	ceilings *result.Ceilings
}

// DefaultSLOExpr is the SLO of a run whose plan and flags set none
// (LoadOptions.DefaultSLO), and DefaultSLONote what the run says of it.
const (
	DefaultSLOExpr = "error_rate < 1%"
	DefaultSLONote = "default SLO: errors < 1%; set thresholds to change it"
)

// thresholds are the SLOs a run is judged by: the plan's, else the
// default one when o asks for it. The second result reports the default.
func thresholds(p *plan.Plan, o LoadOptions) ([]*plan.Threshold, bool) {
	if len(p.Thresholds) > 0 || !o.DefaultSLO {
		return p.Thresholds, false
	}
	m, op, v, err := plan.ParseThreshold(DefaultSLOExpr)
	if err != nil { // a constant: cannot fail
		panic(err)
	}
	return []*plan.Threshold{{Expr: DefaultSLOExpr, Metric: m, Op: op, Value: v}}, true
}

// untilReason marks a run that LoadOptions.Until ended.
const untilReason = "stopped: the phase had measured what it needed"

// ErrCompile wraps plan problems found while compiling steps.
var ErrCompile = errors.New("invalid plan")

// Compile checks that p can run, reporting every problem.
func Compile(p *plan.Plan, getenv func(string) string) error {
	_, _, err := proto.Compile(p, proto.Options{Getenv: getenv})
	if err != nil {
		return errors.Join(ErrCompile, err)
	}
	return nil
}

// RunLoad runs p's load once — or its named loads side by side (see
// runLoads) — and returns the Run with thresholds evaluated and, unless
// o.DeferConclusions, its conclusions drawn. The Run is complete even
// when ctx is cancelled (then Aborted is set) or an abort threshold
// fired; err reports why it ended early.
func RunLoad(ctx context.Context, p *plan.Plan, o LoadOptions) (*result.Run, error) {
	ceil, cfg, warns := probedCeilings(ctx, p, o)
	o.ProbeDisk = false
	run, err := runLoad(ctx, p, o, ceil, cfg)
	if run != nil {
		run.Warnings = append(warns, run.Warnings...)
	}
	return run, err
}

// runLoad is RunLoad with the device ceilings measured, which the run
// records and is judged with (analysis settings cfg).
func runLoad(ctx context.Context, p *plan.Plan, o LoadOptions, ceil *result.Ceilings, cfg map[string]float64) (*result.Run, error) {
	o.analysis, o.ceilings = cfg, ceil
	if p.Loads != nil {
		return runLoads(ctx, p, o)
	}
	q, px, err := netcond.Shape(p)
	if err != nil {
		return nil, err
	}
	if px != nil {
		defer px.Close()
	}
	test, layout, err := proto.Compile(q, proto.Options{Getenv: o.Getenv})
	if err != nil {
		return nil, errors.Join(ErrCompile, err)
	}
	run := newRun(p, o)
	if px != nil {
		run.Network = []result.Network{px.Applied}
	}
	aborts := abortThresholds(p.Thresholds)
	eo := engineOptions(p.Load, o)
	eo.Dither = profilesCPU(p)
	eo.FullPool = o.FullPool
	eo.OnWindow = func(w result.Window, snap *result.Run) string {
		if o.OnWindow != nil {
			o.OnWindow(w, snap)
		}
		if o.Until != nil && o.Until(w, snap) {
			return untilReason
		}
		return abortReason(snap, aborts)
	}
	// A load the host cannot hold, or that would send nothing, is refused
	// before the watchers start.
	if err := load.New(test, eo).Admit(); err != nil {
		return nil, err
	}
	wt, err := startWatching(ctx, p, &eo, o, load.NewProfile(eo.Levels).PeakAt())
	if err != nil {
		return nil, err
	}
	eng := load.New(test, eo)
	runErr := eng.Run(ctx, layout, run)
	runErr = untilEnded(run, runErr, o)
	wt.stop(run)
	return run, conclude(run, p, o, runErr)
}

// newRun is the Run document of a load run of p, before it starts.
func newRun(p *plan.Plan, o LoadOptions) *result.Run {
	cfg := p.Analysis
	if o.analysis != nil {
		cfg = o.analysis
	}
	return &result.Run{Version: result.Version, Kind: "load", Plan: p.Name, PlanHash: Hash(p), Target: redact.String(p.Target.BaseURL),
		Analysis: cfg, Ceilings: o.ceilings}
}

// abortThresholds are the thresholds of ths that stop a run when they fail.
func abortThresholds(ths []*plan.Threshold) []*plan.Threshold {
	var aborts []*plan.Threshold
	for _, th := range ths {
		if th.Abort {
			aborts = append(aborts, th)
		}
	}
	return aborts
}

// abortReason says why snap must stop the run: the first of aborts that
// fails on it; "" when none does.
func abortReason(snap *result.Run, aborts []*plan.Threshold) string {
	if len(aborts) == 0 {
		return ""
	}
	for _, r := range analyze.Thresholds(snap, aborts) {
		if !r.Pass {
			return "threshold failed: " + analyze.Describe(r)
		}
	}
	return ""
}

// Levels turns a plan's load block into the engine's levels: users
// (closed model) or iterations per second (open), each reached over its
// ramp and held for its duration. A load bounded only by an iteration
// count holds for load.IterationsCap, and stops when the count is done.
func Levels(l plan.LoadSpec) []load.Level {
	open := l.Model == string(result.ModelOpen)
	if len(l.Stages) > 0 {
		out := make([]load.Level, 0, len(l.Stages))
		for _, s := range l.Stages {
			v := 0.0
			if open && s.Rate != nil {
				v = *s.Rate
			} else if !open && s.Users != nil {
				v = float64(*s.Users)
			}
			out = append(out, load.Level{Target: v, Ramp: s.RampUp.D(), Hold: s.Duration.D()})
		}
		return out
	}
	v := float64(l.VUs)
	if open {
		v = l.Rate
	}
	hold := l.Duration.D()
	if hold == 0 && l.Iterations > 0 {
		hold = load.IterationsCap // run until the iterations are done
	}
	out := []load.Level{{Target: v, Ramp: l.RampUp.D(), Hold: hold}}
	if l.RampDown > 0 {
		out = append(out, load.Level{Target: 0, Ramp: l.RampDown.D()})
	}
	return out
}

// engineOptions are the engine's options for load block l (OnWindow and
// Start are the caller's).
func engineOptions(l plan.LoadSpec, o LoadOptions) load.Options {
	eo := load.Options{
		Model:        result.Model(l.Model),
		Levels:       Levels(l),
		Arrivals:     result.Arrivals(l.Arrivals),
		MaxVUs:       l.MaxVUs,
		PreVUs:       l.PreVUs,
		GracefulStop: l.GracefulStop.D(),
		Iterations:   l.Iterations,
		Segment:      o.Segment,
		Seed:         uint64(l.Seed),
		Now:          o.Now,
	}
	if eo.Seed == 0 {
		eo.Seed = uint64(time.Now().UnixNano())
	}
	if eo.GracefulStop <= 0 {
		eo.GracefulStop = 30 * time.Second
	}
	return eo
}

// profilesCPU reports whether a run of p takes CPU profiles of its
// target: its constant arrivals are then dithered (see load.Options).
func profilesCPU(p *plan.Plan) bool {
	return p.System != nil && p.System.Pprof != ""
}

// watching is the watch of the system under test beside one run.
type watching struct {
	w      *watch.Watcher
	pg     *postgres.Watcher
	shift  time.Duration
	peakAt time.Duration
	// shiftMS is shift for the watchers' point hook, which runs before
	// it is known.
	shiftMS atomic.Int64
}

// startWatching starts the watchers of p's system block (if any) for a
// load of eo's levels whose steady part starts at peakAt, and sets
// eo.Start, the load's t0.
func startWatching(ctx context.Context, p *plan.Plan, eo *load.Options, o LoadOptions, peakAt time.Duration) (*watching, error) {
	now := o.Now
	if now == nil {
		now = time.Now
	}
	eo.Start = now()
	wt := &watching{peakAt: peakAt}
	// The watch's points are moved onto the load's clock by the shift
	// found below, before OnSystem sees them.
	if !o.Start.IsZero() {
		eo.Start = o.Start
	}
	var onPoint func(result.SystemPoint)
	if o.OnSystem != nil {
		watchStart := eo.Start
		onPoint = func(pt result.SystemPoint) {
			shift := time.Duration(wt.shiftMS.Load()) * time.Millisecond
			if pt.TS -= shift.Seconds(); pt.TS >= 0 {
				o.OnSystem(watchStart.Add(shift), pt)
			}
		}
	}
	w, pg, err := startWatch(ctx, p, *eo, o, onPoint)
	if err != nil {
		return nil, err
	}
	wt.w, wt.pg = w, pg
	// The watchers' start-up (a first scrape, the start heap profile, a
	// database connection) must not eat into the load's schedule: when it
	// took long, the load starts on the next whole second of the watchers'
	// clock, and their points are moved back by as much, so they stay
	// aligned with the windows.
	if setup := now().Sub(eo.Start); setup > 20*time.Millisecond && (w != nil || pg != nil) {
		wt.shift = setup.Truncate(time.Second) + time.Second
		eo.Start = eo.Start.Add(wt.shift)
		wt.shiftMS.Store(wt.shift.Milliseconds())
	}
	if w != nil {
		w.ProfileCPUAt(wt.shift + peakAt)
	}
	// A run given its start instant (an agent of a distributed test)
	// waits for it, so every part starts together.
	if wait := eo.Start.Sub(now()); !o.Start.IsZero() && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
	return wt, nil
}

// stop ends the watchers and puts what they saw into run.
func (wt *watching) stop(run *result.Run) {
	w, pg := wt.w, wt.pg
	if w == nil && pg == nil {
		return
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run.System = &result.System{}
	if w != nil {
		run.System = w.Stop(stopCtx)
	}
	if pg != nil {
		run.System.Database = pg.Stop(stopCtx)
	}
	shiftSystem(run.System, wt.shift.Seconds())
	if w != nil {
		analyze.Analyze(run.System, wt.peakAt.Seconds(), run.Series)
		analyze.SetWaitRates(run)
	}
}

// untilEnded turns a run that LoadOptions.Until ended into a complete one.
func untilEnded(run *result.Run, runErr error, o LoadOptions) error {
	if o.Until != nil && run.Aborted && run.AbortReason == untilReason {
		run.Aborted, run.AbortReason = false, ""
		if errors.Is(runErr, load.ErrAborted) {
			return nil
		}
	}
	return runErr
}

// conclude judges run's thresholds (the plan's, or the default SLO) and
// its verdict, and draws its conclusions unless o defers them; it
// returns runErr.
func conclude(run *result.Run, p *plan.Plan, o LoadOptions, runErr error) error {
	slos, byDefault := thresholds(p, o)
	if byDefault {
		run.Warnings = append(run.Warnings, DefaultSLONote)
	}
	run.Thresholds = analyze.Thresholds(run, slos)
	run.Verdict = result.VerdictPass
	if len(analyze.Failed(run.Thresholds, false)) > 0 || run.Aborted {
		run.Verdict = result.VerdictFail
	}
	FailLoads(run)
	if !o.DeferConclusions {
		run.SetConclusion(analyze.Judge(run, run.Analysis))
	}
	return runErr
}

// startWatch starts the watch of the system under test when the plan has
// a system block — the process, Prometheus and pprof watch, and the
// PostgreSQL watch — for as long as eo's levels last, handing each point
// to onPoint (when not nil) as it is taken.
func startWatch(ctx context.Context, p *plan.Plan, eo load.Options, o LoadOptions, onPoint func(result.SystemPoint)) (*watch.Watcher, *postgres.Watcher, error) {
	sys := p.System
	if sys == nil {
		return nil, nil, nil
	}
	prof := load.NewProfile(eo.Levels)
	var w *watch.Watcher
	if sys.Process != nil || sys.Prometheus != nil || sys.Pprof != "" {
		var err error
		w, err = watch.Start(ctx, sys, watch.Options{Start: eo.Start, Duration: prof.Duration(), Now: o.Now,
			Dir: o.ProfileDir, Logf: o.Logf, OnPoint: onPoint})
		if err != nil {
			return nil, nil, fmt.Errorf("cannot watch the system under test: %w (check system: in the plan, or the --watch-* flags)", err)
		}
	}
	var pg *postgres.Watcher
	if sys.Postgres != "" {
		dsn, err := plan.ExpandDSN(sys.Postgres, o.Getenv)
		if err == nil {
			pg, err = postgres.Start(ctx, dsn, postgres.Options{Start: eo.Start, Interval: sys.Interval.D(), Now: o.Now})
		}
		if err != nil {
			if w != nil {
				w.Stop(context.Background())
			}
			return nil, nil, fmt.Errorf("cannot watch PostgreSQL: %v (check system.postgres)", err)
		}
	}
	return w, pg, nil
}

// shiftSystem moves what the watchers saw onto the load's clock when the
// load started s seconds after them, dropping the points from before it.
func shiftSystem(sys *result.System, s float64) {
	if sys == nil || s == 0 {
		return
	}
	tl := sys.Timeline[:0]
	for _, pt := range sys.Timeline {
		if pt.TS -= s; pt.TS >= 0 {
			tl = append(tl, pt)
		}
	}
	sys.Timeline = tl
	for i := range sys.Profiles {
		sys.Profiles[i].TS -= s
	}
	if sys.Process != nil && sys.Process.ExitedAtS > 0 {
		sys.Process.ExitedAtS -= s
	}
	if db := sys.Database; db != nil {
		dt := db.Timeline[:0]
		for _, pt := range db.Timeline {
			if pt.TS -= s; pt.TS >= 0 {
				dt = append(dt, pt)
			}
		}
		db.Timeline = dt
	}
}

// Hash identifies a plan's content, so history can tell when the plan
// behind a name changed.
func Hash(p *plan.Plan) string {
	b, err := json.Marshal(p)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// SLOs are the thresholds a run of p is judged by, the default SLO
// included when defaultSLO asks for it (see LoadOptions.DefaultSLO); the
// second result reports the default. A coordinator judges the merged run
// of its agents by them.
func SLOs(p *plan.Plan, defaultSLO bool) ([]*plan.Threshold, bool) {
	return thresholds(p, LoadOptions{DefaultSLO: defaultSLO})
}
