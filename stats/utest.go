package stats

import (
	"math"
	"sort"

	moremath "github.com/aclements/go-moremath/stats"
)

// UTest is the outcome of MannWhitney.
type UTest struct {
	// U counts the pairs (x_i, y_j) with x_i > y_j, ties counting one
	// half: below N1·N2/2, the y values tend to be the higher.
	U float64
	// P is the two-sided p-value, at most 1.
	P      float64
	N1, N2 int
}

// MannWhitney is the two-sided Mann–Whitney U test (Mann and Whitney
// 1947) of x against y: does one sample tend to hold larger values than
// the other, assuming no distribution. It is go-moremath's test, the one
// benchstat's benchmath runs: the exact distribution of U for small
// samples, with ties too (Klotz 1966; up to 50 values a side without
// ties, 25 with), and above that the normal approximation with the tie
// and continuity corrections. x and y are not modified.
//
// It fails when a sample is empty or every value of both is equal: there
// is then nothing to test.
func MannWhitney(x, y []float64) (UTest, error) {
	res, err := moremath.MannWhitneyUTest(x, y, moremath.LocationDiffers)
	if err != nil {
		return UTest{P: 1, N1: len(x), N2: len(y)}, err
	}
	return UTest{U: res.U, P: math.Min(1, res.P), N1: res.N1, N2: res.N2}, nil
}

// MinUTestP is the smallest two-sided p-value the exact U test can give
// for samples of n1 and n2 distinct values, 2 / C(n1+n2, n1): the two
// samples entirely apart. When it exceeds the significance level, no
// difference can be found however large.
func MinUTestP(n1, n2 int) float64 {
	c := 1.0
	for i := 1; i <= n1; i++ {
		c = c * float64(n2+i) / float64(i)
	}
	return math.Min(1, 2/c)
}

// Holm returns the Holm–Bonferroni adjusted p-values (Holm 1979) of ps,
// in the order of ps: the k-th smallest p-value of m is multiplied by
// m − k + 1, capped at 1, and made non-decreasing in that order. Judging
// each adjusted p-value against α keeps the chance of any false alarm
// among all m tests at α, whatever their dependence.
func Holm(ps []float64) []float64 {
	m := len(ps)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ps[order[a]] < ps[order[b]] })
	adj := make([]float64, m)
	running := 0.0
	for k, i := range order {
		running = math.Max(running, math.Min(1, float64(m-k)*ps[i]))
		adj[i] = running
	}
	return adj
}
