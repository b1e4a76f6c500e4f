package stats

import (
	"math"
	"testing"
)

// kneeReference is the geometric reading of Kneedle for a curve with one
// bend: the point farthest above the chord from the first point to the
// last, measured as a perpendicular distance in scaled coordinates.
func kneeReference(xs, ys []float64) int {
	n := len(xs)
	xmin, xmax, ymin, ymax := xs[0], xs[n-1], ys[0], ys[0]
	for _, y := range ys {
		ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
	}
	ax, ay := 0.0, (ys[0]-ymin)/(ymax-ymin)
	bx, by := 1.0, (ys[n-1]-ymin)/(ymax-ymin)
	best, bestD := -1, 0.0
	for i := range xs {
		px, py := (xs[i]-xmin)/(xmax-xmin), (ys[i]-ymin)/(ymax-ymin)
		// Signed distance: positive above the chord.
		d := ((bx-ax)*(py-ay) - (by-ay)*(px-ax)) / math.Hypot(bx-ax, by-ay)
		if d > bestD {
			best, bestD = i, d
		}
	}
	return best
}

func TestKnee(t *testing.T) {
	lin := func(n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i + 1)
		}
		return xs
	}
	xs := lin(10)
	cases := []struct {
		name   string
		xs, ys []float64
		want   int // -1: no knee
	}{
		{"saturates at 6", xs, kneeMap(xs, func(x float64) float64 { return 100 * math.Min(x, 6) }), 5},
		{"saturates then falls (retrograde)", xs, kneeMap(xs, func(x float64) float64 { return 100 * math.Min(x, 8-math.Max(0, x-4)) }), 5},
		{"straight line has none", xs, kneeMap(xs, func(x float64) float64 { return 3 * x }), -1},
		{"convex curve has none", xs, kneeMap(xs, func(x float64) float64 { return x * x }), -1},
		{"two points have none", []float64{1, 2}, []float64{1, 1}, -1},
		{"flat has none", xs, kneeMap(xs, func(float64) float64 { return 7 }), -1},
		{"stress curve with geometric steps", []float64{100, 150, 225, 337, 506, 759}, []float64{100, 150, 225, 337, 476, 478}, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Knee(c.xs, c.ys)
			if !ok {
				got = -1
			}
			if got != c.want {
				t.Errorf("knee at %d, want %d", got, c.want)
			}
		})
	}
}

func TestKneeAgainstReference(t *testing.T) {
	// Concave saturating curves of every sharpness: one bend each, where
	// Kneedle and the farthest point above the chord agree.
	for k := 0.2; k <= 3; k += 0.2 {
		xs := make([]float64, 15)
		ys := make([]float64, 15)
		for i := range xs {
			xs[i] = float64(i) * 0.5
			ys[i] = 1 - math.Exp(-k*xs[i])
		}
		got, ok := Knee(xs, ys)
		want := kneeReference(xs, ys)
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("k=%.1f: knee at %d, reference %d", k, got, want)
		}
	}
	// Order does not matter: points are taken in x order.
	xs := []float64{5, 1, 3, 2, 4, 6}
	ys := []float64{500, 100, 300, 200, 500, 500}
	if got, ok := Knee(xs, ys); !ok || xs[got] != 4 {
		t.Errorf("shuffled: knee at x=%v (ok %v), want x=4", xs[got], ok)
	}
}

func kneeMap(xs []float64, f func(float64) float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = f(x)
	}
	return out
}
