package stats

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// uslBruteForce is the slow, obviously right fit: a dense grid over σ and
// κ with the least-squares λ at every node. The fast fit must do at least
// as well.
func uslBruteForce(ns, xs []float64, sigmaMax float64) (best uslParams) {
	best.sse = math.Inf(1)
	for i := 0; i <= 1000; i++ {
		sigma := sigmaMax * float64(i) / 1000
		for j := -1; j <= 800; j++ {
			kappa := 0.0
			if j >= 0 {
				kappa = math.Pow(10, -8+float64(j)/100) // 1e-8 … 1
			}
			var sxg, sgg float64
			for k := range ns {
				g := ns[k] / (1 + sigma*(ns[k]-1) + kappa*ns[k]*(ns[k]-1))
				sxg += xs[k] * g
				sgg += g * g
			}
			lambda := sxg / sgg
			sse := 0.0
			for k := range ns {
				r := xs[k] - lambda*ns[k]/(1+sigma*(ns[k]-1)+kappa*ns[k]*(ns[k]-1))
				sse += r * r
			}
			if sse < best.sse {
				best = uslParams{lambda, sigma, kappa, sse}
			}
		}
	}
	return best
}

func uslData(ns []float64, u USL, noise float64, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 7))
	xs := make([]float64, len(ns))
	for i, n := range ns {
		xs[i] = u.Throughput(n) * (1 + noise*(2*rng.Float64()-1))
	}
	return xs
}

func TestFitUSLRecoversKnownParameters(t *testing.T) {
	ns := []float64{1, 2, 4, 8, 16, 24, 32, 48, 64}
	cases := []struct {
		name string
		u    USL
	}{
		{"contention and crosstalk, peak inside the range", USL{Lambda: 1000, Sigma: 0.05, Kappa: 0.002}},
		{"mild: peak beyond the range", USL{Lambda: 250, Sigma: 0.02, Kappa: 0.0001}},
		{"crosstalk only", USL{Lambda: 90, Sigma: 0, Kappa: 0.0005}},
		{"contention only (Amdahl), no peak", USL{Lambda: 1200, Sigma: 0.1, Kappa: 0}},
		{"heavy contention", USL{Lambda: 50, Sigma: 0.6, Kappa: 0.01}},
		{"perfectly linear", USL{Lambda: 333, Sigma: 0, Kappa: 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fit, warns, err := FitUSL(ns, uslData(ns, c.u, 0, 1))
			if err != nil {
				t.Fatal(err)
			}
			if len(warns) != 0 {
				t.Errorf("warnings for 9 exact points: %v", warns)
			}
			if math.Abs(fit.Lambda-c.u.Lambda) > 1e-4*c.u.Lambda {
				t.Errorf("λ = %v, want %v", fit.Lambda, c.u.Lambda)
			}
			if math.Abs(fit.Sigma-c.u.Sigma) > 1e-5 {
				t.Errorf("σ = %v, want %v", fit.Sigma, c.u.Sigma)
			}
			if math.Abs(fit.Kappa-c.u.Kappa) > 1e-4*c.u.Kappa+1e-8 {
				t.Errorf("κ = %v, want %v", fit.Kappa, c.u.Kappa)
			}
			if fit.R2 < 0.999999 {
				t.Errorf("R² = %v on exact data", fit.R2)
			}
			if c.u.Kappa == 0 {
				if !fit.Unbounded && fit.Kappa > 1e-8 {
					t.Errorf("κ = 0 should leave the peak unbounded, got N* = %v (κ %v)", fit.PeakConcurrency, fit.Kappa)
				}
				return
			}
			want := math.Sqrt((1 - c.u.Sigma) / c.u.Kappa)
			if math.Abs(fit.PeakConcurrency-want) > 1e-3*want {
				t.Errorf("N* = %v, want %v", fit.PeakConcurrency, want)
			}
		})
	}
}

func TestFitUSLNoisyAgainstBruteForce(t *testing.T) {
	ns := []float64{1, 2, 3, 4, 6, 8, 12, 16, 24, 32}
	truth := USL{Lambda: 800, Sigma: 0.04, Kappa: 0.001}
	for seed := uint64(1); seed <= 6; seed++ {
		xs := uslData(ns, truth, 0.03, seed)
		fit, _, err := FitUSL(ns, xs)
		if err != nil {
			t.Fatal(err)
		}
		ref := uslBruteForce(ns, xs, 0.3)
		got := uslSSE(ns, xs, fit.Lambda, fit.Sigma, fit.Kappa)
		if got > ref.sse*(1+1e-9)+1e-9 {
			t.Errorf("seed %d: fit SSE %v is worse than the brute-force grid's %v (fit σ %v κ %v, grid σ %v κ %v)",
				seed, got, ref.sse, fit.Sigma, fit.Kappa, ref.sigma, ref.kappa)
		}
		// 3% noise leaves the parameters close to the truth.
		if math.Abs(fit.Sigma-truth.Sigma) > 0.03 || fit.Kappa < truth.Kappa/2 || fit.Kappa > truth.Kappa*2 {
			t.Errorf("seed %d: σ %v κ %v, far from %v %v", seed, fit.Sigma, fit.Kappa, truth.Sigma, truth.Kappa)
		}
	}
}

func TestFitUSLConstraints(t *testing.T) {
	// Superlinear data would want σ < 0; the fit keeps σ, κ ≥ 0.
	ns := []float64{1, 2, 4, 8}
	xs := []float64{100, 220, 480, 1000}
	fit, _, err := FitUSL(ns, xs)
	if err != nil {
		t.Fatal(err)
	}
	if fit.Sigma < 0 || fit.Kappa < 0 || fit.Lambda <= 0 {
		t.Errorf("constraints broken: %+v", fit)
	}
	ref := uslBruteForce(ns, xs, 1)
	if got := uslSSE(ns, xs, fit.Lambda, fit.Sigma, fit.Kappa); got > ref.sse*(1+1e-9)+1e-9 {
		t.Errorf("constrained fit SSE %v worse than grid %v", got, ref.sse)
	}
}

func TestFitUSLFewPoints(t *testing.T) {
	u := USL{Lambda: 100, Sigma: 0.1, Kappa: 0.01}
	cases := []struct {
		name    string
		ns      []float64
		wantErr bool
		warn    string
	}{
		{"one configuration cannot be fitted", []float64{4, 4}, true, ""},
		{"two configurations: Amdahl with a warning", []float64{1, 2}, false, "κ = 0"},
		{"three points: a warning", []float64{1, 2, 4}, false, "poorly determined"},
		{"bad points are left out", []float64{math.NaN(), -1, 1, 2, 4, 8}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			xs := uslData(c.ns, u, 0, 3)
			fit, warns, err := FitUSL(c.ns, xs)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if c.wantErr {
				return
			}
			var all []string
			for _, w := range warns {
				all = append(all, w.Error())
			}
			if c.warn != "" && !strings.Contains(strings.Join(all, "|"), c.warn) {
				t.Errorf("warnings %q lack %q", all, c.warn)
			}
			if c.warn == "" && len(all) > 0 {
				t.Errorf("unexpected warnings %q", all)
			}
			if fit.Kappa != 0 && len(c.ns) == 2 {
				t.Errorf("two points: κ = %v, want 0", fit.Kappa)
			}
		})
	}
}

func TestUSLThroughputPeaks(t *testing.T) {
	u := USL{Sigma: 0.1, Kappa: 0.01, Lambda: 100}
	// The peak of the USL is at sqrt((1-σ)/κ).
	peak := math.Sqrt((1 - u.Sigma) / u.Kappa)
	if u.Throughput(peak) < u.Throughput(peak-1) || u.Throughput(peak) < u.Throughput(peak+1) {
		t.Error("throughput is not highest at the peak")
	}
	if got := u.Throughput(1); math.Abs(got-100) > 1e-9 {
		t.Errorf("X(1) = %v, want λ", got)
	}
}
