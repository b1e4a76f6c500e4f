package stats

import (
	"cmp"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// refTrend is the slow, obviously right oracle: it lists every pairwise
// slope, sorts them, and counts S pair by pair.
func refTrend(xs, ys []float64, level float64) (slope, lo, hi, p, s float64) {
	var slopes []float64
	n := len(xs)
	for i := range n {
		for j := i + 1; j < n; j++ {
			if xs[i] != xs[j] {
				slopes = append(slopes, (ys[j]-ys[i])/(xs[j]-xs[i]))
			}
			s += refSign(xs[j]-xs[i]) * refSign(ys[j]-ys[i])
		}
	}
	slices.Sort(slopes)
	N := len(slopes)
	if N%2 == 1 {
		slope = slopes[N/2]
	} else {
		slope = (slopes[N/2-1] + slopes[N/2]) / 2
	}
	v := refVarS(xs, ys) * refHamedRao(xs, ys, slope)
	if s != 0 && v > 0 {
		p = math.Erfc((math.Abs(s) - 1) / math.Sqrt(v) / math.Sqrt2)
	} else {
		p = 1
	}
	c := math.Sqrt2 * math.Erfinv(level) * math.Sqrt(max(v, 0))
	rank := func(r float64) int { return int(min(max(r, 1), float64(N))) }
	lo = slopes[rank(math.Round((float64(N)-c)/2))-1]
	hi = slopes[rank(math.Round((float64(N)+c)/2)+1)-1]
	return slope, lo, hi, p, s
}

func refS(xs, ys []float64) float64 {
	var s float64
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			s += refSign(xs[j]-xs[i]) * refSign(ys[j]-ys[i])
		}
	}
	return s
}

// refHamedRao is the Hamed–Rao factor computed the slow way: ranks by
// counting, the autocorrelation at every lag from its definition.
func refHamedRao(xs, ys []float64, slope float64) float64 {
	n := len(xs)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	// The series order: by x, and by y descending within equal x.
	slices.SortStableFunc(idx, func(a, b int) int {
		if xs[a] != xs[b] {
			return cmpF(xs[a], xs[b])
		}
		return cmpF(ys[b], ys[a])
	})
	r := make([]float64, n)
	for i, k := range idx {
		r[i] = ys[k] - slope*xs[k]
	}
	rank := make([]float64, n)
	for i := range r {
		less, equal := 0.0, 0.0
		for j := range r {
			if r[j] < r[i] {
				less++
			} else if r[j] == r[i] {
				equal++
			}
		}
		rank[i] = less + (equal+1)/2
	}
	mean := float64(n+1) / 2
	acf := func(k int) float64 {
		var num, den float64
		for i := range n {
			den += (rank[i] - mean) * (rank[i] - mean)
			if i+k < n {
				num += (rank[i] - mean) * (rank[i+k] - mean)
			}
		}
		return num / den
	}
	if n < 3 || acf(0) != 1 {
		return 1 // fewer than 3 points, or every residual equal
	}
	nf := float64(n)
	var sum float64
	for k := 1; k < n && k <= 2000; k++ {
		if rho := acf(k); math.Abs(rho) > 1.959963984540054/math.Sqrt(nf) {
			m := float64(n - k)
			sum += m * (m - 1) * (m - 2) * rho
		}
	}
	return math.Max(1, 1+2*sum/(nf*(nf-1)*(nf-2)))
}

// refVarS is the variance of S with ties, from the group sizes counted
// with maps.
func refVarS(xs, ys []float64) float64 {
	groups := func(v []float64) []float64 {
		m := map[float64]float64{}
		for _, x := range v {
			m[x]++
		}
		var out []float64
		for _, t := range m {
			out = append(out, t)
		}
		return out
	}
	sum := func(g []float64, f func(t float64) float64) float64 {
		var s float64
		for _, t := range g {
			s += f(t)
		}
		return s
	}
	n := float64(len(xs))
	gx, gy := groups(xs), groups(ys)
	f5 := func(t float64) float64 { return t * (t - 1) * (2*t + 5) }
	f1 := func(t float64) float64 { return t * (t - 1) }
	f2 := func(t float64) float64 { return t * (t - 1) * (t - 2) }
	v := (n*(n-1)*(2*n+5) - sum(gx, f5) - sum(gy, f5)) / 18
	v += sum(gx, f1) * sum(gy, f1) / (2 * n * (n - 1))
	if n > 2 {
		v += sum(gx, f2) * sum(gy, f2) / (9 * n * (n - 1) * (n - 2))
	}
	return v
}

func refSign(v float64) float64 { return float64(cmp.Compare(v, 0)) }

// trendTest is TrendTest at the 99 % level, unpacked.
func trendTest(xs, ys []float64) (slope, lo, hi, p float64) {
	t := TrendTest(xs, ys, 0.99)
	return t.Slope, t.Lo, t.Hi, t.P
}

func closeTo(a, b float64) bool {
	if a == b || (math.IsNaN(a) && math.IsNaN(b)) {
		return true
	}
	return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b))
}

// TestTrendTestHandWorked checks a case small enough to work on paper.
// x = 1..5, y = 1 3 2 5 4: the ten slopes sorted are −1 −1 1/3 1/2 3/4 1 1
// 4/3 2 3, so the median is (3/4 + 1)/2; S = 8 − 2 = 6 with variance
// 5·4·15/18, z = 5/√(50/3) and p = erfc(z/√2) ≈ 0.2207.
func TestTrendTestHandWorked(t *testing.T) {
	slope, lo, hi, p := trendTest([]float64{1, 2, 3, 4, 5}, []float64{1, 3, 2, 5, 4})
	if slope != 0.875 {
		t.Errorf("slope = %v, want 0.875", slope)
	}
	if math.Abs(p-0.2207) > 5e-4 {
		t.Errorf("p = %v, want 0.2207", p)
	}
	// C = 2.5758·4.08 = 10.5 > N, so the 99 % interval spans every slope.
	if lo != -1 || hi != 3 {
		t.Errorf("interval = [%v, %v], want [-1, 3]", lo, hi)
	}
}

func TestTrendTestAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	type gen func(n int) (xs, ys []float64)
	seq := func(n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = float64(i)
		}
		return xs
	}
	gens := []struct {
		name string
		gen  gen
	}{
		{"continuous noise: no ties anywhere", func(n int) ([]float64, []float64) {
			xs, ys := make([]float64, n), make([]float64, n)
			for i := range xs {
				xs[i], ys[i] = r.Float64()*100, r.NormFloat64()
			}
			return xs, ys
		}},
		{"trend plus noise at one-second steps", func(n int) ([]float64, []float64) {
			xs := seq(n)
			ys := make([]float64, n)
			for i := range ys {
				ys[i] = 50 + 0.02*xs[i] + r.NormFloat64()
			}
			return xs, ys
		}},
		{"small integers: many equal y and many equal slopes", func(n int) ([]float64, []float64) {
			xs := seq(n)
			ys := make([]float64, n)
			for i := range ys {
				ys[i] = float64(r.IntN(4))
			}
			return xs, ys
		}},
		{"repeated x: pairs of equal x have no slope", func(n int) ([]float64, []float64) {
			xs, ys := make([]float64, n), make([]float64, n)
			for i := range xs {
				xs[i], ys[i] = float64(r.IntN(n/3+1)), float64(r.IntN(10))+r.Float64()
			}
			return xs, ys
		}},
		{"sawtooth like a GC'd heap", func(n int) ([]float64, []float64) {
			xs := seq(n)
			ys := make([]float64, n)
			for i := range ys {
				ys[i] = 2 + float64(i%7)*0.5
			}
			return xs, ys
		}},
		{"flat memory: every y equal", func(n int) ([]float64, []float64) {
			xs := seq(n)
			ys := make([]float64, n)
			for i := range ys {
				ys[i] = 12.5
			}
			return xs, ys
		}},
		{"fractional times and sizes as the watch records them", func(n int) ([]float64, []float64) {
			xs, ys := make([]float64, n), make([]float64, n)
			for i := range xs {
				xs[i] = math.Round((float64(i)+r.Float64()*0.01)*1000) / 1000
				ys[i] = math.Round((20+0.01*float64(i)+r.Float64())*1e6) / 1e6
			}
			return xs, ys
		}},
	}
	for _, g := range gens {
		for _, n := range []int{3, 4, 7, 20, 101, 400} {
			xs, ys := g.gen(n)
			if allEqual(xs) {
				continue
			}
			slope, lo, hi, p := trendTest(xs, ys)
			ws, wlo, whi, wp, _ := refTrend(xs, ys, 0.99)
			if !closeTo(slope, ws) || !closeTo(lo, wlo) || !closeTo(hi, whi) || !closeTo(p, wp) {
				t.Errorf("%s, n=%d: got slope %v [%v, %v] p %v; reference %v [%v, %v] p %v",
					g.name, n, slope, lo, hi, p, ws, wlo, whi, wp)
			}
		}
	}
}

func allEqual(v []float64) bool {
	for _, x := range v {
		if x != v[0] {
			return false
		}
	}
	return true
}

func TestMannKendallAgainstDirectCount(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n := 2 + r.IntN(60)
		xs, ys := make([]float64, n), make([]float64, n)
		for i := range xs {
			xs[i], ys[i] = float64(r.IntN(n)), float64(r.IntN(1+trial%8))
		}
		want := refS(xs, ys)
		pts := make([]trendPoint, n)
		for i := range pts {
			pts[i] = trendPoint{xs[i], ys[i]}
		}
		slices.SortFunc(pts, func(a, b trendPoint) int {
			if a.x != b.x {
				return cmpF(a.x, b.x)
			}
			return cmpF(b.y, a.y)
		})
		s, v := mannKendall(pts)
		if s != want {
			t.Fatalf("trial %d: S = %v, direct count %v (xs %v ys %v)", trial, s, want, xs, ys)
		}
		if wv := refVarS(xs, ys); !closeTo(v, wv) {
			t.Fatalf("trial %d: Var(S) = %v, want %v", trial, v, wv)
		}
	}
}

func cmpF(a, b float64) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func TestTrendTestEdges(t *testing.T) {
	tests := []struct {
		name    string
		xs, ys  []float64
		slope   float64
		wantNaN bool
	}{
		{"perfect line", []float64{0, 1, 2, 3, 4, 5}, []float64{1, 3, 5, 7, 9, 11}, 2, false},
		{"NaN and Inf points are left out", []float64{0, 1, math.NaN(), 2, 3}, []float64{0, 1, 5, math.Inf(1), 3}, 1, false},
		{"one point", []float64{1}, []float64{1}, 0, true},
		{"all x equal: no slope exists", []float64{2, 2, 2}, []float64{1, 2, 3}, 0, true},
	}
	for _, tt := range tests {
		slope, lo, hi, p := trendTest(tt.xs, tt.ys)
		if tt.wantNaN {
			if !math.IsNaN(slope) || !math.IsNaN(p) {
				t.Errorf("%s: got %v %v %v %v, want NaN", tt.name, slope, lo, hi, p)
			}
			continue
		}
		if slope != tt.slope || lo > slope || hi < slope {
			t.Errorf("%s: slope %v in [%v, %v], want %v", tt.name, slope, lo, hi, tt.slope)
		}
	}
}

// TestTrendTestHourOfSeconds checks the point of the selection by
// counting: a one-hour soak sampled every second has 6.5 million slopes
// (52 MB as float64s), and the test allocates a tenth of that at most,
// whatever the machine's speed; it agrees with the reference on a slice
// small enough for it.
func TestTrendTestHourOfSeconds(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	n := 3600
	xs, ys := make([]float64, n), make([]float64, n)
	for i := range xs {
		xs[i] = float64(i)
		ys[i] = 100 + 0.001*float64(i) + 3*math.Sin(float64(i)/9) + r.NormFloat64()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	slope, lo, hi, p := trendTest(xs, ys)
	runtime.ReadMemStats(&after)
	const slopesBytes = 3600 * 3599 / 2 * 8
	got := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d points: %d bytes allocated", n, got)
	if got > slopesBytes/10 {
		t.Errorf("TrendTest on %d points allocated %d bytes, more than 1/10 of listing its slopes (%d)", n, got, slopesBytes)
	}
	if !(lo <= slope && slope <= hi) || p >= 0.01 || math.Abs(slope-0.001) > 0.0005 {
		t.Errorf("slope %v [%v, %v] p %v, want about 0.001 and significant", slope, lo, hi, p)
	}
	m := 1500
	ws, wlo, whi, wp, _ := refTrend(xs[:m], ys[:m], 0.99)
	gs, glo, ghi, gp := trendTest(xs[:m], ys[:m])
	if !closeTo(gs, ws) || !closeTo(glo, wlo) || !closeTo(ghi, whi) || !closeTo(gp, wp) {
		t.Errorf("n=%d: got %v [%v, %v] p %v; reference %v [%v, %v] p %v", m, gs, glo, ghi, gp, ws, wlo, whi, wp)
	}
}

func BenchmarkTrendTest3600(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	xs, ys := make([]float64, 3600), make([]float64, 3600)
	for i := range xs {
		xs[i], ys[i] = float64(i), 0.001*float64(i)+r.NormFloat64()
	}
	b.ReportAllocs()
	for b.Loop() {
		trendTest(xs, ys)
	}
}
