package analyze

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/stampede-perf/stampede/result"
)

// Scalability judges throughput measured at several configurations of N
// units (instances, cores, replicas):
//
//   - efficiency against linear scaling, X(N) / (N·X(1)). X(1) is the
//     throughput of the one-unit configuration; without one, the
//     smallest configuration's throughput per unit, X(Nmin)/Nmin, stands
//     in for it, so efficiency is relative to that configuration.
//   - linearity: R² of the least-squares line through the origin,
//     X = b·N (b = ΣNX/ΣN²), computed against the mean of X
//     (1 − Σ(X − bN)² / Σ(X − X̄)²). Through the origin because linear
//     scaling means proportional: twice the units, twice the throughput.
//     1 is perfectly proportional; it falls as the curve bends, and is
//     negative when a flat line through the mean would fit better.
//   - the Universal Scalability Law fit (FitUSL) with its peak N*.
//   - drops: every step from one configuration to the next (in order of
//     N) where efficiency fell by more than 20% of its previous value.

// ScaleDropShare is the relative efficiency fall that marks a drop.
const ScaleDropShare = 0.20

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
	var snx, snn float64
	for i, c := range cs {
		ns[i], xs[i] = c.N, c.RPS
		snx += c.N * c.RPS
		snn += c.N * c.N
	}
	if len(cs) >= 2 && snn > 0 {
		b := snx / snn
		out.LinearityR2 = uslR2(xs, func(i int) float64 { return b * ns[i] })
	} else {
		out.Warnings = append(out.Warnings, "linearity needs two or more configurations")
	}
	fit, warns, err := FitUSL(ns, xs)
	for _, w := range warns {
		out.Warnings = append(out.Warnings, w.Error())
	}
	if err != nil {
		out.Warnings = append(out.Warnings, "no USL fit: "+err.Error())
	} else {
		out.USL = fit
		if math.IsNaN(fit.R2) {
			fit.R2 = 0
		}
	}
	return out
}
