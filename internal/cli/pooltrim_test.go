package cli

import (
	"testing"
	"time"
)

// TestPoolTrim: a pool that fell well below its peak is trimmed once,
// and a long run once every trimPeriod;
// small dips, a pool still near its peak and a second shrink within
// trimEvery are not.
func TestPoolTrim(t *testing.T) {
	trims := 0
	pt := &poolTrim{trim: func() { trims++ }, spawn: func(f func()) { f() }}
	t0 := time.Unix(1000, 0)
	for _, s := range []struct {
		at   time.Duration
		vus  int
		want int
	}{
		{20 * time.Second, 200, 0},
		{21 * time.Second, 453, 0}, // a stall
		{22 * time.Second, 440, 0}, // still near the peak
		{23 * time.Second, 420, 0}, // 33 fewer, but within a quarter of the peak
		{24 * time.Second, 211, 1}, // back: trimmed
		{25 * time.Second, 205, 1}, // no new peak
		{26 * time.Second, 400, 1}, // another stall…
		{27 * time.Second, 200, 1}, // …shrunk within trimEvery of the last trim
		{40 * time.Second, 200, 2}, // …trimmed once trimEvery has passed
		{41 * time.Second, 190, 2}, // a dip of 10
		{60 * time.Second, 20, 3},  // 180 fewer than the peak since the last trim
		{61 * time.Second, 22, 3},  // steady…
		{119 * time.Second, 25, 3}, // …for most of trimPeriod
		{120 * time.Second, 24, 4}, // a minute after the last trim
		{150 * time.Second, 30, 4},
		{180 * time.Second, 26, 5},
	} {
		pt.window(s.vus, t0.Add(s.at))
		if trims != s.want {
			t.Fatalf("at %s with %d VUs: %d trims, want %d", s.at, s.vus, trims, s.want)
		}
	}
}
