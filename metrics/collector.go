package metrics

import (
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/result"
)

// Layout names what a run measures: its scenarios and their steps, in the
// order of the global step index that samples carry.
type Layout struct {
	Scenarios []ScenarioInfo
}

// ScenarioInfo is one scenario of a Layout.
type ScenarioInfo struct {
	Name   string
	Weight int
	Steps  []StepInfo
}

// StepInfo is one step of a scenario.
type StepInfo struct {
	Name string
	Kind string // "http", "sql"
}

// Config configures a Collector.
type Config struct {
	Layout Layout
	// Start is the run's t0: sample EndNS values are relative to it.
	Start time.Time
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Tick is how often rings are drained; 20 ms when zero.
	Tick time.Duration
	// ActiveVUs reports the current number of running VUs.
	ActiveVUs func() int
	// OnWindow, when set, is called from the collector goroutine with
	// every closed one-second window, in order, and a snapshot of the run
	// so far (summary, steps and errors; no series). It must not keep run.
	OnWindow func(w result.Window, run *result.Run)
	// KeepWindows is how many closed windows stay in memory before older
	// ones are written to a temporary file and read back by Finish (see
	// spill.go): DefaultKeepWindows when zero; negative keeps them all
	// in memory.
	KeepWindows int
	// SpillDir is where that file is made; os.TempDir() when empty.
	SpillDir string
}

// Collector aggregates samples from every VU's ring. Register and Example
// are safe for concurrent use; Run is called once, from one goroutine;
// Finish after Run returned.
type Collector struct {
	cfg  Config
	now  func() time.Time
	tick time.Duration

	ringsMu sync.Mutex // guards rings and retiredStalls
	// rings is append-only between retirements, which replace it with a
	// new slice, so a copied header stays valid.
	rings         []*Ring
	retiredStalls uint64 // stalls of the rings let go
	wake          chan struct{}

	// examples holds one example message per step and kind; the last
	// set is for messages from outside any known step.
	examples []exampleSet
	// hops are the steps' followed redirects (hops.go).
	hops hopTable

	// Owned by the collector goroutine (and by Finish after Run).
	steps    []*stepAgg
	scens    []*scenAgg
	lag      *hdr.Histogram
	open     []*windowAgg // open windows, oldest first
	free     []*windowAgg
	nextIdx  int64           // index of the next window to emit
	series   []result.Window // closed windows not spilled, oldest first
	spill    *spill          // closed windows written out; nil before the first batch
	spillErr error           // why windows could not be spilled; then they stay in memory
	keep     int             // KeepWindows, resolved
	all, svc *hdr.Histogram  // fill's scratch, made at its first call and reused
	win      *hdr.Histogram  // emit's scratch for a window of several steps
	late     int64
	firstEnd int64 // ns of the first sample, -1 before
	lastEnd  int64
	drained  bool
}

type exampleSet [numKinds]atomic.Pointer[string]

type errKey struct {
	kind   ErrKind
	status uint16
}

type stepAgg struct {
	info              StepInfo
	scenario          string
	lat, svc          *hdr.Histogram
	requests, errors  int64
	bytesIn, bytesOut int64
	rows              int64
	msgsOut, msgsIn   int64
	dns, conn, tls    int64
	ttfb, recv        int64
	send              int64
	poolWait          int64 // SQL steps: summed PoolWaitUS
	redirects         int64 // HTTP steps: redirects followed
	redirectUS        int64 // and the time in them
	errs              map[errKey]int64
}

type scenAgg struct {
	info       ScenarioInfo
	iter       *hdr.Histogram
	iterations int64
	failed     int64
}

// windowAgg is an open window. Its latency over every step is not kept
// apart: emit reads it from the one step that had requests, or merges the
// steps' histograms (exactly: the same buckets), which saves a histogram
// per window and a record per sample.
type windowAgg struct {
	idx      int64
	steps    []*hdr.Histogram // lazily allocated per step
	req, err []int64          // per step
	kinds    map[string]int64
	vus      int
}

// NewCollector returns a collector for the layout.
func NewCollector(cfg Config) *Collector {
	c := &Collector{cfg: cfg, now: cfg.Now, tick: cfg.Tick, lag: NewHist(), firstEnd: -1, wake: make(chan struct{}, 1),
		keep: cfg.KeepWindows}
	if c.keep == 0 {
		c.keep = DefaultKeepWindows
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.tick <= 0 {
		c.tick = 20 * time.Millisecond
	}
	for _, sc := range cfg.Layout.Scenarios {
		c.scens = append(c.scens, &scenAgg{info: sc, iter: NewHist()})
		for _, st := range sc.Steps {
			c.steps = append(c.steps, &stepAgg{info: st, scenario: sc.Name, lat: NewHist(), svc: NewHist(), errs: map[errKey]int64{}})
		}
	}
	c.examples = make([]exampleSet, len(c.steps)+1)
	return c
}

// exampleSet returns the examples of step (the global step index of the
// layout); an unknown step has the shared last set.
func (c *Collector) exampleSet(step int) *exampleSet {
	if step < 0 || step >= len(c.examples)-1 {
		return &c.examples[len(c.examples)-1]
	}
	return &c.examples[step]
}

// Register adds a VU's ring. Safe for concurrent use.
func (c *Collector) Register(r *Ring) {
	r.wake = c.wake
	c.ringsMu.Lock()
	c.rings = append(c.rings, r)
	c.ringsMu.Unlock()
}

// dropRetired lets go of the retired rings, every one of which has been
// drained after it was retired (a ring retired since is kept for the next
// drain). The list is rebuilt, never changed in place, so that a copy of
// the old one stays valid.
func (c *Collector) dropRetired() {
	c.ringsMu.Lock()
	defer c.ringsMu.Unlock()
	kept := make([]*Ring, 0, len(c.rings))
	for _, r := range c.rings {
		if r.retired.Load() && r.head.Load() == r.tail.Load() {
			c.retiredStalls += r.stalls.Load()
			continue
		}
		kept = append(kept, r)
	}
	c.rings = kept
}

// ringList is the rings registered so far. Elements below the returned
// length never change, so the slice may be read without the lock.
func (c *Collector) ringList() []*Ring {
	c.ringsMu.Lock()
	defer c.ringsMu.Unlock()
	return c.rings
}

// Example records msg as the example message of kind at step (the
// layout's global step index), if it has none yet, so every step's errors
// are shown with a message of their own. It costs one atomic load once an
// example exists. Safe for concurrent use.
func (c *Collector) Example(step int, kind ErrKind, msg string) {
	if kind >= numKinds {
		return
	}
	ex := &c.exampleSet(step)[kind]
	if ex.Load() != nil {
		return
	}
	ex.CompareAndSwap(nil, &msg)
}

// Stalls is the number of pushes that waited for the collector.
func (c *Collector) Stalls() uint64 {
	c.ringsMu.Lock()
	n := c.retiredStalls
	c.ringsMu.Unlock()
	for _, r := range c.ringList() {
		n += r.stalls.Load()
	}
	return n
}

// Run drains rings until ctx is done, then drains once more; a full ring
// wakes it early. Window w closes one second after its end, at w+2 s, so
// samples recorded a little after they completed still land in their
// second.
func (c *Collector) Run(ctx context.Context) {
	t := time.NewTicker(c.tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.drainAll()
			return
		case <-c.wake:
			c.drainAll()
		case <-t.C:
			c.drainAll()
			c.closeWindows(c.elapsedNS()/int64(time.Second)-2, 0)
		}
	}
}

func (c *Collector) elapsedNS() int64 { return int64(c.now().Sub(c.cfg.Start)) }

func (c *Collector) drainAll() {
	vus := 0
	if c.cfg.ActiveVUs != nil {
		vus = c.cfg.ActiveVUs()
	}
	if len(c.open) > 0 {
		if w := c.open[len(c.open)-1]; vus > w.vus {
			w.vus = vus
		}
	}
	retired := 0
	for _, r := range c.ringList() {
		// A ring seen retired before its drain has had its last Push.
		if r.retired.Load() {
			retired++
		}
		r.drain(c.record)
	}
	if retired > 0 {
		c.dropRetired()
	}
	if len(c.open) > 0 {
		if w := c.open[len(c.open)-1]; vus > w.vus {
			w.vus = vus
		}
	}
}

// record is the collector's per-sample work.
func (c *Collector) record(s *Sample) {
	if s.Flags&FlagIteration != 0 {
		if int(s.Step) < len(c.scens) {
			sc := c.scens[s.Step]
			sc.iterations++
			if s.Flags&FlagFailed != 0 {
				sc.failed++
			}
			RecordUS(sc.iter, int64(s.LatencyUS))
			RecordUS(c.lag, int64(s.LagUS))
		}
		return
	}
	if int(s.Step) >= len(c.steps) {
		return
	}
	st := c.steps[s.Step]
	st.requests++
	RecordUS(st.lat, int64(s.LatencyUS))
	RecordUS(st.svc, int64(s.ServiceUS))
	st.bytesIn += int64(s.BytesIn)
	st.bytesOut += int64(s.BytesOut)
	st.rows += int64(s.Rows)
	st.msgsOut += int64(s.MsgsOut)
	st.msgsIn += int64(s.MsgsIn)
	st.dns += int64(s.DNSUS)
	st.conn += int64(s.ConnUS)
	st.tls += int64(s.TLSUS)
	st.ttfb += int64(s.TTFBUS)
	st.recv += int64(s.RecvUS)
	st.poolWait += int64(s.PoolWaitUS)
	st.redirects += int64(s.Redirects)
	st.redirectUS += int64(s.RedirectUS)
	if s.Kind != KindNone {
		st.errors++
		st.errs[errKey{s.Kind, s.Status}]++
	}
	if c.firstEnd < 0 || s.EndNS < c.firstEnd {
		c.firstEnd = s.EndNS
	}
	if s.EndNS > c.lastEnd {
		c.lastEnd = s.EndNS
	}
	w := c.window(s.EndNS / int64(time.Second))
	if w == nil {
		c.late++
		return
	}
	if w.steps[s.Step] == nil {
		w.steps[s.Step] = NewHist()
	}
	RecordUS(w.steps[s.Step], int64(s.LatencyUS))
	w.req[s.Step]++
	if s.Kind != KindNone {
		w.err[s.Step]++
		w.kinds[s.Kind.String()]++
	}
}

// window returns the open window idx, opening windows up to it; nil when
// idx was already emitted.
func (c *Collector) window(idx int64) *windowAgg {
	if idx < c.nextIdx {
		return nil
	}
	for i := len(c.open) - 1; i >= 0; i-- {
		if c.open[i].idx == idx {
			return c.open[i]
		}
		if c.open[i].idx < idx {
			break
		}
	}
	// Open every window from the newest open one (or nextIdx) to idx so
	// the series has no holes.
	from := c.nextIdx
	if n := len(c.open); n > 0 {
		from = c.open[n-1].idx + 1
	}
	if idx-from > 3600*24 { // a clock jump: do not allocate a day of windows
		from = idx
	}
	for i := from; i <= idx; i++ {
		c.open = append(c.open, c.newWindow(i))
	}
	return c.open[len(c.open)-1]
}

func (c *Collector) newWindow(idx int64) *windowAgg {
	var w *windowAgg
	if n := len(c.free); n > 0 {
		w = c.free[n-1]
		c.free = c.free[:n-1]
		for i, h := range w.steps {
			if h != nil {
				h.Reset()
			}
			w.req[i], w.err[i] = 0, 0
		}
		clear(w.kinds)
		w.vus = 0
	} else {
		w = &windowAgg{steps: make([]*hdr.Histogram, len(c.steps)),
			req: make([]int64, len(c.steps)), err: make([]int64, len(c.steps)), kinds: map[string]int64{}}
	}
	w.idx = idx
	return w
}

// closeWindows emits every window with index ≤ upTo. endS > 0 is the end
// of the run: the window it falls in is only that long.
func (c *Collector) closeWindows(upTo int64, endS float64) {
	for c.nextIdx <= upTo {
		var w *windowAgg
		if len(c.open) > 0 && c.open[0].idx == c.nextIdx {
			w = c.open[0]
			c.open = c.open[1:]
		} else {
			w = c.newWindow(c.nextIdx)
			if c.cfg.ActiveVUs != nil {
				w.vus = c.cfg.ActiveVUs()
			}
		}
		length := 1.0
		if endS > 0 {
			length = min(1, endS-float64(c.nextIdx))
		}
		c.emit(w, length)
		c.free = append(c.free, w)
		c.nextIdx++
	}
}

func (c *Collector) emit(w *windowAgg, lengthS float64) {
	out := result.Window{TS: float64(w.idx), VUs: w.vus}
	only := -1 // the one step with requests in the window, if only one has
	for i := range c.steps {
		out.Requests += w.req[i]
		out.Errors += w.err[i]
		if w.req[i] == 0 {
			continue
		}
		sw := result.StepWindow{Index: i, Requests: w.req[i], Errors: w.err[i]}
		if h := w.steps[i]; h != nil {
			q := h.ValueAtPercentiles([]float64{50, 95, 99})
			sw.P50, sw.P95, sw.P99 = ms(q[50]), ms(q[95]), ms(q[99])
			sw.Hist = MustEncode(h)
		}
		out.Steps = append(out.Steps, sw)
		only = i
	}
	if len(out.Steps) != 1 {
		only = -1
	}
	if lengthS > 0 {
		out.RPS = float64(out.Requests) / lengthS
	}
	var lat *hdr.Histogram // every sample of the window
	switch {
	case only >= 0:
		lat = w.steps[only]
	case len(out.Steps) > 1:
		if c.win == nil {
			c.win = NewHist()
		}
		lat = c.win
		lat.Reset()
		for _, h := range w.steps {
			if h != nil {
				lat.Merge(h)
			}
		}
	}
	if lat != nil && lat.TotalCount() > 0 {
		q := lat.ValueAtPercentiles([]float64{50, 95, 99})
		out.P50, out.P95, out.P99 = ms(q[50]), ms(q[95]), ms(q[99])
		out.Max = ms(lat.Max())
		if only >= 0 {
			// One step had every sample: the window's histogram is its,
			// and the window shares its encoding (this halves what
			// one-step plans hold).
			out.Hist = out.Steps[0].Hist
		} else {
			out.Hist = MustEncode(lat)
		}
	}
	if len(w.kinds) > 0 {
		out.ErrKinds = make(map[string]int64, len(w.kinds))
		for k, v := range w.kinds {
			out.ErrKinds[k] = v
		}
	}
	c.series = append(c.series, out)
	c.spillOld()
	if c.cfg.OnWindow != nil {
		snap := &result.Run{}
		c.fill(snap, float64(w.idx+1))
		c.cfg.OnWindow(out, snap)
	}
}

// Finish closes the remaining windows (the last one partial, ending at
// endS seconds) and fills r's summary, steps, scenarios, errors and series.
// Call it after Run has returned.
func (c *Collector) Finish(r *result.Run, endS float64) {
	c.drainAll()
	last := int64(endS)
	if float64(last) == endS && last > 0 {
		last-- // the run ended exactly on a window boundary
	}
	c.closeWindows(last, endS)
	c.fill(r, endS)
	r.Series = c.series
	if c.spill != nil {
		old, err := c.spill.readAll()
		if err != nil {
			r.Warnings = append(r.Warnings, err.Error()+": the series lacks those windows; every total is complete")
		}
		r.Series = append(old, c.series...)
		c.spill.close()
		c.spill = nil
	}
	if c.spillErr != nil {
		r.Warnings = append(r.Warnings, c.spillErr.Error()+"; the windows were kept in memory")
	}
	c.series = nil
}

// spillOld writes the oldest closed windows to the spill file, a batch at
// a time, once more than keep are in memory. A batch leaves memory only
// once it is on disk; after a failure every window stays in memory.
func (c *Collector) spillOld() {
	if c.keep < 0 || c.spillErr != nil {
		return
	}
	batch := max(1, c.keep/5)
	if len(c.series) < c.keep+batch {
		return
	}
	if c.spill == nil {
		if c.spill, c.spillErr = newSpill(c.cfg.SpillDir); c.spillErr != nil {
			return
		}
	}
	n := len(c.series) - c.keep
	if c.spillErr = c.spill.write(c.series[:n]); c.spillErr != nil {
		return
	}
	// Move the kept windows down in place and clear the tail, so the
	// spilled windows' histograms are garbage and the array never grows
	// past keep+batch.
	copy(c.series, c.series[n:])
	clear(c.series[len(c.series)-n:])
	c.series = c.series[:len(c.series)-n]
}

// fill writes the cumulative view into r.
func (c *Collector) fill(r *result.Run, durS float64) {
	// With one step its histograms are the run's: merging them into two
	// more would only copy them (and hold 376 KB more).
	one := len(c.steps) == 1
	var all, svc *hdr.Histogram
	if one {
		all, svc = c.steps[0].lat, c.steps[0].svc
	} else {
		if c.all == nil {
			c.all, c.svc = NewHist(), NewHist()
		}
		all, svc = c.all, c.svc
		all.Reset()
		svc.Reset()
	}
	r.Steps = r.Steps[:0]
	var sum result.Summary
	var tm [6]int64
	r.Errors = r.Errors[:0]
	for i, st := range c.steps {
		if !one {
			all.Merge(st.lat)
			svc.Merge(st.svc)
		}
		sum.Requests += st.requests
		sum.Errors += st.errors
		sum.BytesIn += st.bytesIn
		sum.BytesOut += st.bytesOut
		tm[0] += st.dns
		tm[1] += st.conn
		tm[2] += st.tls
		tm[3] += st.ttfb
		tm[4] += st.recv
		tm[5] += st.poolWait
		sr := result.StepResult{
			Scenario: st.scenario, Step: st.info.Name, Kind: st.info.Kind,
			Requests: st.requests, Errors: st.errors, Rows: st.rows,
			MessagesOut: st.msgsOut, MessagesIn: st.msgsIn,
			BytesIn: st.bytesIn, BytesOut: st.bytesOut,
			Latency: Percentiles(st.lat), Phases: timing(st.requests, st.dns, st.conn, st.tls, st.ttfb, st.recv),
			Hist: MustEncode(st.lat),
		}
		if st.requests > 0 {
			sr.Phases.PoolWait = float64(st.poolWait) / float64(st.requests) / 1000
		}
		if sr.Redirects = st.redirects; st.redirects > 0 {
			sr.RedirectMS = float64(st.redirectUS) / float64(st.redirects) / 1000
			sr.Hops = c.hopResults(i, durS)
		}
		if durS > 0 {
			sr.RPS = float64(st.requests) / durS
		}
		// Errors are grouped by step, kind and status, each with an
		// example from its own step.
		for k, n := range st.errs {
			sr.Errs = append(sr.Errs, result.ErrorCount{Kind: k.kind.String(), Status: int(k.status), Count: n})
			ec := result.ErrorCount{Scenario: st.scenario, Step: st.info.Name, Kind: k.kind.String(), Status: int(k.status), Count: n}
			if p := c.exampleSet(i)[k.kind].Load(); p != nil {
				ec.Example = *p
			}
			r.Errors = append(r.Errors, ec)
		}
		sortErrors(sr.Errs)
		r.Steps = append(r.Steps, sr)
	}
	r.Scenarios = r.Scenarios[:0]
	for _, sc := range c.scens {
		sum.Iterations += sc.iterations
		r.Scenarios = append(r.Scenarios, result.ScenarioResult{
			Name: sc.info.Name, Weight: sc.info.Weight, Iterations: sc.iterations, Failed: sc.failed,
			Latency: Percentiles(sc.iter), Hist: MustEncode(sc.iter),
		})
	}
	sortErrors(r.Errors)
	sum.DurationS = durS
	if durS > 0 {
		sum.RPS = float64(sum.Requests) / durS
	}
	if sum.Requests > 0 {
		sum.ErrorRate = float64(sum.Errors) / float64(sum.Requests)
	}
	sum.Latency = Percentiles(all)
	sum.Service = Percentiles(svc)
	sum.StartLag = Percentiles(c.lag)
	sum.Phases = timing(sum.Requests, tm[0], tm[1], tm[2], tm[3], tm[4])
	if sum.Requests > 0 {
		sum.Phases.PoolWait = float64(tm[5]) / float64(sum.Requests) / 1000
	}
	sum.Hist = MustEncode(all)
	sum.ServiceH = MustEncode(svc)
	sum.StartLagH = MustEncode(c.lag)
	// Keep what the executor set.
	sum.Dropped, sum.Interrupted, sum.TargetRPS, sum.MaxVUs = r.Summary.Dropped, r.Summary.Interrupted, r.Summary.TargetRPS, r.Summary.MaxVUs
	r.Summary = sum
}

func timing(n, dns, conn, tls, ttfb, recv int64) result.Timing {
	if n == 0 {
		return result.Timing{}
	}
	f := func(v int64) float64 { return float64(v) / float64(n) / 1000 }
	return result.Timing{DNS: f(dns), Connect: f(conn), TLS: f(tls), TTFB: f(ttfb), Receive: f(recv)}
}

func sortErrors(e []result.ErrorCount) {
	sort.Slice(e, func(i, j int) bool {
		if e[i].Count != e[j].Count {
			return e[i].Count > e[j].Count
		}
		if e[i].Kind != e[j].Kind {
			return e[i].Kind < e[j].Kind
		}
		if e[i].Status != e[j].Status {
			return e[i].Status < e[j].Status
		}
		if e[i].Scenario != e[j].Scenario {
			return e[i].Scenario < e[j].Scenario
		}
		return e[i].Step < e[j].Step
	})
}

// Late is the number of samples that arrived after their window closed;
// they count in every total but not in the series.
func (c *Collector) Late() int64 { return c.late }

// WantExample reports whether kind has no example message yet at step.
func (c *Collector) WantExample(step int, kind ErrKind) bool {
	return kind < numKinds && c.exampleSet(step)[kind].Load() == nil
}
