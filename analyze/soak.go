package analyze

import (
	"fmt"
	"math"
	"slices"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/stats"
)

// A soak holds a steady load for long enough that slow trends show:
// latency creeping up as a cache or a table grows, errors appearing as a
// pool leaks, memory that is never given back. The steady part (after
// the ramp) is cut into about SoakRule.Points consecutive buckets of
// whole one-second windows; each bucket's p95 comes from its merged
// histograms and its error rate from its counts. Memory is taken from
// the watch's timeline, heap in use when the target reports it, else
// RSS. Each series gets stats.TrendTest (Mann–Kendall with the Hamed–Rao
// correction for autocorrelation, Theil–Sen slope and its 99% interval).
//
// A metric is degrading when the whole 99% interval of its slope lies
// above zero *and* the slope over the soak's length amounts to at least
// MinChange of its starting level (MinErrorChange, absolute, for the
// error rate): a long soak detects trends too small to matter, and a
// statistically certain 0.1 ms an hour is not a finding.

// SoakRule sets how a soak is judged; zero fields take the defaults.
type SoakRule struct {
	Points         int     // buckets the steady part is cut into (60)
	MinPoints      int     // fewer points: trend unknown (6)
	MinChange      float64 // relative change over the soak that matters (0.05)
	MinErrorChange float64 // absolute error-rate change that matters (0.001)
}

func (r SoakRule) withDefaults() SoakRule {
	if r.Points <= 0 {
		r.Points = 60
	}
	if r.MinPoints <= 0 {
		r.MinPoints = 6
	}
	if r.MinChange <= 0 {
		r.MinChange = 0.05
	}
	if r.MinErrorChange <= 0 {
		r.MinErrorChange = 0.001
	}
	return r
}

// Soak metric names.
const (
	SoakP95       = "p95_ms"
	SoakErrorRate = "error_rate"
	SoakMemory    = "memory_mb"
)

// Soak trend verdicts.
const (
	TrendStable    = "stable"
	TrendDegrading = "degrading"
	TrendUnknown   = "unknown" // too few points to tell
)

// Soak tests the steady part [from, to) of a soak (seconds on the run's
// clock) for trends in p95 latency, error rate and, with sys, memory.
// The headline (Trend, Metric, SlopePerHour, PValue) is the first
// degrading metric in that order, else p95.
func Soak(series []result.Window, sys *result.System, from, to float64, rule SoakRule) *result.Soak {
	rule = rule.withDefaults()
	var ws []result.Window
	for _, w := range series {
		if w.TS >= from-1e-9 && w.TS < to-1e-9 {
			ws = append(ws, w)
		}
	}
	out := &result.Soak{}
	size := max(1, int(math.Ceil(float64(len(ws))/float64(rule.Points))))
	var xs, p95s, rates []float64
	for i := 0; i < len(ws); i += size {
		b := ws[i:min(i+size, len(ws))]
		var req, errs int64
		hists := make([]string, 0, len(b))
		for _, w := range b {
			req += w.Requests
			errs += w.Errors
			hists = append(hists, w.Hist)
		}
		if req == 0 {
			continue
		}
		h, err := metrics.MergeEncoded(hists...)
		if err != nil {
			out.Warnings = append(out.Warnings, fmt.Sprintf("cannot merge window histograms: %v", err))
			continue
		}
		mid := (b[0].TS + b[len(b)-1].TS + 1) / 2
		xs = append(xs, (mid-from)/3600)
		p95s = append(p95s, float64(h.ValueAtQuantile(95))/1000)
		rates = append(rates, float64(errs)/float64(req))
	}
	hours := (to - from) / 3600
	out.Details = append(out.Details,
		soakTrend(SoakP95, "ms", xs, p95s, hours, rule, false),
		soakTrend(SoakErrorRate, "ratio", xs, rates, hours, rule, true))
	if sys != nil {
		var mx, my []float64
		heap := slices.ContainsFunc(sys.Timeline, func(p result.SystemPoint) bool {
			return p.TS >= from && p.TS < to && p.HeapMB > 0
		})
		for _, p := range sys.Timeline {
			if p.TS < from || p.TS >= to {
				continue
			}
			v := p.RSSMB
			if heap {
				v = p.HeapMB
			}
			if v > 0 {
				mx, my = append(mx, (p.TS-from)/3600), append(my, v)
			}
		}
		if len(my) > 0 {
			out.Details = append(out.Details, soakTrend(SoakMemory, "MB", mx, my, hours, rule, false))
		}
	}
	head := out.Details[0]
	for _, d := range out.Details {
		if d.Trend == TrendDegrading {
			head = d
			break
		}
	}
	out.Trend, out.Metric, out.SlopePerHour, out.PValue = head.Trend, head.Metric, head.SlopePerHour, head.PValue
	for _, d := range out.Details {
		if d.Trend == TrendUnknown {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s: only %d points in the steady part of the soak (need %d) — trend unknown", d.Metric, d.Points, rule.MinPoints))
		}
	}
	return out
}

func soakTrend(metric, unit string, xs, ys []float64, hours float64, rule SoakRule, absolute bool) result.Trend {
	t := result.Trend{Metric: metric, Unit: unit, Trend: TrendUnknown, PValue: 1, Points: len(ys)}
	if len(ys) > 0 {
		head := slices.Clone(ys[:max(1, len(ys)/5)])
		slices.Sort(head)
		t.Start = head[len(head)/2]
	}
	if len(ys) < rule.MinPoints {
		return t
	}
	tr := stats.TrendTest(xs, ys, 0.99)
	slope, lo, hi, p := tr.Slope, tr.Lo, tr.Hi, tr.P
	if !stats.Finite(slope) {
		return t
	}
	t.SlopePerHour, t.CILow, t.CIHigh = slope, zeroNaN(lo), zeroNaN(hi)
	if stats.Finite(p) {
		t.PValue = p
	}
	t.Trend = TrendStable
	change := slope * hours
	matters := change >= rule.MinChange*t.Start
	if absolute {
		matters = change >= rule.MinErrorChange
	}
	if stats.Finite(lo) && lo > 0 && matters {
		t.Trend = TrendDegrading
	}
	return t
}

func zeroNaN(v float64) float64 {
	if !stats.Finite(v) {
		return 0
	}
	return v
}
