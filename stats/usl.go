package stats

import (
	"errors"
	"fmt"
	"math"
)

// The Universal Scalability Law (Gunther) models the throughput of N
// units of concurrency (users, instances, cores) as
//
//	X(N) = λN / (1 + σ(N−1) + κN(N−1))
//
// λ is the throughput of one unit, σ the share of the work that is
// serialized (contention) and κ the cost of keeping units coherent
// (crosstalk, growing with N²). With κ > 0 throughput peaks at
// N* = √((1−σ)/κ) and falls beyond it.
//
// The fit is ordinary least squares on X with σ in [0, 1] and κ ≥ 0. For
// fixed (σ, κ) the model is linear in λ, so λ has a closed form; a coarse
// grid over (σ, log κ) with λ solved at every node finds the basin, and
// a bounded Levenberg–Marquardt on all three parameters (Marquardt's
// diagonal scaling, which copes with κ being orders of magnitude smaller
// than σ) polishes it. Three parameters need at least three distinct N;
// the fit warns below four points (and codahale/usl asks for six), as
// σ and κ then trade off against each other with little to tell them
// apart. Two distinct N are fitted with κ = 0 (Amdahl's law), with a
// warning, so that a first two-configuration experiment still gives λ
// and σ.

// USL is a fit of the Universal Scalability Law. Its fields are those of
// result.USL, in the same order, so that one converts to the other.
type USL struct {
	Sigma           float64 // σ, the serialized share of the work, in [0, 1]
	Kappa           float64 // κ, the crosstalk between units, ≥ 0
	Lambda          float64 // λ, the throughput of one unit
	PeakConcurrency float64 // N* = √((1−σ)/κ); 0 with Unbounded
	Unbounded       bool    // κ = 0: throughput approaches λ/σ and never falls
	R2              float64 // 1 − SSres/SStot of the fit
}

// Throughput is the throughput the fit predicts at concurrency n:
// λn / (1 + σ(n−1) + κn(n−1)).
func (u USL) Throughput(n float64) float64 {
	return u.Lambda * n / (1 + u.Sigma*(n-1) + u.Kappa*n*(n-1))
}

// ErrUSLPoints is returned when fewer than two distinct N remain to fit.
var ErrUSLPoints = errors.New("the USL needs throughput at 2 or more different N")

// FitUSL fits the Universal Scalability Law (Gunther 2007, "Guerrilla
// Capacity Planning") to throughputs xs measured at concurrencies ns, as
// described above. Points with a non-finite or non-positive N, or a
// non-finite or negative X, are left out. Warnings say why the fit may be
// weak; err is set (and the fit nil) only when it cannot be made.
func FitUSL(ns, xs []float64) (fit *USL, warnings []error, err error) {
	var n, x []float64
	distinct := map[float64]bool{}
	for i := range min(len(ns), len(xs)) {
		if Finite(ns[i]) && ns[i] > 0 && Finite(xs[i]) && xs[i] >= 0 {
			n, x = append(n, ns[i]), append(x, xs[i])
			distinct[ns[i]] = true
		}
	}
	if len(distinct) < 2 {
		return nil, nil, fmt.Errorf("%w (have %d)", ErrUSLPoints, len(distinct))
	}
	// Two N cannot tell contention from crosstalk: fit Amdahl's law (κ = 0).
	fixKappa := len(distinct) == 2
	switch {
	case fixKappa:
		warnings = append(warnings, errors.New("USL fitted to 2 configurations with κ = 0 (Amdahl's law): measure 4 or more to tell contention from crosstalk"))
	case len(n) < 4:
		warnings = append(warnings, fmt.Errorf("USL fitted to %d points: σ and κ are poorly determined below 4 (6 or more is better)", len(n)))
	}
	if uslAllZero(x) {
		return nil, warnings, errors.New("every throughput is zero: nothing to fit")
	}

	// Coarse grid: σ linear, κ logarithmic, plus κ = 0.
	best := uslParams{sse: math.Inf(1)}
	kappas := []float64{0}
	for e := -9.0; e <= 1.0 && !fixKappa; e += 0.25 {
		kappas = append(kappas, math.Pow(10, e))
	}
	for i := 0; i <= 100; i++ {
		sigma := float64(i) / 100
		for _, kappa := range kappas {
			lambda, sse := uslLambda(n, x, sigma, kappa)
			if sse < best.sse {
				best = uslParams{lambda, sigma, kappa, sse}
			}
		}
	}
	best = uslPolish(n, x, best, fixKappa)

	u := &USL{Lambda: best.lambda, Sigma: best.sigma, Kappa: best.kappa}
	u.R2 = uslR2(x, func(i int) float64 { return u.Throughput(n[i]) })
	switch {
	case u.Kappa > 0 && u.Sigma < 1:
		u.PeakConcurrency = math.Sqrt((1 - u.Sigma) / u.Kappa)
	case u.Kappa > 0:
		u.PeakConcurrency = 1
	default:
		u.Unbounded = true // no crosstalk: throughput approaches λ/σ but never falls
	}
	return u, warnings, nil
}

type uslParams struct{ lambda, sigma, kappa, sse float64 }

// uslLambda returns the least-squares λ for fixed σ and κ, and the sum of
// squared errors it leaves.
func uslLambda(n, x []float64, sigma, kappa float64) (lambda, sse float64) {
	var sxg, sgg float64
	for i := range n {
		g := n[i] / (1 + sigma*(n[i]-1) + kappa*n[i]*(n[i]-1))
		sxg += x[i] * g
		sgg += g * g
	}
	if sgg == 0 {
		return 0, math.Inf(1)
	}
	lambda = max(sxg/sgg, 0)
	return lambda, uslSSE(n, x, lambda, sigma, kappa)
}

func uslSSE(n, x []float64, lambda, sigma, kappa float64) float64 {
	s := 0.0
	for i := range n {
		r := x[i] - lambda*n[i]/(1+sigma*(n[i]-1)+kappa*n[i]*(n[i]-1))
		s += r * r
	}
	return s
}

// uslPolish runs a bounded Levenberg–Marquardt from p0; fixKappa keeps κ
// where it is.
func uslPolish(n, x []float64, p0 uslParams, fixKappa bool) uslParams {
	p := p0
	mu := 1e-3
	clamp := func(q *uslParams) {
		q.lambda = max(q.lambda, 0)
		q.sigma = min(max(q.sigma, 0), 1)
		q.kappa = max(q.kappa, 0)
	}
	for iter := 0; iter < 500; iter++ {
		// Normal equations JᵀJ δ = Jᵀr for the residuals r = x − X(N).
		var jtj [3][3]float64
		var jtr [3]float64
		for i := range n {
			N := n[i]
			d := 1 + p.sigma*(N-1) + p.kappa*N*(N-1)
			g := N / d
			r := x[i] - p.lambda*g
			j := [3]float64{g, -p.lambda * N * (N - 1) / (d * d), -p.lambda * N * N * (N - 1) / (d * d)}
			if fixKappa {
				j[2] = 0
			}
			for a := range 3 {
				jtr[a] += j[a] * r
				for b := range 3 {
					jtj[a][b] += j[a] * j[b]
				}
			}
		}
		improved := false
		for try := 0; try < 30; try++ {
			var m [3][3]float64
			for a := range 3 {
				m[a] = jtj[a]
				m[a][a] += mu * max(jtj[a][a], 1e-300)
				if a == 2 && fixKappa {
					m[a][a] = 1 // with a zero column: δκ = 0
				}
			}
			delta, ok := solve3(m, jtr)
			if !ok {
				mu *= 10
				continue
			}
			q := uslParams{lambda: p.lambda + delta[0], sigma: p.sigma + delta[1], kappa: p.kappa + delta[2]}
			clamp(&q)
			q.sse = uslSSE(n, x, q.lambda, q.sigma, q.kappa)
			if q.sse < p.sse {
				rel := (p.sse - q.sse) / max(p.sse, 1e-300)
				p = q
				mu = max(mu/10, 1e-12)
				improved = true
				if rel < 1e-15 {
					return p
				}
				break
			}
			mu *= 10
		}
		if !improved {
			return p
		}
	}
	return p
}

// solve3 solves a 3×3 system by Gaussian elimination with partial pivoting.
func solve3(m [3][3]float64, b [3]float64) ([3]float64, bool) {
	for c := range 3 {
		piv := c
		for r := c + 1; r < 3; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[piv][c]) {
				piv = r
			}
		}
		if m[piv][c] == 0 || !Finite(m[piv][c]) {
			return [3]float64{}, false
		}
		m[c], m[piv] = m[piv], m[c]
		b[c], b[piv] = b[piv], b[c]
		for r := c + 1; r < 3; r++ {
			f := m[r][c] / m[c][c]
			for k := c; k < 3; k++ {
				m[r][k] -= f * m[c][k]
			}
			b[r] -= f * b[c]
		}
	}
	var out [3]float64
	for r := 2; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < 3; k++ {
			s -= m[r][k] * out[k]
		}
		out[r] = s / m[r][r]
		if !Finite(out[r]) {
			return out, false
		}
	}
	return out, true
}

// uslR2 is 1 − SSres/SStot of the predictions pred(i) for ys, 0 when ys
// do not vary.
func uslR2(ys []float64, pred func(i int) float64) float64 {
	if len(ys) == 0 {
		return 0
	}
	mean := 0.0
	for _, y := range ys {
		mean += y
	}
	mean /= float64(len(ys))
	var res, tot float64
	for i, y := range ys {
		r := y - pred(i)
		res += r * r
		tot += (y - mean) * (y - mean)
	}
	if tot == 0 {
		return 0
	}
	return 1 - res/tot
}

func uslAllZero(xs []float64) bool {
	for _, x := range xs {
		if x != 0 {
			return false
		}
	}
	return true
}
