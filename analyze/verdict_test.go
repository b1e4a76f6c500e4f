package analyze

import (
	"slices"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// TestSettleVerdict: a verdict that rests on a saturated generator
// becomes inconclusive; what the generator cannot cause keeps its fail.
func TestSettleVerdict(t *testing.T) {
	saturated := result.Generator{Saturated: true, Reason: "the generator used all the CPU it had"}
	lagging := result.Generator{Saturated: true, StartLagP99: 40, Reason: "3% of iterations started more than 10ms late although a VU was waiting for them: the generator could not keep the schedule"}
	latencyFailed := []result.ThresholdResult{{Expr: "p99 < 100ms", Pass: false}}
	errorsFailed := []result.ThresholdResult{{Expr: "error_rate < 1%", Pass: false}}
	cases := []struct {
		name   string
		run    result.Run
		want   result.Verdict
		reason string // a substring of the reason
	}{
		{"a clean pass stays a pass", result.Run{Kind: "load", Verdict: VerdictPass}, VerdictPass, ""},
		{"a saturated pass is inconclusive", result.Run{Kind: "load", Verdict: VerdictPass, Generator: saturated}, VerdictInconclusive, "used all the CPU"},
		{"a latency fail on a saturated generator is inconclusive", result.Run{Kind: "load", Verdict: VerdictFail, Generator: saturated, Thresholds: latencyFailed}, VerdictInconclusive, "--segment"},
		{"the target's errors fail it anyway", result.Run{Kind: "load", Verdict: VerdictFail, Generator: saturated, Thresholds: errorsFailed}, VerdictFail, "1 threshold(s) failed"},
		{"an abort fails it anyway", result.Run{Kind: "load", Verdict: VerdictFail, Generator: saturated, Aborted: true, AbortReason: "interrupted"}, VerdictFail, "aborted: interrupted"},
		{"a clean fail says why", result.Run{Kind: "load", Verdict: VerdictFail, Thresholds: latencyFailed}, VerdictFail, "1 threshold(s) failed"},
		{"nothing judged stays unjudged", result.Run{Kind: "load", Generator: saturated}, "", ""},
		{"a CPU share over a few milliseconds that kept its schedule is no saturation", result.Run{Kind: "load", Verdict: VerdictPass, Generator: saturated,
			Summary: result.Summary{DurationS: 0.004}}, VerdictPass, ""},
		{"a short load that missed its schedule is", result.Run{Kind: "load", Verdict: VerdictPass, Generator: lagging,
			Summary: result.Summary{DurationS: 0.5}}, VerdictInconclusive, "keep the schedule"},
		{"a protocol with an inconclusive phase", result.Run{Kind: "test", Verdict: VerdictPass, Generator: saturated, Phases: []result.Phase{
			{Name: "baseline-1", Pass: true}, {Name: "stress", Inconclusive: true}}}, VerdictInconclusive, "saturated in stress"},
		{"a protocol with a failed phase beside it", result.Run{Kind: "test", Verdict: VerdictFail, Generator: saturated, Phases: []result.Phase{
			{Name: "peak", Pass: false}, {Name: "stress", Inconclusive: true}}}, VerdictFail, "1 phase(s) failed: peak"},
		{"a protocol whose phases all held", result.Run{Kind: "test", Verdict: VerdictPass, Phases: []result.Phase{{Name: "soak", Pass: true}}}, VerdictPass, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := c.run
			if r.Summary.DurationS == 0 {
				r.Summary.DurationS = 10
			}
			SettleVerdict(&r)
			if r.Verdict != c.want || !strings.Contains(r.VerdictReason, c.reason) || (c.reason == "") != (r.VerdictReason == "") {
				t.Errorf("verdict %q (%q), want %q with %q", r.Verdict, r.VerdictReason, c.want, c.reason)
			}
		})
	}
	// Conclude settles it too: the generator finding and the verdict agree.
	r := &result.Run{Kind: "load", Verdict: VerdictPass, Generator: saturated, Summary: result.Summary{DurationS: 10}}
	Conclude(r, nil)
	if r.Verdict != VerdictInconclusive || len(r.Findings) == 0 || r.Findings[0].Kind != result.KindGeneratorSaturated {
		t.Errorf("concluded: verdict %q, findings %+v", r.Verdict, r.Findings)
	}
	r = &result.Run{Kind: "load", Verdict: VerdictPass, Generator: saturated, Summary: result.Summary{DurationS: 0.004}}
	Conclude(r, nil)
	if r.Verdict != VerdictPass || slices.ContainsFunc(r.Findings, func(f result.Finding) bool { return f.Kind == result.KindGeneratorSaturated }) {
		t.Errorf("a 4 ms load: verdict %q, findings %+v", r.Verdict, r.Findings)
	}
}
