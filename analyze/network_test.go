package analyze

import (
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// The outcome places the break where the broken metric crosses its limit
// between the last step that held and the first that broke, in the
// condition's own words, whichever way the condition is stepped.
func TestNetworkOutcomeSentences(t *testing.T) {
	sum := func(p95, errRate float64) result.Summary {
		return result.Summary{Requests: 100, RPS: 10, ErrorRate: errRate, Latency: result.Latency{P95: p95, P99: p95}}
	}
	p95 := &plan.Threshold{Expr: "p95 < 500ms", Metric: "p95", Op: "<", Value: 500}
	for _, c := range []struct {
		why       string
		condition string
		steps     []NetworkStep
		limits    StressLimits
		breaksAt  float64
		summary   string
	}{
		{"latency: 450 ms at 100, 650 at 200: 500 is crossed at 125", plan.ConditionLatency,
			[]NetworkStep{{Value: 0, Held: sum(40, 0)}, {Value: 100, Held: sum(450, 0)}, {Value: 200, Held: sum(650, 0), Limit: LimitLatency}},
			StressLimits{ErrorRate: 0.01, Thresholds: []*plan.Threshold{p95}}, 125, "p95 over 500 ms once added latency passes 125 ms each way"},
		{"bandwidth falls: 300 ms at 10 Mbit/s, 700 at 1: crossed at 5.5", plan.ConditionBandwidth,
			[]NetworkStep{{Value: 100, Held: sum(100, 0)}, {Value: 10, Held: sum(300, 0)}, {Value: 1, Held: sum(700, 0), Limit: LimitLatency}},
			StressLimits{ErrorRate: 0.01, Thresholds: []*plan.Threshold{p95}}, 5.5, "p95 over 500 ms once bandwidth falls below 5.5 Mbit/s per connection"},
		{"loss: the error rate crosses 1% between 0.5% and 2%", plan.ConditionLoss,
			[]NetworkStep{{Value: 0, Held: sum(10, 0)}, {Value: 0.5, Held: sum(10, 0.005)}, {Value: 2, Held: sum(10, 0.02), Limit: LimitErrors, Why: "error rate 2% > 1%"}},
			StressLimits{ErrorRate: 0.01}, 1, "error rate over 1% once connection loss passes 1% of connections"},
		{"nothing broke", plan.ConditionLatency,
			[]NetworkStep{{Value: 0, Held: sum(10, 0)}, {Value: 400, Held: sum(810, 0)}},
			StressLimits{ErrorRate: 0.01}, 0, "the SLO held at every step, up to 400 ms each way"},
		{"the first step broke: nothing to place it against", plan.ConditionLatency,
			[]NetworkStep{{Value: 50, Held: sum(900, 0), Limit: LimitLatency, Why: "p95 < 500ms failed"}},
			StressLimits{ErrorRate: 0.01, Thresholds: []*plan.Threshold{p95}}, 0, "the SLO broke at the first step, 50 ms each way (p95 < 500ms failed)"},
	} {
		out := NetworkOutcome(c.condition, "unit", c.steps, c.limits)
		if out.BreaksAt != c.breaksAt || out.Summary != c.summary {
			t.Errorf("%s: breaks at %v, %q; want %v, %q", c.why, out.BreaksAt, out.Summary, c.breaksAt, c.summary)
		}
	}
}

// Under a narrow bandwidth the finding names the step with the biggest
// responses, the one that slowed most.
func TestNetworkSensitivityNamesTheBigResponses(t *testing.T) {
	run := func(page, image float64) *result.Run {
		return &result.Run{Steps: []result.StepResult{
			{Scenario: "s", Step: "page", Requests: 10, BytesIn: 10 * 2_000, Latency: result.Latency{Mean: page}},
			{Scenario: "s", Step: "image", Requests: 10, BytesIn: 10 * 500_000, Latency: result.Latency{Mean: image}},
		}}
	}
	held := result.Summary{Requests: 20, RPS: 10}
	ns := NetworkOutcome(plan.ConditionBandwidth, "Mbit/s per connection", []NetworkStep{
		{Value: 100, Held: held, Run: run(1, 40)}, {Value: 1, Held: held, Run: run(17, 4000)},
	}, StressLimits{ErrorRate: 0.01})
	if len(ns.Sensitive) != 2 || ns.Sensitive[0].Step != "image" || ns.Sensitive[0].BytesPerResponse != 500_000 {
		t.Fatalf("sensitive %+v", ns.Sensitive)
	}
	fs, _ := ruleNetworkSensitivity(&evaluation{run: &result.Run{Stress: &result.Stress{Network: ns}}})
	if len(fs) != 1 || fs[0].Subject != "s/image" || !strings.Contains(fs[0].Title, "488 KiB per response") || fs[0].Severity != SeverityLow {
		t.Fatalf("findings %+v", fs)
	}
}
