// Package output streams a run's numbers out while it runs: the live
// outputs of `--out csv=…`, `--out prometheus=…` and `--out otlp=…`, each a
// subpackage behind the Sink interface here.
//
// Design: the load engine's collector closes one one-second window a
// second and hands it, with a snapshot of the run so far, to whoever
// watches (OnWindow). A Fan takes that call on the collector's goroutine,
// copies the few numbers it needs (never keeping the snapshot), and queues
// them for one goroutine of its own that turns them into an Update and
// hands it to every sink in turn. The collector is never blocked by a slow
// disk or a collector endpoint that is down: when the queue is full the
// window is counted as lost, and Close says so.
//
// What an Update holds comes from two places, each exact for what it
// says. The window gives what happened in that second (requests, errors,
// percentiles, VUs, and the latency histogram each sink re-exports); the
// snapshot gives counters (requests, errors by kind, dropped iterations)
// that include samples still in open windows, turned into increments
// here, so every sink adds the same numbers. A `stampede test` runs one
// load after another: a new load (a new start time) restarts the
// snapshot's counts, and the increments continue from zero rather than
// going back.
//
// Latency goes out as histograms that sinks export whole (Prometheus's
// native and classic buckets, OpenTelemetry's exponential ones): the Fan
// keeps each step's histogram of every closed window, merged once a
// window, and a sink converts it (ExponentialOf) once a window too, so
// the outputs cost nothing per request.
//
// Bounds: at most MaxSteps steps get labels of their own (the rest share
// the step OtherStep), at most MaxKinds error kinds (the rest count as
// "other"), so a sink's label sets number at most MaxSteps × MaxKinds;
// the Fan holds one histogram (about 200 KB) per step label.
//
// Redirects: each hop a step followed (an entry of the step's `hops[]`:
// the status that asked for it and where it led) has series of its own
// beside the step's, labelled hop="302 /next" (HopName), never a label
// on the step's own series: a hop is one more exchange inside a step
// whose time the step's latency already holds, so the step's series
// keep counting steps and adding them up never counts a step twice. The
// Fan reads the hops from the snapshot (their counts and cumulative
// histograms) and hands each window the increments (Update.Hops). The
// collector keeps at most metrics.MaxHops entries a step, the last,
// metrics.OtherHop, shared by the destinations past the first: so a
// step has at most that many hop label sets, whatever its redirects
// lead to (a token in a path makes every destination new). The hops of
// the steps past MaxSteps share their OtherStep's OtherHop. Latency is
// kept for the first MaxHopLatencies hop series of a run (the Fan holds
// a histogram for each); the series past them count, without latency.
//
// In a plan with `loads:`, each step's series also carry the labels of
// its load (Labels): the load's name and its tags, which the Fan reads
// from the snapshot's loads. A scenario runs in one load, so they add
// labels but no series; their names are fixed before the run (the plan
// allows 16 tags a load), as a Prometheus family and a CSV header need.
package output

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// Bounds on the label sets a sink may create.
const (
	// MaxSteps is how many steps get labels of their own.
	MaxSteps = 500
	// MaxKinds is how many error kinds get labels of their own; the
	// collector knows fewer than this.
	MaxKinds = 32
	// MaxHopLatencies is how many hop series get latency histograms.
	MaxHopLatencies = 64
	// MaxHopLabel is the longest hop label in bytes: a longer
	// destination is cut (at a character) and ends with "…".
	MaxHopLabel = 256
	// OtherStep is the step name shared by the steps past MaxSteps.
	OtherStep = "(other steps)"
	// OtherKind is the error kind shared by the kinds past MaxKinds.
	OtherKind = "other"
	// DefaultPhase is the phase of a window that names none: the one load
	// of `stampede run`.
	DefaultPhase = "load"
	// queueLen is how many windows may wait for the sinks.
	queueLen = 64
)

// Sink receives a run's updates while it runs. Update and Close are
// called from one goroutine, in order: Update once per closed window,
// Close once at the end.
type Sink interface {
	// Update takes one closed window. The Update and everything it
	// points to are the sink's until it returns, read-only.
	Update(u *Update) error
	// Close flushes what is pending and releases the sink (files,
	// listeners, connections). final is the finished Run, nil when the
	// run did not produce one.
	Close(final *result.Run) error
}

// Update is one closed window as the sinks see it.
type Update struct {
	// Time is the wall-clock start of the window; TS the same in seconds
	// since the run (the protocol, for `stampede test`) started.
	Time  time.Time
	TS    float64
	Phase string
	VUs   int
	// Window is the window as the collector closed it (Phase set).
	Window result.Window
	// Steps are the steps of the running load, by index: Window.Steps[i]
	// names Steps[Window.Steps[i].Index] (one with an index past
	// MaxSteps is OtherStep).
	Steps []StepName
	// Hists are the windows' latency histograms (µs), one per
	// Window.Steps entry, nil where the window had none or it could not
	// be read.
	Hists []*hdr.Histogram
	// Latency holds, for each step this window added to, the latency of
	// every closed window so far (µs; across the loads of a test): what
	// a cumulative histogram exports. The histograms change after Update
	// returns.
	Latency []StepLatency
	// NewRequests and NewErrors are what was added since the previous
	// update: requests per step, errors per step and kind.
	NewRequests []StepCount
	NewErrors   []StepCount
	// Hops are the redirects followed since the previous update, one
	// entry per hop series that counted some.
	Hops []HopUpdate
	// NewDropped is the open model's iterations newly counted as dropped.
	NewDropped int64
	// StartLag is the running load's start lag so far.
	StartLag result.Latency
	// Generator is what the generator saw of itself in the running load
	// so far: CPU and saturation.
	Generator result.Generator
	// Tags are the tags of each load of the plan (`loads.NAME.tags`), by
	// the load's name; empty for a run of one load.
	Tags map[string]map[string]string
}

// StepLatency is one step's latency histogram.
type StepLatency struct {
	Name StepName
	Hist *hdr.Histogram
}

// HopName labels one hop series: its step and the hop (a HopResult's
// Label: "302 /next", or metrics.OtherHop).
type HopName struct {
	StepName
	Hop string
}

// HopUpdate is what one hop series counted since the previous update.
type HopUpdate struct {
	Name HopName
	Step int // index into Update.Steps
	// NewRequests and NewErrors are the hops followed, and those that
	// failed, since the previous update (the run so far, as the
	// counters: they may lead the window by the two seconds a window
	// stays open for late samples).
	NewRequests, NewErrors int64
	// Window is the latency (µs) of the hops NewRequests counts, and
	// Latency of every hop of the series so far (across the loads of a
	// test; it changes after Update returns): both nil for a series past
	// MaxHopLatencies, Window nil when the histograms could not be read.
	Window, Latency *hdr.Histogram
}

// StepName labels one step: its scenario, name and kind, and the load
// that runs it ("" in a run of one load).
type StepName struct {
	Scenario, Step, Kind, Load string
}

// Labels are the names of the labels a plan's loads add to each step's
// series, after scenario and step: "load", the load's name, then every
// tag name some load sets, sorted. A run of one load (no `loads:`) adds
// none. Sinks whose label names are fixed before the first window (the
// Prometheus families, the CSV header) take them from the plan; a tag a
// load does not set has the value "".
type Labels []string

// LabelLoad is the label naming a step's load.
const LabelLoad = "load"

// NewLabels returns the labels of a plan's loads, given each load's tags;
// none when the plan has no `loads:` block (loads false).
func NewLabels(loads bool, tags ...map[string]string) Labels {
	if !loads {
		return nil
	}
	names := map[string]bool{}
	for _, t := range tags {
		for k := range t {
			names[k] = true
		}
	}
	return append(Labels{LabelLoad}, slices.Sorted(maps.Keys(names))...)
}

// Values are the values of the labels l for step st: its load's name
// and that load's tags, "" where it sets none.
func (u *Update) Values(l Labels, st StepName) []string {
	if len(l) == 0 {
		return nil
	}
	out := make([]string, len(l))
	tags := u.Tags[st.Load]
	for i, k := range l {
		if k == LabelLoad {
			out[i] = st.Load
		} else {
			out[i] = tags[k]
		}
	}
	return out
}

// StepCount is a count for one step (and error kind).
type StepCount struct {
	Step  int // index into Update.Steps
	Kind  string
	Count int64
}

// Fan hands every window to its sinks on a goroutine of its own. Window
// may be called from one goroutine at a time (the collector's); Close
// once, after the last Window.
type Fan struct {
	sinks []Sink
	q     chan frame
	done  chan struct{}

	// Owned by the run goroutine.
	t0       time.Time
	load     time.Time // start of the load the last frame came from
	lastReq  []int64
	lastErr  []map[string]int64
	lastDrop int64
	kinds    map[string]bool // the error kinds with labels of their own
	cum      map[StepName]*hdr.Histogram
	hopLast  map[hopKey]hopTotal // each hop entry of the running load at the last frame
	hopCum   map[HopName]*hdr.Histogram
	errs     []error

	mu   sync.Mutex // guards lost
	lost int64
}

// frame is what Window copies out of the collector's call.
type frame struct {
	w         result.Window
	started   time.Time
	steps     []stepTotal
	dropped   int64
	startLag  result.Latency
	generator result.Generator
	tags      map[string]map[string]string
}

type stepTotal struct {
	name     StepName
	requests int64
	errs     []result.ErrorCount // the snapshot's own slice, copied
	hops     []hopTotal
}

// hopTotal is a hop entry of the snapshot: its counts so far and its
// cumulative histogram, encoded.
type hopTotal struct {
	status           int
	to               string
	requests, errors int64
	hist             string
	// counts are hist's decoded counts, kept at the last frame for the
	// hops with latency (what the next frame's is taken from).
	counts []int64
}

// hopKey is a hop entry of the running load: its step's index in the
// snapshot, and the entry's status and destination.
type hopKey struct {
	step   int
	status int
	to     string
}

// NewFan starts a fan over sinks. It owns them from now on: Close closes
// them.
func NewFan(sinks ...Sink) *Fan {
	f := &Fan{sinks: sinks, q: make(chan frame, queueLen), done: make(chan struct{}), kinds: map[string]bool{},
		cum: map[StepName]*hdr.Histogram{}, hopLast: map[hopKey]hopTotal{}, hopCum: map[HopName]*hdr.Histogram{}}
	go f.run()
	return f
}

// Window queues a closed window and a snapshot of the run so far, in the
// form of the engine's OnWindow hook. It copies what it needs and never
// blocks: a window that finds the queue full is lost (Close reports how
// many). A nil Fan takes nothing.
func (f *Fan) Window(w result.Window, run *result.Run) {
	if f == nil {
		return
	}
	fr := frame{w: w}
	if run != nil {
		fr.started = run.StartedAt
		fr.dropped = run.Summary.Dropped
		fr.startLag = run.Summary.StartLag
		fr.generator = run.Generator
		// A scenario runs in one load: the load's name and tags label
		// its steps.
		loadOf := map[string]string{}
		if len(run.Loads) > 0 {
			fr.tags = make(map[string]map[string]string, len(run.Loads))
			for _, l := range run.Loads {
				fr.tags[l.Name] = maps.Clone(l.Tags)
				for _, sc := range l.Scenarios {
					loadOf[sc] = l.Name
				}
			}
		}
		fr.steps = make([]stepTotal, len(run.Steps))
		for i, st := range run.Steps {
			fr.steps[i] = stepTotal{name: StepName{st.Scenario, st.Step, st.Kind, loadOf[st.Scenario]}, requests: st.Requests,
				errs: append([]result.ErrorCount(nil), st.Errs...)}
			for _, h := range st.Hops {
				fr.steps[i].hops = append(fr.steps[i].hops, hopTotal{status: h.Status, to: h.To, requests: h.Requests, errors: h.Errors, hist: h.Hist})
			}
		}
	}
	select {
	case f.q <- fr:
	default:
		f.mu.Lock()
		f.lost++
		f.mu.Unlock()
	}
}

func (f *Fan) run() {
	defer close(f.done)
	for fr := range f.q {
		u := f.update(fr)
		for _, s := range f.sinks {
			if err := s.Update(u); err != nil {
				f.fail(err)
			}
		}
	}
}

// fail keeps the first few errors of the sinks for Close.
func (f *Fan) fail(err error) {
	if len(f.errs) < 8 {
		f.errs = append(f.errs, err)
	}
}

// update turns a frame into an Update: names, decoded histograms and the
// increments since the previous frame.
func (f *Fan) update(fr frame) *Update {
	w := fr.w
	if w.Phase == "" {
		w.Phase = DefaultPhase
	}
	if f.t0.IsZero() {
		f.t0 = fr.started
		if f.t0.IsZero() {
			f.t0 = time.Now()
		}
	}
	u := &Update{Time: f.t0.Add(time.Duration(w.TS * float64(time.Second))), TS: w.TS, Phase: w.Phase,
		VUs: w.VUs, Window: w, StartLag: fr.startLag, Generator: fr.generator, Tags: fr.tags}
	if !fr.started.IsZero() && !fr.started.Equal(f.load) {
		// A new load: its counts start again from zero.
		f.load = fr.started
		f.lastReq, f.lastErr, f.lastDrop = nil, nil, 0
		clear(f.hopLast)
	}
	u.Steps = make([]StepName, 0, min(len(fr.steps), MaxSteps+1))
	for i, st := range fr.steps {
		if i >= MaxSteps {
			u.Steps = append(u.Steps, StepName{Step: OtherStep})
			break
		}
		u.Steps = append(u.Steps, st.name)
	}
	for len(f.lastReq) < len(fr.steps) {
		f.lastReq = append(f.lastReq, 0)
		f.lastErr = append(f.lastErr, map[string]int64{})
	}
	for i, st := range fr.steps {
		idx := min(i, MaxSteps)
		if d := st.requests - f.lastReq[i]; d > 0 {
			u.NewRequests = addCount(u.NewRequests, idx, "", d)
			f.lastReq[i] = st.requests
		}
		byKind := map[string]int64{}
		for _, e := range st.errs {
			byKind[e.Kind] += e.Count
		}
		for k, n := range byKind {
			if d := n - f.lastErr[i][k]; d > 0 {
				label := k
				if !f.kinds[k] && len(f.kinds) >= MaxKinds {
					label = OtherKind
				} else {
					f.kinds[k] = true
				}
				u.NewErrors = addCount(u.NewErrors, idx, label, d)
				f.lastErr[i][k] = n
			}
		}
	}
	f.hops(u, fr)
	if d := fr.dropped - f.lastDrop; d > 0 {
		u.NewDropped = d
		f.lastDrop = fr.dropped
	}
	u.Hists = make([]*hdr.Histogram, len(w.Steps))
	for i, sw := range w.Steps {
		if sw.Hist == "" {
			continue
		}
		h, err := metrics.Decode(sw.Hist)
		if err != nil {
			continue
		}
		u.Hists[i] = h
		name := u.StepOf(sw.Index)
		cum := f.cum[name]
		if cum == nil {
			cum = metrics.NewHist()
			f.cum[name] = cum
		}
		cum.Merge(h)
		if !slices.ContainsFunc(u.Latency, func(l StepLatency) bool { return l.Name == name }) {
			u.Latency = append(u.Latency, StepLatency{name, cum})
		}
	}
	return u
}

// hops adds to u what each hop entry of the snapshot counted since the
// previous frame, with the latency of those hops: the entry's cumulative
// histogram less the one of the previous frame.
func (f *Fan) hops(u *Update, fr frame) {
	for i, st := range fr.steps {
		idx := min(i, MaxSteps)
		for _, h := range st.hops {
			k := hopKey{i, h.status, h.to}
			last := f.hopLast[k]
			dr, de := h.requests-last.requests, h.errors-last.errors
			if dr <= 0 && de <= 0 {
				continue
			}
			name := HopName{u.StepOf(idx), hopLabel(h.status, h.to)}
			if idx == MaxSteps {
				name.Hop = metrics.OtherHop
			}
			cum := f.hopCum[name]
			if cum == nil && len(f.hopCum) < MaxHopLatencies {
				cum = metrics.NewHist()
				f.hopCum[name] = cum
			}
			var win *hdr.Histogram
			h.counts = last.counts
			if cum != nil && dr > 0 {
				if win, h.counts = since(h.hist, last.counts); win != nil {
					cum.Merge(win)
				}
			}
			h.hist = "" // kept decoded, in counts
			f.hopLast[k] = h
			j := slices.IndexFunc(u.Hops, func(o HopUpdate) bool { return o.Name == name })
			if j < 0 {
				u.Hops = append(u.Hops, HopUpdate{Name: name, Step: idx, Latency: cum})
				j = len(u.Hops) - 1
			}
			hu := &u.Hops[j]
			hu.NewRequests += max(dr, 0)
			hu.NewErrors += max(de, 0)
			switch {
			case win == nil:
			case hu.Window == nil:
				hu.Window = win
			default: // hops of the steps past MaxSteps, folded
				hu.Window.Merge(win)
			}
		}
	}
}

// hopLabel is a hop's label, at most MaxHopLabel bytes: where a redirect
// leads is the target's to say, and a label is kept as long as the run.
func hopLabel(status int, to string) string {
	l := result.HopResult{Status: status, To: to}.Label()
	if len(l) <= MaxHopLabel {
		return l
	}
	const more = "…"
	cut := MaxHopLabel - len(more)
	for cut > 0 && !utf8.RuneStart(l[cut]) {
		cut--
	}
	return l[:cut] + more
}

// since is the histogram of what cur (encoded, cumulative) recorded
// after the state whose counts are prev (nil for none), and cur's
// counts, for the next call. A cur that cannot be read gives nil and
// prev; prev of another geometry counts as none.
func since(cur string, prev []int64) (*hdr.Histogram, []int64) {
	c, err := metrics.Decode(cur)
	if err != nil {
		return nil, prev
	}
	cs := c.Export() // a copy: kept for the next call
	if len(prev) != len(cs.Counts) {
		return c, cs.Counts
	}
	diff := &hdr.Snapshot{LowestTrackableValue: cs.LowestTrackableValue, HighestTrackableValue: cs.HighestTrackableValue,
		SignificantFigures: cs.SignificantFigures, Counts: make([]int64, len(cs.Counts))}
	for i, n := range cs.Counts {
		diff.Counts[i] = max(n-prev[i], 0)
	}
	return hdr.Import(diff), cs.Counts
}

// addCount adds n to the count of (step, kind), folding the steps past
// MaxSteps together.
func addCount(cs []StepCount, step int, kind string, n int64) []StepCount {
	for i := range cs {
		if cs[i].Step == step && cs[i].Kind == kind {
			cs[i].Count += n
			return cs
		}
	}
	return append(cs, StepCount{Step: step, Kind: kind, Count: n})
}

// StepOf is the name of a window's step: u.Steps[index], or OtherStep
// past MaxSteps or the steps the snapshot named.
func (u *Update) StepOf(index int) StepName {
	if index >= 0 && index < len(u.Steps) && index < MaxSteps {
		return u.Steps[index]
	}
	return StepName{Step: OtherStep}
}

// Close waits for the queued windows to reach the sinks, then closes
// every sink with the finished Run (nil when there is none). Its error
// joins what went wrong in the sinks, and how many windows were lost.
func (f *Fan) Close(final *result.Run) error {
	if f == nil {
		return nil
	}
	close(f.q)
	<-f.done
	errs := f.errs
	for _, s := range f.sinks {
		if err := s.Close(final); err != nil {
			errs = append(errs, err)
		}
	}
	f.mu.Lock()
	lost := f.lost
	f.mu.Unlock()
	if lost > 0 {
		errs = append(errs, fmt.Errorf("%d one-second windows did not reach the live outputs: they fell behind the run", lost))
	}
	return errors.Join(errs...)
}

// Spec is one live output a user asked for: `--out KIND=TARGET`.
type Spec struct {
	Kind   string // "csv", "prometheus", "otlp"
	Target string
}

// IsKind reports whether kind names a live output: csv, prometheus or
// otlp.
func IsKind(kind string) bool {
	switch kind {
	case "csv", "prometheus", "otlp":
		return true
	}
	return false
}
