package load

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// controlTick is how often the closed-model controller re-reads the
// profile; ramps are followed to within one tick.
const controlTick = 50 * time.Millisecond

// ceilingPoll is how often the open model's supervisor looks again while
// every VU the pool may hold is busy and iterations are due. There is
// nothing for it to do then: a VU that finishes takes the next overdue
// iteration itself, and the pool's limit changes once an epoch (at least
// minEpoch). A 1 ms poll woke an idle thread a thousand times a second,
// the generator's largest cost beside the requests on an overloaded
// stress step, with the target's cores to share.
const ceilingPoll = 10 * time.Millisecond

// lateWake is how late a waiting VU may wake before the wake counts
// against the generator.
const lateWake = 10 * time.Millisecond

// wind waits for every VU to finish its iteration, interrupting what is
// still running after the graceful stop.
func (e *Engine) wind() {
	e.stopping.Store(true)
	idle := make(chan struct{})
	go func() { e.wg.Wait(); close(idle) }()
	t := time.NewTimer(e.opt.GracefulStop)
	defer t.Stop()
	select {
	case <-idle:
	case <-t.C:
		e.cancelHard()
		e.interruptAll()
		<-idle
	}
}

// limit reports whether the iteration limit has been reached, claiming
// one iteration otherwise.
func (e *Engine) limit() bool {
	if e.opt.Iterations <= 0 {
		return false
	}
	// The count is the whole test's: each segment runs its share.
	return e.iters.Add(1) > e.iterationShare()
}

// runClosed keeps Share(users(t)) VUs running, each looping iterations.
func (e *Engine) runClosed(stop, hard context.Context, p Profile) {
	seg := e.opt.Segment
	ringSize := metrics.RingSize(seg.Share(int(math.Ceil(p.Peak()))))
	end := p.Duration()
	limitHit := make(chan struct{})
	var limitOnce sync.Once
	var vus []*VU
	var timer *time.Timer
	for {
		el := e.now().Sub(e.t0)
		if el >= end {
			break
		}
		target := seg.Share(int(math.Floor(p.At(el) + 1e-9)))
		// Spawning many VUs takes a while: a stop must not wait for it.
		for l := 0; l < target && stop.Err() == nil; l++ {
			if l < len(vus) && vus[l] != nil && !vus[l].stop.Load() {
				continue
			}
			vu := e.newVU(seg.Global(int64(l)), ringSize)
			e.wg.Add(1)
			go e.closedVU(vu, stop, hard, func() { limitOnce.Do(func() { close(limitHit) }) })
			if l < len(vus) {
				vus[l] = vu
			} else {
				vus = append(vus, vu)
			}
		}
		for l := target; l < len(vus); l++ {
			if vus[l] != nil {
				vus[l].stop.Store(true)
				vus[l] = nil
			}
		}
		next := e.t0.Add(el + controlTick)
		if e.t0.Add(end).Before(next) {
			next = e.t0.Add(end)
		}
		if !e.sleepUntilOr(stop, limitHit, next, &timer) {
			break
		}
	}
	e.wind()
}

func (e *Engine) closedVU(vu *VU, stop, hard context.Context, hitLimit func()) {
	defer e.vuDone(vu)
	for !vu.stop.Load() && !e.stopping.Load() && stop.Err() == nil {
		if e.limit() {
			hitLimit()
			return
		}
		if !vu.iterate(hard, &e.stopping, e.now()) {
			return
		}
	}
}

// sleepUntilOr waits until t, or until ctx ends or c is closed (a nil c
// never is); false when it did not sleep to t.
func (e *Engine) sleepUntilOr(ctx context.Context, c <-chan struct{}, t time.Time, timer **time.Timer) bool {
	d := t.Sub(e.now())
	if d <= 0 {
		// Already late: still say whether ctx or c ended meanwhile, or a
		// caller that is always behind would never see them.
		if ctx.Err() != nil {
			return false
		}
		select {
		case <-c:
			return false
		default:
			return true
		}
	}
	if *timer == nil {
		*timer = time.NewTimer(d)
	} else {
		(*timer).Reset(d)
	}
	select {
	case <-ctx.Done():
		(*timer).Stop()
		return false
	case <-c:
		(*timer).Stop()
		return false
	case <-(*timer).C:
		return true
	}
}

// schedule gives the intended start (offset from t0) of the segment's
// local iterations, in claim order.
type schedule struct {
	p      Profile
	seg    Segment
	end    time.Duration
	next   atomic.Int64 // next local index to claim (constant arrivals)
	mu     sync.Mutex   // guards the Poisson state
	pois   bool
	dither uint64  // constant arrivals: the seed of each slot's offset; 0 none
	area   float64 // with dither: the arrivals of the whole schedule, p.Area(end)
	rng    interface{ ExpFloat64() float64 }
	sum    float64 // Poisson: cumulative arrivals of the global sequence
	gidx   int64   // Poisson: next global index
	plocal int64   // Poisson: next local index
}

// claim takes the next iteration; ok is false once the schedule has ended.
func (s *schedule) claim() (at time.Duration, ok bool) {
	if !s.pois {
		m := s.next.Add(1) - 1
		return s.at(m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Walk the global Poisson sequence, keeping this segment's members.
	for {
		s.sum += s.rng.ExpFloat64()
		i := s.gidx
		s.gidx++
		if s.seg.N <= 1 || i%int64(s.seg.N) == int64(s.seg.K) {
			t, ok := s.p.Invert(s.sum)
			if !ok || t >= s.end {
				s.sum -= 1e-9 // stay past the end for later calls
				return 0, false
			}
			s.plocal++
			return t, true
		}
	}
}

// peek is the intended start of the next unclaimed iteration.
func (s *schedule) peek() (time.Duration, bool) {
	if s.pois {
		return 0, false // the supervisor polls instead
	}
	return s.at(s.next.Load())
}

func (s *schedule) at(m int64) (time.Duration, bool) {
	g := s.seg.Global(m)
	x := float64(g)
	if s.dither != 0 {
		// A point of the slot [g, g+1) of the cumulative arrivals, the
		// same for a given seed and global index on every segment; the
		// last slot is cut at the schedule's end, so that dithering
		// loses no iteration.
		slot := min(1, s.area-x)
		if slot > 0 {
			x += slot * unitOf(s.dither, uint64(g))
		}
	}
	t, ok := s.p.Invert(x)
	if !ok || t >= s.end {
		return 0, false
	}
	return t, true
}

// unitOf is a number in [0, 1) drawn from seed and i (SplitMix64).
func unitOf(seed, i uint64) float64 {
	z := seed + (i+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / (1 << 53)
}

// planned is how many of the segment's iterations fall before the end.
// For Poisson arrivals it draws the rest of the sequence, so call it only
// once the run is over.
func (s *schedule) planned() int64 {
	if s.pois {
		for {
			if _, ok := s.claim(); !ok {
				break
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.plocal
	}
	total := s.p.Area(s.end)
	n := int64(math.Ceil(total - 1e-9))
	return int64(s.seg.Share(int(n)))
}

// due is how many of the segment's constant-rate iterations are due by
// el (intended start ≤ el).
func (s *schedule) due(el time.Duration) int64 {
	if el < 0 {
		return 0
	}
	if el > s.end {
		el = s.end
	}
	n := int64(math.Floor(s.p.Area(el)+1e-9)) + 1
	return int64(s.seg.Share(int(n)))
}

// runOpen starts iterations at their intended times, growing the VU pool
// up to MaxVUs when every VU is busy, while more VUs help (poolGovernor).
func (e *Engine) runOpen(stop, hard context.Context, p Profile) {
	seg := e.opt.Segment
	sch := &schedule{p: p, seg: seg, end: p.Duration(), pois: e.opt.Arrivals == result.ArrivalsPoisson}
	if e.opt.Dither && !sch.pois {
		sch.dither = e.opt.Seed | 1 // never 0, which means none
		sch.area = p.Area(sch.end)
	}
	if sch.pois {
		sch.rng = newExpSource(e.opt.Seed)
	}
	maxVUs := e.maxVUs()
	pre := e.preVUs()
	ringSize := metrics.OpenRingSize(maxVUs)
	var started atomic.Int64
	// pending counts VUs started but not yet holding an iteration, so the
	// supervisor adds one VU per overdue iteration, not one per glance.
	var pending atomic.Int64
	limitHit := make(chan struct{})
	var limitOnce sync.Once
	hit := func() { limitOnce.Do(func() { close(limitHit) }) }
	var nextJ int64
	spawn := func() {
		vu := e.newVU(seg.Global(nextJ), ringSize)
		nextJ++
		e.wg.Add(1)
		pending.Add(1)
		go e.openVU(vu, sch, stop, hard, &started, &pending, hit)
	}
	for i := 0; i < pre && stop.Err() == nil; i++ {
		spawn()
	}
	// Supervisor: whenever iterations are due and no VU took them, add
	// VUs (until MaxVUs, and only while they help: see poolGovernor).
	gov := poolGovernor{floor: pre}
	const slack = time.Millisecond
	var timer *time.Timer
	endAt := e.t0.Add(sch.end)
	for stop.Err() == nil && e.now().Before(endAt) {
		var wake time.Time
		if t, ok := sch.peek(); ok {
			wake = e.t0.Add(t + slack)
		} else if sch.pois {
			wake = e.now().Add(5 * time.Millisecond)
		} else {
			wake = endAt
		}
		if wake.After(endAt) {
			wake = endAt
		}
		if !e.sleepUntilOr(stop, limitHit, wake, &timer) {
			break
		}
		e.looks.Add(1)
		now := e.now()
		if !now.Before(endAt) {
			break
		}
		if e.claimedAll() {
			// Every counted iteration has been taken: new VUs would find
			// nothing to run. The run ends when the last has started
			// (limitHit), or when no VU is left holding one.
			e.awaitLastStart(stop, limitHit)
			break
		}
		var short int64 // iterations due that no VU has or is about to take
		if sch.pois {
			if e.active.Load() > 0 && idle(e) == 0 && pending.Load() == 0 {
				short = 1
			}
		} else {
			short = sch.due(now.Sub(e.t0)-slack) - sch.next.Load() - pending.Load()
		}
		lim := maxVUs
		if !e.opt.FullPool {
			lim = gov.limit(now, e.completed.Load(), e.iterNanos.Load(), int(e.active.Load()), p.At(now.Sub(e.t0)), maxVUs)
			// VUs beyond what the governor allows now leave when they
			// would wait: a pool grown for a stall (the target's, or the
			// generator's own while it had no CPU) does not keep its
			// memory for the rest of a long run.
			if gov.known && lim < maxVUs {
				e.poolCap.Store(int64(max(lim, pre)))
			} else {
				e.poolCap.Store(0)
			}
		}
		for ; short > 0 && int(e.active.Load()) < lim && stop.Err() == nil; short-- {
			spawn()
		}
		if short > 0 && lim < maxVUs && int64(lim) > e.heldAt.Load() {
			e.heldAt.Store(int64(lim))
		}
		if short > 0 {
			// At the ceiling: iterations wait for a free VU and are
			// recorded late. Poll rather than spin (see ceilingPoll).
			if !e.sleepUntilOr(stop, limitHit, now.Add(ceilingPoll), &timer) {
				break
			}
		}
	}
	e.wind()
	if e.abortedOrStopped(stop) {
		return
	}
	select {
	case <-limitHit:
		return // ended by the iteration count: nothing was dropped
	default:
	}
	planned := sch.planned()
	if e.opt.Iterations > 0 {
		planned = min(planned, e.iterationShare())
	}
	if d := planned - started.Load(); d > 0 {
		e.dropped.Store(d)
	}
}

// iterationShare is this segment's share of the iteration count.
func (e *Engine) iterationShare() int64 {
	return int64(e.opt.Segment.Share(int(e.opt.Iterations)))
}

// claimedAll reports whether an iteration count is set and every
// iteration of it has been taken by a VU (see limit).
func (e *Engine) claimedAll() bool {
	return e.opt.Iterations > 0 && e.iters.Load() >= e.iterationShare()
}

// awaitLastStart waits, spawning nothing, until the last counted
// iteration has started (limitHit), the run is stopped, or every VU has
// ended (one that took an iteration may have been stopped before its
// start: then the last never starts, and the missing ones are dropped).
func (e *Engine) awaitLastStart(stop context.Context, limitHit <-chan struct{}) {
	ended := make(chan struct{})
	go func() { e.wg.Wait(); close(ended) }()
	select {
	case <-limitHit:
	case <-stop.Done():
	case <-ended:
	}
}

func (e *Engine) abortedOrStopped(stop context.Context) bool {
	return stop.Err() != nil
}

// idle is the number of VUs waiting for their next iteration (Poisson
// supervisor heuristic).
func idle(e *Engine) int64 { return e.waiting.Load() }

func (e *Engine) openVU(vu *VU, sch *schedule, stop, hard context.Context, started, pending *atomic.Int64, hitLimit func()) {
	defer e.vuDone(vu)
	first := true
	defer func() {
		if first {
			pending.Add(-1)
		}
	}()
	var timer *time.Timer
	for !e.stopping.Load() && stop.Err() == nil {
		// Past the count, nothing is left to claim; the run ends when the
		// last counted iteration has started (below), not now: other VUs
		// may still be waiting for the intended starts of theirs.
		if e.limit() {
			return
		}
		if !first && e.leave(sch) {
			vu.left = true
			return
		}
		t, ok := sch.claim()
		if first {
			first = false
			pending.Add(-1)
		}
		if !ok {
			return
		}
		e.waiting.Add(1)
		intended := e.t0.Add(t)
		early := e.now().Before(intended)
		ok = e.sleepUntil(stop, intended, &timer)
		e.waiting.Add(-1)
		if !ok || e.stopping.Load() {
			return
		}
		if early {
			// The VU was waiting for this iteration: any lateness is the
			// generator's own (timers, CPU), not a shortage of VUs.
			e.onTime.Add(1)
			if e.now().Sub(intended) > lateWake {
				e.lateWakes.Add(1)
			}
		}
		if n := started.Add(1); e.opt.Iterations > 0 && n == e.iterationShare() {
			hitLimit() // the last counted iteration runs in the graceful stop
		}
		began := e.now()
		if !vu.iterate(hard, &e.stopping, intended) {
			return
		}
		e.iterNanos.Add(int64(e.now().Sub(began)))
		e.completed.Add(1)
	}
}
