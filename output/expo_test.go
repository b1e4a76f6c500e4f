package output

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stampede-perf/stampede/metrics"
)

// ExponentialOf against the obvious: every raw value put in its bucket
// by the definition. The conversion reads HDR's buckets (three
// significant digits), so a value within 0.2% of an edge may land on the
// other side; nothing else may differ.
func TestExponentialOfAgainstRawValues(t *testing.T) {
	for _, c := range []struct {
		name     string
		lo, hi   float64 // µs, log-uniform
		maxScale int32
	}{
		{"a web service: 50 µs to 5 s", 50, 5e6, MaxScale},
		{"the whole range, 1 µs to 1 h: the scale drops to fit", 1, 3.6e9, MaxScale - 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 9))
			h := metrics.NewHist()
			var vals []float64 // seconds
			var sum float64
			for range 50_000 {
				us := math.Round(math.Exp(math.Log(c.lo) + r.Float64()*(math.Log(c.hi)-math.Log(c.lo))))
				metrics.RecordUS(h, int64(us))
				vals = append(vals, us/1e6)
				sum += us / 1e6
			}
			bounds := []float64{0.001, 0.01, 0.1, 1}
			e := ExponentialOf(h, bounds)
			if e.Scale > c.maxScale || len(e.Counts) > MaxBuckets {
				t.Fatalf("scale %d with %d buckets", e.Scale, len(e.Counts))
			}
			var n uint64
			for _, x := range e.Counts {
				n += x
			}
			if e.Count != uint64(len(vals)) || n != e.Count {
				t.Fatalf("count %d, buckets hold %d, of %d values", e.Count, n, len(vals))
			}
			if math.Abs(e.Sum-sum) > 0.002*sum {
				t.Errorf("sum %g s, the values add to %g s", e.Sum, sum)
			}
			// cumulative counts at every bucket's upper edge and every bound
			base := math.Exp2(math.Exp2(-float64(e.Scale)))
			check := func(what string, edge float64, got uint64) {
				var below, near uint64
				for _, v := range vals {
					if v <= edge {
						below++
					}
					if math.Abs(v-edge) <= 0.002*edge+1e-6 {
						near++
					}
				}
				if d := int64(got) - int64(below); d > int64(near) || -d > int64(near) {
					t.Errorf("%s %g s: %d values at or below, the definition says %d (%d near the edge)", what, edge, got, below, near)
				}
			}
			var cum uint64
			for i, x := range e.Counts {
				cum += x
				check("bucket edge", math.Pow(base, float64(e.Offset)+float64(i)+1), cum)
			}
			for j, b := range bounds {
				check("classic bound", b, e.Classic[j])
			}
		})
	}
}
