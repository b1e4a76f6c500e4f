package analyze

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// timeline makes one point a second for n seconds with heap (or RSS when
// rss is set) given by f.
func timeline(n int, rss bool, f func(t float64) float64) []result.SystemPoint {
	pts := make([]result.SystemPoint, n)
	for i := range pts {
		t := float64(i)
		pts[i].TS = t
		if rss {
			pts[i].RSSMB = f(t)
		} else {
			pts[i].HeapMB = f(t)
			pts[i].RSSMB = 100 // present but not the source
		}
	}
	return pts
}

func TestHeapTrendFlagsSteadyGrowth(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	// 3 MB/min under a GC sawtooth of 4 MB and noise.
	pts := timeline(120, false, func(t float64) float64 {
		return 20 + 3*t/60 + 4*math.Mod(t, 7)/7 + 0.3*r.NormFloat64()
	})
	h := HeapTrend(pts, 10)
	if h == nil || !h.LeakSuspected {
		t.Fatalf("growth of 3 MB/min not flagged: %+v", h)
	}
	if h.Source != "heap_inuse" || h.Points != 110 || h.WindowS != 109 || h.Confidence != 0.99 {
		t.Errorf("source %q, points %d, window %v, confidence %v", h.Source, h.Points, h.WindowS, h.Confidence)
	}
	if !(h.GrowthCILow <= 3 && 3 <= h.GrowthCIHigh) || math.Abs(h.GrowthMBPerMin-3) > 0.5 {
		t.Errorf("growth %v MB/min [%v, %v], want about 3 inside the interval", h.GrowthMBPerMin, h.GrowthCILow, h.GrowthCIHigh)
	}
	if h.PValue >= 0.01 || h.EndMB <= h.StartMB {
		t.Errorf("p %v, start %v, end %v", h.PValue, h.StartMB, h.EndMB)
	}
}

// TestHeapTrendNoFalseAlarm runs many steady heaps, each as a server
// without a leak shows it (noise, or a GC sawtooth seen at a random
// phase): none may be flagged. Without the materiality test about 1 % of
// the noisy ones would be.
func TestHeapTrendNoFalseAlarm(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	alarms := 0
	for trial := range 400 {
		period := 3 + r.Float64()*20
		phase := r.Float64() * period
		pts := timeline(60, false, func(t float64) float64 {
			if trial%2 == 0 {
				return 20 + r.NormFloat64()
			}
			return 4 + 3*math.Mod(t+phase, period)/period
		})
		if h := HeapTrend(pts, 0); h.LeakSuspected {
			alarms++
			t.Logf("trial %d flagged: %+v", trial, h)
		}
	}
	if alarms > 0 {
		t.Errorf("%d of 400 steady heaps flagged as leaking", alarms)
	}
}

func TestHeapTrendRule(t *testing.T) {
	warmup := func(t float64) float64 { // fills for 60 s, then flat
		return 10 + 20*min(t, 60)/60 + 0.01*math.Sin(t)
	}
	slow := func(t float64) float64 { return 50 + 0.5*t/60 + 0.01*math.Sin(t*1.7) } // 0.5 MB/min
	tests := []struct {
		name       string
		pts        []result.SystemPoint
		steadyFrom float64
		rule       LeakRule
		want       bool
		source     string
	}{
		{"warm-up growth before the steady part is not a leak", timeline(120, false, warmup), 60, LeakRule{}, false, "heap_inuse"},
		{"the same warm-up counted from the start is growth", timeline(120, false, warmup), 0, LeakRule{}, true, "heap_inuse"},
		{"significant but slow growth (0.5 MB/min) does not matter by default", timeline(300, false, slow), 0, LeakRule{}, false, "heap_inuse"},
		{"the rate threshold is a parameter", timeline(300, false, slow), 0, LeakRule{MinMBPerMin: 0.1, MinFraction: 0.001}, true, "heap_inuse"},
		{"RSS is the fallback without a heap metric", timeline(120, true, func(t float64) float64 { return 30 + 5*t/60 }), 0, LeakRule{}, true, "rss"},
		{"too few points raise no suspicion", timeline(6, false, func(t float64) float64 { return 10 + 10*t }), 0, LeakRule{}, false, "heap_inuse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.rule.HeapTrend(tt.pts, tt.steadyFrom)
			if h == nil || h.LeakSuspected != tt.want || h.Source != tt.source {
				t.Errorf("got %+v, want leak_suspected %v from %s", h, tt.want, tt.source)
			}
		})
	}
}

func TestHeapTrendSkipsUnreadPoints(t *testing.T) {
	// The process exited at 60 s: later points read 0, which is not a size.
	pts := timeline(120, true, func(t float64) float64 {
		if t >= 60 {
			return 0
		}
		return 40 + 0.2*math.Sin(t)
	})
	h := HeapTrend(pts, 0)
	if h == nil || h.Points != 60 || h.LeakSuspected || math.Abs(h.GrowthMBPerMin) > 0.5 {
		t.Errorf("got %+v, want 60 points and no growth", h)
	}
	if HeapTrend(timeline(10, true, func(float64) float64 { return 0 }), 0) != nil {
		t.Error("a timeline without memory data should give nil")
	}
}

func TestHeapTrendIsValidJSON(t *testing.T) {
	for n := 1; n <= 3; n++ {
		h := HeapTrend(timeline(n, false, func(t float64) float64 { return 5 }), 0)
		if _, err := json.Marshal(h); err != nil {
			t.Errorf("%d points: %v (%+v)", n, err, h)
		}
	}
}

func TestGC(t *testing.T) {
	pts := []result.SystemPoint{
		{TS: 0}, // the first scrape: no rates yet
		{TS: 1, GCPerS: 2, GCPausePct: 0.5, Metrics: map[string]float64{"go_gc_duration_seconds_count": 2}},
		{TS: 2, GCPerS: 0, GCPausePct: 0, Metrics: map[string]float64{"go_gc_duration_seconds_count": 0}},
		{TS: 3, GCPerS: 4, GCPausePct: 1.5, Metrics: map[string]float64{"go_gc_duration_seconds_count": 4}},
	}
	g := GC(pts)
	if g == nil || g.CyclesPerS != 2 || g.PausePct != 2.0/3 {
		t.Errorf("GC = %+v, want 2 cycles/s and 0.667 %% paused", g)
	}
	if GC(pts[:1]) != nil {
		t.Error("GC without runtime metrics should be nil")
	}
}
