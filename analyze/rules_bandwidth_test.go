package analyze

import (
	"math/rand/v2"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// bwTimeline is n samples of a target moving disk bytes/s (read and
// written in equal parts) and the host sending net bytes/s out (a tenth
// of it in).
func bwTimeline(n int, disk, net float64) []result.SystemPoint {
	pts := make([]result.SystemPoint, n)
	for i := range pts {
		pts[i] = result.SystemPoint{TS: float64(i), HostCPU: 30, ReadBPS: disk / 2, WriteBPS: disk / 2, NetOutBPS: net, NetInBPS: net / 10}
	}
	return pts
}

// TestBandwidthPopulations: with the ceilings given, services whose
// traffic is a fraction of them — idle, or bursting now and then to the
// limit (a backup, a cache fill) — give no finding; services that move
// bytes at the ceiling most of the time give one nearly always, high
// only at 95% or more of it. Without a ceiling neither rule speaks,
// whatever the bytes.
func TestBandwidthPopulations(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	const trials = 200
	// draw: n samples around mean share of the ceiling, with bursts to
	// 100% of it in burst of the samples.
	draw := func(mean, burst float64) []float64 {
		xs := make([]float64, 40)
		for i := range xs {
			xs[i] = max(0, mean*(1+0.1*rng.NormFloat64()))
			if rng.Float64() < burst {
				xs[i] = 1
			}
		}
		return xs
	}
	type pop struct {
		name        string
		mean, burst float64
		fires       bool
		high        bool
	}
	pops := []pop{
		{"idle", 0.01, 0, false, false},
		{"busy but with room", 0.4, 0.1, false, false},
		{"bursting to the limit a quarter of the time", 0.3, 0.25, false, false},
		{"at 85% of the ceiling", 0.85, 0.05, true, false},
		{"saturated", 0.99, 0.2, true, true},
	}
	cfg := map[string]float64{"disk_mbps": 200, "net_mbps": 1000}
	for _, p := range pops {
		var diskFired, netFired, diskHigh, netHigh int
		for range trials {
			shares := draw(p.mean, p.burst)
			pts := make([]result.SystemPoint, len(shares))
			for i, sh := range shares {
				pts[i] = result.SystemPoint{TS: float64(i), HostCPU: 20,
					ReadBPS: sh * 200e6 * 0.7, WriteBPS: sh * 200e6 * 0.3, NetOutBPS: sh * 1000e6 / 8, NetInBPS: sh * 100e6 / 8}
			}
			run := &result.Run{Version: 1, System: &result.System{Timeline: pts}}
			Conclude(run, cfg)
			for _, f := range run.Findings {
				high := f.Severity == SeverityHigh
				switch f.Kind {
				case result.KindDiskThroughput:
					diskFired++
					diskHigh += b2i(high)
				case result.KindNetworkBound:
					netFired++
					netHigh += b2i(high)
				}
			}
			silent := &result.Run{Version: 1, System: &result.System{Timeline: pts}}
			Conclude(silent, nil)
			for _, f := range silent.Findings {
				if f.Kind == result.KindDiskThroughput || f.Kind == result.KindNetworkBound {
					t.Fatalf("%s: %s without a ceiling: %s", p.name, f.Kind, f.Title)
				}
			}
		}
		for _, c := range []struct {
			rule        result.FindingKind
			fired, high int
		}{{result.KindDiskThroughput, diskFired, diskHigh}, {result.KindNetworkBound, netFired, netHigh}} {
			t.Logf("%-45s %s: fired %3d, high %3d of %d", p.name, c.rule, c.fired, c.high, trials)
			if p.fires && c.fired < trials*95/100 {
				t.Errorf("%s: %s fired %d of %d times", p.name, c.rule, c.fired, trials)
			}
			if !p.fires && c.fired > trials/100 {
				t.Errorf("%s: %s fired %d of %d times on a service with room", p.name, c.rule, c.fired, trials)
			}
			if !p.high && c.high > 0 || p.high && c.high < trials*9/10 {
				t.Errorf("%s: %s high %d of %d times", p.name, c.rule, c.high, trials)
			}
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
