package result

import "slices"

// Finding is one conclusion drawn from a Run, with the evidence behind it.
// Kind names the rule that drew it; Subject what it is about (a function,
// a step, a benchmark), so two findings of one kind can be told apart and
// a Recommendation can point at one of them.
type Finding struct {
	Kind       FindingKind `json:"kind"`
	Severity   Severity    `json:"severity"`
	Title      string      `json:"title"`
	Evidence   []Evidence  `json:"evidence"`
	Confidence float64     `json:"confidence"` // 0..1
	Subject    string      `json:"subject,omitempty"`
	// Detail explains in a sentence or two what the evidence means.
	Detail string `json:"detail,omitempty"`
}

// FindingKind names the rule that drew a finding; a rule that could not
// be evaluated is named by the kind it would have drawn.
type FindingKind string

// Kinds of finding, one per rule of the analysis.
const (
	KindGeneratorSaturated  FindingKind = "generator_saturated"
	KindRegression          FindingKind = "regression"
	KindCPUHotspot          FindingKind = "cpu_hotspot"
	KindLockContention      FindingKind = "lock_contention"
	KindMemoryLeak          FindingKind = "memory_leak"
	KindGoroutineLeak       FindingKind = "goroutine_leak"
	KindCoherency           FindingKind = "coherency"
	KindScalingEfficiency   FindingKind = "scaling_efficiency"
	KindGCPressure          FindingKind = "gc_pressure"
	KindSlowDatabase        FindingKind = "slow_database"
	KindCPUSaturation       FindingKind = "cpu_saturation"
	KindMemoryPressure      FindingKind = "memory_pressure"
	KindDiskBound           FindingKind = "disk_bound"
	KindSlowDependency      FindingKind = "slow_dependency"
	KindDiskIO              FindingKind = "disk_io"
	KindLargeResponses      FindingKind = "large_responses"
	KindDiskThroughput      FindingKind = "disk_throughput"
	KindNetworkBound        FindingKind = "network_bound"
	KindNetworkLatency      FindingKind = "network_latency"
	KindConnectionErrors    FindingKind = "connection_errors"
	KindNetworkSensitivity  FindingKind = "network_sensitivity"
	KindCPULimit            FindingKind = "cpu_limit"
	KindMemoryLimit         FindingKind = "memory_limit"
	KindLatencyKnee         FindingKind = "latency_knee"
	KindThroughputShortfall FindingKind = "throughput_shortfall"
	KindErrorRate           FindingKind = "error_rate"
	KindSlowResponse        FindingKind = "slow_response"
	KindSoakDegradation     FindingKind = "soak_degradation"
	KindBenchVariance       FindingKind = "bench_variance"
	KindBenchMemory         FindingKind = "bench_memory"
	KindBenchSlowOp         FindingKind = "bench_slow_op"
	KindDBPoolWait          FindingKind = "db_pool_wait"
	KindDBConnections       FindingKind = "db_connection_limit"
	KindDBLocks             FindingKind = "db_lock_waits"
	KindDBCache             FindingKind = "db_cache_misses"
	KindDBConflicts         FindingKind = "db_conflicts"
)

// Severity is how much a finding matters: high, medium or low.
type Severity string

// Severities of a finding, most severe first.
const (
	SeverityHigh   = Severity("high")
	SeverityMedium = Severity("medium")
	SeverityLow    = Severity("low")
)

// Rank orders severities: 0 for high, 1 for medium, 2 for low (and
// anything else).
func (s Severity) Rank() int {
	switch s {
	case SeverityHigh:
		return 0
	case SeverityMedium:
		return 1
	}
	return 2
}

// Evidence is one number behind a finding and where it came from.
type Evidence struct {
	Metric string  `json:"metric"`
	Value  float64 `json:"value"`
	Unit   string  `json:"unit,omitempty"`
	Source string  `json:"source"` // phase, profile, series…
	Note   string  `json:"note,omitempty"`
	// Threshold is the limit Value was judged against, in Unit (0: none).
	Threshold float64 `json:"threshold,omitempty"`
}

// Recommendation is advice that follows from one or more findings.
type Recommendation struct {
	Finding    FindingKind `json:"finding"` // kind of the finding it answers
	Title      string      `json:"title"`
	Priority   string      `json:"priority"` // high, medium, low
	Effort     string      `json:"effort"`
	Impact     string      `json:"impact"`
	Techniques []string    `json:"techniques"`
	Plan       PlanBucket  `json:"plan"`
	// Subject is the Subject of the finding it answers.
	Subject string `json:"subject,omitempty"`
	// Because quotes the evidence that triggered it.
	Because string `json:"because,omitempty"`
	// Estimate says what the change may gain, in the evidence's numbers.
	Estimate string `json:"estimate,omitempty"`
	// Risk is what the change may break: low, medium or high.
	Risk string `json:"risk,omitempty"`
	// Steps are the implementation plan, in order: confirm the cause,
	// the changes to try (cheapest first), then verify.
	Steps []string `json:"steps,omitempty"`
	// Verify is the stampede command that shows the gain: the phase that
	// measures it, compared with this run.
	Verify string `json:"verify,omitempty"`
}

// PlanBucket groups recommendations by when to act on them.
type PlanBucket string

// Plan buckets of a Recommendation.
const (
	PlanQuickWins    PlanBucket = "quick_wins"    // little effort for a clear gain: do these first
	PlanHighPriority PlanBucket = "high_priority" // severe problems worth real work now
	PlanLongTerm     PlanBucket = "long_term"     // larger changes to schedule
)

// NotEvaluated names a rule that could not be evaluated and what to add.
type NotEvaluated struct {
	Rule   FindingKind `json:"rule"`
	Reason string      `json:"reason"`
	Add    string      `json:"add"`
}

// Comparison is a run compared with its baseline.
type Comparison struct {
	Base       string          `json:"base"`
	New        string          `json:"new"`
	Rows       []ComparisonRow `json:"rows"`
	Regression bool            `json:"regression"`
	Warnings   []string        `json:"warnings,omitempty"`
	Alpha      float64         `json:"alpha,omitempty"`       // significance level of the whole comparison
	Threshold  float64         `json:"threshold,omitempty"`   // smallest relative change that counts (0.05 = 5%)
	Tested     int             `json:"tested_rows,omitempty"` // rows with a U test: the size of the Holm adjustment
}

// Change is the verdict of one compared metric.
type Change string

// Changes of a ComparisonRow.
const (
	ChangeSame    = Change("~") // no significant change
	ChangeWorse   = Change("worse")
	ChangeBetter  = Change("better")
	ChangeUnknown = Change("?") // too few samples to judge
)

// ComparisonRow is one metric of one step compared.
type ComparisonRow struct {
	Name        string  `json:"name"`
	Metric      string  `json:"metric"`
	Unit        string  `json:"unit,omitempty"`
	Old         float64 `json:"old"`
	New         float64 `json:"new"`
	DeltaPct    float64 `json:"delta_pct"` // 0 when Old is 0: see Delta
	PValue      float64 `json:"p_value"`
	Significant bool    `json:"significant"`
	Regression  bool    `json:"regression"`
	Verdict     Change  `json:"verdict"`
	Delta       float64 `json:"delta"` // New − Old, in Unit
	// PAdjusted is PValue adjusted for the number of rows tested
	// (Holm–Bonferroni); Significant compares it with the alpha.
	PAdjusted float64 `json:"p_adjusted"`
	NOld      int     `json:"n_old"` // windows (or benchmark runs) behind the test
	NNew      int     `json:"n_new"`
}

// Conclusion is what the analysis concludes of a Run: its findings, the
// advice that follows from them, the rules that could not be evaluated,
// and the verdict settled with the findings. It is drawn once, when every
// input is known (after the comparison with a reference run), by a pure
// function (analyze.Judge) and put in the Run by SetConclusion.
type Conclusion struct {
	Findings        []Finding
	Recommendations []Recommendation
	NotEvaluated    []NotEvaluated
	// Verdict and VerdictReason are the Run's verdict once settled with
	// the findings (unchanged when the Run had none: nothing was judged).
	Verdict       Verdict
	VerdictReason string
	// Warnings are problems with the analysis settings, for the Run's
	// warnings.
	Warnings []string
}

// SetConclusion puts c in r: it replaces r's findings, recommendations,
// rules not evaluated and verdict, and adds c's warnings that r does not
// have yet. Setting a newer conclusion replaces an older one.
func (r *Run) SetConclusion(c Conclusion) {
	r.Findings, r.Recommendations, r.NotEvaluated = c.Findings, c.Recommendations, c.NotEvaluated
	r.Verdict, r.VerdictReason = c.Verdict, c.VerdictReason
	for _, w := range c.Warnings {
		if !slices.Contains(r.Warnings, w) {
			r.Warnings = append(r.Warnings, w)
		}
	}
}
