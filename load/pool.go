package load

import (
	"math"
	"time"
)

// poolGovernor holds the open model's VU pool to the VUs that help. The
// supervisor adds a VU for every iteration that is due and that no VU has
// taken; without a governor a target slower than the rate, or a generator
// starved of CPU for a moment, turns every overdue iteration into one more
// VU, up to max_vus, and the generator's memory with them. Two rules bound
// the pool, on top of max_vus:
//
//   - Throughput: the pool may hold at most twice the VUs it held when the
//     completed iterations per second last rose by a fifth or more. A
//     target that serves no more with more VUs keeps the pool within
//     twice the size at which its throughput stopped rising; a target
//     that does serve more lets it double again, epoch after epoch.
//     Completions beyond the rate (a backlog drained) count as the rate.
//   - Little's law: the pool never needs more than headroom × rate ×
//     the iteration time, plus the floor. The iteration time is the least
//     of the last epochs' means: a moment in which the generator itself
//     had no CPU stretches every iteration in flight, and the VUs already
//     there drain the backlog it leaves once it has the CPU again.
//
// Before the first iteration completes, and while none has completed for
// a whole epoch (a stalled target), nothing is known: the pool may
// double every minEpoch (a 1 s endpoint at 10,000/s needs 10,000 VUs
// before any answer, and has them 1.4 s in), but a generator that waits a
// moment for the CPU at its start does not take that moment's backlog
// for VUs. An epoch lasts at least minEpoch and at least twice the
// mean iteration time, so VUs added in one have completed iterations in
// it before it is judged. Iterations the held pool cannot start in time
// start late (their lateness is latency) or, at the end, are dropped.
//
// The pool shrinks too: the supervisor publishes the limit (Engine.poolCap)
// and a VU that has finished an iteration and would wait for its next one
// leaves while the pool holds more than that (Engine.leave). A pool grown
// for a stall — the target's, or the generator's own on a busy machine —
// gives its VUs and their rings back once the iterations are on time again,
// instead of keeping the largest pool of the run to its end.
type poolGovernor struct {
	floor int // VUs allowed whatever the measures (the pre-allocated ones)

	known      bool       // an iteration has completed
	epochStart time.Time  // when the current epoch began
	epochDone  int64      // completions counted when it began
	epochNanos int64      // their summed durations when it began
	means      [8]float64 // mean iteration time of the last epochs, seconds
	nMeans     int        // epochs judged
	meanIter   float64    // the least of means: the iteration time undelayed

	refN int     // pool size when throughput last rose by riseShare
	refX float64 // that throughput, completions/s
	held bool    // the last limit held the pool below what was due
}

const (
	minEpoch  = 100 * time.Millisecond
	riseShare = 1.2 // throughput must rise by a fifth to count as help
	headroom  = 2   // Little's law margin
	firstPool = 8   // VUs allowed before anything answered, doubling every minEpoch
)

// limit is the most VUs the pool may hold now: done and nanos are the
// completed iterations and their summed durations so far, active the VUs
// now, rate the asked iterations/s now. It returns max (the ceiling) until
// anything is known.
func (g *poolGovernor) limit(now time.Time, done, nanos int64, active int, rate float64, ceiling int) int {
	if !g.known {
		if done == 0 {
			// Nothing answered yet: the pool may double every minEpoch
			// from firstPool.
			if g.epochStart.IsZero() {
				g.epochStart = now
			}
			k := min(int(now.Sub(g.epochStart)/minEpoch)+1, 30)
			return min(ceiling, max(g.floor, firstPool)<<k)
		}
		g.known = true
		g.epochStart, g.epochDone, g.epochNanos = now, done, nanos
		g.refN = max(active, 1)
		return g.bound(rate, ceiling)
	}
	span := now.Sub(g.epochStart)
	n := done - g.epochDone
	if n == 0 && span >= minEpoch {
		// Nothing answered for a whole epoch: the target stalls, and
		// nothing is known of what VUs buy. Grow as at the start, so that
		// when it answers again the backlog finds VUs (the stall is then
		// latency, not a queue in the generator).
		k := min(int(span/minEpoch), 30)
		return min(ceiling, max(g.floor, 2*g.refN)<<k)
	}
	if span >= max(minEpoch, time.Duration(2*g.meanIter*float64(time.Second))) && n > 0 {
		x := float64(n) / span.Seconds()
		g.means[g.nMeans%len(g.means)] = float64(nanos-g.epochNanos) / float64(n) / 1e9
		g.nMeans++
		g.meanIter = g.means[0]
		for _, m := range g.means[1:min(g.nMeans, len(g.means))] {
			g.meanIter = min(g.meanIter, m)
		}
		// Completions beyond the rate are a backlog drained, not what
		// more VUs bought.
		if rate > 0 {
			x = min(x, rate)
		}
		if x >= riseShare*g.refX {
			g.refN, g.refX = max(active, g.refN), x
		}
		g.epochStart, g.epochDone, g.epochNanos = now, done, nanos
	}
	return g.bound(rate, ceiling)
}

func (g *poolGovernor) bound(rate float64, ceiling int) int {
	m := max(g.floor, 2*g.refN)
	if g.meanIter > 0 && rate > 0 {
		little := float64(g.floor) + math.Ceil(headroom*rate*g.meanIter)
		if little < float64(m) {
			m = int(little)
		}
	}
	return max(1, min(m, ceiling))
}
