package metrics

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/stampede-perf/stampede/result"
)

// Merge combines Runs of one test measured in parts (execution segments,
// several machines) into one Run. Counts add; every percentile is read
// again from the merged histograms, so the result is exactly what one
// process measuring everything would have reported. Windows are aligned
// by their offset from each part's start. Thresholds are not evaluated
// here (the caller re-evaluates them on the merged Run).
func Merge(runs []*result.Run) (*result.Run, error) {
	if err := checkMergeable(runs); err != nil {
		return nil, err
	}
	out, err := merge(runs)
	if err != nil {
		return nil, err
	}
	out.Generator = mergeGenerator(runs)
	out.Generator.StartLagP99 = out.Summary.StartLag.P99
	if out.Loads, err = mergeLoads(runs); err != nil {
		return nil, err
	}
	mergeLoadWindows(out, runs)
	return out, errors.Join(FoldLoads(out), FoldLoadWindows(out, out.Series))
}

// merge is what both merges share: the header, the summary, steps,
// scenarios, errors and series.
func merge(runs []*result.Run) (*result.Run, error) {
	out := mergeHeader(runs)
	sum, err := mergeSummary(runs)
	if err != nil {
		return nil, err
	}
	out.Summary = sum
	steps, index, err := mergeSteps(runs, sum.DurationS)
	if err != nil {
		return nil, err
	}
	out.Steps = steps
	if out.Scenarios, err = mergeScenarios(runs); err != nil {
		return nil, err
	}
	out.Errors = mergeErrors(runs)
	if out.Series, err = mergeSeries(runs, index); err != nil {
		return nil, err
	}
	return out, nil
}

// checkMergeable refuses runs that are not parts of one test.
func checkMergeable(runs []*result.Run) error {
	if len(runs) == 0 {
		return errors.New("nothing to merge")
	}
	first := runs[0]
	segs := map[string]bool{}
	for i, r := range runs {
		if r.Plan != first.Plan || r.Model != first.Model {
			return fmt.Errorf("run %d is of plan %q (%s model), run 1 of plan %q (%s model): only parts of one test merge", i+1, r.Plan, r.Model, first.Plan, first.Model)
		}
		if r.Segment != "" {
			if segs[r.Segment] {
				return fmt.Errorf("segment %s appears twice: each part must be merged once", r.Segment)
			}
			segs[r.Segment] = true
		}
	}
	return nil
}

// mergeHeader is the merged Run's identity: the first part's, spanning
// from the earliest start to the latest end, aborted if any part was, with
// every part's warnings.
func mergeHeader(runs []*result.Run) *result.Run {
	f := runs[0]
	out := &result.Run{Version: result.Version, Kind: f.Kind, Plan: f.Plan, PlanHash: f.PlanHash,
		Target: f.Target, Model: f.Model, StartedAt: f.StartedAt, EndedAt: f.EndedAt}
	for _, r := range runs {
		if r.StartedAt.Before(out.StartedAt) {
			out.StartedAt = r.StartedAt
		}
		if r.EndedAt.After(out.EndedAt) {
			out.EndedAt = r.EndedAt
		}
		out.Aborted = out.Aborted || r.Aborted
		if r.AbortReason != "" && out.AbortReason == "" {
			out.AbortReason = r.AbortReason
		}
		out.Warnings = append(out.Warnings, r.Warnings...)
	}
	return out
}

// mergeSummary adds the parts' summaries: they ran side by side, so
// counts, rates asked and VUs add, the duration is the longest part's, and
// the timings are request-weighted means.
func mergeSummary(runs []*result.Run) (result.Summary, error) {
	var (
		o             result.Summary
		all, svc, lag []string
		phases        result.Timing
		e1, e2, e3    error
	)
	for _, r := range runs {
		s := r.Summary
		o.Requests += s.Requests
		o.Errors += s.Errors
		o.Iterations += s.Iterations
		o.Dropped += s.Dropped
		o.Interrupted += s.Interrupted
		o.TargetRPS += s.TargetRPS
		o.BytesIn += s.BytesIn
		o.BytesOut += s.BytesOut
		o.MaxVUs += s.MaxVUs
		o.DurationS = math.Max(o.DurationS, s.DurationS)
		addTiming(&phases, s.Phases, float64(s.Requests))
		all, svc, lag = append(all, s.Hist), append(svc, s.ServiceH), append(lag, s.StartLagH)
	}
	o.Latency, o.Hist, e1 = Combine(all...)
	o.Service, o.ServiceH, e2 = Combine(svc...)
	o.StartLag, o.StartLagH, e3 = Combine(lag...)
	if err := errors.Join(e1, e2, e3); err != nil {
		return o, err
	}
	if o.DurationS > 0 {
		o.RPS = float64(o.Requests) / o.DurationS
	}
	if o.Requests > 0 {
		o.ErrorRate = float64(o.Errors) / float64(o.Requests)
	}
	o.Phases = meanTiming(phases, float64(o.Requests))
	return o, nil
}

// mergeGenerator adds what the parts' generators saw of themselves.
func mergeGenerator(runs []*result.Run) result.Generator {
	var g result.Generator
	for _, r := range runs {
		g.CPUSeconds += r.Generator.CPUSeconds
		g.Saturated = g.Saturated || r.Generator.Saturated
		if r.Generator.Reason != "" {
			g.Reason = r.Generator.Reason
		}
		g.MaxRSSMB = math.Max(g.MaxRSSMB, r.Generator.MaxRSSMB)
	}
	return g
}

// stepKey names a step across parts, whose step indices may differ.
type stepKey struct{ scen, step string }

// mergeSteps adds each step's counts over the parts, in the order the
// steps first appear, and returns the merged index of every step.
func mergeSteps(runs []*result.Run, durationS float64) ([]result.StepResult, map[stepKey]int, error) {
	var (
		out    []result.StepResult
		index  = map[stepKey]int{}
		hists  [][]string
		phases []result.Timing // request-weighted sums
		hops   [][][]result.HopResult
	)
	for _, r := range runs {
		for _, st := range r.Steps {
			k := stepKey{st.Scenario, st.Step}
			i, ok := index[k]
			if !ok {
				i = len(out)
				index[k] = i
				out = append(out, result.StepResult{Scenario: st.Scenario, Step: st.Step, Kind: st.Kind})
				hists = append(hists, nil)
				phases = append(phases, result.Timing{})
				hops = append(hops, nil)
			}
			m := &out[i]
			m.Requests += st.Requests
			m.Errors += st.Errors
			m.Rows += st.Rows
			m.MessagesOut += st.MessagesOut
			m.MessagesIn += st.MessagesIn
			m.BytesIn += st.BytesIn
			m.BytesOut += st.BytesOut
			m.Redirects += st.Redirects
			m.RedirectMS += st.RedirectMS * float64(st.Redirects) // a sum until the loop below
			m.Errs = addErrors(m.Errs, st.Errs)
			hists[i] = append(hists[i], st.Hist)
			if len(st.Hops) > 0 {
				hops[i] = append(hops[i], st.Hops)
			}
			addTiming(&phases[i], st.Phases, float64(st.Requests))
		}
	}
	for i := range out {
		m := &out[i]
		var err error
		if m.Latency, m.Hist, err = Combine(hists[i]...); err != nil {
			return nil, nil, err
		}
		m.Phases = meanTiming(phases[i], float64(m.Requests))
		if m.Redirects > 0 {
			m.RedirectMS /= float64(m.Redirects)
		}
		if m.Hops, err = mergeHops(hops[i], durationS); err != nil {
			return nil, nil, err
		}
		if durationS > 0 {
			m.RPS = float64(m.Requests) / durationS
		}
	}
	return out, index, nil
}

// mergeScenarios adds each scenario's iterations over the parts, in the
// order the scenarios first appear.
func mergeScenarios(runs []*result.Run) ([]result.ScenarioResult, error) {
	var (
		out   []result.ScenarioResult
		index = map[string]int{}
		hists [][]string
	)
	for _, r := range runs {
		for _, sc := range r.Scenarios {
			i, ok := index[sc.Name]
			if !ok {
				i = len(out)
				index[sc.Name] = i
				out = append(out, result.ScenarioResult{Name: sc.Name, Weight: sc.Weight})
				hists = append(hists, nil)
			}
			out[i].Iterations += sc.Iterations
			out[i].Failed += sc.Failed
			hists[i] = append(hists[i], sc.Hist)
		}
	}
	for i := range out {
		var err error
		if out[i].Latency, out[i].Hist, err = Combine(hists[i]...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// mergeErrors adds the parts' error groups (scenario, step, kind, status),
// keeping the first part's example of each.
func mergeErrors(runs []*result.Run) []result.ErrorCount {
	type key struct {
		scen, step, kind string
		status           int
	}
	groups := map[key]*result.ErrorCount{}
	var out []result.ErrorCount
	for _, r := range runs {
		for _, e := range r.Errors {
			k := key{e.Scenario, e.Step, e.Kind, e.Status}
			if m := groups[k]; m != nil {
				m.Count += e.Count
			} else {
				c := e
				groups[k] = &c
			}
		}
	}
	for _, e := range groups {
		out = append(out, *e)
	}
	sortErrors(out)
	return out
}

// mergeSeries merges the parts' windows that start at the same offset
// into one window each: the parts ran side by side, so VUs and RPS add
// too; everything else is Summarize's fold. Step windows are renumbered
// to the merged steps (index); one naming a step its part does not have
// is left out.
func mergeSeries(runs []*result.Run, index map[stepKey]int) ([]result.Window, error) {
	at := map[float64][]result.Window{}
	for _, r := range runs {
		for _, w := range r.Series {
			steps := make([]result.StepWindow, 0, len(w.Steps))
			for _, sw := range w.Steps {
				if sw.Index < len(r.Steps) {
					st := r.Steps[sw.Index]
					sw.Index = index[stepKey{st.Scenario, st.Step}]
					steps = append(steps, sw)
				}
			}
			w.Steps = steps
			at[w.TS] = append(at[w.TS], w)
		}
	}
	ts := make([]float64, 0, len(at))
	for t := range at {
		ts = append(ts, t)
	}
	sort.Float64s(ts)
	out := make([]result.Window, 0, len(ts))
	for _, t := range ts {
		w, err := MergeWindows(at[t])
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// MergeWindows merges windows of parts that ran side by side at one
// instant.
func MergeWindows(ws []result.Window) (result.Window, error) {
	sp, err := Summarize(ws)
	if err != nil {
		return result.Window{}, err
	}
	s := sp.Summary
	out := result.Window{TS: ws[0].TS, Phase: ws[0].Phase, Requests: s.Requests, Errors: s.Errors,
		P50: s.Latency.P50, P95: s.Latency.P95, P99: s.Latency.P99, Max: s.Latency.Max, Hist: s.Hist}
	for _, w := range ws {
		out.VUs += w.VUs
		out.RPS += w.RPS
	}
	if len(sp.Errors) > 0 {
		out.ErrKinds = make(map[string]int64, len(sp.Errors))
		for _, e := range sp.Errors {
			out.ErrKinds[e.Kind] = e.Count
		}
	}
	for _, st := range sp.Steps {
		out.Steps = append(out.Steps, result.StepWindow{Index: st.Index, Requests: st.Requests, Errors: st.Errors,
			P50: st.Latency.P50, P95: st.Latency.P95, P99: st.Latency.P99, Hist: st.Hist})
	}
	return out, nil
}

// addTiming adds the mean phases t of n requests to a weighted sum.
func addTiming(sum *result.Timing, t result.Timing, n float64) {
	sum.DNS += t.DNS * n
	sum.Connect += t.Connect * n
	sum.TLS += t.TLS * n
	sum.Send += t.Send * n
	sum.TTFB += t.TTFB * n
	sum.Receive += t.Receive * n
	sum.PoolWait += t.PoolWait * n
}

// meanTiming turns a weighted sum of n requests back into means.
func meanTiming(sum result.Timing, n float64) result.Timing {
	if n <= 0 {
		return result.Timing{}
	}
	return result.Timing{DNS: sum.DNS / n, Connect: sum.Connect / n, TLS: sum.TLS / n, Send: sum.Send / n,
		TTFB: sum.TTFB / n, Receive: sum.Receive / n, PoolWait: sum.PoolWait / n}
}

func addErrors(dst, src []result.ErrorCount) []result.ErrorCount {
outer:
	for _, e := range src {
		for i := range dst {
			if dst[i].Kind == e.Kind && dst[i].Status == e.Status {
				dst[i].Count += e.Count
				continue outer
			}
		}
		dst = append(dst, e)
	}
	sortErrors(dst)
	return dst
}
