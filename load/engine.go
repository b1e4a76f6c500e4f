// Package load is the load engine: pacing (when the next iteration should
// start), executors (closed VUs, open arrival rate, stages), the VU loop and
// execution segments. It knows no protocol: steps are compiled elsewhere
// and run through the Step interface.
//
// Measurement rules the engine keeps:
//   - Open model: iteration i has an intended start t0 + A⁻¹(i), where A is
//     the cumulative arrival profile. Latency is measured from the intended
//     start, so a VU shortage or a stalled target shows up as latency (no
//     coordinated omission). VUs claim iterations from one atomic counter;
//     when every VU is busy, unclaimed iterations wait, late, for the next
//     free VU (or a new one, up to max_vus) and their lateness is recorded
//     as start lag. New VUs are added only while they help: the pool holds
//     at most twice the VUs it held when completed iterations per second
//     last rose by a fifth, and no more than Little's law asks for the
//     rate (poolGovernor), so a target slower than the rate, or a
//     generator short of CPU, does not turn every overdue iteration into a
//     VU. Iterations that no VU could start before the end are counted as
//     dropped, and the run says the rate was not kept.
//   - Closed model: VU j runs while j < users(t); latency is service time.
//   - Samples go into per-VU rings drained by one collector (see metrics):
//     no lock and no channel per request.
//
// Budgets: before anything starts, Run refuses a load that would send
// nothing (ErrNothingToRun) and a closed model whose VUs (this segment's
// share) need more open files or memory than the host has (ErrCapacity,
// see CheckCapacity); the open model's pool is held within them instead.
// A stop ends the creation of VUs at once, in both executors.
package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// Options configures one run of a Test.
type Options struct {
	Model    result.Model
	Levels   []Level
	Arrivals result.Arrivals // open model; "" is constant
	// Dither places each constant arrival at a random point of its own
	// slot (between the arrivals before and after it at the exact rate)
	// instead of at the slot's start: the rate and the order stay exact,
	// but the arrivals no longer keep one phase against other periodic
	// things. A CPU profile of the target is one: Linux samples it at its
	// scheduler tick (4 ms at 250 Hz), and arrivals at a round rate (250/s
	// is one a tick) then land on the same phase of every request, so the
	// profile sees the same few microseconds of each and credits one step
	// with the CPU of all. Set when the target's CPU is profiled.
	Dither bool
	// FullPool lets the open model's pool grow to max_vus whenever
	// iterations are due, past what the pool governor holds it to: the
	// target then sees every arrival the VUs can carry and builds its own
	// queue, as a stress step or a recovery must show. Without it a
	// target slower than the rate meets at most the governed pool, and
	// the rest of the backlog waits in the generator (late, never lost).
	FullPool bool
	MaxVUs   int // open model ceiling (whole test, before segmenting)
	PreVUs   int // open model VUs started at once (whole test)
	// GracefulStop is how long in-flight iterations may finish after the
	// profile ends before they are interrupted.
	GracefulStop time.Duration
	// Iterations, when > 0, ends the run after that many iterations
	// (whole test, before segmenting).
	Iterations int64
	Segment    Segment
	Seed       uint64
	// OnWindow is called with every closed one-second window and the run
	// so far; returning a non-empty reason aborts the run (thresholds
	// with abort).
	OnWindow func(w result.Window, run *result.Run) (abort string)
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Start is the run's t0 when the caller fixed it (to align watchers
	// with the series); zero means when Run is called.
	Start time.Time
	// Limits are the open files and memory the run may use; nil reads
	// them from the host (ReadHostLimits). Run refuses a load whose VUs
	// do not fit (ErrCapacity) and keeps the open model's pool within
	// them.
	Limits *HostLimits
}

// ErrAborted reports a run ended early by a threshold.
var ErrAborted = errors.New("run aborted")

// ErrNothingToRun reports a load that would send nothing: no duration, or
// no VUs or rate at any time.
var ErrNothingToRun = errors.New("nothing to run")

// Engine runs one Test under one set of Options.
type Engine struct {
	test *Test
	opt  Options
	cum  []uint64 // cumulative scenario weights, shared by the VUs
	// vuCap, when > 0, is the open model's VU ceiling the host allows.
	vuCap int
	now   func() time.Time
	t0    time.Time
	col   *metrics.Collector

	active   atomic.Int64
	peak     atomic.Int64
	stopping atomic.Bool // no new iterations, skip pauses
	dropped  atomic.Int64

	vusMu sync.Mutex // guards vus
	vus   []*VU      // the VUs running; each knows its index (VU.slot)
	wg    sync.WaitGroup
	// poolCap is the open model's pool size the governor allows now: a VU
	// that would wait for its next iteration leaves a pool larger than
	// this. 0 while none is known (and with FullPool): no VU leaves.
	poolCap atomic.Int64
	retired atomic.Int64 // open model: VUs that left a pool larger than poolCap

	cancelHard  context.CancelFunc
	iters       atomic.Int64 // iterations claimed against Options.Iterations
	waiting     atomic.Int64 // open model: VUs sleeping until their iteration
	interrupted atomic.Int64 // iterations cut short
	finished    atomic.Bool  // the load is over; only the last windows close
	onTime      atomic.Int64 // open model: iterations a VU was waiting for
	lateWakes   atomic.Int64 // … of which the VU woke more than lateWake late
	looks       atomic.Int64 // open model: times the supervisor looked at the schedule
	completed   atomic.Int64 // open model: iterations run to their end
	iterNanos   atomic.Int64 // … and their summed durations
	heldAt      atomic.Int64 // open model: largest pool the governor held iterations back at

	abortMu     sync.Mutex // guards abortReason
	abortReason string
}

// New prepares an engine; Run starts it.
func New(t *Test, o Options) *Engine {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Segment.N == 0 {
		o.Segment = Whole
	}
	if o.Arrivals == "" {
		o.Arrivals = result.ArrivalsConstant
	}
	first := 0
	for i := range t.Scenarios {
		t.Scenarios[i].first = uint16(first)
		t.Scenarios[i].idx = uint16(i)
		first += len(t.Scenarios[i].Steps)
		if len(t.Scenarios[i].Think) < len(t.Scenarios[i].Steps) {
			th := make([]Think, len(t.Scenarios[i].Steps))
			copy(th, t.Scenarios[i].Think)
			t.Scenarios[i].Think = th
		}
	}
	ws := make([]int, len(t.Scenarios))
	for i, sc := range t.Scenarios {
		ws[i] = sc.Weight
	}
	return &Engine{test: t, opt: o, now: o.Now, cum: cumulativeWeights(ws)}
}

// Layout is the metrics layout of a test.
func (t *Test) Layout(kinds func(scenario, step int) (name, kind string)) metrics.Layout {
	var l metrics.Layout
	for i, sc := range t.Scenarios {
		si := metrics.ScenarioInfo{Name: sc.Name, Weight: sc.Weight}
		for j := range sc.Steps {
			n, k := kinds(i, j)
			si.Steps = append(si.Steps, metrics.StepInfo{Name: n, Kind: k})
		}
		l.Scenarios = append(l.Scenarios, si)
	}
	return l
}

// Run carries out the test and fills run (summary, steps, series…). It
// returns when the profile has ended and in-flight iterations finished
// (or were interrupted after the graceful stop), or soon after ctx is
// cancelled — then run.Aborted is set and what was measured is kept.
func (e *Engine) Run(ctx context.Context, layout metrics.Layout, run *result.Run) error {
	e.t0 = e.opt.Start
	if e.t0.IsZero() {
		e.t0 = e.now()
	}
	run.StartedAt = e.t0
	run.Segment = e.opt.Segment.String()
	run.Model = e.opt.Model
	profile := NewProfile(e.opt.Levels)
	// Refuse what cannot run or cannot be held before anything starts,
	// rather than die midway.
	if err := e.admit(profile, run); err != nil {
		run.EndedAt = e.t0
		run.Aborted, run.AbortReason = true, err.Error()
		return err
	}
	cpu0 := cpuTime()

	hard, cancelHard := context.WithCancel(context.Background())
	defer cancelHard()
	e.cancelHard = cancelHard
	stop, cancelStop := context.WithCancel(ctx) // profile end, abort or interrupt
	defer cancelStop()

	e.col = metrics.NewCollector(metrics.Config{
		Layout: layout, Start: e.t0, Now: e.now,
		ActiveVUs: func() int { return int(e.active.Load()) },
		OnWindow: func(w result.Window, snap *result.Run) {
			if e.opt.OnWindow == nil {
				return
			}
			e.liveWatch(snap, cpu0)
			// The last windows close after the run ended: they are shown,
			// but a threshold failing on them aborts nothing.
			if reason := e.opt.OnWindow(w, snap); reason != "" && !e.finished.Load() {
				e.abort(reason)
				cancelStop()
			}
		},
	})
	colCtx, stopCol := context.WithCancel(context.Background())
	colDone := make(chan struct{})
	go func() { e.col.Run(colCtx); close(colDone) }()

	done := make(chan struct{})
	go func() {
		if e.opt.Model == result.ModelOpen {
			e.runOpen(stop, hard, profile)
		} else {
			e.runClosed(stop, hard, profile)
		}
		close(done)
	}()

	// The executor ends by itself (profile over, abort, iteration limit)
	// after its graceful stop; a user interrupt cuts in-flight requests
	// at once.
	interrupted := false
	select {
	case <-done:
	case <-ctx.Done():
		interrupted = true
		e.stopping.Store(true)
		cancelHard()
		e.interruptAll()
		<-done
	}
	end := e.now()
	stopCol()
	<-colDone

	run.EndedAt = end
	run.Summary.Dropped = e.dropped.Load()
	run.Summary.Interrupted = e.interrupted.Load()
	run.Summary.MaxVUs = int(e.peak.Load())
	if e.opt.Model == result.ModelOpen {
		run.Summary.TargetRPS = profile.Area(profile.Duration()) / profile.Duration().Seconds() / float64(e.opt.Segment.N)
	}
	e.finished.Store(true)
	e.col.Finish(run, end.Sub(e.t0).Seconds())
	e.selfWatch(run, cpuTime()-cpu0, end.Sub(e.t0))

	e.abortMu.Lock()
	reason := e.abortReason
	e.abortMu.Unlock()
	switch {
	case interrupted:
		run.Aborted = true
		run.AbortReason = "interrupted"
		return ctx.Err()
	case reason != "":
		run.Aborted = true
		run.AbortReason = reason
		return ErrAborted
	}
	return nil
}

// admit checks that the profile sends something and that this process
// can hold the closed model's VUs; it lowers the open model's VU ceiling
// to what the host allows, with a warning in run.
// Admit reports, before anything is started, whether Run would refuse the
// load: ErrNothingToRun or ErrCapacity, each with what to change. Callers
// that start other things beside the load (watchers, a history record)
// ask first, so a load that cannot run starts nothing.
func (e *Engine) Admit() error {
	return e.admit(NewProfile(e.opt.Levels), &result.Run{})
}

func (e *Engine) admit(p Profile, run *result.Run) error {
	if p.Duration() <= 0 || p.Peak() <= 0 {
		return fmt.Errorf("%w: the load has no duration or no VUs (rate) at any time", ErrNothingToRun)
	}
	// Samples carry a 16-bit step (or scenario) index.
	steps := 0
	for _, sc := range e.test.Scenarios {
		steps += len(sc.Steps)
	}
	if steps > math.MaxUint16 || len(e.test.Scenarios) > math.MaxUint16 {
		return fmt.Errorf("%w: %d scenarios with %d steps in all; at most %d of each can be measured", ErrCapacity, len(e.test.Scenarios), steps, math.MaxUint16)
	}
	lim := e.opt.Limits
	if lim == nil {
		l := ReadHostLimits()
		lim = &l
	}
	seg := e.opt.Segment
	if e.opt.Model != result.ModelOpen {
		return CheckCapacity(seg.Share(int(math.Min(math.Ceil(p.Peak()), math.MaxInt32))), *lim)
	}
	// The open model's pool (pre-allocated VUs included) is a ceiling, not
	// a demand: it is held within what the host allows, and iterations no
	// VU can take are measured late or counted as dropped.
	if m := MaxVUsFor(*lim); m > 0 && e.maxVUs() > m {
		run.Warnings = append(run.Warnings, fmt.Sprintf("the open model's VU pool is held at %d VUs, not max_vus %d: %v",
			m, e.maxVUs(), CheckCapacity(e.maxVUs(), *lim)))
		e.vuCap = m
	}
	return nil
}

func (e *Engine) abort(reason string) {
	e.abortMu.Lock()
	if e.abortReason == "" {
		e.abortReason = reason
	}
	e.abortMu.Unlock()
}

// newVU creates, registers and counts a VU with global index j.
func (e *Engine) newVU(j int64, ringSize int) *VU {
	vu := &VU{
		ID:     int(j) + 1,
		Rand:   rand.New(rand.NewPCG(e.opt.Seed^uint64(j)*0x9E3779B97F4A7C15, uint64(j)+1)),
		T0:     e.t0,
		ring:   metrics.NewRing(ringSize),
		col:    e.col,
		test:   e.test,
		active: &e.active,

		interrupted: &e.interrupted,
	}
	vu.cum = e.cum
	if e.test.NewSlots != nil {
		vu.Slots = e.test.NewSlots(vu)
	}
	if e.test.NewState != nil {
		vu.State = e.test.NewState(vu)
	}
	e.col.Register(vu.ring)
	e.vusMu.Lock()
	vu.slot = len(e.vus)
	e.vus = append(e.vus, vu)
	e.vusMu.Unlock()
	n := e.active.Add(1)
	for {
		p := e.peak.Load()
		if n <= p || e.peak.CompareAndSwap(p, n) {
			break
		}
	}
	return vu
}

// vuDone ends vu: its connections are closed, its ring goes once drained,
// and the engine forgets it, so a pool that shrinks gives its memory back.
func (e *Engine) vuDone(vu *VU) {
	vu.close()
	vu.ring.Retire()
	e.vusMu.Lock()
	last := len(e.vus) - 1
	e.vus[vu.slot] = e.vus[last]
	e.vus[vu.slot].slot = vu.slot
	e.vus[last] = nil
	e.vus = e.vus[:last]
	e.vusMu.Unlock()
	if !vu.left {
		e.active.Add(-1)
	}
	e.wg.Done()
}

// leave reports whether an open-model VU that has finished an iteration
// should leave the pool instead of waiting for its next one: the pool
// holds more VUs than the governor allows now and no iteration is
// overdue (a backlog is drained by every VU there is). Leaving takes the
// VU off the active count at once, so that of many VUs deciding together
// only the surplus leaves.
func (e *Engine) leave(sch *schedule) bool {
	limit := e.poolCap.Load()
	if limit <= 0 || e.active.Load() <= limit {
		return false // the common case: two atomic loads an iteration
	}
	if sch.pois {
		// Poisson arrivals cannot be peeked: leave only while other VUs
		// are already waiting for theirs.
		if e.waiting.Load() == 0 {
			return false
		}
	} else if t, ok := sch.peek(); !ok || !e.now().Before(e.t0.Add(t)) {
		return false // overdue, or the schedule is over
	}
	for {
		n := e.active.Load()
		if n <= limit {
			return false
		}
		if e.active.CompareAndSwap(n, n-1) {
			e.retired.Add(1)
			return true
		}
	}
}

func (e *Engine) interruptAll() {
	e.vusMu.Lock()
	vus := append([]*VU(nil), e.vus...)
	e.vusMu.Unlock()
	for _, vu := range vus {
		vu.interrupt()
	}
}

// sleepUntil waits until t or until ctx ends; false when ctx ended.
func (e *Engine) sleepUntil(ctx context.Context, t time.Time, timer **time.Timer) bool {
	return e.sleepUntilOr(ctx, nil, t, timer)
}

// selfWatch fills the generator section: the generator's own CPU, memory
// and start lag, and whether it rather than the target was the limit.
func (e *Engine) selfWatch(run *result.Run, cpu, wall time.Duration) {
	g := &run.Generator
	g.GOMAXPROCS = runtime.GOMAXPROCS(0)
	g.CPUSeconds = cpu.Seconds()
	if wall > 0 {
		g.CPUPercent = 100 * cpu.Seconds() / wall.Seconds()
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		g.MaxRSSMB = float64(ru.Maxrss) / 1024
	}
	g.StartLagP99 = run.Summary.StartLag.P99
	g.Saturated, g.Reason = saturation(e.opt.Model, g.CPUPercent, g.GOMAXPROCS, wall, g.StartLagP99, e.onTime.Load(), e.lateWakes.Load())
	if n := e.col.Late(); n > 0 {
		run.Warnings = append(run.Warnings, fmt.Sprintf("%d requests were recorded after their one-second window had closed: they are in every total but not in the series", n))
	}
	if s := e.col.Stalls(); s > 0 {
		run.Warnings = append(run.Warnings, "metrics collection fell behind the VUs; some requests waited to be recorded")
	}
	if g.Saturated {
		run.Warnings = append(run.Warnings, "generator saturated: "+g.Reason)
	}
	if h := e.heldAt.Load(); h > 0 && run.Summary.Dropped > 0 {
		run.Warnings = append(run.Warnings, fmt.Sprintf("the rate asked was not kept: more VUs brought no more completed iterations per second, so the pool was held at %d VUs (max_vus %d); %d iterations were dropped and the late ones are measured from their intended start",
			h, e.maxVUs(), run.Summary.Dropped))
	}
}

// minCPUJudged is the shortest load whose CPU share alone marks the
// generator saturated: over less, a moment of full CPU (starting the VUs,
// the first connections) is most of the share, and a run that kept its
// schedule (start lag p99 within 10 ms) was not held back by it.
const minCPUJudged = time.Second

// saturation says whether the generator, rather than the target, was the
// limit, and why: it used all its CPU (over minCPUJudged, or with its
// schedule slipping), or, in the open model, more than 1% of 100 or more
// iterations started over lateWake late although a VU was waiting.
func saturation(model result.Model, cpuPct float64, procs int, wall time.Duration, startLagP99 float64, onTime, lateWakes int64) (bool, string) {
	switch {
	case cpuPct > 90*float64(procs) && (wall >= minCPUJudged || startLagP99 > 10):
		return true, "the generator used all the CPU it had: results measure the generator, not the target"
	case model == "open" && onTime >= 100 && float64(lateWakes) > 0.01*float64(onTime):
		return true, fmt.Sprintf("%.1f%% of iterations started more than %s late although a VU was waiting for them: the generator could not keep the schedule",
			100*float64(lateWakes)/float64(onTime), lateWake)
	}
	return false, ""
}

// liveWatch adds to a window's snapshot of the run what the engine, not
// the collector, knows: the load's start, its dropped iterations (final
// once the load ended: the last windows close after that), its peak VUs,
// and the generator's CPU and saturation so far. Once a window, on the
// collector's goroutine.
func (e *Engine) liveWatch(snap *result.Run, cpu0 time.Duration) {
	snap.StartedAt = e.t0
	snap.Summary.Dropped = e.dropped.Load()
	snap.Summary.MaxVUs = int(e.peak.Load())
	g := &snap.Generator
	g.GOMAXPROCS = runtime.GOMAXPROCS(0)
	g.CPUSeconds = (cpuTime() - cpu0).Seconds()
	if wall := e.now().Sub(e.t0); wall > 0 {
		g.CPUPercent = 100 * g.CPUSeconds / wall.Seconds()
	}
	g.StartLagP99 = snap.Summary.StartLag.P99
	g.Saturated, g.Reason = saturation(e.opt.Model, g.CPUPercent, g.GOMAXPROCS, e.now().Sub(e.t0), g.StartLagP99, e.onTime.Load(), e.lateWakes.Load())
}

func (e *Engine) maxVUs() int {
	m := e.opt.Segment.Share(e.opt.MaxVUs)
	if e.vuCap > 0 && m > e.vuCap {
		m = e.vuCap
	}
	if m < 1 {
		m = 1
	}
	return m
}

// preVUs is how many VUs the open model starts at once.
func (e *Engine) preVUs() int {
	return min(max(e.opt.Segment.Share(e.opt.PreVUs), 1), e.maxVUs())
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
