package stats

import (
	"cmp"
	"slices"
)

// Knee finds the knee of a curve that rises and then flattens, such as
// throughput against offered load, by Kneedle (Satopää, Albrecht, Irwin
// and Raghavan 2011, "Finding a 'Kneedle' in a Haystack"): both axes are
// scaled to [0, 1], the difference curve d = y − x is taken (the height
// of each point above the diagonal from the first point to the last), and
// a local maximum of d is a knee once d falls below it by the sensitivity
// S = 1 times the mean spacing of x before rising to a new maximum. The points are taken in x order. It
// returns the index (into xs) of the first knee, and false when the curve
// has none (a straight line, a curve that keeps bending upwards, fewer than
// three points).
func Knee(xs, ys []float64) (int, bool) {
	type pt struct {
		x, y float64
		i    int
	}
	var pts []pt
	for i := range min(len(xs), len(ys)) {
		if Finite(xs[i]) && Finite(ys[i]) {
			pts = append(pts, pt{xs[i], ys[i], i})
		}
	}
	if len(pts) < 3 {
		return 0, false
	}
	slices.SortStableFunc(pts, func(a, b pt) int { return cmp.Compare(a.x, b.x) })
	x0, x1 := pts[0].x, pts[len(pts)-1].x
	y0, y1 := pts[0].y, pts[0].y
	for _, p := range pts {
		y0, y1 = min(y0, p.y), max(y1, p.y)
	}
	if x1 == x0 || y1 == y0 {
		return 0, false
	}
	d := make([]float64, len(pts))
	for k, p := range pts {
		d[k] = (p.y-y0)/(y1-y0) - (p.x-x0)/(x1-x0)
	}
	const sensitivity = 1.0
	threshold := sensitivity / float64(len(pts)-1) // S × mean spacing of the scaled x
	for k := 1; k < len(d)-1; k++ {
		if !(d[k] > d[k-1] && d[k] >= d[k+1]) || d[k] <= 0 {
			continue // not a local maximum above the diagonal
		}
		for j := k + 1; j < len(d); j++ {
			if d[j] > d[k] {
				break // a higher maximum comes first: not this one
			}
			if d[j] < d[k]-threshold {
				return pts[k].i, true
			}
		}
	}
	return 0, false
}
