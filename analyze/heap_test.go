package analyze

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/internal/racedetect"
	"github.com/stampede-perf/stampede/result"
)

// goHeap simulates what a Go program's metrics show of its heap: live
// objects live(t) MB, garbage allocated at garbage MB/s (jittered), and a
// collector that completes a cycle whenever heap in use reaches the goal
// the previous cycle set, max(4 MB, live·(1 + GOGC/100)) with GOGC=100.
// At each cycle the live heap it reports is live(t) plus noise (objects
// of requests in flight at the mark). One point a second is read: heap in
// use, the live heap as of the last cycle (or the goal over two, as the
// watch derives it when the target does not export the live heap), the
// count of completed cycles, and RSS following the heap's peaks.
type goHeap struct {
	live       func(t float64) float64
	garbage    float64 // MB/s
	noise      float64 // MB, sd of the live heap read at a cycle
	exposeLive bool    // go_gc_heap_live_bytes; else the heap goal
	gcTime     bool    // go_memstats_last_gc_time_seconds: when the last cycle ended
}

const simDT = 0.05

// timeline returns n points one second apart, and the cycles completed at
// or after each point's time up to the last point (the truth the analysis
// should count).
func (g goHeap) timeline(r *rand.Rand, n int) (pts []result.SystemPoint, cycles int) {
	liveAtGC := math.Max(0.1, g.live(0))
	goal := math.Max(4, 2*liveAtGC)
	garbage := r.Float64() * (goal - liveAtGC) // a random phase of the sawtooth
	count := int64(1 + r.IntN(1000))
	first := count
	rss := goal * 1.1
	sim, lastGC := 0.0, 0.0
	pts = make([]result.SystemPoint, n)
	for i := range pts {
		t := float64(i)
		for ; sim < t; sim += simDT {
			garbage += g.garbage * simDT * (0.5 + r.Float64())
			if g.live(sim)+garbage >= goal {
				count++
				lastGC = sim
				liveAtGC = math.Max(0.1, g.live(sim)+g.noise*r.NormFloat64())
				garbage = 0
				goal = math.Max(4, 2*liveAtGC)
			}
		}
		inuse := g.live(t) + garbage
		rss = math.Max(rss, inuse*1.05)
		p := &pts[i]
		p.TS, p.HeapMB, p.GCCycles, p.RSSMB = t, inuse, count, rss
		if g.gcTime {
			// As the watch stamps a point: at the start of the interval
			// whose end it was read at.
			p.TS--
			p.LastGCAtS = lastGC - p.TS
		}
		if g.exposeLive {
			p.HeapLiveMB = liveAtGC
			p.Metrics = map[string]float64{"go_gc_heap_live_bytes": liveAtGC * (1 << 20)}
		} else if goal > 4 {
			p.HeapLiveMB = goal / 2
		}
	}
	if g.gcTime { // the first point is stamped before the start
		pts = pts[1:]
	}
	return pts, int(pts[len(pts)-1].GCCycles - first)
}

// population is one kind of generated timeline: make draws one.
type population struct {
	name string
	leak bool
	n    int
	make func(r *rand.Rand) ([]result.SystemPoint, int)
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// healthyGoHeaps are Go heaps without a leak, each with many GC cycles
// unless its name says otherwise.
func healthyGoHeaps() []population {
	window := func(r *rand.Rand) int { return 60 + r.IntN(241) }
	return []population{
		{"steady heap with a GC sawtooth", false, 300, func(r *rand.Rand) ([]result.SystemPoint, int) {
			l0 := uniform(r, 5, 200)
			g := goHeap{live: func(float64) float64 { return l0 }, garbage: uniform(r, 0.5, 40), noise: l0 * uniform(r, 0, 0.05), exposeLive: r.IntN(2) == 0}
			return g.timeline(r, window(r))
		}},
		{"garbage piling up before the first GC (the stateless endpoint)", false, 200, func(r *rand.Rand) ([]result.SystemPoint, int) {
			// 1–2 MB live, a few hundred KB of garbage a second: heap in
			// use climbs for tens of seconds before the 4 MB goal.
			l0 := uniform(r, 1, 2)
			g := goHeap{live: func(float64) float64 { return l0 }, garbage: uniform(r, 0.05, 0.3), noise: 0.05, exposeLive: r.IntN(2) == 0}
			return g.timeline(r, 15+r.IntN(30))
		}},
		{"cache filling, then flat, before mid-window", false, 300, func(r *rand.Rand) ([]result.SystemPoint, int) {
			n := window(r)
			l0, c := uniform(r, 5, 100), 0.0
			c = l0 * uniform(r, 0.3, 3)
			tp := float64(n) * uniform(r, 0.05, 0.5)
			g := goHeap{live: func(t float64) float64 { return l0 + c*math.Min(t, tp)/tp }, garbage: uniform(r, 2, 40), noise: l0 * 0.02, exposeLive: r.IntN(2) == 0}
			return g.timeline(r, n)
		}},
		{"cache filling, then flat, late in the window", false, 300, func(r *rand.Rand) ([]result.SystemPoint, int) {
			n := window(r)
			l0 := uniform(r, 5, 100)
			c := l0 * uniform(r, 0.3, 3)
			tp := float64(n) * uniform(r, 0.5, 0.7)
			g := goHeap{live: func(t float64) float64 { return l0 + c*math.Min(t, tp)/tp }, garbage: uniform(r, 2, 40), noise: l0 * 0.02, exposeLive: r.IntN(2) == 0}
			return g.timeline(r, n)
		}},
		{"cache filling ever slower (random keys)", false, 300, func(r *rand.Rand) ([]result.SystemPoint, int) {
			n := window(r)
			l0 := uniform(r, 5, 100)
			c := l0 * uniform(r, 0.3, 3)
			tau := float64(n) * uniform(r, 0.03, 0.25)
			g := goHeap{live: func(t float64) float64 { return l0 + c*(1-math.Exp(-t/tau)) }, garbage: uniform(r, 2, 40), noise: l0 * 0.02, exposeLive: r.IntN(2) == 0}
			return g.timeline(r, n)
		}},
		{"periodic batch jobs whose memory returns", false, 300, func(r *rand.Rand) ([]result.SystemPoint, int) {
			l0 := uniform(r, 10, 100)
			b := uniform(r, 20, 200)
			period := uniform(r, 10, 60)
			dur := uniform(r, 2, period/3)
			phase := r.Float64() * period
			g := goHeap{live: func(t float64) float64 {
				if math.Mod(t+phase, period) < dur {
					return l0 + b
				}
				return l0
			}, garbage: uniform(r, 5, 40), noise: l0 * 0.02, exposeLive: r.IntN(2) == 0}
			return g.timeline(r, window(r))
		}},
		{"large but steady heap", false, 200, func(r *rand.Rand) ([]result.SystemPoint, int) {
			l0 := uniform(r, 500, 2000)
			g := goHeap{live: func(float64) float64 { return l0 }, garbage: uniform(r, 50, 400), noise: l0 * 0.01, exposeLive: r.IntN(2) == 0}
			return g.timeline(r, window(r))
		}},
	}
}

// leakingGoHeaps grow their live heap steadily by a material amount, with
// enough garbage for the collector to run many times.
func leakingGoHeaps() []population {
	return []population{
		{"live heap rising across many cycles", true, 400, func(r *rand.Rand) ([]result.SystemPoint, int) {
			n := 60 + r.IntN(241)
			l0 := uniform(r, 5, 200)
			// 2–60 MB/min, and at least 30% of the starting heap over the window.
			rate := math.Max(uniform(r, 2, 60), 0.3*l0*60/float64(n)) / 60
			end := l0 + rate*float64(n)
			// Enough garbage for a cycle every few seconds at the end.
			g := goHeap{live: func(t float64) float64 { return l0 + rate*t }, garbage: end * uniform(r, 0.3, 2), noise: l0 * uniform(r, 0, 0.03), exposeLive: r.IntN(2) == 0}
			return g.timeline(r, n)
		}},
		{"fast leak over a short window, cycle ends reported", true, 400, fastShortLeak(true)},
		{"leak read with floating garbage, cycles spacing out", true, 400, floatingGarbageLeak},
	}
}

// floatingGarbageLeak is a leak of 40–100 MB/min from a few MB, with ten
// times as much garbage, read once a second for 40 s on a busy host: the
// live heap at a cycle's end counts what was allocated while the cycle
// marked, up to a couple of MB, and as the heap grows its cycles space
// out to one every three or four seconds, so the last quarter of the
// window holds three or four observations.
func floatingGarbageLeak(r *rand.Rand) ([]result.SystemPoint, int) {
	l0 := uniform(r, 2, 12)
	rate := uniform(r, 40, 100) / 60
	g := goHeap{live: func(t float64) float64 { return l0 + rate*t }, garbage: rate * uniform(r, 6, 10),
		noise: uniform(r, 0.5, 2), exposeLive: r.IntN(2) == 0}
	return g.timeline(r, 40)
}

// fastShortLeak is the zoo's heap-leak service as the watch sees it over
// a 12–20 s window: a live heap a few MB to start, growing 60–120 MB/min
// (a 16 KiB session per request at 60–120 requests/s), with enough garbage
// per request for a cycle every second or two, read once a second. With
// so few observations per quarter of the window, placing each at the
// second it was read instead of the end of its cycle moves the slope of
// the last quarter by a third.
func fastShortLeak(gcTime bool) func(r *rand.Rand) ([]result.SystemPoint, int) {
	return func(r *rand.Rand) ([]result.SystemPoint, int) {
		n := 13 + r.IntN(8)
		l0 := uniform(r, 1.5, 8)
		rate := uniform(r, 1, 2) // MB/s
		g := goHeap{live: func(t float64) float64 { return l0 + rate*t }, garbage: rate * uniform(r, 6, 10),
			noise: uniform(r, 0, 0.3), exposeLive: true, gcTime: gcTime}
		return g.timeline(r, n)
	}
}

// statisticsOnly skips t under the race detector: t runs single-goroutine
// statistics over generated populations, where the detector has nothing
// to watch and runs tens of times slower (minutes of CI); the plain pass
// of .ci/run runs it.
func statisticsOnly(t *testing.T) {
	t.Helper()
	racedetect.Skip(t, "single-goroutine statistics: nothing for the race detector to watch")
}

// popSize is how many timelines of a population are drawn: a fifth of n
// with -short or under the race detector, which slows the trend tests
// many times over.
func popSize(n int) int {
	if testing.Short() || racedetect.Enabled {
		return n / 5
	}
	return n
}

// verdictCounts runs every population and counts its verdicts.
func verdictCounts(t *testing.T, seed uint64, pops []population) map[string]map[string]int {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed))
	out := map[string]map[string]int{}
	for _, pop := range pops {
		out[pop.name] = map[string]int{}
		for i := range popSize(pop.n) {
			pts, _ := pop.make(r)
			h := HeapTrend(pts, 0, nil)
			if h == nil {
				t.Fatalf("%s #%d: no heap analysis", pop.name, i)
			}
			out[pop.name][h.Verdict]++
			if (h.Verdict == result.HeapLeakSuspected) != h.LeakSuspected {
				t.Errorf("%s #%d: verdict %s but leak_suspected %v", pop.name, i, h.Verdict, h.LeakSuspected)
			}
			if h.Verdict == result.HeapLeakSuspected && !pop.leak && out[pop.name]["logged"] < 3 {
				out[pop.name]["logged"]++
				t.Logf("%s #%d false alarm: %+v", pop.name, i, h)
			}
			if h.Verdict == result.HeapNoLeak && pop.leak && out[pop.name]["logged"] < 3 {
				out[pop.name]["logged"]++
				t.Logf("%s #%d missed as no leak: %+v", pop.name, i, h)
			}
		}
		delete(out[pop.name], "logged")
	}
	return out
}

// TestLeakVerdictPopulations is the rule's score: no healthy Go heap may
// be suspected of leaking, and at least 95% of the leaking ones must be,
// none of them called no_leak.
func TestLeakVerdictPopulations(t *testing.T) {
	statisticsOnly(t)
	healthy := verdictCounts(t, 7, healthyGoHeaps())
	falseAlarms, total := 0, 0
	for _, pop := range healthyGoHeaps() {
		c := healthy[pop.name]
		t.Logf("healthy %-62s %v", pop.name, c)
		falseAlarms += c[result.HeapLeakSuspected]
		total += popSize(pop.n)
	}
	if falseAlarms > 0 {
		t.Errorf("%d of %d healthy heaps suspected of leaking", falseAlarms, total)
	}
	if c := healthy["garbage piling up before the first GC (the stateless endpoint)"]; c[result.HeapInconclusive] < popSize(200)*95/100 {
		t.Errorf("heaps that saw almost no GC cycle should be inconclusive: %v", c)
	}

	leaking := verdictCounts(t, 8, leakingGoHeaps())
	for _, pop := range leakingGoHeaps() {
		c := leaking[pop.name]
		t.Logf("leaking %-62s %v", pop.name, c)
		if recall := float64(c[result.HeapLeakSuspected]) / float64(popSize(pop.n)); recall < 0.95 {
			t.Errorf("%s: recall %.3f, want at least 0.95", pop.name, recall)
		}
		if c[result.HeapNoLeak] > 0 {
			t.Errorf("%s: %d leaks called no_leak", pop.name, c[result.HeapNoLeak])
		}
	}
}

// TestLeakNeedsCompletedCycles: a leak whose heap never reaches the next
// goal within the window is inconclusive (never no_leak), and the reason
// says how many cycles were seen.
func TestLeakNeedsCompletedCycles(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for i := range 100 {
		// 40 MB live growing 6 MB/min for 20 s, 0.2 MB/s of garbage: the
		// 80 MB goal is not reached.
		g := goHeap{live: func(t float64) float64 { return 40 + 0.1*t }, garbage: 0.2, noise: 0.1, exposeLive: i%2 == 0}
		pts, cycles := g.timeline(r, 20)
		h := HeapTrend(pts, 0, nil)
		if h.Verdict != result.HeapInconclusive || h.GCCycles != cycles || !strings.Contains(h.VerdictReason, fmt.Sprintf("too few completed GC cycles (%d of 5 needed)", cycles)) {
			t.Fatalf("#%d (%d cycles): %+v", i, cycles, h)
		}
	}
}

// TestHeapGCCyclesCounted: the cycles the analysis counts are the ones the
// simulated collector completed within the window.
func TestHeapGCCyclesCounted(t *testing.T) {
	statisticsOnly(t)
	r := rand.New(rand.NewPCG(4, 4))
	for i := range 200 {
		l0 := uniform(r, 5, 50)
		g := goHeap{live: func(t float64) float64 { return l0 + 0.05*t }, garbage: uniform(r, 0.5, 20), noise: 0.1, exposeLive: true}
		pts, cycles := g.timeline(r, 30+r.IntN(100))
		if h := HeapTrend(pts, 0, nil); h.GCCycles != cycles {
			t.Fatalf("#%d: counted %d cycles, want %d", i, h.GCCycles, cycles)
		}
	}
	// A restart mid-window: the count begins again from zero.
	pts := []result.SystemPoint{}
	for i, c := range []int64{100, 103, 107, 2, 5, 9, 12, 14, 15, 18, 21} {
		pts = append(pts, result.SystemPoint{TS: float64(i), HeapLiveMB: 10, GCCycles: c})
	}
	if h := HeapTrend(pts, 0, nil); h.GCCycles != 3+4+2+3+4+3+2+1+3+3 {
		t.Errorf("across a restart: %d cycles", h.GCCycles)
	}
}

// theilSenRef is the Theil–Sen slope by listing every pair: the slow,
// obviously right reference.
func theilSenRef(xs, ys []float64) float64 {
	var s []float64
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if xs[j] != xs[i] {
				s = append(s, (ys[j]-ys[i])/(xs[j]-xs[i]))
			}
		}
	}
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// TestHeapHalvesAgainstReference checks the growth of the window and of
// each half against the slopes listed pair by pair over the same
// observations: for the live heap, the points at which a cycle had
// completed, the second half starting from the last one before it.
func TestHeapHalvesAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	for i := range 100 {
		l0 := uniform(r, 5, 50)
		rate := uniform(r, -0.1, 0.5)
		g := goHeap{live: func(t float64) float64 { return l0 + rate*t }, garbage: uniform(r, 1, 20), noise: uniform(r, 0, 2), exposeLive: true}
		pts, _ := g.timeline(r, 40+r.IntN(100))
		var xs, ys []float64
		for j, p := range pts {
			if j == 0 || p.GCCycles > pts[j-1].GCCycles {
				xs, ys = append(xs, p.TS), append(ys, p.HeapLiveMB)
			}
		}
		mid := pts[len(pts)-1].TS / 2
		k := 0
		for k < len(xs) && xs[k] < mid {
			k++
		}
		h := HeapTrend(pts, 0, nil)
		check := func(what string, got float64, xs, ys []float64) {
			if want := 60 * theilSenRef(xs, ys); math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("#%d %s: %v MB/min, reference %v", i, what, got, want)
			}
		}
		check("window", h.GrowthMBPerMin, xs, ys)
		if k >= 3 && len(xs)-k+1 >= 3 {
			check("first half", h.Half1MBPerMin, xs[:k], ys[:k])
			check("second half", h.Half2MBPerMin, xs[k-1:], ys[k-1:])
		}
	}
}

// rssTimeline makes one RSS point a second, with no Go metrics.
func rssTimeline(n int, f func(t float64) float64) []result.SystemPoint {
	pts := make([]result.SystemPoint, n)
	for i := range pts {
		pts[i].TS = float64(i)
		pts[i].RSSMB = f(float64(i))
	}
	return pts
}

// TestRSSOnlyPopulations: RSS alone never suspects a healthy process —
// a warm-up creep, a staircase of arenas, noise — and suspects only large
// growth sustained in both halves of a long window.
func TestRSSOnlyPopulations(t *testing.T) {
	statisticsOnly(t)
	r := rand.New(rand.NewPCG(6, 6))
	counts := map[string]int{}
	for i := range popSize(400) {
		n := 30 + r.IntN(871)
		base := uniform(r, 20, 300)
		creep, tau := uniform(r, 0, 0.5)*base, uniform(r, 10, 60) // the warm-up after a start
		noise := uniform(r, 0.2, 3)
		steps := make([]float64, r.IntN(4))
		for j := range steps {
			steps[j] = r.Float64() * float64(n)
		}
		step := uniform(r, 1, 8)
		h := HeapTrend(rssTimeline(n, func(t float64) float64 {
			v := base + creep*(1-math.Exp(-t/tau)) + noise*r.NormFloat64()
			for _, s := range steps {
				if t >= s {
					v += step
				}
			}
			return v
		}), 0, nil)
		counts[h.Verdict]++
		if h.Verdict == result.HeapLeakSuspected {
			t.Errorf("healthy RSS #%d (%d s) suspected: %+v", i, n, h)
		}
		if h.Source != result.HeapSourceRSS {
			t.Fatalf("source %s", h.Source)
		}
	}
	t.Logf("healthy RSS: %v", counts)

	hits, short, leaks := 0, 0, popSize(200)
	for i := range leaks {
		n := 30 + r.IntN(871)
		base := uniform(r, 20, 300)
		// Large: 10–60 MB/min and at least 60% of the start over the window.
		rate := math.Max(uniform(r, 10, 60), 0.6*base*60/float64(n)) / 60
		noise := uniform(r, 0.2, 3)
		h := HeapTrend(rssTimeline(n, func(t float64) float64 { return base + rate*t + noise*r.NormFloat64() }), 0, nil)
		switch {
		case n < 300:
			short++
			if h.Verdict != result.HeapInconclusive || !strings.Contains(h.VerdictReason, "only RSS available") {
				t.Errorf("RSS over %d s: %s (%s), want inconclusive: only RSS", n, h.Verdict, h.VerdictReason)
			}
		case h.Verdict == result.HeapLeakSuspected:
			hits++
		case h.Verdict == result.HeapNoLeak:
			t.Errorf("RSS leak #%d called no_leak: %+v", i, h)
		}
	}
	t.Logf("RSS leaks over five minutes or more: %d of %d suspected", hits, leaks-short)
	if recall := float64(hits) / float64(leaks-short); recall < 0.95 {
		t.Errorf("RSS leaks over five minutes or more: recall %.3f", recall)
	}
}

func TestHeapVerdictCases(t *testing.T) {
	steadyLive := func(n int) []result.SystemPoint {
		pts := make([]result.SystemPoint, n)
		for i := range pts {
			pts[i] = result.SystemPoint{TS: float64(i), HeapLiveMB: 20 + 0.01*math.Sin(float64(i)), GCCycles: int64(10 + i)}
		}
		return pts
	}
	// goalLive: n one-second points of a live heap read from the heap
	// goal, from mb growing perMin MB/min, with a deterministic noise of
	// ±noise MB (what was in flight at each collection).
	goalLive := func(n int, mb, perMin, noise float64) []result.SystemPoint {
		pts := make([]result.SystemPoint, n)
		for i := range pts {
			wobble := noise * math.Sin(2.3*float64(i)+4) * math.Cos(0.7*float64(i))
			pts[i] = result.SystemPoint{TS: float64(i), HeapLiveMB: mb + perMin*float64(i)/60 + wobble, GCCycles: int64(10 + i)}
		}
		return pts
	}
	tests := []struct {
		name    string
		pts     []result.SystemPoint
		rule    LeakRule
		verdict string
		source  string
		reason  string
	}{
		{"a steady live heap over many cycles is no leak", steadyLive(60), LeakRule{}, result.HeapNoLeak, result.HeapSourceGoal, "no material growth of the live heap (from the heap goal) over 59 GC cycles"},
		{"a live heap from the heap goal that creeps within its noise", goalLive(40, 10, 2.9, 1.8), LeakRule{}, result.HeapInconclusive, result.HeapSourceGoal, "interval reaches down to"},
		{"a live heap from the heap goal that grows far past its noise", goalLive(40, 10, 75, 1.2), LeakRule{}, result.HeapLeakSuspected, result.HeapSourceGoal, "in both halves"},
		{"too few points", steadyLive(6), LeakRule{}, result.HeapInconclusive, result.HeapSourceGoal, "window too short: 6 points over 5 s (10 needed)"},
		{"heap in use without cycle counts", timeline(120, false, func(t float64) float64 { return 20 + t }), LeakRule{}, result.HeapInconclusive, result.HeapSourceInuse, "without a count of GC cycles"},
		{"RSS growing steadily for five minutes", timeline(301, true, func(t float64) float64 { return 30 + 10*t/60 }), LeakRule{}, result.HeapLeakSuspected, result.HeapSourceRSS, "the RSS grew 10 MB/min, in both halves (10, then 10 MB/min)"},
		{"RSS growing slowly is not enough alone", timeline(400, true, func(t float64) float64 { return 30 + 3*t/60 }), LeakRule{}, result.HeapInconclusive, result.HeapSourceRSS, "only RSS available: it grew 3 MB/min"},
		{"RSS for a minute", timeline(60, true, func(t float64) float64 { return 30 + 10*t/60 }), LeakRule{}, result.HeapInconclusive, result.HeapSourceRSS, "only RSS available, over 59 s (300 s needed)"},
		{"the RSS window is a parameter", timeline(60, true, func(t float64) float64 { return 30 + 30*t/60 }), LeakRule{RSSMinWindowS: 30}, result.HeapLeakSuspected, result.HeapSourceRSS, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.rule.HeapTrend(tt.pts, 0, nil)
			if h == nil || h.Verdict != tt.verdict || h.Source != tt.source || !strings.Contains(h.VerdictReason, tt.reason) {
				t.Errorf("got %+v\nwant %s from %s, reason with %q", h, tt.verdict, tt.source, tt.reason)
			}
		})
	}
}

// timeline makes one point a second for n seconds with heap in use (or
// RSS when rss is set) given by f.
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

// TestHeapInuseWithCycles: a timeline from a target without the live heap
// (heap in use and the GC rate only) is judged on heap in use, strictly.
func TestHeapInuseWithCycles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	// 3 MB/min under a GC sawtooth of 4 MB (a cycle every 7 s) and noise.
	pts := timeline(120, false, func(t float64) float64 {
		return 20 + 3*t/60 + 4*math.Mod(t, 7)/7 + 0.3*r.NormFloat64()
	})
	for i := range pts {
		pts[i].GCPerS = 1.0 / 7
	}
	h := HeapTrend(pts, 10, nil)
	if h == nil || h.Verdict != result.HeapLeakSuspected || h.Source != result.HeapSourceInuse || h.Points != 110 || h.WindowS != 109 || h.GCCycles != 16 {
		t.Fatalf("got %+v", h)
	}
	if !(h.GrowthCILow <= 3 && 3 <= h.GrowthCIHigh) || math.Abs(h.GrowthMBPerMin-3) > 0.5 {
		t.Errorf("growth %v MB/min [%v, %v], want about 3 inside the interval", h.GrowthMBPerMin, h.GrowthCILow, h.GrowthCIHigh)
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
	h := HeapTrend(pts, 0, nil)
	if h == nil || h.Points != 60 || h.LeakSuspected || math.Abs(h.GrowthMBPerMin) > 0.5 {
		t.Errorf("got %+v, want 60 points and no growth", h)
	}
	if HeapTrend(timeline(10, true, func(float64) float64 { return 0 }), 0, nil) != nil {
		t.Error("a timeline without memory data should give nil")
	}
}

func TestHeapTrendIsValidJSON(t *testing.T) {
	for n := 1; n <= 12; n++ {
		for _, rss := range []bool{false, true} {
			h := HeapTrend(timeline(n, rss, func(t float64) float64 { return 5 }), 0, nil)
			if _, err := json.Marshal(h); err != nil {
				t.Errorf("%d points: %v (%+v)", n, err, h)
			}
			if h.Verdict == "" || h.VerdictReason == "" {
				t.Errorf("%d points: no verdict: %+v", n, h)
			}
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
	// Only the count of completed cycles: 12 cycles in 4 s, across a
	// restart of the target.
	counted := []result.SystemPoint{{TS: 0}, {TS: 1, GCCycles: 10}, {TS: 2, GCCycles: 16}, {TS: 3, GCCycles: 2}, {TS: 5, GCCycles: 6}}
	if g := GC(counted); g == nil || g.CyclesPerS != 3 || g.PausePct != 0 {
		t.Errorf("GC from cycle counts = %+v, want 3 cycles/s", g)
	}
}

// stalledLoad is a request rate of rate per second but for one second
// where the generator fell behind (a share of it done) and the next, when
// it caught up (the rest done as well): done(t) is the requests completed
// by t, and series the run's one-second windows of n seconds.
func stalledLoad(r *rand.Rand, n int, rate float64) (done func(t float64) float64, series []result.Window) {
	stall := 2 + r.IntN(n-4)
	short := uniform(r, 0.15, 0.4)
	perSecond := func(i int) float64 {
		switch i {
		case stall:
			return rate * short
		case stall + 1:
			return rate * (2 - short)
		}
		return rate
	}
	done = func(t float64) float64 {
		var c float64
		for i := 0; float64(i) < t; i++ {
			c += perSecond(i) * math.Min(1, t-float64(i))
		}
		return c
	}
	for i := range n + 1 {
		series = append(series, result.Window{TS: float64(i), Requests: int64(math.Round(perSecond(i)))})
	}
	return done, series
}

// TestLeakPerRequestWhenTheLoadStalls: a leak of a fixed size per request
// under a load that fell behind for a second and caught up in the next is
// measured against the requests done, so the stall is no slowing of the
// leak; and a cache that fills per request and stops early is still no
// leak on that clock.
func TestLeakPerRequestWhenTheLoadStalls(t *testing.T) {
	statisticsOnly(t)
	r := rand.New(rand.NewPCG(11, 11))
	draws := popSize(400)
	var withSeries, withoutSeries, falseAlarms int
	for i := range draws {
		n := 13 + r.IntN(8)
		rate := uniform(r, 60, 120)
		done, series := stalledLoad(r, n, rate)
		kb := uniform(r, 12, 20) // per request
		l0 := uniform(r, 1.5, 8)
		g := goHeap{live: func(t float64) float64 { return l0 + kb/1024*done(t) }, garbage: rate * kb / 1024 * uniform(r, 6, 10),
			noise: uniform(r, 0, 0.6), exposeLive: true, gcTime: true}
		pts, _ := g.timeline(r, n)
		h := HeapTrend(pts, 0, series)
		if h.Verdict == result.HeapLeakSuspected {
			withSeries++
			if got := h.GrowthKBPerRequest; math.Abs(got-kb) > 0.25*kb {
				t.Errorf("#%d: %.2f KB per request measured, %.2f KB planted", i, got, kb)
			}
		} else if withSeries < 3 {
			t.Logf("#%d missed: %s", i, h.VerdictReason)
		}
		if HeapTrend(pts, 0, nil).Verdict == result.HeapLeakSuspected {
			withoutSeries++
		}

		// A cache of the same entries that is full after a third of the
		// window: the stall is no reason to call its plateau a leak.
		full := done(float64(n) * uniform(r, 0.1, 0.35))
		c := goHeap{live: func(t float64) float64 { return l0 + kb/1024*math.Min(done(t), full) }, garbage: rate * kb / 1024 * uniform(r, 6, 10),
			noise: uniform(r, 0, 0.3), exposeLive: true, gcTime: true}
		cpts, _ := c.timeline(r, n)
		if h := HeapTrend(cpts, 0, series); h.Verdict == result.HeapLeakSuspected {
			falseAlarms++
			t.Logf("cache #%d suspected: %s", i, h.VerdictReason)
		}
	}
	t.Logf("leaks found: %d of %d against the requests, %d of %d against the clock; caches suspected: %d", withSeries, draws, withoutSeries, draws, falseAlarms)
	if float64(withSeries) < 0.95*float64(draws) {
		t.Errorf("leaks found against the requests: %d of %d, want at least 95%%", withSeries, draws)
	}
	if falseAlarms > 0 {
		t.Errorf("%d of %d filling caches suspected of leaking", falseAlarms, draws)
	}
}

// TestRequestClock checks the clock against counting requests by hand:
// the share of each window's requests done by t, summed.
func TestRequestClock(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	for range 200 {
		n := 5 + r.IntN(20)
		var series []result.Window
		for i := range n {
			series = append(series, result.Window{TS: float64(i), Requests: int64(50 + r.IntN(100))})
		}
		from := uniform(r, 0, float64(n)/3)
		to := uniform(r, 2*float64(n)/3, float64(n))
		ref := func(x float64) float64 { // requests done by x
			var c float64
			for _, w := range series {
				c += float64(w.Requests) * math.Max(0, math.Min(1, x-w.TS))
			}
			return c
		}
		clock, mean := requestClock(series, from, to)
		if clock == nil {
			t.Fatalf("no clock over [%g, %g] of %d windows", from, to, n)
		}
		if want := (ref(to) - ref(from)) / (to - from); math.Abs(mean-want) > 1e-9*want {
			t.Fatalf("mean rate %g, want %g", mean, want)
		}
		for range 10 {
			x := uniform(r, from, to)
			if got, want := clock(x), from+(ref(x)-ref(from))/mean; math.Abs(got-want) > 1e-9*math.Max(1, want) {
				t.Fatalf("clock(%g) = %g, want %g", x, got, want)
			}
		}
	}
	// Windows that do not cover the span, or a window nearly empty, give
	// no clock.
	ws := []result.Window{{TS: 0, Requests: 100}, {TS: 1, Requests: 100}, {TS: 2, Requests: 5}, {TS: 3, Requests: 100}}
	if c, _ := requestClock(ws, 0, 3.5); c != nil {
		t.Error("a clock over a window at a fifteenth of the mean rate")
	}
	if c, _ := requestClock(ws[:2], 0, 3); c != nil {
		t.Error("a clock past the last window")
	}
}
