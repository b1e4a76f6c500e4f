package suite

import (
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/result"
)

// TestJudgeSaturatedPhase: a load test whose generator was saturated is
// inconclusive unless the target's own errors failed it.
func TestJudgeSaturatedPhase(t *testing.T) {
	saturated := result.Generator{Saturated: true, Reason: "the generator used all the CPU it had"}
	latencyFailed := []result.ThresholdResult{{Expr: "p99 < 100ms", Pass: false}}
	errorsFailed := []result.ThresholdResult{{Expr: "error_rate < 1%", Pass: false}}
	cases := []struct {
		name               string
		run                result.Run
		judged             bool
		pass, inconclusive bool
	}{
		{"clean", result.Run{Summary: result.Summary{Requests: 100, DurationS: 5}}, true, true, false},
		{"saturated, thresholds held", result.Run{Generator: saturated, Summary: result.Summary{Requests: 100, DurationS: 5}}, true, false, true},
		{"saturated, a latency SLO failed", result.Run{Generator: saturated, Thresholds: latencyFailed, Summary: result.Summary{Requests: 100, DurationS: 5}}, true, false, true},
		{"saturated, the errors failed it", result.Run{Generator: saturated, Thresholds: errorsFailed, Summary: result.Summary{Requests: 100, Errors: 50, ErrorRate: 0.5, DurationS: 5}}, true, false, false},
		{"saturated warm-up: not judged", result.Run{Generator: saturated, Summary: result.Summary{Requests: 100, DurationS: 5}}, false, true, false},
		{"saturated for a moment of a short load", result.Run{Generator: saturated, Summary: result.Summary{Requests: 5, DurationS: 0.01}}, true, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ph result.Phase
			judge(&ph, &c.run, c.judged)
			if ph.Pass != c.pass || ph.Inconclusive != c.inconclusive {
				t.Errorf("pass %v inconclusive %v (%s); want %v, %v", ph.Pass, ph.Inconclusive, ph.Note, c.pass, c.inconclusive)
			}
			if c.inconclusive && !strings.Contains(ph.Note, "generator saturated") {
				t.Errorf("note %q does not say why", ph.Note)
			}
		})
	}
}
