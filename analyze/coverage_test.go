package analyze

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/pprof/profile"

	"github.com/stampede-perf/stampede/result"
)

// cpuProfile is a profile in CPU nanoseconds whose samples add up to
// total (one sample per 10 ms, the rest in the last).
func cpuProfile(total int64) *profile.Profile {
	fn := &profile.Function{ID: 1, Name: "main.work"}
	loc := &profile.Location{ID: 1, Line: []profile.Line{{Function: fn}}}
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		Function:   []*profile.Function{fn}, Location: []*profile.Location{loc},
	}
	for total > 0 {
		v := min(total, 10_000_000)
		p.Sample = append(p.Sample, &profile.Sample{Location: []*profile.Location{loc}, Value: []int64{1, v}})
		total -= v
	}
	return p
}

// coverageByMillisecond is the slow reference: the process's CPU seconds
// in [ts, ts+dur) summed one millisecond at a time from whichever point
// covers each millisecond, scaled to the whole span when points are
// missing, and the profile's seconds over that.
func coverageByMillisecond(sampledS float64, tl []result.SystemPoint, interval, ts, dur float64) float64 {
	var used float64
	var seen int
	for ms := 0; ms < int(math.Round(dur*1000)); ms++ {
		t := ts + (float64(ms)+0.5)/1000
		for _, p := range tl {
			if t >= p.TS && t < p.TS+interval {
				used += p.CPUPercent / 100 / 1000
				seen++
				break
			}
		}
	}
	if float64(seen) < 0.75*dur*1000 || used <= 0 {
		return 0
	}
	used *= dur * 1000 / float64(seen)
	return sampledS / used
}

func TestProfileCoverage(t *testing.T) {
	statisticsOnly(t)
	r := rand.New(rand.NewPCG(3, 7))
	for i := range 200 {
		interval := []float64{0.5, 1, 2}[r.IntN(3)]
		var tl []result.SystemPoint
		for k := range 30 {
			if r.IntN(10) == 0 {
				continue // a missed sample
			}
			tl = append(tl, result.SystemPoint{TS: float64(k) * interval, CPUPercent: 5 + 150*r.Float64()})
		}
		ts := math.Round(r.Float64()*10*1000) / 1000
		dur := math.Round((1+r.Float64()*12)*1000) / 1000
		sampled := int64(r.Float64() * 8e9)
		got := profileCoverage(cpuProfile(sampled), tl, interval, ts, dur)
		want := coverageByMillisecond(float64(sampled)/1e9, tl, interval, ts, dur)
		if math.Abs(got-want) > 0.01*math.Max(want, 0.01) {
			t.Fatalf("case %d (interval %g, span %g+%g): coverage %g, reference %g", i, interval, ts, dur, got, want)
		}
	}
	if got := profileCoverage(cpuProfile(1e9), nil, 1, 0, 10); got != 0 {
		t.Errorf("no timeline: coverage %g, want 0 (unknown)", got)
	}
}

// TestProfileQualityLowersShares: a hotspot or GC share from a profile
// that sampled 40% of the process's CPU, or that holds only 60 samples,
// is a note, not a medium finding; from one that sampled 90%, or holds
// 3,000 samples (or an unknown count), it stands. Each lowered finding
// says which of the two lowered it.
func TestProfileQualityLowersShares(t *testing.T) {
	for _, tt := range []struct {
		coverage float64
		samples  int
		share    float64 // the hotspot's
		wantLow  bool
		why      string // in the lowered finding's detail
	}{
		{coverage: 0.4, share: 38, wantLow: true, why: "sampled only"},
		{coverage: 0.9, share: 38},
		{share: 38},
		{samples: 60, share: 36, wantLow: true, why: "95% bound"},
		{samples: 3000, share: 36},
	} {
		r := cleanRun()
		r.System.Module = svcModule
		r.System.Process.CPUPercent.Mean = 40
		r.System.CPUProfileCoverage = tt.coverage
		r.System.CPUSamples = tt.samples
		r.System.Hotspots = []result.Hotspot{{Function: "renderReceipt", Package: svc + "/shop", Own: true, FlatPct: tt.share, CumPct: tt.share, RequestPct: tt.share}}
		r.System.Alloc = &result.AllocPressure{CPUPct: 30, MallocPct: 5, GCWorkPct: 25}
		cfg := map[string]float64{"hotspot_share": 0.3, "gc_pause_percent": 5}
		hs, _ := ruleHotspot(&evaluation{run: r, cfg: cfg})
		gcs, _ := ruleGC(&evaluation{run: r, cfg: cfg})
		for _, fs := range [][]result.Finding{hs, gcs} {
			if len(fs) != 1 {
				t.Fatalf("coverage %g, %d samples: findings %+v", tt.coverage, tt.samples, fs)
			}
			f := fs[0]
			for _, why := range []string{"sampled only", "95% bound"} {
				if (f.Severity == SeverityLow) != tt.wantLow || strings.Contains(f.Detail, why) != (why == tt.why) {
					t.Errorf("coverage %g, %d samples: %s %s — %s", tt.coverage, tt.samples, f.Severity, f.Title, f.Detail)
				}
			}
		}
	}
}

// TestIdleMarkIsNotGCPressure: marking by idle-mode workers fills
// processors nothing else wanted; it is counted apart, not as GC cost.
func TestIdleMarkIsNotGCPressure(t *testing.T) {
	g := &gen{r: rand.New(rand.NewPCG(1, 2))}
	work := append([]string{svc + "/shop.render"}, serve...)
	g.add(60, work)
	idle := []string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcDrainMarkWorkerIdle", "runtime.gcBgMarkWorker.func2", "runtime.systemstack", "runtime.gcBgMarkWorker", "runtime.goexit"}
	dedicated := []string{"runtime.scanobject", "runtime.gcDrain", "runtime.gcDrainMarkWorkerDedicated", "runtime.gcBgMarkWorker.func2", "runtime.systemstack", "runtime.gcBgMarkWorker", "runtime.goexit"}
	g.add(30, idle)
	g.add(10, dedicated)
	a := readStacks(g.profile(), newOwnCode(svcModule)).allocCPU()
	if math.Abs(a.IdleMarkPct-30) > 0.01 || math.Abs(a.GCWorkPct-10) > 0.01 || math.Abs(a.CPUPct-10) > 0.01 {
		t.Errorf("idle mark %.2f%%, GC work %.2f%%, GC CPU %.2f%%; want 30, 10, 10", a.IdleMarkPct, a.GCWorkPct, a.CPUPct)
	}
}

// TestShareLowerBound checks the bound against what it promises, computed
// the slow way: for a true share p exactly at a rule's threshold, the
// chance (summed over every count of the binomial law) that the samples
// give a share whose bound still passes p — a false "established" — is
// at most 5% (5.5 with rounding), from 20 samples to 5,000. And the bound
// closes on the share as the samples grow.
func TestShareLowerBound(t *testing.T) {
	statisticsOnly(t)
	for _, p := range []float64{0.05, 0.15, 0.25, 0.3, 0.45} {
		for _, n := range []int{20, 37, 60, 100, 250, 1000, 5000} {
			// log of the binomial pmf, summed over the counts whose bound
			// passes p.
			var falseRate float64
			for k := 0; k <= n; k++ {
				if shareLowerBound(100*float64(k)/float64(n), n) < 100*p {
					continue
				}
				lg := lgamma(n+1) - lgamma(k+1) - lgamma(n-k+1) + float64(k)*math.Log(p) + float64(n-k)*math.Log1p(-p)
				falseRate += math.Exp(lg)
			}
			if falseRate > 0.055 {
				t.Errorf("share %.0f%%, %d samples: the bound passes the true share %.1f%% of the time, want at most 5%%", 100*p, n, 100*falseRate)
			}
		}
	}
	if lo := shareLowerBound(25, 60); lo > 17 || lo < 15 {
		t.Errorf("a quarter of 60 samples: bound %.1f%%, want about 16%%", lo)
	}
	if lo := shareLowerBound(25, 100000); math.Abs(lo-25) > 0.3 {
		t.Errorf("a quarter of 100,000 samples: bound %.2f%%, want about 25%%", lo)
	}
	if lo := shareLowerBound(25, 0); lo != 25 {
		t.Errorf("unknown count: bound %.2f%%, want the share itself", lo)
	}
}

func lgamma(n int) float64 { v, _ := math.Lgamma(float64(n)); return v }
