package suite

import (
	"context"
	"fmt"
	"slices"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// MaxErrorRate is the error rate every load test of the protocol must stay
// below, besides the plan's own SLOs.
const MaxErrorRate = 0.01

// spec turns a phase of the protocol into a load block: users (closed
// model) or rate (open), ramped over RampUp, held for Duration.
func spec(s plan.PhaseSpec) plan.LoadSpec {
	l := plan.LoadSpec{Duration: s.Duration, RampUp: s.RampUp, Network: s.Network}
	if s.Rate > 0 {
		l.Model, l.Rate = "open", s.Rate
	} else {
		l.Model, l.VUs = "closed", s.Users
	}
	return l
}

// steady runs one steady phase (warm-up, a load test, a baseline level):
// one load, judged by the plan's thresholds and MaxErrorRate unless it is
// the warm-up (judged = false), whose purpose is to be slow.
func (pr *protocol) steady(ctx context.Context, name, kind string, s plan.PhaseSpec, judged bool) error {
	_, err := pr.steadyRun(ctx, name, kind, s, judged, nil)
	return err
}

func (pr *protocol) steadyRun(ctx context.Context, name, kind string, s plan.PhaseSpec, judged bool, finish func(rec *phaseRec)) (*result.Run, error) {
	run, err := pr.load(ctx, spec(s), "", nil, nil, nil)
	if run == nil {
		return nil, err
	}
	ph := result.Phase{Name: name, Kind: kind, Users: s.Users, Rate: s.Rate, Thresholds: run.Thresholds}
	pr.record(ph, []*result.Run{run}, func(rec *phaseRec) {
		judge(&rec.ph, run, judged)
		if finish != nil {
			finish(rec)
		}
	})
	return run, err
}

// judge sets a steady phase's pass and note from its one load.
func judge(ph *result.Phase, run *result.Run, judged bool) {
	switch {
	case run.Aborted:
		ph.Pass, ph.Note = false, "aborted: "+run.AbortReason
	case !judged:
		ph.Pass, ph.Note = true, "not judged: it warms the target up"
	default:
		ph.Pass = true
		if f := analyze.Failed(run.Thresholds, false); len(f) > 0 {
			ph.Pass = false
			ph.Note = joinNote(ph.Note, fmt.Sprintf("%d SLO(s) failed", len(f)))
		}
		if run.Summary.ErrorRate >= MaxErrorRate {
			ph.Pass = false
			ph.Note = joinNote(ph.Note, fmt.Sprintf("error rate %.2f%% ≥ %.0f%%", 100*run.Summary.ErrorRate, 100*MaxErrorRate))
		}
		if run.Summary.Requests == 0 {
			ph.Pass = false
			ph.Note = joinNote(ph.Note, "no request completed")
		}
	}
	if analyze.GeneratorSaturated(run) {
		ph.Note = joinNote(ph.Note, "generator saturated: "+run.Generator.Reason)
		if judged && !run.Aborted && !analyze.ErrorsFailed(run.Summary.ErrorRate, run.Thresholds, MaxErrorRate) {
			// What the phase measured is the generator's lateness as much
			// as the target: neither a pass nor a fail. Errors are the
			// target's own, so a phase they fail stays failed.
			ph.Pass, ph.Inconclusive = false, true
		}
	}
}

// baseline runs one level of the baseline; the top level is the baseline
// the stress ramp starts from and the one handed to OnBaseline.
func (pr *protocol) baseline(ctx context.Context, name string, s plan.PhaseSpec, top bool) error {
	run, err := pr.steadyRun(ctx, name, "baseline", s, true, func(rec *phaseRec) {
		if !top || pr.o.OnBaseline == nil || rec.loads[0].Aborted {
			return
		}
		b := *rec.loads[0]
		b.Warnings = slices.Clone(b.Warnings)      // the load's own stay as they are
		b.SetConclusion(analyze.Judge(&b, pr.cfg)) // the baseline is a Run of its own in the history
		b.Phases = []result.Phase{{Name: rec.ph.Name, Kind: rec.ph.Kind, StartS: 0, Summary: b.Summary,
			Thresholds: b.Thresholds, Pass: rec.ph.Pass, Note: rec.ph.Note, Users: rec.ph.Users}}
		if err := pr.o.OnBaseline(context.WithoutCancel(ctx), &b); err != nil {
			pr.warn("baseline not recorded: " + err.Error())
		}
	})
	if top && run != nil && !run.Aborted {
		pr.baseTop = run
	}
	return err
}

// runSoak holds the soak's load and tests its steady part for trends.
func (pr *protocol) runSoak(ctx context.Context, s plan.PhaseSpec) error {
	_, err := pr.steadyRun(ctx, "soak", "soak", s, true, func(rec *phaseRec) {
		run := rec.loads[0]
		from := rec.ph.StartS + s.RampUp.D().Seconds()
		to := rec.ph.StartS + (s.RampUp + s.Duration).D().Seconds()
		series := shiftSeries(run.Series, rec.ph.StartS)
		sys := rec.ph.System
		soak := analyze.Soak(series, sys, from, to, analyze.SoakRule{})
		if soak.Trend == analyze.TrendDegrading {
			rec.ph.Pass = false
			rec.ph.Note = joinNote(rec.ph.Note, fmt.Sprintf("%s degrading at %+.3g %s per hour", soak.Metric, soak.SlopePerHour, unitOf(soak)))
		}
		pr.mu.Lock()
		pr.soak = soak
		pr.mu.Unlock()
	})
	return err
}

func unitOf(s *result.Soak) string {
	for _, d := range s.Details {
		if d.Metric == s.Metric {
			return d.Unit
		}
	}
	return ""
}

// shiftSeries moves windows onto the protocol's clock (copies).
func shiftSeries(ws []result.Window, off float64) []result.Window {
	out := make([]result.Window, len(ws))
	for i, w := range ws {
		w.TS = round3(w.TS + off)
		out[i] = w
	}
	return out
}
