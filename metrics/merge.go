package metrics

import (
	"errors"
	"fmt"
	"math"
	"sort"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/stampede-perf/stampede/result"
)

// Merge combines Runs of one test measured in parts (execution segments,
// several machines) into one Run. Counts add; every percentile is read
// again from the merged histograms, so the result is exactly what one
// process measuring everything would have reported. Windows are aligned
// by their offset from each part's start. Thresholds are not evaluated
// here (the caller re-evaluates them on the merged Run).
func Merge(runs []*result.Run) (*result.Run, error) {
	if len(runs) == 0 {
		return nil, errors.New("nothing to merge")
	}
	out := &result.Run{Version: result.Version, Kind: runs[0].Kind, Plan: runs[0].Plan, PlanHash: runs[0].PlanHash,
		Target: runs[0].Target, Model: runs[0].Model, StartedAt: runs[0].StartedAt, EndedAt: runs[0].EndedAt}
	segs := map[string]bool{}
	var all, svc, lag []string
	type stepKey struct{ scen, step string }
	steps := map[stepKey]*result.StepResult{}
	stepPhases := map[stepKey]*result.Timing{} // request-weighted sums
	stepHists := map[stepKey][]string{}
	var stepOrder []stepKey
	scens := map[string]*result.ScenarioResult{}
	scenHists := map[string][]string{}
	var scenOrder []string
	errs := map[[4]any]*result.ErrorCount{}
	windows := map[float64]*result.Window{}
	winHists := map[float64][]string{}
	winStepHists := map[float64]map[stepKey][]string{}
	winStepErrs := map[float64]map[stepKey]int64{}
	var cpu, phaseW float64
	var phases result.Timing
	for i, r := range runs {
		if r.Plan != out.Plan || r.Model != out.Model {
			return nil, fmt.Errorf("run %d is of plan %q (%s model), run 1 of plan %q (%s model): only parts of one test merge", i+1, r.Plan, r.Model, out.Plan, out.Model)
		}
		if r.Segment != "" {
			if segs[r.Segment] {
				return nil, fmt.Errorf("segment %s appears twice: each part must be merged once", r.Segment)
			}
			segs[r.Segment] = true
		}
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
		s := r.Summary
		o := &out.Summary
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
		phaseW += float64(s.Requests)
		all, svc, lag = append(all, s.Hist), append(svc, s.ServiceH), append(lag, s.StartLagH)
		for _, st := range r.Steps {
			k := stepKey{st.Scenario, st.Step}
			m := steps[k]
			if m == nil {
				m = &result.StepResult{Scenario: st.Scenario, Step: st.Step, Kind: st.Kind}
				steps[k] = m
				stepOrder = append(stepOrder, k)
			}
			m.Requests += st.Requests
			m.Errors += st.Errors
			m.Rows += st.Rows
			m.BytesIn += st.BytesIn
			m.BytesOut += st.BytesOut
			m.Errs = addErrors(m.Errs, st.Errs)
			stepHists[k] = append(stepHists[k], st.Hist)
			ph := stepPhases[k]
			if ph == nil {
				ph = &result.Timing{}
				stepPhases[k] = ph
			}
			addTiming(ph, st.Phases, float64(st.Requests))
		}
		for _, sc := range r.Scenarios {
			m := scens[sc.Name]
			if m == nil {
				m = &result.ScenarioResult{Name: sc.Name, Weight: sc.Weight}
				scens[sc.Name] = m
				scenOrder = append(scenOrder, sc.Name)
			}
			m.Iterations += sc.Iterations
			m.Failed += sc.Failed
			scenHists[sc.Name] = append(scenHists[sc.Name], sc.Hist)
		}
		for _, e := range r.Errors {
			k := [4]any{e.Scenario, e.Step, e.Kind, e.Status}
			if m := errs[k]; m != nil {
				m.Count += e.Count
			} else {
				c := e
				errs[k] = &c
			}
		}
		for _, wn := range r.Series {
			m := windows[wn.TS]
			if m == nil {
				m = &result.Window{TS: wn.TS, Phase: wn.Phase}
				windows[wn.TS] = m
				winStepHists[wn.TS] = map[stepKey][]string{}
				winStepErrs[wn.TS] = map[stepKey]int64{}
			}
			m.Requests += wn.Requests
			m.Errors += wn.Errors
			m.VUs += wn.VUs
			m.RPS += wn.RPS
			for k, v := range wn.ErrKinds {
				if m.ErrKinds == nil {
					m.ErrKinds = map[string]int64{}
				}
				m.ErrKinds[k] += v
			}
			winHists[wn.TS] = append(winHists[wn.TS], wn.Hist)
			for _, sw := range wn.Steps {
				if sw.Index < len(r.Steps) {
					st := r.Steps[sw.Index]
					k := stepKey{st.Scenario, st.Step}
					winStepHists[wn.TS][k] = append(winStepHists[wn.TS][k], sw.Hist)
					winStepErrs[wn.TS][k] += sw.Errors
				}
			}
		}
		cpu += r.Generator.CPUSeconds
		out.Generator.Saturated = out.Generator.Saturated || r.Generator.Saturated
		if r.Generator.Reason != "" {
			out.Generator.Reason = r.Generator.Reason
		}
		out.Generator.MaxRSSMB = math.Max(out.Generator.MaxRSSMB, r.Generator.MaxRSSMB)
		out.Warnings = append(out.Warnings, r.Warnings...)
	}
	var err error
	o := &out.Summary
	hAll, e1 := MergeEncoded(all...)
	hSvc, e2 := MergeEncoded(svc...)
	hLag, e3 := MergeEncoded(lag...)
	if err = errors.Join(e1, e2, e3); err != nil {
		return nil, err
	}
	o.Latency, o.Service, o.StartLag = Percentiles(hAll), Percentiles(hSvc), Percentiles(hLag)
	o.Hist, o.ServiceH, o.StartLagH = Encode(hAll), Encode(hSvc), Encode(hLag)
	if o.DurationS > 0 {
		o.RPS = float64(o.Requests) / o.DurationS
	}
	if o.Requests > 0 {
		o.ErrorRate = float64(o.Errors) / float64(o.Requests)
	}
	o.Phases = meanTiming(phases, phaseW)
	out.Generator.CPUSeconds = cpu
	out.Generator.StartLagP99 = o.StartLag.P99
	index := map[stepKey]int{}
	for i, k := range stepOrder {
		index[k] = i
		m := steps[k]
		h, err := MergeEncoded(stepHists[k]...)
		if err != nil {
			return nil, err
		}
		m.Latency, m.Hist = Percentiles(h), Encode(h)
		m.Phases = meanTiming(*stepPhases[k], float64(m.Requests))
		if o.DurationS > 0 {
			m.RPS = float64(m.Requests) / o.DurationS
		}
		out.Steps = append(out.Steps, *m)
	}
	for _, name := range scenOrder {
		m := scens[name]
		h, err := MergeEncoded(scenHists[name]...)
		if err != nil {
			return nil, err
		}
		m.Latency, m.Hist = Percentiles(h), Encode(h)
		out.Scenarios = append(out.Scenarios, *m)
	}
	for _, e := range errs {
		out.Errors = append(out.Errors, *e)
	}
	sortErrors(out.Errors)
	ts := make([]float64, 0, len(windows))
	for t := range windows {
		ts = append(ts, t)
	}
	sort.Float64s(ts)
	for _, t := range ts {
		w := windows[t]
		h, err := MergeEncoded(winHists[t]...)
		if err != nil {
			return nil, err
		}
		fillWindow(w, h)
		keys := make([]stepKey, 0, len(winStepHists[t]))
		for k := range winStepHists[t] {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return index[keys[i]] < index[keys[j]] })
		for _, k := range keys {
			sh, err := MergeEncoded(winStepHists[t][k]...)
			if err != nil {
				return nil, err
			}
			sw := result.StepWindow{Index: index[k], Requests: sh.TotalCount(), Errors: winStepErrs[t][k], Hist: Encode(sh)}
			q := sh.ValueAtPercentiles([]float64{50, 95, 99})
			sw.P50, sw.P95, sw.P99 = ms(q[50]), ms(q[95]), ms(q[99])
			w.Steps = append(w.Steps, sw)
		}
		out.Series = append(out.Series, *w)
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

func fillWindow(w *result.Window, h *hdr.Histogram) {
	w.Hist = Encode(h)
	if h.TotalCount() == 0 {
		w.P50, w.P95, w.P99, w.Max = 0, 0, 0, 0
		return
	}
	q := h.ValueAtPercentiles([]float64{50, 95, 99})
	w.P50, w.P95, w.P99, w.Max = ms(q[50]), ms(q[95]), ms(q[99]), ms(h.Max())
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
