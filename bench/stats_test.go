package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/aclements/go-moremath/stats"
)

// refMedian is the median by its definition, in O(n²): a value with at
// most half the others below it and at most half above it (the mean of
// the two middle ones for an even count).
func refMedian(xs []float64) float64 {
	n := len(xs)
	kth := func(k int) float64 { // the k-th smallest, 0-based
		for _, x := range xs {
			less, equal := 0, 0
			for _, y := range xs {
				if y < x {
					less++
				} else if y == x {
					equal++
				}
			}
			if less <= k && k < less+equal {
				return x
			}
		}
		panic("unreachable")
	}
	if n%2 == 1 {
		return kth(n / 2)
	}
	return (kth(n/2-1) + kth(n/2)) / 2
}

// refOutliers applies the rule literally: |x − median| / (1.4826·MAD) > 10,
// with every x ≠ median an outlier when MAD = 0.
func refOutliers(xs []float64) []int {
	med := refMedian(xs)
	var dev []float64
	for _, x := range xs {
		dev = append(dev, math.Abs(x-med))
	}
	mad := refMedian(dev)
	var out []int
	for i, x := range xs {
		d := math.Abs(x - med)
		if d == 0 {
			continue
		}
		if mad == 0 || d/(1.4826*mad) > 10 {
			out = append(out, i)
		}
	}
	return out
}

func TestDescribeAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + r.IntN(40)
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = 10 + r.NormFloat64()*3
		}
		orig := slices.Clone(xs)
		got := Describe(xs)
		if !slices.Equal(xs, orig) {
			t.Fatal("Describe modified its input")
		}
		// Variance from pairwise differences: Σ_{i<j} (xi−xj)² / (n(n−1)).
		var pair float64
		for i := range xs {
			for j := i + 1; j < n; j++ {
				pair += (xs[i] - xs[j]) * (xs[i] - xs[j])
			}
		}
		wantSD := 0.0
		if n > 1 {
			wantSD = math.Sqrt(pair / float64(n*(n-1)))
		}
		sum := 0.0
		for _, x := range xs {
			sum += x
		}
		check := func(what string, got, want float64) {
			if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("trial %d (n=%d): %s = %v, want %v", trial, n, what, got, want)
			}
		}
		check("mean", got.Mean, sum/float64(n))
		check("stddev", got.Stddev, wantSD)
		check("p95", got.P95, rankReference(xs, 0.95))
		check("p99", got.P99, rankReference(xs, 0.99))
		check("median", got.Median, refMedian(xs))
		check("min", got.Min, slices.Min(xs))
		check("max", got.Max, slices.Max(xs))
	}
}

func TestOutliersAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 2000 {
		n := 1 + r.IntN(30)
		xs := make([]float64, n)
		for i := range xs {
			switch r.IntN(4) {
			case 0: // discrete values, so that the MAD is often 0
				xs[i] = float64(r.IntN(3))
			default:
				xs[i] = 1 + r.NormFloat64()*0.05
			}
			if r.IntN(10) == 0 { // an injected outlier
				xs[i] *= 1 + r.Float64()*5
			}
		}
		got, want := Outliers(xs), refOutliers(xs)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: Outliers(%v) = %v, reference %v", trial, xs, got, want)
		}
	}
}

func TestOutliersCases(t *testing.T) {
	for _, tc := range []struct {
		reason string
		xs     []float64
		want   []int
	}{
		{"no data, no outlier", nil, nil},
		{"one value cannot be an outlier", []float64{50}, nil},
		{"two values are each at one MAD from their median", []float64{1000, 0}, nil},
		{"low variance", []float64{-0.2, 0, 0.2}, nil},
		{"one far value among three close ones", []float64{-0.2, 0, 0.2, 4}, []int{3}},
		{"slow first run", []float64{0.5, 0.30, 0.29, 0.31, 0.30}, []int{0}},
		{"MAD 0: the one differing value", []float64{10, 10, 10, 10, 10, 10, 10, 100}, []int{7}},
		{"MAD 0: two differing values", []float64{10, 10, 10, 10, 10, 10, 10, 100, 100}, []int{7, 8}},
		{"just under ten robust sigmas is kept", []float64{0.9, 1, 1, 1.1, 1 + 9.9*1.4826*0.1}, nil},
		{"just over ten robust sigmas is flagged", []float64{0.9, 1, 1, 1.1, 1 + 10.1*1.4826*0.1}, []int{4}},
		{"fast outliers count too", []float64{1, 1.01, 0.99, 1.02, 0.98, 0.1}, []int{5}},
	} {
		if got := Outliers(tc.xs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: Outliers(%v) = %v, want %v", tc.reason, tc.xs, got, tc.want)
		}
	}
}

func TestOutlierWarning(t *testing.T) {
	for _, tc := range []struct {
		reason string
		runs   []float64
		want   string
	}{
		{"steady runs need no warning", []float64{1, 1.01, 0.99, 1.02, 0.98}, ""},
		{"a cold first run asks for warm-up", []float64{3, 1.01, 0.99, 1.02, 0.98}, WarnSlowFirstRun},
		{"a slow run later points at interference", []float64{1, 1.01, 0.99, 3, 0.98}, WarnOutliers},
		{"a fast first run is not a warm-up problem", []float64{0.1, 1.01, 0.99, 1.02, 0.98}, WarnOutliers},
	} {
		if got := OutlierWarning(tc.runs); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.reason, got, tc.want)
		}
	}
}

// refFiellerGrid finds Fieller's interval by scanning ratios on a fine grid
// and keeping those the t-test does not reject, using the same quantile.
func refFiellerGrid(num, den []float64, conf float64) (lo, hi float64) {
	sn, sd := Describe(num), Describe(den)
	va := sn.Stddev * sn.Stddev / float64(sn.N)
	vb := sd.Stddev * sd.Stddev / float64(sd.N)
	r0 := sn.Mean / sd.Mean
	tq := fiellerT(sn.N, sd.N, va, vb, r0, conf)
	lo, hi = math.Inf(1), math.Inf(-1)
	const steps = 200000
	for i := 0; i <= steps; i++ {
		r := r0 * (0.5 + float64(i)/steps) // r0/2 … 3·r0/2
		d := sn.Mean - r*sd.Mean
		if d*d <= tq*tq*(va+r*r*vb) {
			lo, hi = math.Min(lo, r), math.Max(hi, r)
		}
	}
	return lo, hi
}

func TestFiellerAgainstGrid(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 30 {
		na, nb := 3+r.IntN(20), 3+r.IntN(20)
		a, b := make([]float64, na), make([]float64, nb)
		for i := range a {
			a[i] = 1.5 + r.NormFloat64()*0.1
		}
		for i := range b {
			b[i] = 1.0 + r.NormFloat64()*0.08
		}
		got := FiellerCI(a, b, 0.95)
		lo, hi := refFiellerGrid(a, b, 0.95)
		step := got.Ratio / 200000
		if !got.Bounded || math.Abs(got.Lo-lo) > 2*step || math.Abs(got.Hi-hi) > 2*step {
			t.Errorf("trial %d: Fieller = [%v, %v] bounded=%v, grid reference [%v, %v]", trial, got.Lo, got.Hi, got.Bounded, lo, hi)
		}
		if !(got.Lo < got.Ratio && got.Ratio < got.Hi) {
			t.Errorf("trial %d: ratio %v outside its interval [%v, %v]", trial, got.Ratio, got.Lo, got.Hi)
		}
	}
}

func TestFiellerCoverage(t *testing.T) {
	// The interval must contain the true ratio about 95% of the time.
	r := rand.New(rand.NewPCG(7, 8))
	const trials = 4000
	const trueRatio = 1.3
	hits := 0
	for range trials {
		a, b := make([]float64, 10), make([]float64, 12)
		for i := range a {
			a[i] = trueRatio*0.05 + r.NormFloat64()*0.004
		}
		for i := range b {
			b[i] = 0.05 + r.NormFloat64()*0.003
		}
		if ci := FiellerCI(a, b, 0.95); ci.Bounded && ci.Lo <= trueRatio && trueRatio <= ci.Hi {
			hits++
		}
	}
	if cov := float64(hits) / trials; cov < 0.935 || cov > 0.965 {
		t.Errorf("coverage %.3f, want 0.95 ± 0.015", cov)
	}
}

func TestFiellerEdges(t *testing.T) {
	for _, tc := range []struct {
		reason      string
		num, den    []float64
		wantBounded bool
	}{
		{"a single run has no variance estimate", []float64{1}, []float64{1, 2}, false},
		{"a denominator indistinguishable from zero", []float64{1, 1.1, 0.9}, []float64{-1, 1, 0.1}, false},
		{"constant samples give a zero-width interval", []float64{2, 2, 2}, []float64{1, 1, 1}, true},
		{"well separated samples", []float64{2, 2.1, 1.9}, []float64{1, 1.05, 0.95}, true},
	} {
		got := FiellerCI(tc.num, tc.den, 0.95)
		if got.Bounded != tc.wantBounded {
			t.Errorf("%s: bounded = %v, want %v (%+v)", tc.reason, got.Bounded, tc.wantBounded, got)
		}
		if !got.Bounded && (!math.IsInf(got.Lo, -1) || !math.IsInf(got.Hi, 1)) {
			t.Errorf("%s: unbounded interval must be (-Inf, +Inf), got %+v", tc.reason, got)
		}
	}
}

// refExactUTestP is the exact two-sided p-value of the Mann–Whitney U test
// by enumerating every way to split the pooled values (no ties).
func refExactUTestP(a, b []float64) float64 {
	pooled := append(slices.Clone(a), b...)
	n1, n := len(a), len(pooled)
	u := func(first []bool) float64 {
		var s float64
		for i := range n {
			if !first[i] {
				continue
			}
			for j := range n {
				if !first[j] && pooled[i] > pooled[j] {
					s++
				}
			}
		}
		return s
	}
	obs := make([]bool, n)
	for i := range n1 {
		obs[i] = true
	}
	mu := float64(n1*(n-n1)) / 2
	uObs := math.Abs(u(obs) - mu)
	extreme, total := 0, 0
	var rec func(i, left int, pick []bool)
	rec = func(i, left int, pick []bool) {
		if left == 0 {
			total++
			if math.Abs(u(pick)-mu) >= uObs-1e-9 {
				extreme++
			}
			return
		}
		if n-i < left {
			return
		}
		pick[i] = true
		rec(i+1, left-1, pick)
		pick[i] = false
		rec(i+1, left, pick)
	}
	rec(0, n1, make([]bool, n))
	return float64(extreme) / float64(total)
}

func TestMannWhitneyAgainstEnumeration(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for trial := range 40 {
		n1, n2 := 3+r.IntN(4), 3+r.IntN(4)
		shift := float64(r.IntN(3)) * 0.5
		a, b := make([]float64, n1), make([]float64, n2)
		for i := range a {
			a[i] = r.NormFloat64()
		}
		for i := range b {
			b[i] = r.NormFloat64() + shift
		}
		got := MannWhitney(a, b)
		want := refExactUTestP(a, b)
		if math.Abs(got.P-want) > 1e-9 {
			t.Errorf("trial %d (n=%d+%d): p = %v, enumeration %v", trial, n1, n2, got.P, want)
		}
		if got.Significant != (want <= Alpha) {
			t.Errorf("trial %d: significant = %v with p = %v", trial, got.Significant, want)
		}
	}
}

// lognormalSample draws n run times around center with a multiplicative
// spread, the usual shape of benchmark noise.
func lognormalSample(r *rand.Rand, n int, center, spread float64) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = center * math.Exp(r.NormFloat64()*spread)
	}
	return xs
}

func TestMannWhitneyPowerAndFalsePositives(t *testing.T) {
	for _, tc := range []struct {
		reason           string
		shift            float64 // new center ÷ old center
		n                int
		minRate, maxRate float64 // of "significant" over the seeds
	}{
		{"no difference: false positives near α (the exact test at n=10 is a little conservative)", 1.00, 10, 0.025, 0.065},
		{"no difference with 30 runs: the normal approximation, still near α", 1.00, 30, 0.03, 0.07},
		{"a 10% slowdown with 2% noise is always found", 1.10, 10, 0.99, 1},
		{"a 2% slowdown with 2% noise is often found at n=10", 1.02, 10, 0.35, 0.85},
		{"with 3 runs a side nothing can be significant", 1.50, 3, 0, 0},
	} {
		r := rand.New(rand.NewPCG(11, uint64(tc.n)*1000+uint64(tc.shift*1000)))
		const seeds = 2000
		sig := 0
		for range seeds {
			a := lognormalSample(r, tc.n, 0.05, 0.02)
			b := lognormalSample(r, tc.n, 0.05*tc.shift, 0.02)
			if MannWhitney(a, b).Significant {
				sig++
			}
		}
		rate := float64(sig) / seeds
		if rate < tc.minRate || rate > tc.maxRate {
			t.Errorf("%s: significant in %.3f of runs, want [%.3f, %.3f]", tc.reason, rate, tc.minRate, tc.maxRate)
		}
	}
}

func TestModifiedZScoresUseScaledMAD(t *testing.T) {
	// 1.4826·MAD estimates σ of a normal sample: over a large normal
	// sample the z-scores must look like standard normal ones.
	r := rand.New(rand.NewPCG(12, 13))
	xs := make([]float64, 20001)
	for i := range xs {
		xs[i] = 5 + 2*r.NormFloat64()
	}
	z := ModifiedZScores(xs)
	sd := stats.StdDev(z)
	if math.Abs(sd-1) > 0.03 {
		t.Errorf("stddev of modified z-scores of a normal sample = %.3f, want ≈ 1", sd)
	}
}
