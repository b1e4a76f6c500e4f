package suite

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// The network variant of the stress phase (tests.stress.variant:
// network) holds the load fixed (tests.stress.users or rate) and steps
// one network condition through the values tests.stress.network lists,
// in the order written, each step's load running through the shaping
// proxy (package netcond) under the plan's load.network with the stepped
// condition set. Each step is judged on its held windows like any stress
// step — the error-rate and latency SLOs, the generator — except
// throughput: under added latency a closed model's throughput falls by
// design, which is not the target breaking. The phase ends at the first
// step that breaks; there is nothing to bisect between two conditions a
// plan chose. The outcome (analyze.NetworkOutcome) says where the SLO
// broke in the condition's terms and which steps the condition slows
// most; the network_sensitivity rule turns that into findings. Recovery,
// when it follows, returns to the first step's conditions.

// networkLoad is the load of the network variant's step whose
// condition has value v: the fixed load, under the conditions of the
// first step with that value.
func (pr *protocol) networkLoad(l plan.LoadSpec, v float64) plan.LoadSpec {
	s := pr.tests.Stress
	_, _, values := s.Network.Condition()
	i := max(0, slices.Index(values, v))
	l.Network = s.Network.At(pr.p.Load.Network, i)
	return l
}

func (pr *protocol) runNetworkStress(ctx context.Context) error {
	s := pr.tests.Stress
	condition, unit, values := s.Network.Condition()
	st := &stressState{unit: unit, warm: wholeSeconds(s.Warmup.D()), hold: max(1, wholeSeconds(s.Hold.D()))}
	pr.stress = st
	limits := pr.stressLimits()
	limits.Efficiency = 0
	var first *result.StressPoint
	var steps []analyze.NetworkStep
	var err error
	for i, v := range values {
		hold := st.hold
		if i == 0 && pr.recoveryPlanned() {
			hold = max(hold, pr.refWindows())
		}
		l, _, _ := pr.stressLoad(v, time.Duration((st.warm+hold)*float64(time.Second)))
		cond := l.Network.String()
		var run *result.Run
		run, err = pr.load(ctx, l, fmt.Sprintf("step %d: %s", i+1, cond), nil, nil, nil)
		if run == nil {
			break
		}
		st.steps = append(st.steps, run)
		st.lastEnded = run.EndedAt
		var pt result.StressPoint
		var held result.Summary
		var limit, why string
		if pt, held, limit, why, err = pr.judgeStep(ctx, limits, l, run, v, st.warm, hold, first, nil); err != nil {
			break
		}
		pt.OK, pt.Limit = limit == "", limit
		st.curve = append(st.curve, pt)
		st.curveRun = append(st.curveRun, len(st.steps)-1)
		if first == nil {
			first = &st.curve[0]
		}
		if pt.OK && st.refRun == nil {
			st.refLevel, st.refRun, st.refHold = v, run, hold
		}
		steps = append(steps, analyze.NetworkStep{Value: v, Conditions: cond, Held: held, Run: run, Limit: limit, Why: why})
		if !pt.OK {
			st.whyAt(v, why)
			break
		}
	}
	st.rampEnded = true
	if len(st.steps) == 0 {
		return err
	}
	curve := slices.Clone(st.curve)
	ph := result.Phase{Name: "stress", Kind: "stress"}
	pr.record(ph, st.steps, func(rec *phaseRec) {
		ns := analyze.NetworkOutcome(condition, unit, steps, limits)
		out := &result.Stress{Variant: plan.VariantNetwork, Unit: unit, Limit: analyze.LimitNone, RecoveryS: -1,
			Curve: curve, LastGood: ns.LastHeld, BreakingPoint: ns.BrokeAt, Network: ns}
		for _, s := range ns.Steps {
			if s.OK {
				out.MaxThroughputRPS = max(out.MaxThroughputRPS, s.RPS)
			} else {
				out.Limit, out.Why = s.Limit, s.Why
				break
			}
		}
		rec.ph.Pass = len(curve) > 0 && out.Limit != analyze.LimitGenerator
		rec.ph.Inconclusive = out.Limit == analyze.LimitGenerator
		rec.ph.Note = ns.Summary
		pr.mu.Lock()
		if pr.stressR != nil { // recovery got there first
			out.RecoveryS, out.Recovered, out.RecoveryLoad = pr.stressR.RecoveryS, pr.stressR.Recovered, pr.stressR.RecoveryLoad
		}
		pr.stressR = out
		pr.mu.Unlock()
	})
	return err
}
