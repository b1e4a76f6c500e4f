package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/stampede-perf/stampede/result"
)

// Several loads of one plan run side by side in one process, each with
// its own executor and collector, on one clock (a shared t0) and on
// disjoint scenarios. Their Runs merge exactly: steps and scenarios are
// keyed by name, windows by their offset. What differs from merging the
// segments of one test is what the loads share: they may have different
// models ("mixed"), and the generator is one process, whose CPU and
// memory each load's Run saw whole, so they are not added.
//
// A load's own numbers are a fold of its scenarios' steps (FoldLoads):
// the same function fills them in the process that ran the loads, after
// `stampede merge` of its segments, and from a snapshot during the run,
// so they agree wherever they are read.

// ModelMixed is the Run's model when its loads are of both models.
const ModelMixed = "mixed"

// MergeLoads combines the Runs of loads that ran side by side in one
// process into one Run. Counts add and percentiles are read again from
// the merged histograms; the generator's CPU and memory are the largest
// any load saw, not a sum. The caller sets Run.Loads and calls FoldLoads.
func MergeLoads(runs []*result.Run) (*result.Run, error) {
	if len(runs) == 0 {
		return nil, errors.New("nothing to merge")
	}
	out, err := merge(runs)
	if err != nil {
		return nil, err
	}
	out.Segment = runs[0].Segment
	for _, r := range runs {
		if r.Model != out.Model {
			out.Model = ModelMixed
		}
	}
	// The windows say how many VUs ran at once; a sum of each load's peak
	// would count loads that never overlapped.
	if len(out.Series) > 0 {
		out.Summary.MaxVUs = 0
		for _, w := range out.Series {
			out.Summary.MaxVUs = max(out.Summary.MaxVUs, w.VUs)
		}
	}
	g := &out.Generator
	for _, r := range runs {
		rg := r.Generator
		g.CPUSeconds = math.Max(g.CPUSeconds, rg.CPUSeconds)
		g.CPUPercent = math.Max(g.CPUPercent, rg.CPUPercent)
		g.MaxRSSMB = math.Max(g.MaxRSSMB, rg.MaxRSSMB)
		g.GOMAXPROCS = max(g.GOMAXPROCS, rg.GOMAXPROCS)
		if rg.Saturated && !g.Saturated {
			g.Saturated, g.Reason = true, rg.Reason
		}
	}
	g.StartLagP99 = out.Summary.StartLag.P99
	return out, nil
}

// FoldLoads fills what each of run's loads measured from the steps and
// scenarios it ran: requests, errors, their rates over the load's
// duration, iterations, and the latency of the merge of its steps'
// histograms. What the load's executor reported (its model, start,
// duration, target rate, VUs, dropped and interrupted iterations) is
// kept.
func FoldLoads(run *result.Run) error {
	var errs []error
	for i := range run.Loads {
		l := &run.Loads[i]
		l.Requests, l.Errors, l.Iterations = 0, 0, 0
		var hists []string
		for _, st := range run.Steps {
			if slices.Contains(l.Scenarios, st.Scenario) {
				l.Requests += st.Requests
				l.Errors += st.Errors
				hists = append(hists, st.Hist)
			}
		}
		for _, sc := range run.Scenarios {
			if slices.Contains(l.Scenarios, sc.Name) {
				l.Iterations += sc.Iterations
			}
		}
		l.RPS, l.ErrorRate = 0, 0
		if l.DurationS > 0 {
			l.RPS = float64(l.Requests) / l.DurationS
		}
		if l.Requests > 0 {
			l.ErrorRate = float64(l.Errors) / float64(l.Requests)
		}
		var err error
		if l.Latency, l.Hist, err = Combine(hists...); err != nil {
			errs = append(errs, fmt.Errorf("load %s: %w", l.Name, err))
		}
	}
	return errors.Join(errs...)
}

// FoldLoadWindows fills each load's share of every window of series from
// the window's step windows of its scenarios (steps index run.Steps):
// requests, errors and the percentiles of their merged histograms. The
// VUs and RPS already there (its executor's) are kept; a load missing
// from a window is added with what its steps say.
func FoldLoadWindows(run *result.Run, series []result.Window) error {
	if len(run.Loads) == 0 {
		return nil
	}
	owner := make([]int, len(run.Steps)) // step → load, -1 for none
	for i, st := range run.Steps {
		owner[i] = slices.IndexFunc(run.Loads, func(l result.LoadResult) bool { return slices.Contains(l.Scenarios, st.Scenario) })
	}
	var errs []error
	for wi := range series {
		w := &series[wi]
		loads := make([]result.LoadWindow, len(run.Loads))
		hists := make([][]string, len(run.Loads))
		for i := range loads {
			loads[i].Index = i
		}
		for _, lw := range w.Loads {
			if lw.Index >= 0 && lw.Index < len(loads) {
				loads[lw.Index].VUs, loads[lw.Index].RPS = lw.VUs, lw.RPS
			}
		}
		for _, sw := range w.Steps {
			if sw.Index < 0 || sw.Index >= len(owner) || owner[sw.Index] < 0 {
				continue
			}
			l := &loads[owner[sw.Index]]
			l.Requests += sw.Requests
			l.Errors += sw.Errors
			hists[owner[sw.Index]] = append(hists[owner[sw.Index]], sw.Hist)
		}
		for i := range loads {
			lat, _, err := Combine(hists[i]...)
			if err != nil {
				errs = append(errs, fmt.Errorf("window at %gs, load %s: %w", w.TS, run.Loads[i].Name, err))
			}
			loads[i].P50, loads[i].P95, loads[i].P99 = lat.P50, lat.P95, lat.P99
		}
		w.Loads = loads
	}
	return errors.Join(errs...)
}

// LoadView is the Run of load i of run alone, as thresholds read it: its
// summary, steps and scenarios (no series).
func LoadView(run *result.Run, i int) *result.Run {
	l := run.Loads[i]
	v := &result.Run{Version: run.Version, Kind: run.Kind, Plan: run.Plan, Model: l.Model,
		StartedAt: run.StartedAt, EndedAt: run.EndedAt, Aborted: run.Aborted}
	v.Summary = result.Summary{Requests: l.Requests, Errors: l.Errors, ErrorRate: l.ErrorRate, RPS: l.RPS,
		DurationS: l.DurationS, Iterations: l.Iterations, Dropped: l.Dropped, Interrupted: l.Interrupted,
		TargetRPS: l.TargetRPS, Latency: l.Latency, Hist: l.Hist, MaxVUs: l.MaxVUs}
	for _, st := range run.Steps {
		if slices.Contains(l.Scenarios, st.Scenario) {
			v.Steps = append(v.Steps, st)
		}
	}
	for _, sc := range run.Scenarios {
		if slices.Contains(l.Scenarios, sc.Name) {
			v.Scenarios = append(v.Scenarios, sc)
		}
	}
	return v
}

// mergeLoads adds the loads of the segments of one test by name: their
// executors ran side by side, so target rates, VUs, dropped and
// interrupted iterations add; the duration is the longest part's. What
// they measured is folded again from the merged steps (FoldLoads).
func mergeLoads(runs []*result.Run) ([]result.LoadResult, error) {
	var out []result.LoadResult
	index := map[string]int{}
	for n, r := range runs {
		if n > 0 && len(r.Loads) != len(out) {
			return nil, fmt.Errorf("run %d has %d loads, run 1 has %d: only parts of one test merge", n+1, len(r.Loads), len(out))
		}
		for _, l := range r.Loads {
			i, ok := index[l.Name]
			if !ok {
				if n > 0 {
					return nil, fmt.Errorf("run %d has a load %q that run 1 does not: only parts of one test merge", n+1, l.Name)
				}
				index[l.Name] = len(out)
				out = append(out, result.LoadResult{Name: l.Name, Model: l.Model, Scenarios: l.Scenarios, Tags: l.Tags,
					StartS: l.StartS, Thresholds: l.Thresholds})
				i = len(out) - 1
			}
			m := &out[i]
			m.DurationS = math.Max(m.DurationS, l.DurationS)
			m.TargetRPS += l.TargetRPS
			m.MaxVUs += l.MaxVUs
			m.Dropped += l.Dropped
			m.Interrupted += l.Interrupted
		}
	}
	return out, nil
}

// mergeLoadWindows adds the VUs and RPS of each load's windows over the
// parts into out's series (by offset, and by load name); FoldLoadWindows
// then reads the rest from the merged step windows.
func mergeLoadWindows(out *result.Run, runs []*result.Run) {
	if len(out.Loads) == 0 {
		return
	}
	at := map[float64]int{}
	for i, w := range out.Series {
		at[w.TS] = i
	}
	for _, r := range runs {
		for _, w := range r.Series {
			j, ok := at[w.TS]
			if !ok {
				continue
			}
			dst := &out.Series[j]
			for _, lw := range w.Loads {
				if lw.Index < 0 || lw.Index >= len(r.Loads) {
					continue
				}
				i := slices.IndexFunc(out.Loads, func(l result.LoadResult) bool { return l.Name == r.Loads[lw.Index].Name })
				if i < 0 {
					continue
				}
				k := slices.IndexFunc(dst.Loads, func(m result.LoadWindow) bool { return m.Index == i })
				if k < 0 {
					dst.Loads = append(dst.Loads, result.LoadWindow{Index: i})
					k = len(dst.Loads) - 1
				}
				dst.Loads[k].VUs += lw.VUs
				dst.Loads[k].RPS += lw.RPS
			}
		}
	}
}
