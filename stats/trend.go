package stats

import (
	"cmp"
	"math"
	"slices"
)

// Trend is the outcome of TrendTest.
type Trend struct {
	// N is the number of usable points.
	N int
	// Slope is the Theil–Sen estimate, the median of the slopes between
	// every two points of different x; [Lo, Hi] its confidence interval
	// by Sen's method at the level asked for.
	Slope, Lo, Hi float64
	// P is the two-sided Mann–Kendall p-value of no trend.
	P float64
	// S is the Mann–Kendall statistic, VarS its variance for independent
	// points, and Inflation the Hamed–Rao factor VarS was multiplied by
	// before P and the interval were drawn (1: no autocorrelation seen).
	S, VarS, Inflation float64
}

// NaNTrend is the Trend of n points too few to test: every number NaN.
func NaNTrend(n int) Trend {
	nan := math.NaN()
	return Trend{N: n, Slope: nan, Lo: nan, Hi: nan, P: nan, S: nan, VarS: nan, Inflation: nan}
}

// TrendTest tests ys against xs for a monotonic trend without assuming a
// distribution or a straight line: the slope is the Theil–Sen estimate
// (Theil 1950, Sen 1968), the median of the slopes between every two
// points, with its confidence interval at level (0.99 = 99 %) by Sen's
// method; P is the two-sided Mann–Kendall p-value (Mann 1945, Kendall
// 1975: the normal approximation with continuity correction, the exact
// variance under ties in xs and ys, Kendall 1970).
//
// The points are taken as a series in x order, as the timelines of a run
// are, and such series are autocorrelated: a GC sawtooth or a slow wave
// over a short window makes the plain test see a trend far too often. The
// variance of the Mann–Kendall statistic is therefore inflated by the
// Hamed–Rao correction (Hamed and Rao 1998: the autocorrelation of the
// ranks of the detrended series), which widens the interval and raises P
// accordingly; for independent points the correction is close to none.
//
// Points whose x or y is NaN or infinite are left out. With fewer than two
// usable points, or when every x is equal, the results are NaN.
//
// The slopes are never all held in memory: order statistics are selected
// by counting the pairs below a candidate slope (an inversion count,
// O(n log n)), so an hour of one-second points (6.5 million slopes) takes
// tens of milliseconds and about two megabytes. The Mann–Kendall
// statistic is counted the same way (Knight 1966).
func TrendTest(xs, ys []float64, level float64) Trend {
	pts := make([]trendPoint, 0, min(len(xs), len(ys)))
	for i := range min(len(xs), len(ys)) {
		if Finite(xs[i]) && Finite(ys[i]) {
			pts = append(pts, trendPoint{xs[i], ys[i]})
		}
	}
	n := len(pts)
	if n < 2 {
		return NaNTrend(n)
	}
	// Sorted by x, and within equal x by y descending: the order the
	// slope counter relies on (see slopeSet).
	slices.SortFunc(pts, func(a, b trendPoint) int {
		if a.x != b.x {
			return cmp.Compare(a.x, b.x)
		}
		return cmp.Compare(b.y, a.y)
	})
	ss := newSlopeSet(pts)
	if ss.total == 0 {
		return NaNTrend(n)
	}
	t := Trend{N: n}
	N := ss.total
	if N%2 == 1 {
		t.Slope = ss.kth(N/2 + 1)
	} else {
		t.Slope = (ss.kth(N/2) + ss.kth(N/2+1)) / 2
	}
	t.S, t.VarS = mannKendall(pts)
	t.Inflation = hamedRao(pts, t.Slope)
	varS := t.VarS * t.Inflation
	t.P = mkPValue(t.S, varS)

	// Sen (1968): the interval runs between the slopes of ranks
	// (N − C)/2 and (N + C)/2 + 1, C = z·sd(S).
	c := normalQuantile(0.5+level/2) * math.Sqrt(max(varS, 0)) // all y equal: 0, not NaN
	rl := senRank(math.Round((float64(N)-c)/2), N)
	ru := senRank(math.Round((float64(N)+c)/2)+1, N)
	t.Lo, t.Hi = ss.kth(rl), ss.kth(ru)
	return t
}

func senRank(r float64, n int64) int64 {
	if r < 1 || math.IsNaN(r) {
		return 1
	}
	if r > float64(n) {
		return n
	}
	return int64(r)
}

type trendPoint struct{ x, y float64 }

// mkPValue is the two-sided p-value of the Mann–Kendall statistic S.
func mkPValue(s, varS float64) float64 {
	if varS <= 0 || s == 0 {
		return 1
	}
	z := (math.Abs(s) - 1) / math.Sqrt(varS) // continuity correction
	return math.Erfc(z / math.Sqrt2)
}

// mannKendall returns S = Σ_{i<j} sign(x_j−x_i)·sign(y_j−y_i) and its
// variance under no trend, for points sorted by x. S is counted by
// Knight's method: the discordant pairs are the inversions of the ys once
// the points are ordered by (x, y).
func mannKendall(sorted []trendPoint) (s, varS float64) {
	n := len(sorted)
	ys := make([]float64, n)
	for i, p := range sorted { // sorted has y descending within equal x
		ys[i] = p.y
	}
	// Put each run of equal x in ascending y, so that pairs within a run
	// are not counted as discordant.
	for i := 0; i < n; {
		j := i
		for j < n && sorted[j].x == sorted[i].x {
			j++
		}
		slices.Reverse(ys[i:j])
		i = j
	}
	xTies := mkTieSums(func(yield func(float64) bool) {
		for _, p := range sorted {
			if !yield(p.x) {
				return
			}
		}
	})
	// Pairs equal in both x and y.
	var bothTied float64
	for i := 0; i < n; {
		j := i
		for j < n && sorted[j].x == sorted[i].x && sorted[j].y == sorted[i].y {
			j++
		}
		t := float64(j - i)
		bothTied += t * (t - 1) / 2
		i = j
	}
	discordant := float64(inversions(ys, make([]float64, n)))
	slices.Sort(ys)
	yTies := mkTieSums(slices.Values(ys))

	nf := float64(n)
	pairs := nf * (nf - 1) / 2
	concordant := pairs - discordant - xTies.pairs - yTies.pairs + bothTied
	s = concordant - discordant

	// Exact variance of S under independence with ties in both variables
	// (Kendall 1970, the tau-b variance).
	varS = (nf*(nf-1)*(2*nf+5)-xTies.v5-yTies.v5)/18 +
		xTies.v1*yTies.v1/(2*nf*(nf-1))
	if n > 2 {
		varS += xTies.v2 * yTies.v2 / (9 * nf * (nf - 1) * (nf - 2))
	}
	return s, varS
}

// hamedRao is the factor by which autocorrelation inflates Var(S) (Hamed
// and Rao 1998): from the autocorrelation ρ_k of the ranks of the
// detrended series, counting only the lags significant at 5 %,
// n/n* = 1 + 2/(n(n−1)(n−2)) · Σ (n−k)(n−k−1)(n−k−2) ρ_k. It is never
// below 1: the correction may only make the test more careful. Lags past
// hamedRaoLags are not summed, which bounds the cost at O(n·hamedRaoLags).
func hamedRao(sorted []trendPoint, slope float64) float64 {
	n := len(sorted)
	if n < 3 || !Finite(slope) {
		return 1
	}
	resid := make([]float64, n)
	for i, p := range sorted {
		resid[i] = p.y - slope*p.x
	}
	ranks := averageRanks(resid)
	mean := float64(n+1) / 2
	var denom float64
	for i := range ranks {
		ranks[i] -= mean
		denom += ranks[i] * ranks[i]
	}
	if denom == 0 {
		return 1
	}
	nf := float64(n)
	bound := normalQuantile(0.975) / math.Sqrt(nf)
	var sum float64
	for k := 1; k < min(n, hamedRaoLags+1); k++ {
		var c float64
		for i := 0; i+k < n; i++ {
			c += ranks[i] * ranks[i+k]
		}
		if rho := c / denom; math.Abs(rho) > bound {
			m := float64(n - k)
			sum += m * (m - 1) * (m - 2) * rho
		}
	}
	return max(1, 1+2*sum/(nf*(nf-1)*(nf-2)))
}

const hamedRaoLags = 2000

// averageRanks ranks v from 1, giving tied values their mean rank.
func averageRanks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return cmp.Compare(v[a], v[b]) })
	ranks := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && v[idx[j]] == v[idx[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // mean of ranks i+1 … j
		for _, k := range idx[i:j] {
			ranks[k] = r
		}
		i = j
	}
	return ranks
}

// mkTies are sums over the groups of t equal values in a sorted sequence.
type mkTies struct {
	pairs float64 // Σ t(t−1)/2
	v1    float64 // Σ t(t−1)
	v2    float64 // Σ t(t−1)(t−2)
	v5    float64 // Σ t(t−1)(2t+5)
}

func mkTieSums(sorted func(yield func(float64) bool)) mkTies {
	var out mkTies
	run, prev, first := 0.0, 0.0, true
	flush := func() {
		t := run
		out.pairs += t * (t - 1) / 2
		out.v1 += t * (t - 1)
		out.v2 += t * (t - 1) * (t - 2)
		out.v5 += t * (t - 1) * (2*t + 5)
	}
	for v := range sorted {
		if !first && v == prev {
			run++
			continue
		}
		if !first {
			flush()
		}
		run, prev, first = 1, v, false
	}
	if !first {
		flush()
	}
	return out
}

// inversions counts the pairs i < j with a[i] > a[j] by merge sort,
// sorting a; tmp is scratch of the same length.
func inversions[T cmp.Ordered](a, tmp []T) int64 {
	if len(a) < 2 {
		return 0
	}
	m := len(a) / 2
	inv := inversions(a[:m], tmp[:m]) + inversions(a[m:], tmp[m:])
	i, j, k := 0, m, 0
	for i < m && j < len(a) {
		if a[j] < a[i] {
			inv += int64(m - i)
			tmp[k] = a[j]
			j++
		} else {
			tmp[k] = a[i]
			i++
		}
		k++
	}
	k += copy(tmp[k:], a[i:m])
	copy(tmp[k:], a[j:])
	copy(a, tmp)
	return inv
}

// slopeSet selects order statistics of the slopes between every two points
// of different x, without listing them.
//
// For points i before j in x order, slope(i, j) ≤ t exactly when
// y_j − t·x_j ≤ y_i − t·x_i. Sorting the points by u = y − t·x (ties: larger
// x first, then later index first) therefore puts j before i exactly for
// the pairs whose slope is ≤ t, and counting those pairs is counting the
// inversions of that order: O(n log n). Pairs of equal x, kept with y
// descending, are inverted at every t and subtracted. The sort compares
// two points by their own slope against t rather than by u, so that a pair
// is placed by the very float64 slope the final listing computes: u would
// round (y − t·x == y for a tiny t) and put a pair of equal y, slope 0,
// below a tiny negative t.
//
// kth narrows an interval (lo, hi] holding the wanted slope by bisection
// over the float64 values until it holds few slopes, then lists those: they
// are the pairs whose relative order differs between the orders at lo and
// at hi, found as the inversions between the two orders.
type slopeSet struct {
	pts    []trendPoint
	total  int64 // pairs of different x
	within int64 // pairs of equal x
	bound  float64

	order []int32
	pos   []int32
	seq   []int32
	tmp   []int32
}

func newSlopeSet(sorted []trendPoint) *slopeSet {
	n := len(sorted)
	ss := &slopeSet{
		pts:   sorted,
		order: make([]int32, n),
		pos:   make([]int32, n), seq: make([]int32, n), tmp: make([]int32, n),
	}
	ymin, ymax := sorted[0].y, sorted[0].y
	dxmin := math.Inf(1)
	for i := 0; i < n; {
		j := i
		for j < n && sorted[j].x == sorted[i].x {
			ymin, ymax = min(ymin, sorted[j].y), max(ymax, sorted[j].y)
			j++
		}
		t := int64(j - i)
		ss.within += t * (t - 1) / 2
		if j < n {
			dxmin = min(dxmin, sorted[j].x-sorted[i].x)
		}
		i = j
	}
	ss.total = int64(n)*int64(n-1)/2 - ss.within
	// Every slope lies within ±(ymax − ymin)/dxmin; twice that, plus one,
	// keeps the ends clear of any rounding.
	ss.bound = 2*(ymax-ymin)/dxmin + 1
	if !Finite(ss.bound) {
		ss.bound = math.MaxFloat64 / 4
	}
	return ss
}

// orderAt fills ss.order with the point indexes sorted as described on
// slopeSet for slope t.
func (ss *slopeSet) orderAt(t float64, order []int32) {
	for i := range order {
		order[i] = int32(i)
	}
	pts := ss.pts
	slices.SortFunc(order, func(a, b int32) int {
		pa, pb := pts[a], pts[b]
		switch {
		case pa.x < pb.x: // b goes first when slope(a, b) ≤ t
			if (pb.y-pa.y)/(pb.x-pa.x) <= t {
				return 1
			}
			return -1
		case pa.x > pb.x:
			if (pa.y-pb.y)/(pa.x-pb.x) <= t {
				return -1
			}
			return 1
		}
		return int(b - a) // equal x: the later index (smaller y) first
	})
}

// count is the number of slopes ≤ t.
func (ss *slopeSet) count(t float64) int64 {
	ss.orderAt(t, ss.order)
	copy(ss.seq, ss.order)
	return inversions(ss.seq, ss.tmp) - ss.within
}

// kth returns the k-th smallest slope, 1 ≤ k ≤ total.
func (ss *slopeSet) kth(k int64) float64 {
	n := int64(len(ss.pts))
	lo, hi := -ss.bound, ss.bound
	cLo, cHi := ss.count(lo), ss.count(hi)
	for cHi-cLo > 4*n {
		mid := midFloat(lo, hi)
		if mid == lo || mid == hi {
			return hi // no float between: every slope in (lo, hi] is hi
		}
		if c := ss.count(mid); c >= k {
			hi, cHi = mid, c
		} else {
			lo, cLo = mid, c
		}
	}
	in := ss.between(lo, hi)
	if len(in) == 0 {
		return hi
	}
	slices.Sort(in)
	r := k - cLo // rounding in u can make the counts and the list disagree by a pair
	r = max(1, min(r, int64(len(in))))
	return in[r-1]
}

// between lists the slopes in (lo, hi]: the pairs whose relative order
// differs between the orders at lo and at hi.
func (ss *slopeSet) between(lo, hi float64) []float64 {
	n := len(ss.pts)
	orderLo := make([]int32, n)
	ss.orderAt(lo, orderLo)
	ss.orderAt(hi, ss.order)
	for p, i := range ss.order {
		ss.pos[i] = int32(p)
	}
	ids := make([]int32, n) // ids[a] is the point at position a of orderLo
	for a, i := range orderLo {
		ss.seq[a] = ss.pos[i]
		ids[a] = i
	}
	var out []float64
	pts := ss.pts
	listInversions(ss.seq, ids, ss.tmp, make([]int32, n), func(i, j int32) {
		a, b := pts[i], pts[j]
		if a.x == b.x {
			return
		}
		if s := (b.y - a.y) / (b.x - a.x); s > lo && s <= hi {
			out = append(out, s)
		}
	})
	return out
}

// listInversions sorts a (carrying ids along) and calls report with the
// ids of every pair that was out of order.
func listInversions(a, ids, tmp, tmpIDs []int32, report func(i, j int32)) {
	if len(a) < 2 {
		return
	}
	m := len(a) / 2
	listInversions(a[:m], ids[:m], tmp[:m], tmpIDs[:m], report)
	listInversions(a[m:], ids[m:], tmp[m:], tmpIDs[m:], report)
	i, j, k := 0, m, 0
	for i < m && j < len(a) {
		if a[j] < a[i] {
			for r := i; r < m; r++ {
				report(ids[r], ids[j])
			}
			tmp[k], tmpIDs[k] = a[j], ids[j]
			j++
		} else {
			tmp[k], tmpIDs[k] = a[i], ids[i]
			i++
		}
		k++
	}
	for ; i < m; i, k = i+1, k+1 {
		tmp[k], tmpIDs[k] = a[i], ids[i]
	}
	for ; j < len(a); j, k = j+1, k+1 {
		tmp[k], tmpIDs[k] = a[j], ids[j]
	}
	copy(a, tmp)
	copy(ids, tmpIDs)
}

// midFloat is halfway between lo < hi in the order of float64 values
// rather than in value, so that bisection ends within 64 steps even when
// the answer is 0 or tiny.
func midFloat(lo, hi float64) float64 {
	a, b := orderedBits(lo), orderedBits(hi)
	return fromOrderedBits(a>>1 + b>>1 + (a & b & 1))
}

func orderedBits(f float64) int64 {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return -int64(b &^ (1 << 63))
	}
	return int64(b)
}

func fromOrderedBits(v int64) float64 {
	if v < 0 {
		return math.Float64frombits(uint64(-v) | 1<<63)
	}
	return math.Float64frombits(uint64(v))
}

// Finite reports whether v is neither NaN nor infinite: the points every
// function of this package keeps.
func Finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// normalQuantile is the standard normal quantile function.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }
