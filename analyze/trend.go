package analyze

import "github.com/stampede-perf/stampede/stats"

// trendResult is the part of a stats.Trend the leak rule reads.
type trendResult struct{ slope, lo, hi, p float64 }

func nanTrend(n int) trendResult { return fromTrend(stats.NaNTrend(n)) }

// trendAt is stats.TrendTest with the interval at the given level.
func trendAt(xs, ys []float64, level float64) trendResult {
	return fromTrend(stats.TrendTest(xs, ys, level))
}

func fromTrend(t stats.Trend) trendResult { return trendResult{t.Slope, t.Lo, t.Hi, t.P} }

func trendFinite(v float64) bool { return stats.Finite(v) }
