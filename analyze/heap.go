package analyze

import (
	"slices"

	"github.com/stampede-perf/stampede/result"
)

// LeakRule says when heap growth over the steady part of a run is reported
// as a suspected leak: only when it is both statistically significant and
// large enough to matter. Significance alone is not enough: over a long
// window a tiny slope is significant, and a slow warm-up (a cache filling,
// RSS creeping after start) is a real trend but not a leak. A zero field
// takes its default.
type LeakRule struct {
	// Alpha is the significance level: the Mann–Kendall p-value must be
	// below it, or the (1 − Alpha) interval of the slope must lie above
	// zero. Default 0.01.
	Alpha float64
	// MinMBPerMin is the least growth rate that matters. Default 1 MB/min.
	MinMBPerMin float64
	// MinFraction is the least growth over the window, as a share of the
	// heap at its start. Default 0.10.
	MinFraction float64
	// MinPoints is the fewest points that can raise a suspicion. Default 10.
	MinPoints int
}

// DefaultLeakRule returns the rule HeapTrend uses.
func DefaultLeakRule() LeakRule {
	return LeakRule{Alpha: 0.01, MinMBPerMin: 1, MinFraction: 0.10, MinPoints: 10}
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
	return r
}

// HeapTrend is DefaultLeakRule().HeapTrend.
func HeapTrend(points []result.SystemPoint, steadyFrom float64) *result.Heap {
	return DefaultLeakRule().HeapTrend(points, steadyFrom)
}

// HeapTrend measures how the heap grew over the points at or after
// steadyFrom (seconds since run start, the end of the ramp-up): the
// Theil–Sen slope of heap in use, or of RSS when the timeline has no heap
// metric, in MB per minute, with its interval at 1 − Alpha and the
// Mann–Kendall p-value, both corrected for autocorrelation as TrendTest
// does. Points whose value is zero (not read) are left out. It returns nil
// when the window has no memory data.
func (r LeakRule) HeapTrend(points []result.SystemPoint, steadyFrom float64) *result.Heap {
	r = r.withDefaults()
	source, value := "heap_inuse", func(p *result.SystemPoint) float64 { return p.HeapMB }
	if !slices.ContainsFunc(points, func(p result.SystemPoint) bool { return p.TS >= steadyFrom && p.HeapMB > 0 }) {
		source, value = "rss", func(p *result.SystemPoint) float64 { return p.RSSMB }
	}
	var xs, ys []float64
	for i := range points {
		// Zero is "not read" (a failed scrape, a process gone), not a size.
		if p := &points[i]; p.TS >= steadyFrom && value(p) > 0 {
			xs = append(xs, p.TS)
			ys = append(ys, value(p))
		}
	}
	if len(xs) == 0 {
		return nil
	}
	h := &result.Heap{Source: source, Points: len(xs), Confidence: 1 - r.Alpha, PValue: 1}
	k := max(1, min(5, len(ys)/5))
	h.StartMB, h.EndMB = heapMedian(ys[:k]), heapMedian(ys[len(ys)-k:])
	h.WindowS = xs[len(xs)-1] - xs[0]
	if len(xs) < 3 || h.WindowS <= 0 {
		return h
	}
	t := trendAt(xs, ys, 1-r.Alpha)
	h.GrowthMBPerMin = 60 * t.slope
	h.GrowthCILow, h.GrowthCIHigh = 60*t.lo, 60*t.hi
	h.PValue = t.p
	significant := t.slope > 0 && (t.p < r.Alpha || t.lo > 0)
	material := h.GrowthMBPerMin > r.MinMBPerMin && t.slope*h.WindowS > r.MinFraction*h.StartMB
	h.LeakSuspected = len(xs) >= r.MinPoints && significant && material
	return h
}

// GC is the garbage collector's pressure over points: the mean collections
// per second and the mean share of time paused, from the Go runtime
// metrics the watch scraped. It returns nil when no point has them.
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
		return nil
	}
	return &result.GC{CyclesPerS: cycles / float64(n), PausePct: pause / float64(n)}
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
