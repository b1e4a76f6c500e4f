package analyze

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/stats"
)

// Scalability judges throughput measured at several configurations of N
// units (instances, cores, replicas):
//
//   - efficiency against linear scaling, X(N) / (N·X(1)). X(1) is the
//     throughput of the one-unit configuration; without one, the
//     smallest configuration's throughput per unit, X(Nmin)/Nmin, stands
//     in for it, so efficiency is relative to that configuration.
//   - linearity: r, the Pearson correlation between N and throughput,
//     and r² (between 0 and 1): how much of the variation of throughput
//     a straight line in N explains. The curve is linear when r² passes
//     LinearMinR2 and throughput rises with N (r > 0). Linearity says
//     nothing of proportion — a line that gains little per unit is as
//     straight as one that doubles — efficiency says that.
//   - the Universal Scalability Law fit (stats.FitUSL) with its peak N*.
//   - drops: every step from one configuration to the next (in order of
//     N) where efficiency fell by more than 20% of its previous value.

// ScaleDropShare is the relative efficiency fall that marks a drop;
// LinearMinR2 the r² above which throughput is linear in N.
const (
	ScaleDropShare = 0.20
	LinearMinR2    = 0.8
)

// pearson is the Pearson correlation of xs and ys, Σ(x−x̄)(y−ȳ) /
// √(Σ(x−x̄)² Σ(y−ȳ)²); ok is false when either does not vary.
func pearson(xs, ys []float64) (r float64, ok bool) {
	n := float64(len(xs))
	if len(xs) < 2 || len(xs) != len(ys) {
		return 0, false
	}
	var mx, my float64
	for i := range xs {
		mx += xs[i]
		my += ys[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range xs {
		dx, dy := xs[i]-mx, ys[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return 0, false
	}
	return clamp(sxy/math.Sqrt(sxx*syy), -1, 1), true
}

// Scalability analyses configs (any order; they are sorted by N). Warnings
// explain a weak or missing fit.
func Scalability(configs []result.ScaleConfig) *result.Scalability {
	cs := slices.Clone(configs)
	slices.SortStableFunc(cs, func(a, b result.ScaleConfig) int { return cmp.Compare(a.N, b.N) })
	out := &result.Scalability{Configs: cs, Drops: []result.ScaleDrop{}}
	if len(cs) == 0 {
		out.Warnings = append(out.Warnings, "no configuration was measured")
		return out
	}
	perUnit := cs[0].RPS / cs[0].N
	for _, c := range cs {
		if c.N == 1 {
			perUnit = c.RPS
			break
		}
	}
	if cs[0].N != 1 {
		out.Warnings = append(out.Warnings, fmt.Sprintf("no one-unit configuration: efficiency is relative to N=%g's throughput per unit", cs[0].N))
	}
	out.Efficiency = make([]float64, len(cs))
	for i, c := range cs {
		if perUnit > 0 && c.N > 0 {
			out.Efficiency[i] = c.RPS / (c.N * perUnit)
		}
	}
	for i := 1; i < len(cs); i++ {
		prev, cur := out.Efficiency[i-1], out.Efficiency[i]
		if prev > 0 && (prev-cur)/prev > ScaleDropShare {
			out.Drops = append(out.Drops, result.ScaleDrop{From: cs[i-1].N, To: cs[i].N, DropPct: 100 * (prev - cur) / prev})
		}
	}
	ns, xs := make([]float64, len(cs)), make([]float64, len(cs))
	for i, c := range cs {
		ns[i], xs[i] = c.N, c.RPS
	}
	switch r, ok := pearson(ns, xs); {
	case len(cs) < 3:
		out.Warnings = append(out.Warnings, "linearity needs three or more configurations (any two lie on a line)")
	case !ok:
		out.Warnings = append(out.Warnings, "no linearity: N or throughput is the same at every configuration")
	default:
		out.LinearityR, out.LinearityR2 = r, r*r
		out.Linear = r > 0 && r*r > LinearMinR2
	}
	fit, warns, err := stats.FitUSL(ns, xs)
	for _, w := range warns {
		out.Warnings = append(out.Warnings, w.Error())
	}
	if err != nil {
		out.Warnings = append(out.Warnings, "no USL fit: "+err.Error())
	} else {
		u := result.USL(*fit)
		if math.IsNaN(u.R2) {
			u.R2 = 0
		}
		out.USL = &u
	}
	return out
}
