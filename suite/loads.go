package suite

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/netcond"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/proto"
	"github.com/stampede-perf/stampede/result"
)

// A plan's named loads (`loads:`) run as one engine each, side by side in
// this process, on one clock: every engine gets the same t0, and a load's
// start is a leading stretch of level 0 in its levels, so the engine needs
// nothing new. Each engine measures only its own scenarios (the plan
// holding just them, plan.Only); their Runs merge exactly, by step and
// scenario name, into the run's.
//
// The engines' windows are joined into one stream by a combiner on its
// own goroutine: the collectors only queue their window and snapshot
// (never waiting on one another), and once every load still running has
// closed window t, the combiner merges them and hands the one window and
// the run so far to LoadOptions.OnWindow, then judges the abort
// thresholds (the run's on the whole, each load's on its own part). A
// failure is returned by every engine's next window hook, so all the
// loads stop within about a second.

// loadPart is one load of the plan and its engine.
type loadPart struct {
	nl     *plan.NamedLoad
	test   *load.Test
	layout metrics.Layout
	eo     load.Options
	run    *result.Run
	// targetRPS is what the open model asks over the load's own length.
	targetRPS float64
	// planned is the open model's iterations in all (this segment's).
	planned float64
}

// runLoads runs p's named loads side by side and returns the one Run,
// with each load's own numbers and thresholds in its Loads.
func runLoads(ctx context.Context, p *plan.Plan, o LoadOptions) (*result.Run, error) {
	parts := make([]*loadPart, len(p.Loads))
	longest, peakAt, longestD := 0, time.Duration(0), time.Duration(-1)
	var shaped []result.Network
	for i, nl := range p.Loads {
		lp, px, err := netcond.Shape(p.Only(nl))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", nl.Path(), err)
		}
		if px != nil {
			defer px.Close()
			n := px.Applied
			n.Load = nl.Name
			shaped = append(shaped, n)
		}
		test, layout, err := proto.Compile(lp, proto.Options{Getenv: o.Getenv})
		if err != nil {
			// The load's own plan numbers its scenarios anew: the whole
			// plan's compile places the problems where they are written.
			if _, _, whole := proto.Compile(p, proto.Options{Getenv: o.Getenv}); whole != nil {
				err = whole
			}
			return nil, errors.Join(ErrCompile, err)
		}
		pt := &loadPart{nl: nl, test: test, layout: layout, eo: engineOptions(nl.LoadSpec, o), run: &result.Run{}}
		pt.eo.Dither = profilesCPU(p)
		if nl.Model == "open" {
			prof := load.NewProfile(pt.eo.Levels)
			if d := prof.Duration(); d > 0 {
				pt.planned = prof.Area(d) / float64(segments(o.Segment))
				pt.targetRPS = pt.planned / d.Seconds()
			}
		}
		pt.eo.Levels = startLevels(nl.Start.D(), pt.eo.Levels)
		if err := load.New(test, pt.eo).Admit(); err != nil {
			return nil, fmt.Errorf("%s: %w", nl.Path(), err)
		}
		prof := load.NewProfile(pt.eo.Levels)
		if prof.Duration() > longestD {
			longest, longestD = i, prof.Duration()
		}
		peakAt = max(peakAt, prof.PeakAt())
		parts[i] = pt
	}
	// The watchers watch for as long as the longest load runs.
	wo := parts[longest].eo
	wt, err := startWatching(ctx, p, &wo, o, peakAt)
	if err != nil {
		return nil, err
	}
	c := newCombiner(p, parts, o)
	go c.run()
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for i, pt := range parts {
		pt.eo.Start = wo.Start
		pt.eo.OnWindow = c.hook(i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = load.New(pt.test, pt.eo).Run(ctx, pt.layout, pt.run)
			c.push(arrival{load: i, done: true})
		}()
	}
	wg.Wait()
	c.close()

	runs := make([]*result.Run, len(parts))
	for i, pt := range parts {
		runs[i] = pt.run
	}
	m, err := metrics.MergeLoads(runs)
	if err != nil {
		wt.stop(&result.Run{})
		return nil, err
	}
	run := newRun(p, o)
	run.Network = shaped
	run.Model, run.Segment, run.StartedAt, run.EndedAt = m.Model, m.Segment, m.StartedAt, m.EndedAt
	run.Aborted, run.AbortReason, run.Warnings = m.Aborted, m.AbortReason, unique(m.Warnings)
	run.Summary, run.Steps, run.Scenarios, run.Errors, run.Series, run.Generator = m.Summary, m.Steps, m.Scenarios, m.Errors, m.Series, m.Generator
	run.Summary.TargetRPS = overallTarget(parts, run.Summary.DurationS)
	run.Loads = loadResults(parts, runs)
	at := map[float64]int{} // window offset → index in the series
	for i, w := range run.Series {
		at[w.TS] = i
	}
	for i, r := range runs {
		for _, w := range r.Series {
			if j, ok := at[w.TS]; ok {
				run.Series[j].Loads = append(run.Series[j].Loads, result.LoadWindow{Index: i, VUs: w.VUs, RPS: w.RPS})
			}
		}
	}
	// Histograms the engines wrote themselves decode: no error to keep.
	metrics.FoldLoads(run)
	metrics.FoldLoadWindows(run, run.Series)
	for i, pt := range parts {
		run.Loads[i].Thresholds = analyze.Thresholds(metrics.LoadView(run, i), pt.nl.Thresholds)
	}
	var runErr error
	for _, err := range errs { // why the run ended early: one reason
		if err != nil {
			runErr = err
			break
		}
	}
	runErr = untilEnded(run, runErr, o)
	wt.stop(run)
	return run, conclude(run, p, o, runErr)
}

// FailLoads fails run when a threshold of one of its loads failed, saying
// which load's when nothing else failed it.
func FailLoads(run *result.Run) {
	for _, l := range run.Loads {
		f := analyze.Failed(l.Thresholds, false)
		if len(f) == 0 {
			continue
		}
		if run.Verdict != result.VerdictFail && run.VerdictReason == "" {
			run.VerdictReason = fmt.Sprintf("load %s: %d threshold(s) failed", l.Name, len(f))
		}
		run.Verdict = result.VerdictFail
	}
}

// startLevels delays levels by start: a first stretch of level 0.
func startLevels(start time.Duration, levels []load.Level) []load.Level {
	if start <= 0 {
		return levels
	}
	return append([]load.Level{{Target: 0, Hold: start}}, levels...)
}

func segments(s load.Segment) int { return max(s.N, 1) }

// overallTarget is the open model's asked rate over the whole run when
// every load is open; 0 when a closed load asks no rate.
func overallTarget(parts []*loadPart, durationS float64) float64 {
	planned := 0.0
	for _, pt := range parts {
		if pt.nl.Model != "open" {
			return 0
		}
		planned += pt.planned
	}
	if durationS <= 0 {
		return 0
	}
	return planned / durationS
}

// loadResults are what each load's executor reported of it; FoldLoads
// adds what it measured. runs[i] is load i's Run, whole or so far.
func loadResults(parts []*loadPart, runs []*result.Run) []result.LoadResult {
	out := make([]result.LoadResult, len(parts))
	for i, pt := range parts {
		start := pt.nl.Start.D().Seconds()
		out[i] = result.LoadResult{Name: pt.nl.Name, Model: result.Model(pt.nl.Model), Scenarios: pt.nl.Scenarios, Tags: pt.nl.Tags,
			StartS: start, TargetRPS: pt.targetRPS}
		if r := runs[i]; r != nil {
			s := r.Summary
			out[i].DurationS = max(0, s.DurationS-start)
			out[i].MaxVUs, out[i].Dropped, out[i].Interrupted = s.MaxVUs, s.Dropped, s.Interrupted
		}
	}
	return out
}

// unique drops repeated warnings (each load's engine may say the same).
func unique(ws []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range ws {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// arrival is one engine's closed window and its run so far, or (done)
// the end of that engine's windows.
type arrival struct {
	load int
	w    result.Window
	snap *result.Run
	done bool
}

// combiner joins the loads' windows into one stream (see the top of this
// file). push and hook are called from the engines' collectors; the rest
// runs on the combiner's goroutine.
type combiner struct {
	o      LoadOptions
	parts  []*loadPart
	model  result.Model
	aborts []*plan.Threshold   // the run's
	own    [][]*plan.Threshold // each load's

	mu      sync.Mutex // guards queue
	queue   []arrival
	wake    chan struct{}
	closing chan struct{}
	exited  chan struct{}
	reason  atomic.Pointer[string] // why every engine must stop

	// Owned by the combiner's goroutine.
	pending []map[int64]arrival // per load, its windows not yet emitted
	last    []*result.Run       // per load, its latest snapshot
	done    []bool
	next    int64 // the next window to emit
}

func newCombiner(p *plan.Plan, parts []*loadPart, o LoadOptions) *combiner {
	c := &combiner{o: o, parts: parts, aborts: abortThresholds(p.Thresholds),
		wake: make(chan struct{}, 1), closing: make(chan struct{}), exited: make(chan struct{}),
		pending: make([]map[int64]arrival, len(parts)), last: make([]*result.Run, len(parts)), done: make([]bool, len(parts))}
	for i, pt := range parts {
		c.pending[i] = map[int64]arrival{}
		c.own = append(c.own, abortThresholds(pt.nl.Thresholds))
		switch {
		case i == 0:
			c.model = result.Model(pt.nl.Model)
		case result.Model(pt.nl.Model) != c.model:
			c.model = result.ModelMixed
		}
	}
	return c
}

// hook is load i's engine's window hook: it queues the window, never
// waiting for the other loads, and returns why the run must stop, if it
// must.
func (c *combiner) hook(i int) func(result.Window, *result.Run) string {
	return func(w result.Window, snap *result.Run) string {
		c.push(arrival{load: i, w: w, snap: snap})
		if r := c.reason.Load(); r != nil {
			return *r
		}
		return ""
	}
}

// push queues an arrival and wakes the combiner. Safe for concurrent use.
func (c *combiner) push(a arrival) {
	c.mu.Lock()
	c.queue = append(c.queue, a)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close emits what is left once every engine is done, and waits for it.
func (c *combiner) close() {
	close(c.closing)
	<-c.exited
}

func (c *combiner) run() {
	defer close(c.exited)
	for {
		closing := false
		select {
		case <-c.wake:
		case <-c.closing:
			closing = true
		}
		c.mu.Lock()
		q := c.queue
		c.queue = nil
		c.mu.Unlock()
		for _, a := range q {
			if a.done {
				c.done[a.load] = true
			} else {
				c.pending[a.load][int64(a.w.TS)] = a
			}
		}
		c.emitReady()
		if closing {
			return
		}
	}
}

// emitReady emits every window that each load has closed or will never
// close (it ended), in order.
func (c *combiner) emitReady() {
	for {
		some := false
		for i := range c.parts {
			if _, ok := c.pending[i][c.next]; ok {
				some = true
			} else if !c.done[i] {
				return // this load has yet to close the window
			}
		}
		if !some {
			return
		}
		c.emit(c.next)
		c.next++
	}
}

// emit merges the loads' window t and their runs so far, hands them on
// and judges the abort thresholds on them.
func (c *combiner) emit(t int64) {
	runs := make([]*result.Run, 0, len(c.parts))
	at := make([]arrival, len(c.parts)) // each load's window t, if it has one
	for i := range c.parts {
		a, ok := c.pending[i][t]
		if ok {
			delete(c.pending[i], t)
			c.last[i] = a.snap
			at[i] = a
		}
		if c.last[i] == nil {
			continue
		}
		r := *c.last[i] // the snapshot is the engine's to give away; the copy's series is this window
		r.Series = nil
		if ok {
			r.Series = []result.Window{a.w}
		}
		runs = append(runs, &r)
	}
	snap, err := metrics.MergeLoads(runs)
	if err != nil {
		return // only a histogram that does not decode: never the engines' own
	}
	w := result.Window{TS: float64(t)}
	if len(snap.Series) > 0 {
		w = snap.Series[0]
	}
	snap.Series = nil
	snap.Model = c.model
	snap.Loads = loadResults(c.parts, c.last)
	metrics.FoldLoads(snap)
	for i, a := range at {
		if a.snap != nil {
			w.Loads = append(w.Loads, result.LoadWindow{Index: i, VUs: a.w.VUs, RPS: a.w.RPS})
		}
	}
	ws := []result.Window{w}
	metrics.FoldLoadWindows(snap, ws)
	w = ws[0]
	if c.o.OnWindow != nil {
		c.o.OnWindow(w, snap)
	}
	if c.reason.Load() != nil {
		return
	}
	reason := ""
	if c.o.Until != nil && c.o.Until(w, snap) {
		reason = untilReason
	}
	if reason == "" {
		reason = abortReason(snap, c.aborts)
	}
	for i, pt := range c.parts {
		if reason == "" {
			if r := abortReason(metrics.LoadView(snap, i), c.own[i]); r != "" {
				reason = "load " + pt.nl.Name + ": " + r
			}
		}
	}
	if reason != "" {
		c.reason.Store(&reason)
	}
}
