package analyze

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// pearsonTextbook is Pearson's r by the computational formula,
// (nΣxy − ΣxΣy) / √((nΣx² − (Σx)²)(nΣy² − (Σy)²)): a reference written
// differently from pearson's centred sums.
func pearsonTextbook(xs, ys []float64) float64 {
	n := float64(len(xs))
	var sx, sy, sxy, sxx, syy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxy += xs[i] * ys[i]
		sxx += xs[i] * xs[i]
		syy += ys[i] * ys[i]
	}
	return (n*sxy - sx*sy) / math.Sqrt((n*sxx-sx*sx)*(n*syy-sy*sy))
}

func TestPearsonAgainstTextbook(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 2000 {
		n := 3 + rng.IntN(10)
		xs, ys := make([]float64, n), make([]float64, n)
		slope := rng.NormFloat64()
		for i := range xs {
			xs[i] = float64(i+1) * (1 + rng.Float64())
			ys[i] = 100 + slope*xs[i]*50 + rng.NormFloat64()*30*rng.Float64()
		}
		got, ok := pearson(xs, ys)
		want := pearsonTextbook(xs, ys)
		if !ok || math.Abs(got-want) > 1e-9 {
			t.Fatalf("trial %d: pearson %v (ok %v), textbook %v\nxs %v\nys %v", trial, got, ok, want, xs, ys)
		}
		if got < -1 || got > 1 {
			t.Fatalf("r = %v out of [−1, 1]", got)
		}
	}
	if r, _ := pearson([]float64{1, 2, 3, 4}, []float64{40, 30, 20, 10}); math.Abs(r+1) > 1e-12 {
		t.Errorf("a falling line: r = %v, want −1", r)
	}
	if _, ok := pearson([]float64{1, 2, 3}, []float64{5, 5, 5}); ok {
		t.Error("a constant has no correlation")
	}
	// The scalability section carries r and r² of the configurations.
	cs := []result.ScaleConfig{{N: 1, RPS: 120}, {N: 2, RPS: 260}, {N: 4, RPS: 390}, {N: 8, RPS: 300}}
	s := Scalability(cs)
	want := pearsonTextbook([]float64{1, 2, 4, 8}, []float64{120, 260, 390, 300})
	if math.Abs(s.LinearityR-want) > 1e-12 || math.Abs(s.LinearityR2-want*want) > 1e-12 || s.Linear {
		t.Errorf("r %v r² %v linear %v, want r %v and not linear", s.LinearityR, s.LinearityR2, s.Linear, want)
	}
}

// scaleShape draws throughput at N for one family of scaling curves.
type scaleShape struct {
	name string
	x    func(rng *rand.Rand, maxN float64) func(n float64) float64
}

func uslCurve(lambda, sigma, kappa float64) func(n float64) float64 {
	return func(n float64) float64 { return lambda * n / (1 + sigma*(n-1) + kappa*n*(n-1)) }
}

var scaleShapes = []scaleShape{
	{"linear", func(rng *rand.Rand, maxN float64) func(float64) float64 {
		return uslCurve(50+rng.Float64()*500, 0, 0)
	}},
	{"mildly sub-linear", func(rng *rand.Rand, maxN float64) func(float64) float64 { // at least 77% efficient at the largest N
		return uslCurve(50+rng.Float64()*500, rng.Float64()*0.3/maxN, 0)
	}},
	{"sub-linear", func(rng *rand.Rand, maxN float64) func(float64) float64 { // Amdahl: 27–57% efficient at the largest N
		return uslCurve(50+rng.Float64()*500, (0.75+rng.Float64()*1.25)/maxN, 0)
	}},
	{"saturating", func(rng *rand.Rand, maxN float64) func(float64) float64 { // a ceiling reached at a quarter to a half of the largest N
		lambda := 50 + rng.Float64()*500
		ceiling := lambda * maxN * (0.25 + 0.25*rng.Float64())
		return func(n float64) float64 { return min(lambda*n, ceiling) }
	}},
	{"retrograde", func(rng *rand.Rand, maxN float64) func(float64) float64 { // USL peak N* at a quarter of the largest N or below
		nStar := maxN / (4 + 4*rng.Float64())
		return uslCurve(50+rng.Float64()*500, 0.02, 0.98/(nStar*nStar))
	}},
}

// scalePopulation draws curves of one shape at ns with multiplicative
// Gaussian noise of coefficient cv, and concludes each.
func scalePopulation(rng *rand.Rand, shape scaleShape, ns []float64, cv float64, count int) (fired, medium, high, linear int) {
	for range count {
		x := shape.x(rng, ns[len(ns)-1])
		cs := make([]result.ScaleConfig, len(ns))
		for i, n := range ns {
			cs[i] = result.ScaleConfig{Name: fmt.Sprintf("N=%g", n), N: n, RPS: x(n) * max(0.01, 1+cv*rng.NormFloat64())}
		}
		sc := Scalability(cs)
		if sc.Linear {
			linear++
		}
		fs, ne := ruleScalingEfficiency(&evaluation{run: &result.Run{Scalability: sc}, cfg: settingsFrom(nil)})
		if ne != nil {
			panic(ne.Reason)
		}
		for _, f := range fs {
			fired++
			switch f.Severity {
			case SeverityMedium:
				medium++
			case SeverityHigh:
				high++
			}
		}
	}
	return
}

// TestScalingPopulations judges the efficiency rule and the linearity
// verdict by their rates over populations of generated curves: no
// medium or high finding on a curve that scales linearly or nearly so,
// whatever the noise; a finding on nearly every curve that saturates or
// turns back; linear curves called linear, retrograde ones not.
func TestScalingPopulations(t *testing.T) {
	statisticsOnly(t)
	rng := rand.New(rand.NewPCG(7, 11))
	const count = 400
	grids := map[string][]float64{"doubling": {1, 2, 4, 8, 16}, "steps": {1, 2, 3, 4, 5, 6, 7, 8}, "pool": {10, 20, 40, 80}}
	for gname, ns := range grids {
		for _, cv := range []float64{0, 0.02, 0.05} {
			for _, shape := range scaleShapes {
				fired, medium, high, linear := scalePopulation(rng, shape, ns, cv, count)
				t.Logf("%-8s cv %.2f %-18s fired %3d/%d medium %3d high %3d linear %3d", gname, cv, shape.name, fired, count, medium, high, linear)
				switch shape.name {
				case "linear", "mildly sub-linear":
					if medium+high > 0 {
						t.Errorf("%s, %s, noise %.0f%%: %d medium and %d high findings on curves that scale", gname, shape.name, 100*cv, medium, high)
					}
					if shape.name == "linear" && linear < count {
						t.Errorf("%s, linear, noise %.0f%%: %d of %d called linear", gname, 100*cv, linear, count)
					}
					if shape.name == "linear" && cv == 0 && fired > 0 {
						t.Errorf("%s: a finding on an exactly linear curve", gname)
					}
				case "saturating", "retrograde":
					if fired < count*95/100 {
						t.Errorf("%s, %s, noise %.0f%%: fired on %d of %d", gname, shape.name, 100*cv, fired, count)
					}
				}
				if shape.name == "retrograde" && high < count*9/10 {
					t.Errorf("%s, retrograde, noise %.0f%%: high on %d of %d", gname, 100*cv, high, count)
				}
				if shape.name == "saturating" && high > count/20 {
					t.Errorf("%s, saturating, noise %.0f%%: high on %d of %d (throughput never fell)", gname, 100*cv, high, count)
				}
				if shape.name == "retrograde" && linear > count/10 {
					t.Errorf("%s, retrograde, noise %.0f%%: %d of %d called linear", gname, 100*cv, linear, count)
				}
			}
		}
	}
}
