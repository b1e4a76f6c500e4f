package analyze

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// ruleGenerator: the load generator, not the target, was the bottleneck
// (Generator.Saturated, set by the engine when it used all its CPU or
// could not keep the open model's schedule). Every other number of the
// run then measures the generator, so this finding is always first and
// always high.
func ruleGenerator(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	g := ev.run.Generator
	if !GeneratorSaturated(ev.run) {
		return nil, nil
	}
	detail := "The load generator could not produce the load it was asked for; latency and throughput describe the generator, not the system under test. Do not act on the other findings until a run is clean."
	if g.Reason != "" {
		detail = "The generator was saturated: " + g.Reason + ". Do not act on the other findings until a run is clean."
	}
	ev1 := []result.Evidence{{Metric: "generator_cpu_percent", Value: g.CPUPercent, Unit: "%", Source: "generator",
		Note: fmt.Sprintf("of one core; GOMAXPROCS %d", g.GOMAXPROCS), Threshold: 90 * float64(max(1, g.GOMAXPROCS))}}
	if g.StartLagP99 > 0 {
		lag := result.Evidence{Metric: "start_lag_p99", Value: g.StartLagP99, Unit: "ms", Source: "generator", Note: "how late iterations started"}
		if g.CPUPercent < 90*float64(max(1, g.GOMAXPROCS)) {
			ev1 = append([]result.Evidence{lag}, ev1...) // the schedule, not the CPU, gave out
		} else {
			ev1 = append(ev1, lag)
		}
	}
	title := "The load generator was saturated: this run is not trustworthy"
	if st := ev.run.Stress; st != nil && st.Limit == "generator" {
		// The stress phase pushes until something gives; here it was the
		// generator, so at least the highest loads measured it.
		title = fmt.Sprintf("The load generator was saturated (the stress phase stopped at its limit, %s %s): numbers at the highest loads are not trustworthy",
			num(st.BreakingPoint), st.Unit)
		ev1 = append(ev1, result.Evidence{Metric: "stress_breaking_point", Value: st.BreakingPoint, Unit: st.Unit, Source: "stress curve", Note: "limit: generator"})
	}
	return []result.Finding{{
		Severity:   SeverityHigh,
		Title:      title,
		Subject:    "generator",
		Detail:     detail,
		Evidence:   ev1,
		Confidence: 0.95,
	}}, nil
}

// ruleRegression: the run is significantly worse than its baseline
// (Run.Comparison rows marked Regression by Compare). One finding per
// compared thing (the whole run, a step, a benchmark), with a row of
// evidence per metric that regressed. Confidence is one minus the
// smallest Holm-adjusted p-value.
func ruleRegression(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	c := ev.run.Comparison
	if c == nil {
		return nil, notEvaluated("the run was not compared with a baseline (set one, then compare the runs)",
			"stampede baseline set RUN")
	}
	byName := map[string][]result.ComparisonRow{}
	var names []string
	for _, r := range c.Rows {
		if !r.Regression {
			continue
		}
		if _, ok := byName[r.Name]; !ok {
			names = append(names, r.Name)
		}
		byName[r.Name] = append(byName[r.Name], r)
	}
	var out []result.Finding
	for _, name := range names {
		rows := byName[name]
		subject := name
		if name == "overall" {
			subject = "the whole run"
		}
		f := result.Finding{Severity: SeverityHigh, Subject: subject}
		minP := 1.0
		var parts []string
		for _, r := range rows {
			p := r.PAdjusted
			if p == 0 {
				p = r.PValue
			}
			minP = min(minP, p)
			f.Evidence = append(f.Evidence, result.Evidence{
				Metric: r.Metric, Value: r.New, Unit: r.Unit, Source: "comparison with " + orDash(c.Base),
				Note: fmt.Sprintf("was %s, %+.1f%%, p=%.3g", num(r.Old), r.DeltaPct, p),
			})
			parts = append(parts, fmt.Sprintf("%s %+.0f%%", r.Metric, r.DeltaPct))
		}
		f.Title = fmt.Sprintf("Regression against the baseline in %s: %s", subject, strings.Join(parts, ", "))
		f.Detail = fmt.Sprintf("Compared with %s, these metrics are significantly worse by more than the comparison's threshold.", orDash(c.Base))
		f.Confidence = clamp(1-minP, 0.5, 0.99)
		out = append(out, f)
	}
	return out, nil
}

// addLoad is what a run without requests lacks.
const addLoad = "scenarios: [ { steps: [ … ] } ] and load: { vus: … }"

func orDash(s string) string {
	if s == "" {
		return "the baseline"
	}
	return s
}

// ruleErrorRate: more than error_rate (default 1%) of the requests of a
// judged phase (or the run) failed. High from five times the threshold.
// The evidence names the most frequent error kinds with an example.
func ruleErrorRate(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	limit := ev.cfg["error_rate"]
	scopes := ev.judgedScopes()
	if len(scopes) == 0 || totalRequests(scopes) == 0 {
		return nil, notEvaluated("the run made no requests", addLoad)
	}
	var out []result.Finding
	for _, sc := range scopes {
		s := sc.sum
		if s.Requests == 0 {
			continue
		}
		rate := float64(s.Errors) / float64(s.Requests)
		if rate <= limit {
			continue
		}
		ratio := ratioOver(rate, limit)
		f := result.Finding{
			Severity: severityAbove(ratio, 5),
			Title:    fmt.Sprintf("%s of requests failed (%d of %d)", percent(rate), s.Errors, s.Requests),
			Subject:  sc.source,
			Detail:   "The error rate is above the threshold; the kinds below say where to look first.",
			Evidence: []result.Evidence{{Metric: "error_rate", Value: rate, Unit: "ratio", Source: sc.source, Threshold: limit}},
		}
		f.Evidence = append(f.Evidence, errorKinds(ev.run, 3)...)
		f.Confidence = confidence(ratio, int(min(s.Requests, math.MaxInt32)))
		out = append(out, f)
	}
	return out, nil
}

// errorKinds is evidence for the n most frequent error kinds of the run.
func errorKinds(run *result.Run, n int) []result.Evidence {
	errs := slices.Clone(run.Errors)
	slices.SortStableFunc(errs, func(a, b result.ErrorCount) int { return cmp.Compare(b.Count, a.Count) })
	var out []result.Evidence
	for _, e := range errs[:min(n, len(errs))] {
		kind := e.Kind
		if e.Status != 0 {
			kind = fmt.Sprintf("%s %d", e.Kind, e.Status)
		}
		out = append(out, result.Evidence{Metric: "errors: " + kind, Value: float64(e.Count), Source: "run errors", Note: truncate(e.Example, 120)})
	}
	return out
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func totalRequests(scopes []judged) int64 {
	var n int64
	for _, s := range scopes {
		n += s.sum.Requests
	}
	return n
}

// ratioOver is value/limit, treating a zero limit as "any value counts
// fully".
func ratioOver(value, limit float64) float64 {
	if limit <= 0 {
		return 2
	}
	return value / limit
}

// ruleMeanResponse: the mean response time of a judged phase (or the
// run), or of one step, is above mean_response_ms (default 1000 ms).
// High from twice the threshold. A step is reported only when the whole
// is not, so one slow page shows without repeating the overall finding.
func ruleMeanResponse(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	limit := ev.cfg["mean_response_ms"]
	scopes := ev.judgedScopes()
	if totalRequests(scopes) == 0 {
		return nil, notEvaluated("the run made no requests", addLoad)
	}
	var out []result.Finding
	overall := false
	for _, sc := range scopes {
		l := sc.sum.Latency
		if sc.sum.Requests == 0 || l.Mean <= limit {
			continue
		}
		overall = true
		ratio := ratioOver(l.Mean, limit)
		out = append(out, result.Finding{
			Severity: severityAbove(ratio, 2),
			Title:    fmt.Sprintf("Mean response time is %s ms (p95 %s ms, p99 %s ms)", num(l.Mean), num(l.P95), num(l.P99)),
			Subject:  sc.source,
			Detail:   "Responses are slow on average, not only in the tail.",
			Evidence: []result.Evidence{
				{Metric: "latency_mean", Value: l.Mean, Unit: "ms", Source: sc.source, Threshold: limit},
				{Metric: "latency_p95", Value: l.P95, Unit: "ms", Source: sc.source},
				{Metric: "latency_p99", Value: l.P99, Unit: "ms", Source: sc.source},
			},
			Confidence: confidence(ratio, int(min(sc.sum.Requests, math.MaxInt32))),
		})
	}
	if overall {
		return out, nil
	}
	for i := range ev.run.Steps {
		st := &ev.run.Steps[i]
		if st.Requests == 0 || st.Latency.Mean <= limit {
			continue
		}
		ratio := ratioOver(st.Latency.Mean, limit)
		out = append(out, result.Finding{
			Severity: severityAbove(ratio, 2),
			Title:    fmt.Sprintf("Step %s takes %s ms on average (p99 %s ms)", stepLabel(st), num(st.Latency.Mean), num(st.Latency.P99)),
			Subject:  stepLabel(st),
			Detail:   "One step is slow although the run as a whole is within the threshold.",
			Evidence: []result.Evidence{
				{Metric: "latency_mean", Value: st.Latency.Mean, Unit: "ms", Source: "step " + stepLabel(st), Threshold: limit},
				{Metric: "latency_p99", Value: st.Latency.P99, Unit: "ms", Source: "step " + stepLabel(st)},
			},
			Confidence: confidence(ratio, int(min(st.Requests, math.MaxInt32))),
		})
	}
	return out, nil
}

// ruleThroughput: an open-model run delivered less than throughput_ratio
// (default 95%) of the iteration rate it asked for (Summary.TargetRPS,
// iterations per second), counting completed iterations over the run's
// duration. High below 80%. Dropped iterations (no free VU) are evidence.
func ruleThroughput(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	s := ev.run.Summary
	if s.TargetRPS <= 0 || s.DurationS <= 0 {
		return nil, notEvaluated("the run has no target rate (a closed model, or no load): an open model states the throughput it must deliver",
			"load: { rate: … }")
	}
	delivered := float64(s.Iterations) / s.DurationS
	ratio := delivered / s.TargetRPS
	limit := ev.cfg["throughput_ratio"]
	if ratio >= limit {
		return nil, nil
	}
	sev := SeverityMedium
	if ratio < 0.8 {
		sev = SeverityHigh
	}
	f := result.Finding{
		Severity: sev,
		Title:    fmt.Sprintf("Delivered %s iterations/s of the %s asked (%s)", num(delivered), num(s.TargetRPS), percent(ratio)),
		Subject:  "throughput",
		Detail:   "The open model's arrival rate was not met: the system (or the VU pool) could not keep up with the load the plan asks for.",
		Evidence: []result.Evidence{
			{Metric: "delivered_ratio", Value: ratio, Unit: "ratio", Source: "run", Threshold: limit},
			{Metric: "target_iterations_per_s", Value: s.TargetRPS, Unit: "/s", Source: "plan"},
			{Metric: "delivered_iterations_per_s", Value: delivered, Unit: "/s", Source: "run"},
		},
		Confidence: confidence(limit/max(ratio, 1e-9), 0),
	}
	if s.Dropped > 0 {
		f.Evidence = append(f.Evidence, result.Evidence{Metric: "dropped_iterations", Value: float64(s.Dropped), Source: "run",
			Note: "no VU was free to start them: raise load.max_vus or make iterations faster"})
	}
	if s.StartLag.P99 > 0 {
		f.Evidence = append(f.Evidence, result.Evidence{Metric: "start_lag_p99", Value: s.StartLag.P99, Unit: "ms", Source: "run"})
	}
	return []result.Finding{f}, nil
}

// ruleNetwork: connecting (TCP connect + TLS handshake, the mean per
// request from the HTTP trace) takes more than network_ms (default
// 100 ms), for the run or one step. Requests on a kept-alive connection
// count as zero, so a high mean means many slow handshakes. High from
// twice the threshold.
func ruleNetwork(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	limit := ev.cfg["network_ms"]
	run := ev.run
	http := 0
	for i := range run.Steps {
		if run.Steps[i].Kind != "sql" && run.Steps[i].Requests > 0 {
			http++
		}
	}
	if http == 0 && !(len(run.Steps) == 0 && run.Summary.Requests > 0) {
		return nil, notEvaluated("the run made no HTTP requests (connect and TLS times come from their traces)", "scenarios: [ { steps: [ { path: / } ] } ]")
	}
	var out []result.Finding
	check := func(t result.Timing, source, subject string, n int64) bool {
		v := t.Connect + t.TLS
		if v <= limit {
			return false
		}
		ratio := ratioOver(v, limit)
		f := result.Finding{
			Severity: severityAbove(ratio, 2),
			Title:    fmt.Sprintf("Connecting takes %s ms per request on average (connect %s ms, TLS %s ms)", num(v), num(t.Connect), num(t.TLS)),
			Subject:  subject,
			Detail:   "Time goes to setting up connections rather than to the requests themselves.",
			Evidence: []result.Evidence{
				{Metric: "connect_plus_tls_mean", Value: v, Unit: "ms", Source: source, Threshold: limit},
				{Metric: "connect_mean", Value: t.Connect, Unit: "ms", Source: source},
				{Metric: "tls_mean", Value: t.TLS, Unit: "ms", Source: source},
			},
			Confidence: confidence(ratio, int(min(n, math.MaxInt32))),
		}
		if t.DNS > 0 {
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "dns_mean", Value: t.DNS, Unit: "ms", Source: source})
		}
		out = append(out, f)
		return true
	}
	if check(run.Summary.Phases, "run", "run", run.Summary.Requests) {
		return out, nil
	}
	for i := range run.Steps {
		st := &run.Steps[i]
		if st.Kind != "sql" && st.Requests > 0 {
			check(st.Phases, "step "+stepLabel(st), stepLabel(st), st.Requests)
		}
	}
	return out, nil
}

// connKinds are the error kinds of a connection that failed or broke.
func connKinds() []string { return []string{"connection_refused", "connection_reset", "timeout"} }

// ruleConnErrors: requests fail to connect (refused, reset, timed out)
// in more than conn_error_rate (default 0.1%) of requests. When the run
// covers several load levels (see loadLevels), the rate among the upper
// half of the levels is compared with the lower half: errors that rise
// with load (at least doubling, or appearing only at the top) mean a
// limit on connections — a backlog, a pool, file descriptors — and are
// high; otherwise medium.
func ruleConnErrors(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	run := ev.run
	if run.Summary.Requests == 0 {
		return nil, notEvaluated("the run made no requests", addLoad)
	}
	var total int64
	counts := map[string]int64{}
	for _, e := range run.Errors {
		if slices.Contains(connKinds(), e.Kind) {
			total += e.Count
			counts[e.Kind] += e.Count
		}
	}
	limit := ev.cfg["conn_error_rate"]
	rate := float64(total) / float64(run.Summary.Requests)
	if total == 0 || rate <= limit {
		return nil, nil
	}
	f := result.Finding{Subject: "connections"}
	for _, k := range connKinds() {
		if counts[k] > 0 {
			f.Evidence = append(f.Evidence, result.Evidence{Metric: "errors: " + k, Value: float64(counts[k]), Source: "run errors"})
		}
	}
	f.Evidence = append([]result.Evidence{{Metric: "connection_error_rate", Value: rate, Unit: "ratio", Source: "run", Threshold: limit}}, f.Evidence...)
	rising, lowRate, highRate, lowLoad, highLoad, unit, src, ok := connTrend(ev)
	ratio := ratioOver(rate, limit)
	switch {
	case ok && rising:
		f.Severity = SeverityHigh
		f.Title = fmt.Sprintf("Connection errors rise with load: %s of requests from %s %s up, %s below", percent(highRate), num(highLoad), unit, percent(lowRate))
		f.Detail = "Connections are refused, reset or time out more as the load grows: something limits connections (the listen backlog, a connection pool, file descriptors, a proxy's limit) before the system's own capacity."
		f.Confidence = confidence(max(ratio, 1.5), 0) * 1.05
	case ok:
		f.Severity = SeverityMedium
		f.Title = fmt.Sprintf("%s of requests failed to connect, at every load level", percent(rate))
		f.Detail = "Connection errors occur but do not grow with the load: look for a flaky network path, idle connections closed by the server, or a timeout set too low."
		f.Confidence = confidence(ratio, 0) * 0.9
	default:
		f.Severity = SeverityMedium
		f.Title = fmt.Sprintf("%s of requests failed to connect (refused, reset or timed out)", percent(rate))
		f.Detail = "Connection errors occurred; the run held one load level, so whether they grow with load is not known (a stress phase or ramped stages would tell)."
		f.Confidence = confidence(ratio, 0) * 0.8
	}
	if ok {
		proxy := ""
		if src == "stress curve" {
			proxy = "; all errors: the stress curve has no error kinds"
		}
		f.Evidence = append(f.Evidence,
			result.Evidence{Metric: "connection_error_rate_low_load", Value: lowRate, Unit: "ratio", Source: src, Note: fmt.Sprintf("up to %s %s%s", num(lowLoad), unit, proxy)},
			result.Evidence{Metric: "connection_error_rate_high_load", Value: highRate, Unit: "ratio", Source: src, Note: fmt.Sprintf("from %s %s%s", num(highLoad), unit, proxy)})
	}
	return []result.Finding{f}, nil
}

// connTrend compares the connection-error rate of the lower and upper
// halves of the load levels. With levels from the stress curve, which
// has no error kinds, the overall error rate stands in for it.
func connTrend(ev *evaluation) (rising bool, lowRate, highRate, lowLoad, highLoad float64, unit, src string, ok bool) {
	lv, unit, src := ev.loadLevels()
	if len(lv) < 2 {
		return false, 0, 0, 0, 0, unit, src, false
	}
	half := len(lv) / 2
	sum := func(ls []level) float64 {
		var errs, reqs float64
		for _, l := range ls {
			r := l.connRate
			if r < 0 {
				r = l.errRate
			}
			errs += r * l.weight
			reqs += l.weight
		}
		if reqs == 0 {
			return 0
		}
		return errs / reqs
	}
	lowRate, highRate = sum(lv[:half]), sum(lv[half:])
	lowLoad, highLoad = lv[half-1].load, lv[half].load
	rising = highRate > 0 && highRate >= 2*lowRate
	return rising, lowRate, highRate, lowLoad, highLoad, unit, src, true
}

// ruleSoak: the endurance phase's trend test found the system degrading
// over time in latency, errors or throughput (memory is the leak rule's);
// high when the p-value is below 0.01.
func ruleSoak(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	s := ev.run.Soak
	if s == nil {
		return nil, notEvaluated("the run has no soak (endurance) phase", "tests: { soak: { duration: 1h } }")
	}
	trends := s.Details
	if len(trends) == 0 {
		trends = []result.Trend{{Metric: s.Metric, Trend: s.Trend, SlopePerHour: s.SlopePerHour, PValue: s.PValue}}
	}
	var degrading []result.Trend
	for _, d := range trends {
		if d.Trend == "degrading" && !isMemoryMetric(d.Metric) {
			degrading = append(degrading, d)
		}
	}
	if len(degrading) == 0 {
		return nil, nil
	}
	worst := slices.MinFunc(degrading, func(a, b result.Trend) int { return cmp.Compare(a.PValue, b.PValue) })
	sev := SeverityMedium
	if worst.PValue < 0.01 {
		sev = SeverityHigh
	}
	f := result.Finding{
		Severity:   sev,
		Title:      fmt.Sprintf("Degrades over time: %s changes by %s%s per hour under constant load", orMetric(worst.Metric), num(worst.SlopePerHour), unitSuffix(worst.Unit)),
		Subject:    orMetric(worst.Metric),
		Detail:     "Under a steady load the system got worse as time went on: typical of growing queues or tables, caches that never evict, and leaks.",
		Confidence: clamp(1-worst.PValue, 0.5, 0.99),
	}
	for _, d := range degrading {
		f.Evidence = append(f.Evidence, result.Evidence{Metric: orMetric(d.Metric) + "_slope_per_hour", Value: d.SlopePerHour, Unit: d.Unit, Source: "soak phase",
			Note: fmt.Sprintf("p=%.3g", d.PValue)})
	}
	return []result.Finding{f}, nil
}

func unitSuffix(u string) string {
	if u == "" || u == "ratio" {
		return ""
	}
	return " " + u
}

func orMetric(m string) string {
	if m == "" {
		return "latency"
	}
	return m
}
