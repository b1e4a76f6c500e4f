package analyze

import (
	"fmt"
	"strings"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// scopeView is what a threshold reads: one step, one scenario, or the run.
type scopeView struct {
	requests, errors int64
	durationS        float64
	latency          result.Latency
	iterations       int64
}

// Thresholds evaluates every threshold against run. A threshold whose
// scope matches nothing fails with an explanation rather than passing.
func Thresholds(run *result.Run, ths []*plan.Threshold) []result.ThresholdResult {
	out := make([]result.ThresholdResult, 0, len(ths))
	for _, th := range ths {
		r := result.ThresholdResult{Expr: th.Expr, Scope: th.Scope, Abort: th.Abort}
		v, ok := view(run, th.Scope)
		if !ok {
			r.Pass = false
			r.Unit = "no such scope"
			out = append(out, r)
			continue
		}
		r.Value, r.Unit = metricValue(v, th.Metric)
		r.Pass = compare(r.Value, th.Op, th.Value)
		out = append(out, r)
	}
	return out
}

// Failed returns the failed thresholds; abortOnly keeps those marked abort.
func Failed(rs []result.ThresholdResult, abortOnly bool) []result.ThresholdResult {
	var out []result.ThresholdResult
	for _, r := range rs {
		if !r.Pass && (!abortOnly || r.Abort) {
			out = append(out, r)
		}
	}
	return out
}

// Describe is a one-line account of a threshold result.
func Describe(r result.ThresholdResult) string {
	scope := ""
	if r.Scope != "" {
		scope = " [" + r.Scope + "]"
	}
	verdict := "pass"
	if !r.Pass {
		verdict = "FAIL"
	}
	if r.Unit == "no such scope" {
		return fmt.Sprintf("%s%s: %s (no scenario or step is named %q)", r.Expr, scope, verdict, r.Scope)
	}
	return fmt.Sprintf("%s%s: %s (actual %s)", r.Expr, scope, verdict, format(r.Value, r.Unit))
}

func format(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmt.Sprintf("%.2fms", v)
	case "ratio":
		return fmt.Sprintf("%.2f%%", v*100)
	case "rps":
		return fmt.Sprintf("%.1f/s", v)
	}
	return fmt.Sprintf("%g", v)
}

func compare(v float64, op string, limit float64) bool {
	switch op {
	case "<":
		return v < limit
	case "<=":
		return v <= limit
	case ">":
		return v > limit
	case ">=":
		return v >= limit
	case "==", "=":
		return v == limit
	}
	return false
}

func metricValue(v scopeView, metric string) (float64, string) {
	switch strings.ToLower(metric) {
	case "min":
		return v.latency.Min, "ms"
	case "mean", "avg":
		return v.latency.Mean, "ms"
	case "max":
		return v.latency.Max, "ms"
	case "p50", "med", "median":
		return v.latency.P50, "ms"
	case "p90":
		return v.latency.P90, "ms"
	case "p95":
		return v.latency.P95, "ms"
	case "p99":
		return v.latency.P99, "ms"
	case "p999", "p99.9":
		return v.latency.P999, "ms"
	case "error_rate":
		if v.requests == 0 {
			return 0, "ratio"
		}
		return float64(v.errors) / float64(v.requests), "ratio"
	case "rps":
		if v.durationS <= 0 {
			return 0, "rps"
		}
		return float64(v.requests) / v.durationS, "rps"
	case "requests":
		return float64(v.requests), ""
	case "errors":
		return float64(v.errors), ""
	case "iterations":
		return float64(v.iterations), ""
	}
	return 0, "unknown metric"
}

// view gathers the numbers of a scope: "" (the run), a scenario name, or
// "scenario/step".
func view(run *result.Run, scope string) (scopeView, bool) {
	if scope == "" {
		s := run.Summary
		return scopeView{requests: s.Requests, errors: s.Errors, durationS: s.DurationS, latency: s.Latency, iterations: s.Iterations}, true
	}
	scen, step, hasStep := strings.Cut(scope, "/")
	var hists []string
	v := scopeView{durationS: run.Summary.DurationS}
	found := false
	for _, st := range run.Steps {
		if st.Scenario != scen || (hasStep && st.Step != step) {
			continue
		}
		found = true
		v.requests += st.Requests
		v.errors += st.Errors
		hists = append(hists, st.Hist)
		if hasStep {
			v.latency = st.Latency
		}
	}
	for _, sc := range run.Scenarios {
		if sc.Name == scen {
			v.iterations = sc.Iterations
			found = found || !hasStep
		}
	}
	if !found {
		return v, false
	}
	if !hasStep {
		v.latency, _, _ = metrics.Combine(hists...) // an unreadable histogram reads as no latency
	}
	return v, true
}
