package bench

import (
	"fmt"
	"math"
	"slices"

	moremath "github.com/aclements/go-moremath/stats"

	"github.com/stampede-perf/stampede/stats"
)

// Alpha is the significance level of every test in this package.
const Alpha = 0.05

// Confidence is the level of every confidence interval in this package.
const Confidence = 0.95

// OutlierThreshold is the modified z-score above which a run is an outlier:
// ten standard deviations, the standard deviation estimated robustly as
// 1.4826 × MAD (hyperfine's threshold of 14.826 on the unscaled MAD).
const OutlierThreshold = 10.0

// madScale turns a median absolute deviation into an estimate of the
// standard deviation of a normal distribution.
const madScale = 1.4826

// Stats are the descriptive statistics of one sample.
type Stats struct {
	N      int
	Mean   float64
	Stddev float64 // sample standard deviation (n − 1); 0 for fewer than 2 values
	Median float64
	Min    float64
	Max    float64
	P95    float64 // nearest-rank percentiles: the smallest value with at least 95% (99%) of the sample at or below it
	P99    float64
}

// Describe computes the descriptive statistics of xs; xs is not modified.
func Describe(xs []float64) Stats {
	if len(xs) == 0 {
		return Stats{}
	}
	s := Stats{N: len(xs), Min: xs[0], Max: xs[0]}
	sum := 0.0
	for _, x := range xs {
		sum += x
		s.Min = math.Min(s.Min, x)
		s.Max = math.Max(s.Max, x)
	}
	s.Mean = sum / float64(len(xs))
	if len(xs) > 1 {
		ss := 0.0
		for _, x := range xs {
			d := x - s.Mean
			ss += d * d
		}
		s.Stddev = math.Sqrt(ss / float64(len(xs)-1))
	}
	s.Median = median(xs)
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	s.P95, s.P99 = nearestRank(sorted, 0.95), nearestRank(sorted, 0.99)
	return s
}

// nearestRank is the p-quantile of sorted by the nearest-rank method: the
// value at rank ⌈p·n⌉ (1-based), a value of the sample, never an
// interpolation between two runs.
func nearestRank(sorted []float64, p float64) float64 {
	k := int(math.Ceil(p*float64(len(sorted)) - 1e-9))
	return sorted[min(max(k, 1), len(sorted))-1]
}

// OpsPerS is the throughput of a benchmark whose mean time per operation
// (or per run) is meanS seconds: 1 / meanS, 0 when nothing was timed.
func OpsPerS(meanS float64) float64 {
	if meanS <= 0 || math.IsNaN(meanS) {
		return 0
	}
	return 1 / meanS
}

// CV is the coefficient of variation, stddev ÷ mean (0 when the mean is 0).
func (s Stats) CV() float64 {
	if s.Mean == 0 {
		return 0
	}
	return s.Stddev / s.Mean
}

// median of xs (the mean of the two middle values for an even count).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ModifiedZScores returns (x − median) / (1.4826·MAD) for every x, where MAD
// is the median absolute deviation from the median (Iglewicz and Hoaglin).
// When more than half the values are equal the MAD is 0; then, as in
// hyperfine, every value that differs from the median scores ±Inf.
func ModifiedZScores(xs []float64) []float64 {
	if len(xs) == 0 {
		return nil
	}
	med := median(xs)
	dev := make([]float64, len(xs))
	for i, x := range xs {
		dev[i] = math.Abs(x - med)
	}
	mad := median(dev) * madScale
	z := make([]float64, len(xs))
	for i, x := range xs {
		switch d := x - med; {
		case d == 0:
			z[i] = 0
		case mad == 0:
			z[i] = math.Inf(int(math.Copysign(1, d)))
		default:
			z[i] = d / mad
		}
	}
	return z
}

// Outliers returns the indexes of the values whose modified z-score
// exceeds OutlierThreshold in absolute value, in order.
func Outliers(xs []float64) []int {
	var out []int
	for i, z := range ModifiedZScores(xs) {
		if math.Abs(z) > OutlierThreshold {
			out = append(out, i)
		}
	}
	return out
}

// Outlier explanations, shown to the user; outliers are never removed.
const (
	WarnSlowFirstRun = "the first run was much slower than the rest: add --warmup (caches, page faults or a JIT may be cold on the first run)"
	WarnOutliers     = "statistical outliers were detected: other programs may have interfered; consider a quieter machine or more runs"
)

// OutlierWarning explains the outliers of runs (in the order they were
// measured), or returns "" when there are none. A first run far slower than
// the rest is the classic symptom of a missing warm-up, so it gets its own
// advice.
func OutlierWarning(runs []float64) string {
	z := ModifiedZScores(runs)
	if len(z) == 0 {
		return ""
	}
	if z[0] > OutlierThreshold {
		return WarnSlowFirstRun
	}
	for _, s := range z {
		if math.Abs(s) > OutlierThreshold {
			return WarnOutliers
		}
	}
	return ""
}

// RatioCI is a ratio of two means with its confidence interval.
type RatioCI struct {
	Ratio float64 // mean(num) / mean(den)
	Lo    float64
	Hi    float64
	// Bounded is false when the interval is unbounded (the denominator's
	// mean is not significantly different from zero) or could not be
	// computed (fewer than 2 values on a side); Lo and Hi are then ±Inf.
	Bounded bool
}

// HalfWidth is the larger distance from the ratio to an end of its
// interval: what "ratio ± x" prints.
func (r RatioCI) HalfWidth() float64 {
	return math.Max(r.Hi-r.Ratio, r.Ratio-r.Lo)
}

// FiellerCI computes mean(num)/mean(den) and its confidence interval at
// level conf by Fieller's theorem for two independent samples.
//
// With a = mean(num), b = mean(den), va = var(num)/n_num, vb =
// var(den)/n_den, the interval is every ratio R for which
// (a − R·b)² ≤ t²·(va + R²·vb), t the two-sided quantile of Student's t with
// Welch–Satterthwaite degrees of freedom for the variance va + R̂²·vb. It is
// the set of ratios a t-test would not reject, so it keeps its coverage
// when the ratio's distribution is skewed, where error propagation does
// not.
func FiellerCI(num, den []float64, conf float64) RatioCI {
	sn, sd := Describe(num), Describe(den)
	r := RatioCI{Ratio: sn.Mean / sd.Mean, Lo: math.Inf(-1), Hi: math.Inf(1)}
	if sn.N < 2 || sd.N < 2 || sd.Mean == 0 {
		return r
	}
	va := sn.Stddev * sn.Stddev / float64(sn.N)
	vb := sd.Stddev * sd.Stddev / float64(sd.N)
	if va == 0 && vb == 0 {
		r.Lo, r.Hi, r.Bounded = r.Ratio, r.Ratio, true
		return r
	}
	t := fiellerT(sn.N, sd.N, va, vb, r.Ratio, conf)
	a, b := sn.Mean, sd.Mean
	qa := b*b - t*t*vb
	qb := -2 * a * b
	qc := a*a - t*t*va
	if qa <= 0 {
		return r
	}
	disc := qb*qb - 4*qa*qc
	if disc < 0 {
		return r
	}
	sq := math.Sqrt(disc)
	r.Lo, r.Hi, r.Bounded = (-qb-sq)/(2*qa), (-qb+sq)/(2*qa), true
	return r
}

// fiellerT is the two-sided Student t quantile for Fieller's interval, with
// Welch–Satterthwaite degrees of freedom of va + r²·vb.
func fiellerT(nNum, nDen int, va, vb, r, conf float64) float64 {
	vbr := r * r * vb
	den := va*va/float64(nNum-1) + vbr*vbr/float64(nDen-1)
	df := (va + vbr) * (va + vbr) / den
	if den == 0 || math.IsNaN(df) || math.IsInf(df, 0) {
		df = float64(nNum + nDen - 2)
	}
	return moremath.InvCDF(moremath.TDist{V: df})(1 - (1-conf)/2)
}

// UTest is the outcome of a two-sided Mann–Whitney U test.
type UTest struct {
	P           float64
	N1, N2      int
	Significant bool // P ≤ Alpha: the two samples do not come from one distribution
	Warnings    []string
}

// MannWhitney is benchstat's test at significance level Alpha: the
// two-sided Mann–Whitney U test of stats.MannWhitney (exact for small
// samples), with benchstat's warning when the samples are too small for
// any difference to be significant. a and b are not modified.
func MannWhitney(a, b []float64) UTest {
	res, err := stats.MannWhitney(a, b)
	u := UTest{P: res.P, N1: res.N1, N2: res.N2, Significant: res.P <= Alpha}
	if err != nil {
		// Nothing to test: reported as no significant difference.
		u.Significant = false
		u.Warnings = append(u.Warnings, err.Error())
		return u
	}
	if !u.Significant {
		if op, n := uTestSamples(Alpha); u.N1 < n && u.N2 < n {
			u.Warnings = append(u.Warnings, fmt.Sprintf("need %s %d samples to detect a difference at alpha level %v", op, n, Alpha))
		}
	}
	return u
}

// uTestSamples is the fewest values a side for which the U test can reach
// significance at alpha, as benchstat counts them (up to 9 a side).
func uTestSamples(alpha float64) (op string, n int) {
	for n := 1; n <= 9; n++ {
		if stats.MinUTestP(n, n) <= alpha {
			return ">=", n
		}
	}
	return ">", 9
}
