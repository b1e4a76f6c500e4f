package analyze

import (
	"slices"

	"github.com/stampede-perf/stampede/result"
)

// generatorTimed are the kinds whose evidence is latency or throughput as
// the generator measured it: a saturated generator adds its own delay to
// every latency and may fall short of the rate by itself, so these
// findings cannot stand above low beside its finding.
var generatorTimed = []result.FindingKind{result.KindLatencyKnee, result.KindSlowResponse, result.KindThroughputShortfall, result.KindRegression, result.KindSoakDegradation, result.KindNetworkLatency}

// discountSaturated lowers the findings of generatorTimed kinds to low
// when the generator was saturated, saying why; the findings drawn from
// the target's own profiles and metrics keep their severity.
func discountSaturated(fs []result.Finding) {
	if !slices.ContainsFunc(fs, func(f result.Finding) bool { return f.Kind == result.KindGeneratorSaturated }) {
		return
	}
	for i := range fs {
		f := &fs[i]
		if f.Severity == SeverityLow || !slices.Contains(generatorTimed, f.Kind) {
			continue
		}
		f.Detail += " Measured by a saturated generator (see its finding): the latencies and rates include the generator's own delay, so this is low until a run with a generator to spare confirms it (it was " + string(f.Severity) + ")."
		f.Severity = SeverityLow
		f.Confidence = round2(f.Confidence / 2)
	}
}

// keptUp reports whether the target delivered the rate asked of it (95%
// or more; any closed-model run): a process that falls behind is not
// idle, whatever its CPU use (it may be starved of CPU by its
// neighbours).
func keptUp(run *result.Run) bool {
	s := run.Summary
	return s.TargetRPS <= 0 || s.RPS >= 0.95*s.TargetRPS
}
