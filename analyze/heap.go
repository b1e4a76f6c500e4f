package analyze

import (
	"fmt"
	"math"
	"slices"

	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/stats"
)

// LeakRule says when heap growth over the steady part of a run is reported
// as a suspected leak, when it is reported as no leak, and when the data
// cannot tell.
//
// A Go heap is measured where a leak shows and garbage does not: the heap
// that survived each completed GC cycle (the live heap), not heap in use,
// which between two collections is mostly garbage piling up towards the
// next one. A run too short for the collector to finish a few cycles says
// nothing about the live heap, however steeply heap in use climbs, so a
// verdict needs MinGCCycles completed cycles.
//
// Growth must also be significant (a trend, not noise), material (large
// enough to matter: over a long window a tiny slope is significant) and
// sustained: a cache that fills and then stops, or a warm-up, grows in the
// first half of the window and not in the second, so the second half must
// grow on its own at no less than HalfRatio of the first half's rate.
// Growth seen only in one half is inconclusive, not a leak.
//
// RSS alone (no Go runtime metrics) is the weakest signal: a Go program's
// RSS creeps up for minutes after it starts, follows the heap's peaks
// rather than its live part, and seldom goes down. It gives a verdict only
// over at least RSSMinWindowS, and a suspected leak only when its growth
// is large (RSSFactor times MinMBPerMin and MinFraction) and significant
// in each half on its own; otherwise it is inconclusive.
//
// A zero field takes its default.
type LeakRule struct {
	// Alpha is the significance level: the Mann–Kendall p-value must be
	// below it, or the (1 − Alpha) interval of the slope must lie above
	// zero. Default 0.01.
	Alpha float64
	// MinMBPerMin is the least growth rate that matters, over the window
	// and over its second half. Default 1 MB/min.
	MinMBPerMin float64
	// MinFraction is the least growth over the window, as a share of the
	// heap at its start. Default 0.10.
	MinFraction float64
	// MinPoints is the fewest timeline points that can give a verdict.
	// Default 10.
	MinPoints int
	// MinGCCycles is the fewest GC cycles completed within the window for
	// a verdict on a Go heap. Default 5.
	MinGCCycles int
	// HalfRatio is the least rate of growth of the second half of the
	// window as a share of the first half's. Default 0.75: a leak under
	// steady load grows at one rate (a ratio near 1), a cache filling up
	// slows down as it fills.
	HalfRatio float64
	// RSSMinWindowS is the shortest window RSS alone gives a verdict
	// over. Default 300 s.
	RSSMinWindowS float64
	// RSSFactor is how many times MinMBPerMin and MinFraction RSS alone
	// must grow by to be a suspected leak. Default 5 (5 MB/min, and half
	// of its size at the start over the window).
	RSSFactor float64
}

// DefaultLeakRule returns the rule HeapTrend uses.
func DefaultLeakRule() LeakRule {
	return LeakRule{Alpha: 0.01, MinMBPerMin: 1, MinFraction: 0.10, MinPoints: 10, MinGCCycles: 5, HalfRatio: 0.75, RSSMinWindowS: 300, RSSFactor: 5}
}

func (r LeakRule) withDefaults() LeakRule {
	d := DefaultLeakRule()
	if r.Alpha <= 0 || r.Alpha >= 1 {
		r.Alpha = d.Alpha
	}
	if r.MinMBPerMin <= 0 {
		r.MinMBPerMin = d.MinMBPerMin
	}
	if r.MinFraction <= 0 {
		r.MinFraction = d.MinFraction
	}
	if r.MinPoints <= 0 {
		r.MinPoints = d.MinPoints
	}
	if r.MinGCCycles <= 0 {
		r.MinGCCycles = d.MinGCCycles
	}
	if r.HalfRatio <= 0 {
		r.HalfRatio = d.HalfRatio
	}
	if r.RSSMinWindowS <= 0 {
		r.RSSMinWindowS = d.RSSMinWindowS
	}
	if r.RSSFactor <= 0 {
		r.RSSFactor = d.RSSFactor
	}
	return r
}

// minHalfCycles is the fewest GC cycles the second half of the window
// must complete for its growth to be measured.
func (r LeakRule) minHalfCycles() int { return max(2, r.MinGCCycles/2) }

// HeapTrend is DefaultLeakRule().HeapTrend.
func HeapTrend(points []result.SystemPoint, steadyFrom float64, series []result.Window) *result.Heap {
	return DefaultLeakRule().HeapTrend(points, steadyFrom, series)
}

// requestClock maps the run's seconds onto its requests: τ(t) is the
// time at which the window's mean rate would have completed as many
// requests as the run had by t (linear within each window of series), so
// that τ(from) = from and τ(to) = to. A leak grows with the work done, not
// with the clock: measured against τ, a moment the generator fell behind
// and then caught up (fewer requests, then more) is not a slowing, then a
// quickening, of the leak. It returns nil when series does not cover
// [from, to], when no request completed in it, or when a window in it
// ran at under a tenth of the mean rate (the load stopped rather than
// fell behind: the clock would fold that window's observations onto one
// moment). mean is
// the requests per second over [from, to].
func requestClock(series []result.Window, from, to float64) (clock func(float64) float64, mean float64) {
	if len(series) < 2 || to <= from {
		return nil, 0
	}
	starts := make([]float64, len(series)+1)
	done := make([]float64, len(series)+1) // requests completed by starts[i]
	for i, w := range series {
		starts[i] = w.TS
		done[i+1] = done[i] + float64(w.Requests)
	}
	last := series[len(series)-1].TS
	starts[len(series)] = last + (last - series[len(series)-2].TS)
	if !slices.IsSorted(starts) || from < starts[0] || to > starts[len(starts)-1] {
		return nil, 0
	}
	count := func(t float64) float64 {
		i, _ := slices.BinarySearch(starts, t)
		if i == 0 {
			return 0
		}
		if i >= len(starts) {
			return done[len(done)-1]
		}
		span := starts[i] - starts[i-1]
		if span <= 0 {
			return done[i]
		}
		return done[i-1] + (done[i]-done[i-1])*(t-starts[i-1])/span
	}
	c0 := count(from)
	mean = (count(to) - c0) / (to - from)
	if !(mean > 0) {
		return nil, 0
	}
	for i, w := range series {
		end := starts[i+1]
		if end > from && w.TS < to && end > w.TS && float64(w.Requests)/(end-w.TS) < mean/10 {
			return nil, 0
		}
	}
	return func(t float64) float64 { return from + (count(t)-c0)/mean }, mean
}

// heapSeries is the memory series of a window: the points where it was
// read, and the GC cycles completed between them.
type heapSeries struct {
	source string
	xs, ys []float64
	// obs marks the points that are an observation of the trend: for the
	// live heap, the points where a cycle completed since the previous one
	// (the first point included); for the other sources, every point.
	obs []bool
	// cycles[i] is the number of GC cycles completed between point i−1
	// and point i (cycles[0] = 0); nil when the target reports none.
	cycles []float64
}

// heapSeriesOf picks the strongest memory series of the points at or
// after steadyFrom: the live heap, heap in use, or RSS. Zero values are
// "not read" and left out. ok is false when the window has no memory data.
func heapSeriesOf(points []result.SystemPoint, steadyFrom float64) (s heapSeries, ok bool) {
	var win []*result.SystemPoint
	for i := range points {
		if points[i].TS >= steadyFrom {
			win = append(win, &points[i])
		}
	}
	count := func(v func(p *result.SystemPoint) float64) int {
		n := 0
		for _, p := range win {
			if v(p) > 0 {
				n++
			}
		}
		return n
	}
	has := func(v func(p *result.SystemPoint) float64) bool { return count(v) > 0 }
	live := func(p *result.SystemPoint) float64 { return p.HeapLiveMB }
	inuse := func(p *result.SystemPoint) float64 { return p.HeapMB }
	rss := func(p *result.SystemPoint) float64 { return p.RSSMB }
	var value func(p *result.SystemPoint) float64
	switch {
	// The heap goal says nothing while it sits at the runtime's minimum
	// (a live heap under 2 MB): heap in use is read instead when the live
	// heap was known at fewer than half of its points.
	case has(live) && 2*count(live) >= count(inuse):
		s.source, value = result.HeapSourceGoal, live
		if slices.ContainsFunc(win, func(p *result.SystemPoint) bool { _, ok := p.Metrics["go_gc_heap_live_bytes"]; return ok }) {
			s.source = result.HeapSourceLive
		}
	case has(inuse):
		s.source, value = result.HeapSourceInuse, inuse
	case has(rss):
		s.source, value = result.HeapSourceRSS, rss
	default:
		return s, false
	}
	var read []*result.SystemPoint
	for _, p := range win {
		if value(p) > 0 {
			read = append(read, p)
		}
	}
	counted := slices.ContainsFunc(read, func(p *result.SystemPoint) bool { return p.GCCycles > 0 })
	rated := !counted && slices.ContainsFunc(read, func(p *result.SystemPoint) bool {
		_, ok := p.Metrics["go_gc_duration_seconds_count"]
		return ok || p.GCPerS > 0
	})
	if s.source != result.HeapSourceRSS && (counted || rated || s.source != result.HeapSourceInuse) {
		s.cycles = make([]float64, len(read))
	}
	for i, p := range read {
		s.ys = append(s.ys, value(p))
		if i == 0 {
			s.xs = append(s.xs, p.TS)
			s.obs = append(s.obs, true)
			continue
		}
		prev := read[i-1]
		switch {
		case s.cycles == nil:
		case counted && p.GCCycles > 0 && prev.GCCycles > 0:
			if p.GCCycles >= prev.GCCycles {
				s.cycles[i] = float64(p.GCCycles - prev.GCCycles)
			} else { // the target restarted: its count began again at zero
				s.cycles[i] = float64(p.GCCycles)
			}
		case rated: // collections per second over the interval from prev
			s.cycles[i] = prev.GCPerS * (p.TS - prev.TS)
		case !counted && s.source != result.HeapSourceInuse && p.HeapLiveMB != prev.HeapLiveMB:
			s.cycles[i] = 1 // no count: a new live heap is at least one cycle
		}
		live := s.source == result.HeapSourceLive || s.source == result.HeapSourceGoal
		obs := !live || s.cycles[i] > 0 || (!counted && p.HeapLiveMB != prev.HeapLiveMB)
		s.obs = append(s.obs, obs)
		s.xs = append(s.xs, observedAt(p, prev, live && obs))
	}
	return s, true
}

// observedAt is when the value of p was true: for the live heap, the end
// of the last cycle when the target reports it, else the point's own
// time. A point is stamped at the start of the interval it describes and
// read at its end; a cycle completed since prev was read ended within
// that interval, and left the live heap the point holds: placing the
// observation at the stamp would add up to an interval's jitter to every
// growth rate. A cycle end outside the interval comes from a clock that
// does not agree with ours and is not used.
func observedAt(p, prev *result.SystemPoint, live bool) float64 {
	if live && p.LastGCAtS > 0 && p.LastGCAtS <= 1.5*(p.TS-prev.TS) {
		return p.TS + p.LastGCAtS
	}
	return p.TS
}

// cyclesIn counts the GC cycles completed at the points i with from ≤
// xs[i] < to.
func (s *heapSeries) cyclesIn(from, to float64) int {
	var n float64
	for i, c := range s.cycles {
		if s.xs[i] >= from && s.xs[i] < to {
			n += c
		}
	}
	return int(math.Round(n))
}

// observations are the points of the trend within [from, to).
func (s *heapSeries) observations(from, to float64) (xs, ys []float64) {
	for i := range s.xs {
		if s.obs[i] && s.xs[i] >= from && s.xs[i] < to {
			xs, ys = append(xs, s.xs[i]), append(ys, s.ys[i])
		}
	}
	return xs, ys
}

// HeapTrend measures how the heap grew over the points at or after
// steadyFrom (seconds since run start, the end of the ramp-up) and gives
// the verdict of the rule (see LeakRule). With the run's windows (series;
// nil when there are none) the growth is measured against the requests
// done (see requestClock): the rates stay in MB per minute, at the
// window's mean request rate, and GrowthKBPerRequest is set. The series is the live heap
// after each completed GC cycle when the target reports it (one
// observation per point at which a cycle had completed), else heap in
// use, else RSS; GCCycles counts the cycles completed in the window. The
// growth is the Theil–Sen slope in MB per minute, with its interval at
// 1 − Alpha and the Mann–Kendall p-value, both corrected for
// autocorrelation as TrendTest does; each half of the window has its own
// slope. Points whose value is zero (not read) are left out. It returns
// nil when the window has no memory data.
func (r LeakRule) HeapTrend(points []result.SystemPoint, steadyFrom float64, series []result.Window) *result.Heap {
	r = r.withDefaults()
	s, ok := heapSeriesOf(points, steadyFrom)
	if !ok {
		return nil
	}
	h := &result.Heap{Source: s.source, Points: len(s.xs), Confidence: 1 - r.Alpha, PValue: 1}
	clock, perSecond := requestClock(series, s.xs[0], s.xs[len(s.xs)-1])
	if clock != nil {
		for i := range s.xs {
			s.xs[i] = clock(s.xs[i])
		}
	}
	h.WindowS = s.xs[len(s.xs)-1] - s.xs[0]
	end := math.Nextafter(s.xs[len(s.xs)-1], math.Inf(1))
	if s.cycles != nil {
		h.GCCycles = s.cyclesIn(s.xs[0], end)
	}
	xs, ys := s.observations(s.xs[0], end)
	k := max(1, min(5, len(ys)/5))
	h.StartMB, h.EndMB = heapMedian(ys[:k]), heapMedian(ys[len(ys)-k:])
	verdict := func(v, format string, args ...any) *result.Heap {
		h.Verdict, h.VerdictReason = v, fmt.Sprintf(format, args...)
		h.LeakSuspected = v == result.HeapLeakSuspected
		if perSecond > 0 && h.GrowthMBPerMin != 0 {
			h.GrowthKBPerRequest = round2(1024 * h.GrowthMBPerMin / 60 / perSecond)
		}
		return h
	}
	// The growth of the window and of each half, wherever they can be
	// measured, verdict or not.
	t, h1, h2 := stats.NaNTrend(len(xs)), stats.NaNTrend(0), stats.NaNTrend(0)
	mid := s.xs[0] + h.WindowS/2
	x1, y1 := s.observations(s.xs[0], mid)
	x2, y2 := s.observations(mid, end)
	if len(x1) > 0 {
		// The second half starts from the heap the last cycle before it
		// left: with cycles far apart (a fast leak spaces them out as the
		// heap doubles), its growth is measured from there.
		x2, y2 = append([]float64{x1[len(x1)-1]}, x2...), append([]float64{y1[len(y1)-1]}, y2...)
	}
	if len(xs) >= 3 && h.WindowS > 0 {
		t = r.fillGrowth(h, xs, ys)
		h1, h2 = halfTrend(x1, y1, r.Alpha), halfTrend(x2, y2, r.Alpha)
		h.Half1MBPerMin, h.Half2MBPerMin = zeroNaN(60*h1.Slope), zeroNaN(60*h2.Slope)
	}
	if len(s.xs) < r.MinPoints || h.WindowS <= 0 {
		return verdict(result.HeapInconclusive, "window too short: %s over %s s (%d needed)",
			plural(len(s.xs), "point", "points"), num(h.WindowS), r.MinPoints)
	}
	goHeap := s.source != result.HeapSourceRSS
	if goHeap && s.cycles == nil {
		return verdict(result.HeapInconclusive, "heap in use without a count of GC cycles: it holds garbage not yet collected as well as live objects; expose go_gc_duration_seconds and go_memstats_next_gc_bytes (or go_gc_heap_live_bytes)")
	}
	if goHeap && h.GCCycles < r.MinGCCycles {
		return verdict(result.HeapInconclusive, "too few completed GC cycles (%d of %d needed): run longer or at a higher rate", h.GCCycles, r.MinGCCycles)
	}
	if len(xs) < 3 {
		return verdict(result.HeapInconclusive, "window too short: %s of the %s (3 needed)", plural(len(xs), "observation", "observations"), sourceName(s.source))
	}

	significant := t.Slope > 0 && (t.P < r.Alpha || t.Lo > 0)
	// material: at least factor times the rate floor and fraction times
	// the fraction floor.
	material := func(slope, factor, fraction float64) bool {
		return 60*slope > factor*r.MinMBPerMin && slope*h.WindowS > fraction*r.MinFraction*h.StartMB
	}
	name := sourceName(s.source)
	rate := num(h.GrowthMBPerMin)
	rss := s.source == result.HeapSourceRSS
	if rss && h.WindowS < r.RSSMinWindowS {
		return verdict(result.HeapInconclusive, "only RSS available, over %s s (%s s needed): expose the Go runtime metrics (Prometheus) or run longer",
			num(h.WindowS), num(r.RSSMinWindowS))
	}
	if !significant || !material(t.Slope, 1, 1) {
		// No leak only when a material leak is ruled out: the interval's
		// upper end would not have been one.
		if stats.Finite(t.Hi) && !material(t.Hi, 1, 1) {
			return verdict(result.HeapNoLeak, "no material growth of the %s%s: %s MB/min (%.0f%% interval %s to %s)",
				name, overCycles(h.GCCycles, goHeap), rate, 100*(1-r.Alpha), num(h.GrowthCILow), num(h.GrowthCIHigh))
		}
		return verdict(result.HeapInconclusive, "no significant growth of the %s, but up to %s MB/min is not ruled out: run longer", name, num(h.GrowthCIHigh))
	}
	c2 := 0
	if goHeap {
		c2 = s.cyclesIn(mid, end)
		if c2 < r.minHalfCycles() || len(x2) < 3 {
			return verdict(result.HeapInconclusive, "the %s grew %s MB/min, but too few completed GC cycles in the second half (%d of %d needed): run longer or at a higher rate",
				name, rate, c2, r.minHalfCycles())
		}
	}
	if len(x1) < 3 || len(x2) < 3 {
		return verdict(result.HeapInconclusive, "window too short: too few points in each half to tell growth that goes on from a warm-up")
	}
	floor := func(half stats.Trend) bool { return 60*half.Slope > r.MinMBPerMin }
	switch {
	case !floor(h1) && !floor(h2):
		return verdict(result.HeapInconclusive, "the %s grew %s MB/min over the window but less than %s MB/min in each half (%s, then %s): run longer",
			name, rate, num(r.MinMBPerMin), num(h.Half1MBPerMin), num(h.Half2MBPerMin))
	case !floor(h1):
		return verdict(result.HeapInconclusive, "growth only in the second half (%s, then %s MB/min): it began during the run; run longer to tell",
			num(h.Half1MBPerMin), num(h.Half2MBPerMin))
	case !floor(h2) || h2.Slope < r.HalfRatio*h1.Slope:
		stopped := stats.Finite(h2.Hi) && !material(h2.Hi, 1, 1) && (!goHeap || c2 >= r.MinGCCycles)
		if stopped && !floor(h2) {
			return verdict(result.HeapNoLeak, "the %s grew in the first half only (%s MB/min), then stopped (%s MB/min over %s): a warm-up or a cache filling up",
				name, num(h.Half1MBPerMin), num(h.Half2MBPerMin), plural(max(c2, len(x2)), unit(goHeap, "GC cycle", "point"), unit(goHeap, "GC cycles", "points")))
		}
		return verdict(result.HeapInconclusive, "growth only in the first half, or slowing (%s, then %s MB/min) — a warm-up or cache filling; run longer to tell",
			num(h.Half1MBPerMin), num(h.Half2MBPerMin))
	}
	// The last quarter must grow too (from the last observation before
	// it): a cache that fills until late in the window still shows most
	// of its filling in the second half.
	q := s.xs[0] + 0.75*h.WindowS
	before, _ := s.observations(s.xs[0], q)
	x4, y4 := xs[max(0, len(before)-1):], ys[max(0, len(before)-1):]
	if q4 := halfTrend(x4, y4, r.Alpha); len(x4) >= 2 && !(q4.Slope+scatterSlope(xs, ys, t.Slope, x4) >= lastQuarterRatio*t.Slope) {
		return verdict(result.HeapInconclusive, "growth slowing towards the end of the window (%s MB/min over its last quarter, %s over the window) — a warm-up or cache filling; run longer to tell",
			num(60*zeroNaN(q4.Slope)), rate)
	}
	strict := s.source == result.HeapSourceInuse || rss
	if strict && !(halfSignificant(h1, r.Alpha) && halfSignificant(h2, r.Alpha)) {
		return verdict(result.HeapInconclusive, "the %s grew %s MB/min, but not significantly in each half on its own (p %.2g, then %.2g): run longer, or expose the live heap (go_gc_heap_live_bytes)",
			name, rate, h1.P, h2.P)
	}
	if rss && !material(t.Slope, r.RSSFactor, r.RSSFactor) {
		return verdict(result.HeapInconclusive, "only RSS available: it grew %s MB/min in both halves, less than RSS alone needs (%s MB/min and %.0f%% of its start) to tell a leak from memory the runtime keeps; expose the Go runtime metrics",
			rate, num(r.RSSFactor*r.MinMBPerMin), 100*r.RSSFactor*r.MinFraction)
	}
	// The live heap read from the heap goal counts what was in flight at
	// each collection (more requests in flight on a busy machine): its
	// growth must be material at its interval's lower end, not only at
	// its estimate.
	if s.source == result.HeapSourceGoal && !(t.Lo > 0 && material(t.Lo, 1, 1)) {
		return verdict(result.HeapInconclusive, "the %s grew %s MB/min in both halves, but its %.0f%% interval reaches down to %s MB/min, under the %s a leak needs: the heap goal counts the garbage in flight at each collection; run longer, or expose the live heap (go_gc_heap_live_bytes)",
			name, rate, 100*(1-r.Alpha), num(h.GrowthCILow), num(r.MinMBPerMin))
	}
	return verdict(result.HeapLeakSuspected, "the %s grew %s MB/min%s, in both halves (%s, then %s MB/min)",
		name, rate, overCycles(h.GCCycles, goHeap), num(h.Half1MBPerMin), num(h.Half2MBPerMin))
}

// fillGrowth sets h's growth from the trend of xs, ys and returns it.
func (r LeakRule) fillGrowth(h *result.Heap, xs, ys []float64) stats.Trend {
	t := stats.TrendTest(xs, ys, 1-r.Alpha)
	if !stats.Finite(t.Slope) {
		return t
	}
	h.GrowthMBPerMin = 60 * t.Slope
	h.GrowthCILow, h.GrowthCIHigh = 60*zeroNaN(t.Lo), 60*zeroNaN(t.Hi)
	if stats.Finite(t.P) {
		h.PValue = t.P
	}
	return t
}

// scatterSlope is how far the slope of a line through the observations
// at xq could fall below the truth by the scatter alone, one-sided at
// 95%: the spread of all observations about the window's line (slope b,
// robust: 1.4826 × the median absolute residual) over the spread of xq.
// The last quarter holds few observations, since a growing heap spaces
// its cycles out, and the live heap at a cycle's end counts what was
// allocated while it marked: on a busy host a steady leak's last three
// cycles can slope a third below the window. A cache that stops filling
// leaves the line by far more than its scatter, and is still caught.
func scatterSlope(xs, ys []float64, b float64, xq []float64) float64 {
	if len(xs) < 3 || len(xq) < 2 || !stats.Finite(b) {
		return 0
	}
	res := make([]float64, len(xs))
	for i := range xs {
		res[i] = ys[i] - b*xs[i]
	}
	a := heapMedian(res)
	for i := range res {
		res[i] = math.Abs(res[i] - a)
	}
	sigma := 1.4826 * heapMedian(res)
	mx := 0.0
	for _, x := range xq {
		mx += x
	}
	mx /= float64(len(xq))
	ss := 0.0
	for _, x := range xq {
		ss += (x - mx) * (x - mx)
	}
	if ss <= 0 {
		return 0
	}
	return zOneSided95 * sigma / math.Sqrt(ss)
}

// zOneSided95 is the standard normal's 95th percentile.
const zOneSided95 = 1.645

// lastQuarterRatio is the least growth rate of the last quarter of the
// window (measured from the last observation before it) as a share of the
// whole window's.
const lastQuarterRatio = 0.75

func halfTrend(xs, ys []float64, alpha float64) stats.Trend {
	if len(xs) < 2 {
		return stats.NaNTrend(len(xs))
	}
	return stats.TrendTest(xs, ys, 1-alpha)
}

// halfSignificant reports growth in one half of the window that is
// significant on its own. Each half has half the points, so the level is
// five times the window's.
func halfSignificant(t stats.Trend, alpha float64) bool {
	return t.Slope > 0 && (t.P < 5*alpha || t.Lo > 0)
}

func sourceName(src string) string {
	switch src {
	case result.HeapSourceLive:
		return "live heap"
	case result.HeapSourceGoal:
		return "live heap (from the heap goal)"
	case result.HeapSourceInuse:
		return "heap in use"
	}
	return "RSS"
}

func overCycles(n int, goHeap bool) string {
	if !goHeap {
		return ""
	}
	return " over " + plural(n, "GC cycle", "GC cycles")
}

func unit(goHeap bool, gc, pts string) string {
	if goHeap {
		return gc
	}
	return pts
}

// GC is the garbage collector's pressure over points: the mean collections
// per second and the mean share of time paused, from the Go runtime
// metrics the watch scraped (the collections alone from the count of
// completed cycles when that is all the target reports). It returns nil
// when no point has them.
func GC(points []result.SystemPoint) *result.GC {
	var n int
	var cycles, pause float64
	for i := range points {
		p := &points[i]
		if _, ok := p.Metrics["go_gc_duration_seconds_count"]; !ok && p.GCPerS == 0 && p.GCPausePct == 0 {
			continue
		}
		n++
		cycles += p.GCPerS
		pause += p.GCPausePct
	}
	if n == 0 {
		return gcFromCycles(points)
	}
	return &result.GC{CyclesPerS: cycles / float64(n), PausePct: pause / float64(n)}
}

// gcFromCycles is GC for a target that reports only the count of
// completed cycles (go_gc_cycles_total_gc_cycles_total without
// go_gc_duration_seconds): the cycles over the span they were read in.
// The pause is not known.
func gcFromCycles(points []result.SystemPoint) *result.GC {
	var first, last *result.SystemPoint
	var cycles float64
	for i := range points {
		p := &points[i]
		if p.GCCycles <= 0 {
			continue
		}
		if first == nil {
			first = p
		} else if p.GCCycles >= last.GCCycles {
			cycles += float64(p.GCCycles - last.GCCycles)
		} else { // the target restarted
			cycles += float64(p.GCCycles)
		}
		last = p
	}
	if first == nil || last.TS <= first.TS {
		return nil
	}
	return &result.GC{CyclesPerS: cycles / (last.TS - first.TS)}
}

func heapMedian(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}
