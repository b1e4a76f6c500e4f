package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// The network stress variant steps one condition at a fixed load. Its
// outcome says where the SLO broke in the condition's own terms ("p95
// over 500 ms once added latency passes 120 ms each way": the broken
// metric interpolated linearly between the last step that held and the
// first that broke) and which of the plan's steps the condition slows
// most, from the first step to the last one measured:
//
//   - latency: a step's added mean latency over the added round trip is
//     its round trips (1 for a request on an open connection, 2 with a
//     new connection, more with redirects); a scenario's added iteration
//     time over the round trip is its sequential round trips per
//     iteration, its chattiness;
//   - bandwidth: the steps that slowed most, with their bytes per
//     response (time on the wire is bytes ÷ rate).

// NetworkStep is the evidence about one step of the network variant.
type NetworkStep struct {
	Value      float64
	Conditions string
	Held       result.Summary // the judged windows
	Run        *result.Run    // the whole step (its per-step numbers)
	Limit, Why string         // "" when the step held
}

// maxSensitive is the most steps an outcome names.
const maxSensitive = 5

// NetworkOutcome reads the network variant's steps (in the order they
// ran) under limits.
func NetworkOutcome(condition, unit string, steps []NetworkStep, limits StressLimits) *result.NetworkStress {
	out := &result.NetworkStress{Condition: condition, Unit: unit}
	broke := -1
	for i, s := range steps {
		out.Steps = append(out.Steps, result.NetworkStep{Value: s.Value, Conditions: s.Conditions, RPS: s.Held.RPS,
			P50: s.Held.Latency.P50, P95: s.Held.Latency.P95, P99: s.Held.Latency.P99, ErrorRate: s.Held.ErrorRate,
			OK: s.Limit == "", Limit: s.Limit, Why: s.Why})
		if s.Limit == "" && broke < 0 {
			out.LastHeld = s.Value
		}
		if s.Limit != "" && broke < 0 {
			broke = i
		}
	}
	if len(steps) == 0 {
		out.Summary = "no step ran"
		return out
	}
	if broke < 0 {
		out.Summary = fmt.Sprintf("the SLO held at every step, up to %s", conditionText(condition, steps[len(steps)-1].Value, unit))
	} else {
		b := steps[broke]
		out.BrokeAt = b.Value
		metric, limit, get := brokenMetric(b, limits)
		switch {
		case broke == 0:
			out.Summary = fmt.Sprintf("the SLO broke at the first step, %s (%s)", conditionText(condition, b.Value, unit), b.Why)
		case get != nil:
			a := steps[broke-1]
			y0, y1 := get(a.Held), get(b.Held)
			x := b.Value
			if y1 > y0 && limit >= y0 && limit <= y1 {
				x = a.Value + (limit-y0)/(y1-y0)*(b.Value-a.Value)
			}
			out.BreaksAt = round2(x)
			out.Summary = fmt.Sprintf("%s over %s once %s %s", metric, limitText(metric, limit), conditionVerb(condition), conditionText(condition, out.BreaksAt, unit))
		default:
			out.Summary = fmt.Sprintf("the SLO broke between %s and %s (%s)", conditionText(condition, out.LastHeld, unit), conditionText(condition, b.Value, unit), b.Why)
		}
	}
	first, last := steps[0], steps[len(steps)-1]
	if first.Run == nil || last.Run == nil || len(steps) < 2 {
		return out
	}
	rtt := 0.0
	if condition == plan.ConditionLatency {
		rtt = 2 * (last.Value - first.Value)
	}
	for i := range last.Run.Steps {
		ls := &last.Run.Steps[i]
		fs := findStep(first.Run, ls.Scenario, ls.Step)
		if fs == nil || ls.Requests == 0 || fs.Requests == 0 {
			continue
		}
		s := result.NetworkSensitivity{Scenario: ls.Scenario, Step: ls.Step, AddedMS: round2(ls.Latency.Mean - fs.Latency.Mean)}
		if s.AddedMS <= 0 {
			continue
		}
		if rtt > 0 {
			s.RoundTrips = round2(s.AddedMS / rtt)
		}
		if condition == plan.ConditionBandwidth {
			s.BytesPerResponse = round2(float64(fs.BytesIn) / float64(fs.Requests))
		}
		out.Sensitive = append(out.Sensitive, s)
	}
	slices.SortStableFunc(out.Sensitive, func(a, b result.NetworkSensitivity) int { return cmp.Compare(b.AddedMS, a.AddedMS) })
	out.Sensitive = out.Sensitive[:min(len(out.Sensitive), maxSensitive)]
	if rtt > 0 {
		for _, ls := range last.Run.Scenarios {
			fi := slices.IndexFunc(first.Run.Scenarios, func(s result.ScenarioResult) bool { return s.Name == ls.Name })
			if fi < 0 || ls.Iterations == 0 {
				continue
			}
			fsc := first.Run.Scenarios[fi]
			added := ls.Latency.Mean - fsc.Latency.Mean
			// Requests per iteration from the first step, the least
			// shaped: it ran the most iterations, so the few cut short at
			// its end (their requests counted, not themselves) weigh
			// least.
			var reqs int64
			for _, st := range first.Run.Steps {
				if st.Scenario == ls.Name {
					reqs += st.Requests
				}
			}
			if fsc.Iterations == 0 {
				continue
			}
			out.Chattiness = append(out.Chattiness, result.ScenarioRoundTrips{Scenario: ls.Name,
				RequestsPerIteration: round2(float64(reqs) / float64(fsc.Iterations)),
				RoundTrips:           round2(max(0, added) / rtt), AddedMS: round2(added)})
		}
		slices.SortStableFunc(out.Chattiness, func(a, b result.ScenarioRoundTrips) int { return cmp.Compare(b.RoundTrips, a.RoundTrips) })
	}
	return out
}

func findStep(r *result.Run, scenario, step string) *result.StepResult {
	for i := range r.Steps {
		if r.Steps[i].Scenario == scenario && r.Steps[i].Step == step {
			return &r.Steps[i]
		}
	}
	return nil
}

// brokenMetric is the SLO that step b broke, its limit and how to read
// it from a summary: the error rate, tests.stress.p99, or the first of
// the plan's latency thresholds that fails; nil get when none of them
// says.
func brokenMetric(b NetworkStep, l StressLimits) (metric string, limit float64, get func(result.Summary) float64) {
	if b.Limit == LimitErrors && l.ErrorRate >= 0 && b.Held.ErrorRate > l.ErrorRate {
		return "error rate", l.ErrorRate, func(s result.Summary) float64 { return s.ErrorRate }
	}
	if b.Limit != LimitLatency {
		return "", 0, nil
	}
	if l.P99 > 0 && b.Held.Latency.P99 > l.P99 {
		return "p99", l.P99, func(s result.Summary) float64 { return s.Latency.P99 }
	}
	for _, th := range l.Thresholds {
		if th == nil || th.Scope != "" || th.Metric == "error_rate" || !stressMetric(th.Metric) || (th.Op != "<" && th.Op != "<=") {
			continue
		}
		get := func(s result.Summary) float64 { return latencyMetric(s.Latency, th.Metric) }
		if get(b.Held) > th.Value {
			return th.Metric, th.Value, get
		}
	}
	return "", 0, nil
}

// latencyMetric reads a threshold's latency metric off a Latency.
func latencyMetric(l result.Latency, m string) float64 {
	switch m {
	case "min":
		return l.Min
	case "mean":
		return l.Mean
	case "max":
		return l.Max
	case "p50":
		return l.P50
	case "p90":
		return l.P90
	case "p95":
		return l.P95
	case "p999":
		return l.P999
	}
	return l.P99
}

func limitText(metric string, v float64) string {
	if metric == "error rate" {
		return num(100*v) + "%"
	}
	return num(v) + " ms"
}

func conditionVerb(condition string) string {
	switch condition {
	case plan.ConditionBandwidth:
		return "bandwidth falls below"
	case plan.ConditionLoss:
		return "connection loss passes"
	}
	return "added latency passes"
}

func conditionText(condition string, v float64, unit string) string {
	n := strconv.FormatFloat(round2(v), 'f', -1, 64)
	switch condition {
	case plan.ConditionLatency:
		return n + " ms each way"
	case plan.ConditionLoss:
		return n + "% of connections"
	case plan.ConditionBandwidth:
		return n + " Mbit/s per connection"
	}
	return n + " " + unit
}

// ruleNetworkSensitivity: the network variant slowed some of the plan's
// steps far more than others: chatty scenarios (many sequential round
// trips per iteration) under latency, big responses under a narrow
// bandwidth. Medium when the SLO broke in the variant, low when it held.
func ruleNetworkSensitivity(ev *evaluation) ([]result.Finding, *result.NotEvaluated) {
	if ev.run.Stress == nil || ev.run.Stress.Network == nil {
		return nil, nil
	}
	ns := ev.run.Stress.Network
	sev := SeverityLow
	if ns.BrokeAt != 0 || slices.ContainsFunc(ns.Steps, func(s result.NetworkStep) bool { return !s.OK }) {
		sev = SeverityMedium
	}
	n := int64(0)
	for _, s := range ns.Steps {
		n += int64(s.RPS)
	}
	conf := confidence(2, int(min(n, 1<<30)))
	var out []result.Finding
	switch ns.Condition {
	case plan.ConditionLatency:
		if len(ns.Chattiness) > 0 && ns.Chattiness[0].RoundTrips >= 1.5 {
			c := ns.Chattiness[0]
			f := result.Finding{Severity: sev, Subject: c.Scenario, Confidence: conf,
				Title: fmt.Sprintf("%s makes %s sequential round trips per iteration (%s requests): each 100 ms of round trip adds %s ms to it",
					c.Scenario, num(c.RoundTrips), num(c.RequestsPerIteration), num(100*c.RoundTrips)),
				Detail: "Latency between users and the service multiplies by the requests an iteration makes one after another. Batch them, send independent ones in parallel, or keep connections open; the network stress summary says where the SLO broke.",
				Evidence: []result.Evidence{
					{Metric: "round_trips_per_iteration", Value: c.RoundTrips, Source: "stress.network"},
					{Metric: "requests_per_iteration", Value: c.RequestsPerIteration, Source: "stress.network"},
					{Metric: "added_iteration_ms", Value: c.AddedMS, Unit: "ms", Source: "stress.network"},
				}}
			f.Evidence = append(f.Evidence, sensitiveEvidence(ns, c.Scenario)...)
			out = append(out, f)
		}
	case plan.ConditionBandwidth:
		if len(ns.Sensitive) > 0 && ns.Sensitive[0].BytesPerResponse > 0 {
			s := ns.Sensitive[0]
			f := result.Finding{Severity: sev, Subject: s.Scenario + "/" + s.Step, Confidence: conf,
				Title: fmt.Sprintf("%s / %s is the most bandwidth-sensitive step: %s per response, %s ms slower at %s",
					s.Scenario, s.Step, bytesText(s.BytesPerResponse), num(s.AddedMS), conditionText(ns.Condition, ns.Steps[len(ns.Steps)-1].Value, ns.Unit)),
				Detail: "Time on the wire is bytes ÷ bandwidth: on a narrow link the biggest responses set the latency. Compress, paginate or cache them.",
				Evidence: []result.Evidence{
					{Metric: "bytes_per_response", Value: s.BytesPerResponse, Unit: "B", Source: "stress.network"},
					{Metric: "added_ms", Value: s.AddedMS, Unit: "ms", Source: "stress.network"},
				}}
			out = append(out, f)
		}
	}
	return out, nil
}

// sensitiveEvidence lists the scenario's steps that the latency slowed,
// with their round trips.
func sensitiveEvidence(ns *result.NetworkStress, scenario string) []result.Evidence {
	var ev []result.Evidence
	for _, s := range ns.Sensitive {
		if s.Scenario == scenario && s.RoundTrips > 0 {
			ev = append(ev, result.Evidence{Metric: "round_trips " + strings.TrimSpace(s.Step), Value: s.RoundTrips, Source: "stress.network"})
		}
	}
	return ev
}
