package stats_test

import (
	"fmt"

	"github.com/stampede-perf/stampede/stats"
)

// A heap that grows by 2 MB a minute under up to 5 MB of garbage that
// comes and goes, sampled every 10 s.
func ExampleTrendTest() {
	var ts, mb []float64
	for i := range 60 {
		t := float64(10 * i)
		ts, mb = append(ts, t), append(mb, 100+t*2/60+float64(i*7%11)/2)
	}
	tr := stats.TrendTest(ts, mb, 0.99)
	fmt.Printf("%.2f MB/min, 99%% interval [%.2f, %.2f], p < 0.001: %v\n", 60*tr.Slope, 60*tr.Lo, 60*tr.Hi, tr.P < 0.001)
	// Output: 2.00 MB/min, 99% interval [1.79, 2.22], p < 0.001: true
}

// Two runs' per-window p95 latencies, and the p-values of three compared
// metrics adjusted together.
func ExampleMannWhitney() {
	base := []float64{10.1, 9.8, 10.4, 10.0, 9.9, 10.2}
	head := []float64{11.0, 10.9, 11.4, 10.8, 11.2, 11.1}
	u, err := stats.MannWhitney(base, head)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("U = %g, p = %.4f\n", u.U, u.P)
	adj := stats.Holm([]float64{u.P, 0.04, 0.5})
	fmt.Printf("%.4f %.4f %.4f\n", adj[0], adj[1], adj[2])
	// Output:
	// U = 0, p = 0.0022
	// 0.0065 0.0800 0.5000
}

// Throughput measured at 1 to 32 users, from a system with 3 %
// contention and a little crosstalk: the fit finds where it peaks.
func ExampleFitUSL() {
	truth := stats.USL{Lambda: 500, Sigma: 0.03, Kappa: 0.0005}
	ns := []float64{1, 2, 4, 8, 16, 24, 32}
	xs := make([]float64, len(ns))
	for i, n := range ns {
		xs[i] = truth.Throughput(n)
	}
	fit, _, err := stats.FitUSL(ns, xs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("σ %.3f κ %.4f, peak at %.0f users\n", fit.Sigma, fit.Kappa, fit.PeakConcurrency)
	// Output: σ 0.030 κ 0.0005, peak at 44 users
}
