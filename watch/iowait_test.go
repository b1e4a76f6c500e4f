package watch

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/procfs"
)

// iowaitPercent is the iowait ticks over all ticks between two readings,
// checked against the sum written out by hand, on random readings.
func TestIOWaitPercent(t *testing.T) {
	a := procfs.CPUStat{User: 100, System: 50, Idle: 800, Iowait: 50}
	b := procfs.CPUStat{User: 130, System: 60, Idle: 850, Iowait: 110}
	// Δ: user 30, system 10, idle 50, iowait 60 → 60 / 150.
	if got := iowaitPercent(a, b); math.Abs(got-40) > 1e-9 {
		t.Errorf("iowait = %v%%, want 40%%", got)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 1000 {
		a := procfs.CPUStat{User: rng.Float64() * 1e4, Nice: rng.Float64() * 10, System: rng.Float64() * 1e3, Idle: rng.Float64() * 1e5,
			Iowait: rng.Float64() * 1e3, IRQ: rng.Float64() * 10, SoftIRQ: rng.Float64() * 10, Steal: rng.Float64()}
		d := [8]float64{}
		for i := range d {
			d[i] = rng.Float64() * 100
		}
		b := procfs.CPUStat{User: a.User + d[0], Nice: a.Nice + d[1], System: a.System + d[2], Idle: a.Idle + d[3],
			Iowait: a.Iowait + d[4], IRQ: a.IRQ + d[5], SoftIRQ: a.SoftIRQ + d[6], Steal: a.Steal + d[7]}
		sum := 0.0
		for _, v := range d {
			sum += v
		}
		want := 100 * d[4] / sum
		if got := iowaitPercent(a, b); math.Abs(got-want) > 1e-6 {
			t.Fatalf("iowait = %v, want %v", got, want)
		}
		if busy := busyPercent(a, b); busy+iowaitPercent(a, b) > 100+1e-9 {
			t.Fatalf("busy %v + iowait %v over 100%%", busy, iowaitPercent(a, b))
		}
	}
	if got := iowaitPercent(b, a); got != 0 {
		t.Errorf("readings out of order: %v", got)
	}
}
