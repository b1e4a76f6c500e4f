package analyze

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// rule is one check of a Run: it draws findings from the part of the Run
// it reads, or says (NotEvaluated) that the part is missing and what the
// plan should add. Conclude fills the findings' Kind.
type rule struct {
	kind  result.FindingKind
	check func(ev *evaluation) ([]result.Finding, *result.NotEvaluated)
}

// rules lists every rule in the order ties are broken in: the generator
// first, then causes before the symptoms they produce.
func rules() []rule {
	return []rule{
		{result.KindGeneratorSaturated, ruleGenerator},
		{result.KindRegression, ruleRegression},
		{result.KindCPUHotspot, ruleHotspot},
		{result.KindLockContention, ruleContention},
		{result.KindMemoryLeak, ruleLeak},
		{result.KindGoroutineLeak, ruleGoroutineLeak},
		{result.KindCoherency, ruleCoherency},
		{result.KindScalingEfficiency, ruleScalingEfficiency},
		{result.KindGCPressure, ruleGC},
		{result.KindSlowDependency, ruleDependency},
		{result.KindDiskIO, ruleDiskIO},
		{result.KindSlowDatabase, ruleDatabase},
		{result.KindCPUSaturation, ruleCPU},
		{result.KindMemoryPressure, ruleMemory},
		{result.KindCPULimit, ruleCPULimit},
		{result.KindMemoryLimit, ruleMemoryLimit},
		{result.KindDiskBound, ruleDiskBound},
		{result.KindDiskThroughput, ruleDiskThroughput},
		{result.KindNetworkBound, ruleNetworkBound},
		{result.KindNetworkLatency, ruleNetwork},
		{result.KindLargeResponses, ruleLargeResponses},
		{result.KindNetworkSensitivity, ruleNetworkSensitivity},
		{result.KindConnectionErrors, ruleConnErrors},
		{result.KindLatencyKnee, ruleKnee},
		{result.KindThroughputShortfall, ruleThroughput},
		{result.KindErrorRate, ruleErrorRate},
		{result.KindSlowResponse, ruleMeanResponse},
		{result.KindSoakDegradation, ruleSoak},
		{result.KindBenchVariance, ruleBenchVariance},
		{result.KindBenchMemory, ruleBenchMemory},
		{result.KindBenchSlowOp, ruleBenchSlowOp},
	}
}

// evaluation is what every rule reads: the Run, the thresholds in force,
// and views of the Run that several rules share, made once.
type evaluation struct {
	run *result.Run
	cfg settings

	levelsDone bool
	levels     []level
	levelUnit  string
	levelSrc   string
}

// notEvaluated is the NotEvaluated of a rule (Conclude fills the rule).
func notEvaluated(reason, add string) *result.NotEvaluated {
	return &result.NotEvaluated{Reason: reason, Add: add}
}

// judged is one part of the run the standard thresholds are applied to.
type judged struct {
	source string
	sum    *result.Summary
}

// judgedScopes are the phases the standard thresholds apply to, or the
// whole run when it has no phases. Phases that push the system past its
// limits on purpose (stress, scalability) or only prepare it (warm-up,
// recovery) are judged by their own rules, not by these thresholds.
func (ev *evaluation) judgedScopes() []judged {
	run := ev.run
	if len(run.Phases) == 0 {
		return []judged{{"run", &run.Summary}}
	}
	var out []judged
	for i := range run.Phases {
		p := &run.Phases[i]
		if p.Skipped || p.Summary.Requests == 0 {
			continue
		}
		switch strings.ToLower(p.Kind) {
		case "stress", "scalability", "warmup", "warm-up", "recovery", "bench":
			continue
		}
		out = append(out, judged{"phase " + p.Name, &p.Summary})
	}
	return out
}

// confidence is how sure a threshold finding is, from how far the value
// passed its threshold and how much data stands behind it. ratio is
// value/threshold (or its inverse for "below" thresholds), at least 1;
// n counts the observations (samples, windows, runs; 0 when unknown).
// Just past the threshold on little data gives about 0.4; half as much
// again past it on a hundred observations gives about 0.95.
func confidence(ratio float64, n int) float64 {
	strength := clamp((ratio-1)/0.5, 0, 1)
	data := 0.9 // a summary over the whole run
	if n > 0 {
		data = float64(n) / (float64(n) + 5)
	}
	return clamp((0.55+0.45*strength)*data, 0.05, 0.99)
}

// severityAbove is high when value is at least highAt times the
// threshold, else medium.
func severityAbove(ratio, highAt float64) result.Severity {
	if ratio >= highAt {
		return SeverityHigh
	}
	return SeverityMedium
}

func clamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return max(lo, min(hi, v))
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// shortFunc drops the import path before a symbol's package name, and
// the wrappers the compiler makes for defer and go statements, which run
// their function's own code: "github.com/a/shop.(*Shop).audit.deferwrap1"
// becomes "shop.(*Shop).audit".
func shortFunc(name string) string {
	pkg, fn := splitFuncName(name)
	for _, wrap := range []string{".deferwrap", ".gowrap"} {
		if i := strings.LastIndex(fn, wrap); i > 0 && isDigits(fn[i+len(wrap):]) {
			fn = fn[:i]
		}
	}
	if pkg == "" {
		return fn
	}
	return lastElem(pkg) + "." + fn
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func lastElem(pkg string) string {
	if i := strings.LastIndexByte(pkg, '/'); i >= 0 {
		return pkg[i+1:]
	}
	return pkg
}

// quantile is the q-quantile of v by linear interpolation (v unsorted).
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + (pos-float64(i))*(s[i+1]-s[i])
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	var t float64
	for _, x := range v {
		t += x
	}
	return t / float64(len(v))
}

func maxOf(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return slices.Max(v)
}

// num formats a number for a title: few digits, no exponent.
func num(v float64) string {
	switch a := math.Abs(v); {
	case v == math.Trunc(v) && a < 1e15:
		return fmt.Sprintf("%.0f", v)
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

// percent formats a ratio as a percentage.
func percent(r float64) string {
	p := 100 * r
	switch a := math.Abs(p); {
	case a >= 10:
		return fmt.Sprintf("%.0f%%", p)
	case a >= 1:
		return fmt.Sprintf("%.1f%%", p)
	}
	return fmt.Sprintf("%.2f%%", p)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// stepLabel names a step as reports do.
func stepLabel(st *result.StepResult) string {
	if st.Scenario == "" || st.Scenario == "default" {
		return st.Step
	}
	return st.Scenario + "/" + st.Step
}
