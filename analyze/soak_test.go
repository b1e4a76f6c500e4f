package analyze

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// soakSeries is n one-second windows whose latencies sit at level(t) ms
// with ±5% noise, and errors at errRate(t).
func soakSeries(n int, seed uint64, level, errRate func(t float64) float64) []result.Window {
	rng := rand.New(rand.NewPCG(seed, 11))
	ws := make([]result.Window, n)
	for i := range ws {
		ts := float64(i)
		lat := make([]float64, 40)
		for k := range lat {
			lat[k] = level(ts) * (0.95 + 0.1*rng.Float64())
		}
		ws[i] = stressWindow(ts, lat, int64(math.Round(errRate(ts)*40)))
	}
	return ws
}

func TestSoakTrends(t *testing.T) {
	statisticsOnly(t)
	const n = 600 // ten minutes of windows
	flat := func(float64) float64 { return 20 }
	none := func(float64) float64 { return 0 }
	cases := []struct {
		name      string
		level     func(float64) float64
		errs      func(float64) float64
		sys       *result.System
		trend     string
		metric    string
		slopeLo   float64
		slopeHigh float64
	}{
		{"steady is stable", flat, none, nil, TrendStable, SoakP95, -20, 20},
		{"latency doubling over the soak is degrading", func(t float64) float64 { return 20 + 20*t/n }, none, nil,
			TrendDegrading, SoakP95, 100, 140}, // +20 ms in 10 min = 120 ms/h
		{"a tiny but steady creep is not a finding", func(t float64) float64 { return 20 + 0.2*t/n }, none, nil,
			TrendStable, SoakP95, -20, 20},
		{"errors appearing", flat, func(t float64) float64 { return 0.1 * t / n }, nil, TrendDegrading, SoakErrorRate, 0.3, 0.9},
		{"memory growing, from the watch", flat, none, soakMemory(n, func(t float64) float64 { return 100 + 60*t/n }),
			TrendDegrading, SoakMemory, 300, 420}, // +60 MB in 10 min = 360 MB/h
		{"memory flat", flat, none, soakMemory(n, func(float64) float64 { return 100 }), TrendStable, SoakP95, -20, 20},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := Soak(soakSeries(n, 5, c.level, c.errs), c.sys, 0, n, SoakRule{})
			if s.Trend != c.trend || s.Metric != c.metric {
				t.Fatalf("trend %q on %q, want %q on %q (details %+v)", s.Trend, s.Metric, c.trend, c.metric, s.Details)
			}
			if s.SlopePerHour < c.slopeLo || s.SlopePerHour > c.slopeHigh {
				t.Errorf("slope %v per hour, want within [%v, %v]", s.SlopePerHour, c.slopeLo, c.slopeHigh)
			}
			for _, d := range s.Details {
				if d.Points < 50 {
					t.Errorf("%s: %d points, want about 60 buckets", d.Metric, d.Points)
				}
			}
		})
	}
}

func TestSoakSteadyPartOnly(t *testing.T) {
	statisticsOnly(t)
	// A ramp's rising latency before `from` must not count.
	ws := soakSeries(300, 9, func(t float64) float64 { return 5 + math.Min(t, 60) }, func(float64) float64 { return 0 })
	if s := Soak(ws, nil, 60, 300, SoakRule{}); s.Trend != TrendStable {
		t.Errorf("steady part judged %q: %+v", s.Trend, s.Details)
	}
	if s := Soak(ws, nil, 0, 60, SoakRule{}); s.Trend != TrendDegrading {
		t.Errorf("the ramp alone rises: %q", s.Trend)
	}
	if s := Soak(ws[:4], nil, 0, 4, SoakRule{}); s.Trend != TrendUnknown || len(s.Warnings) == 0 {
		t.Errorf("4 windows: trend %q warnings %v", s.Trend, s.Warnings)
	}
}

func soakMemory(n int, mb func(float64) float64) *result.System {
	sys := &result.System{}
	rng := rand.New(rand.NewPCG(8, 8))
	for i := range n {
		sys.Timeline = append(sys.Timeline, result.SystemPoint{TS: float64(i), RSSMB: mb(float64(i)) + rng.Float64()})
	}
	return sys
}
