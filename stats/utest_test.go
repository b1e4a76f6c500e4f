package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMannWhitneyReference checks the U statistic against a count over
// every pair, and the exact p-value against an enumeration of every way to
// split the pooled values into two groups.
func TestMannWhitneyReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 60; trial++ {
		n1, n2 := 3+rng.IntN(5), 3+rng.IntN(5)
		ties := trial%3 == 0
		draw := func(n int, shift float64) []float64 {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = rng.NormFloat64() + shift
				if ties {
					xs[i] = math.Round(xs[i] * 2)
				}
			}
			return xs
		}
		x, y := draw(n1, 0), draw(n2, float64(trial%4)*0.5)
		res, err := MannWhitney(x, y)
		u, p := res.U, res.P
		if err != nil {
			continue // all values equal: nothing to test
		}
		if want := slowU(x, y); u != want {
			t.Fatalf("U(%v, %v) = %v, pair count %v", x, y, u, want)
		}
		if ties {
			continue // the enumeration below assumes distinct values
		}
		if want := exactP(x, y); math.Abs(p-want) > 1e-9 {
			t.Errorf("p(%v, %v) = %v, enumeration %v", x, y, p, want)
		}
	}
}

// slowU counts the pairs with x_i > y_j, ties one half.
func slowU(x, y []float64) float64 {
	u := 0.0
	for _, a := range x {
		for _, b := range y {
			switch {
			case a > b:
				u++
			case a == b:
				u += 0.5
			}
		}
	}
	return u
}

// exactP is the two-sided p-value by enumeration: the share of all splits
// of the pooled values whose U is at least as far from its mean.
func exactP(x, y []float64) float64 {
	pool := append(append([]float64(nil), x...), y...)
	n, k := len(pool), len(x)
	mean := float64(len(x)*len(y)) / 2
	obs := math.Abs(slowU(x, y) - mean)
	var total, extreme int
	for mask := 0; mask < 1<<n; mask++ {
		if popcount(mask) != k {
			continue
		}
		var a, b []float64
		for i := 0; i < n; i++ {
			if mask&(1<<i) != 0 {
				a = append(a, pool[i])
			} else {
				b = append(b, pool[i])
			}
		}
		total++
		if math.Abs(slowU(a, b)-mean) >= obs-1e-12 {
			extreme++
		}
	}
	return float64(extreme) / float64(total)
}

func popcount(x int) int {
	n := 0
	for ; x != 0; x &= x - 1 {
		n++
	}
	return n
}

func TestHolm(t *testing.T) {
	for _, tc := range []struct {
		why  string
		p    []float64
		want []float64
	}{
		{"one test is unadjusted", []float64{0.03}, []float64{0.03}},
		{"textbook example", []float64{0.01, 0.04, 0.03, 0.005}, []float64{0.03, 0.06, 0.06, 0.02}},
		{"capped at 1 and monotone", []float64{0.5, 0.6, 0.001}, []float64{1, 1, 0.003}},
		{"no tests", nil, nil},
	} {
		got := Holm(tc.p)
		if len(got) != len(tc.want) {
			t.Errorf("%s: Holm(%v) = %v, want %v", tc.why, tc.p, got, tc.want)
			continue
		}
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-12 {
				t.Errorf("%s: Holm(%v) = %v, want %v", tc.why, tc.p, got, tc.want)
				break
			}
		}
	}
}

// TestMinUTestP checks the smallest p-value against the test itself on
// two samples entirely apart, and benchstat's table for equal sizes.
func TestMinUTestP(t *testing.T) {
	for n1 := 1; n1 <= 7; n1++ {
		for n2 := 1; n2 <= 7; n2++ {
			x, y := make([]float64, n1), make([]float64, n2)
			for i := range x {
				x[i] = float64(i)
			}
			for i := range y {
				y[i] = float64(100 + i)
			}
			res, err := MannWhitney(x, y)
			if err != nil {
				t.Fatal(err)
			}
			if got := MinUTestP(n1, n2); math.Abs(got-res.P) > 1e-12 {
				t.Errorf("MinUTestP(%d, %d) = %v, the test gives %v", n1, n2, got, res.P)
			}
		}
	}
	if got := MinUTestP(6, 6); math.Abs(got-0.0021645021645021645) > 1e-15 {
		t.Errorf("MinUTestP(6, 6) = %v, want 2/924", got)
	}
}

func TestMannWhitneyRefusesNothingToTest(t *testing.T) {
	for _, tc := range []struct {
		why  string
		x, y []float64
	}{
		{"an empty sample", nil, []float64{1, 2}},
		{"every value equal", []float64{3, 3, 3}, []float64{3, 3}},
	} {
		if res, err := MannWhitney(tc.x, tc.y); err == nil || res.P != 1 {
			t.Errorf("%s: got %+v, %v; want an error and p = 1", tc.why, res, err)
		}
	}
}
