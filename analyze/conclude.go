package analyze

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/internal/suggest"
	"github.com/stampede-perf/stampede/result"
)

// Judge draws the conclusions of a finished Run: its findings,
// recommendations, the rules that could not be evaluated and the verdict
// settled with the findings. cfg holds the plan's `analysis:` thresholds
// (nil for the defaults; see Settings for the keys). Judge is a pure
// function of run and cfg: it reads run (its comparison included) and
// changes nothing, so it is called once, where every input is known —
// after the comparison with a reference run (record.Recording.Finish,
// or suite when it runs alone) — and the caller puts the result in the
// Run with Run.SetConclusion.
//
// Design. Each rule is a small function that reads one part of the Run
// and either draws findings from it (each with the numbers, where they
// came from, and a confidence) or says that the part is missing and what
// the plan should add; a rule never passes silently for lack of data.
// Rules judge; they never measure: the statistics they read (percentiles,
// profiles' shares, the heap trend, the USL fit, comparisons) were made
// by the rest of the package, and the few they add (a knee, a rate per
// load level) are documented on the rule. Findings are ordered so that
// the one that makes the others untrustworthy (a saturated generator)
// comes first, then by severity, confidence and the rules' own order,
// where causes (a hotspot, a lock, a leak) come before symptoms (slow
// responses, errors). Recommendations follow only from findings: no
// finding, no advice. Unknown keys in cfg are reported in the
// conclusion's warnings.
func Judge(run *result.Run, cfg map[string]float64) result.Conclusion {
	var c result.Conclusion
	if run == nil {
		return c
	}
	for _, err := range CheckSettings(cfg) {
		c.Warnings = append(c.Warnings, "analysis: "+err.Error())
	}
	ev := &evaluation{run: run, cfg: settingsFrom(cfg)}
	rs := rules()
	rank := map[result.FindingKind]int{}
	for i, r := range rs {
		rank[r.kind] = i
		fs, ne := r.check(ev)
		for j := range fs {
			fs[j].Kind = r.kind
			fs[j].Confidence = round2(clamp(fs[j].Confidence, 0, 1))
			// A number that is not finite cannot be shown or encoded.
			fs[j].Evidence = slices.DeleteFunc(fs[j].Evidence, func(e result.Evidence) bool {
				return math.IsNaN(e.Value) || math.IsInf(e.Value, 0)
			})
		}
		c.Findings = append(c.Findings, fs...)
		if ne != nil {
			ne.Rule = r.kind
			c.NotEvaluated = append(c.NotEvaluated, *ne)
		}
	}
	discountSaturated(c.Findings)
	sortFindings(c.Findings, func(f *result.Finding) int { return rank[f.Kind] })
	c.Recommendations = Recommend(c.Findings, run)
	c.Verdict, c.VerdictReason = settled(run)
	return c
}

// Conclude puts Judge's conclusion in run, replacing what an earlier
// call put there, so a Run read back from a file or the history can be
// concluded again by a newer stampede (stampede report).
func Conclude(run *result.Run, cfg map[string]float64) {
	if run == nil {
		return
	}
	run.SetConclusion(Judge(run, cfg))
}

// Severity levels of a finding, most severe first (result's, named here
// for the rules).
const (
	SeverityHigh   = result.SeverityHigh
	SeverityMedium = result.SeverityMedium
	SeverityLow    = result.SeverityLow
)

func severityRank(s result.Severity) int { return s.Rank() }

// sortFindings orders findings: a saturated generator first (it makes
// every other number doubtful), then by severity, confidence, the rules'
// order and subject.
func sortFindings(fs []result.Finding, rank func(*result.Finding) int) {
	slices.SortStableFunc(fs, func(a, b result.Finding) int {
		ag, bg := a.Kind == result.KindGeneratorSaturated, b.Kind == result.KindGeneratorSaturated
		if ag != bg {
			if ag {
				return -1
			}
			return 1
		}
		if c := cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Confidence, a.Confidence); c != 0 {
			return c
		}
		if c := cmp.Compare(rank(&a), rank(&b)); c != 0 {
			return c
		}
		return strings.Compare(a.Subject, b.Subject)
	})
}

// Setting is one threshold of the plan's `analysis:` block.
type Setting struct {
	Key     string
	Default float64
	Unit    string
	Rule    result.FindingKind // the kind of finding it tunes
	Help    string
}

// Settings lists every key of the `analysis:` block with its default, in
// the order of the rules that read them.
func Settings() []Setting {
	return []Setting{
		{"cpu_percent", 80, "%", result.KindCPUSaturation, "sustained CPU of the target (its process's share of the machine's cores, else the host's)"},
		{"memory_percent", 85, "%", result.KindMemoryPressure, "peak memory in use on the host"},
		{"db_response_ms", 500, "ms", result.KindSlowDatabase, "mean time of a database statement or SQL step"},
		{"network_ms", 100, "ms", result.KindNetworkLatency, "mean connect + TLS time per request"},
		{"error_rate", 0.01, "ratio", result.KindErrorRate, "share of failed requests"},
		{"mean_response_ms", 1000, "ms", result.KindSlowResponse, "mean response time"},
		{"throughput_ratio", 0.95, "ratio", result.KindThroughputShortfall, "least share of the open model's target rate that must be delivered"},
		{"bench_cv", 0.2, "ratio", result.KindBenchVariance, "coefficient of variation (stddev/mean) of a benchmark"},
		{"bench_bytes_per_op", 1 << 20, "B", result.KindBenchMemory, "memory allocated per benchmark operation"},
		{"bench_op_ms", 100, "ms", result.KindBenchSlowOp, "mean time of one benchmark operation (or command run)"},
		{"hotspot_share", 0.30, "ratio", result.KindCPUHotspot, "one function's cumulative share of the CPU profile"},
		{"contention_share", 0.30, "ratio", result.KindLockContention, "one function's share of the mutex or block profile's delay"},
		{"contention_wait_ratio", 0.1, "s/s", result.KindLockContention, "least time spent waiting on that function's locks per second of run"},
		{"usl_sigma", 0.05, "", result.KindLockContention, "USL contention (serial fraction) σ"},
		{"usl_kappa", 0, "", result.KindCoherency, "USL coherency κ"},
		{"usl_min_r2", 0.8, "", result.KindCoherency, "least R² of a USL fit that is judged"},
		{"leak_slope_mb_per_h", 60, "MB/h", result.KindMemoryLeak, "least heap growth of a suspected leak"},
		{"goroutine_leak_per_min", goroutineLeakPerMin, "/min", result.KindGoroutineLeak, "least steady growth of the goroutine count that is a leak"},
		{"gc_pause_percent", 5, "%", result.KindGCPressure, "share of time the Go runtime spends paused for GC"},
		{"gc_cpu_share", gcCPUShare, "ratio", result.KindGCPressure, "share of CPU samples in allocation and garbage-collection work"},
		{"cpu_profile_coverage", minProfileCoverage, "ratio", result.KindCPUHotspot, "least share of the target's CPU time its CPU profile must have sampled for the profile's shares to carry a medium or high CPU hotspot or GC pressure finding"},
		{"conn_error_rate", 0.001, "ratio", result.KindConnectionErrors, "share of requests failing to connect (refused, reset, timeout)"},
		{"knee_latency_factor", 2, "×", result.KindLatencyKnee, "p99 at the highest load over p99 at the knee"},
		{"knee_error_rate", 0.01, "ratio", result.KindLatencyKnee, "error rate from which a load level counts as failing"},
		{"knee_min_rise_ms", kneeMinRiseMS, "ms", result.KindLatencyKnee, "least rise of p99 from the knee to the highest load for a medium or high finding (under it the knee is a low note)"},
		{"wait_share", waitShare, "ratio", result.KindSlowDependency, "share of the request goroutines' time waiting on other services (and, for disk_io, in file system calls)"},
		{"io_wait_percent", 20, "%", result.KindDiskBound, "sustained share of the host's CPU time waiting for disk I/O (median of the samples)"},
		{"receive_share", 0.5, "ratio", result.KindLargeResponses, "share of time to first byte + receive spent receiving a step's responses"},
		{"response_kib", 64, "KiB", result.KindLargeResponses, "least mean response size of a step whose transfer is judged"},
		{"disk_mbps", 0, "MB/s", result.KindDiskThroughput, "the disk's measured throughput ceiling (read + write); 0: unknown, not judged"},
		{"net_mbps", 0, "Mbit/s", result.KindNetworkBound, "the network link's capacity in each direction; 0: unknown, not judged"},
		{"bw_share", 0.8, "ratio", result.KindDiskThroughput, "sustained share of the disk's or the link's ceiling (median of the samples) that is a finding; high from 95%"},
	}
}

// CheckSettings reports keys of cfg that no rule reads and values that
// cannot be thresholds (negative, not finite), every problem at once.
func CheckSettings(cfg map[string]float64) []error {
	known := map[string]bool{}
	for _, s := range Settings() {
		known[s.Key] = true
	}
	keys := make([]string, 0, len(cfg))
	for k := range cfg {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	for _, k := range keys {
		v := cfg[k]
		switch {
		case !known[k]:
			msg := fmt.Sprintf("unknown key %q", k)
			if s := closestKey(k); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			errs = append(errs, fmt.Errorf("%s; it is ignored", msg))
		case math.IsNaN(v) || math.IsInf(v, 0) || v < 0:
			errs = append(errs, fmt.Errorf("%s: %g is not a usable threshold; the default is used", k, v))
		}
	}
	return errs
}

// closestKey is the known key nearest to k by edit distance, if close.
func closestKey(k string) string {
	best, bestD := "", 4
	for _, s := range Settings() {
		if d := suggest.Distance(k, s.Key); d < bestD {
			best, bestD = s.Key, d
		}
	}
	return best
}

// settings are the thresholds in force: the defaults overridden by the
// usable values of the plan's block.
type settings map[string]float64

func settingsFrom(cfg map[string]float64) settings {
	s := settings{}
	for _, d := range Settings() {
		s[d.Key] = d.Default
		if v, ok := cfg[d.Key]; ok && !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 {
			s[d.Key] = v
		}
	}
	return s
}

// Verdicts of a Run (result's, named here too).
const (
	VerdictPass         = result.VerdictPass
	VerdictFail         = result.VerdictFail
	VerdictInconclusive = result.VerdictInconclusive
)

// GeneratorAdvice is what to do about a saturated generator.
const GeneratorAdvice = "lower the rate, give stampede more cores, or split the load over processes or machines (--segment k/n, then stampede merge)"

// SettleVerdict makes a judged run's verdict agree with its findings: a
// run whose numbers rest on a saturated load generator cannot pass, nor
// fail on those numbers. It becomes "inconclusive", with the reason and
// what to do, unless it failed on something the generator cannot cause:
// an interrupt or abort, the target's errors (an error-count or error-rate
// SLO), or a protocol phase that failed on the target's account. A run
// with no verdict (nothing judged) is left alone; a failed one gets a
// reason when it has none.
func SettleVerdict(run *result.Run) {
	if run == nil {
		return
	}
	run.Verdict, run.VerdictReason = settled(run)
}

// settled is the verdict and its reason that SettleVerdict gives run.
func settled(run *result.Run) (verdict result.Verdict, reason string) {
	verdict, reason = run.Verdict, run.VerdictReason
	if verdict == "" {
		return verdict, reason
	}
	saturated := unmeasured(run)
	switch {
	case saturated != "" && !(verdict == VerdictFail && failedOnTarget(run)):
		return VerdictInconclusive, saturated + ": " + GeneratorAdvice
	case verdict == VerdictPass:
		return verdict, ""
	case verdict == VerdictFail && reason == "":
		return verdict, failReason(run)
	}
	return verdict, reason
}

// unmeasured says which of the run's results rest on a saturated
// generator ("" when none): the protocol's inconclusive phases, or, for a
// single load, the generator's own mark.
func unmeasured(run *result.Run) string {
	if run.Kind == "test" {
		var names []string
		for _, ph := range run.Phases {
			if ph.Inconclusive {
				names = append(names, ph.Name)
			}
		}
		if len(names) > 0 {
			return fmt.Sprintf("the load generator was saturated in %s, so %s measured stampede rather than the target",
				strings.Join(names, ", "), map[bool]string{true: "that phase", false: "those phases"}[len(names) == 1])
		}
		return ""
	}
	if !GeneratorSaturated(run) {
		return ""
	}
	why := "the load generator was saturated"
	if run.Generator.Reason != "" {
		why += " (" + run.Generator.Reason + ")"
	}
	return why + ", so the numbers measure stampede rather than the target"
}

// failedOnTarget says whether a failed run failed for a reason a
// saturated generator cannot cause.
func failedOnTarget(run *result.Run) bool {
	if run.Aborted {
		return true
	}
	if run.Kind == "test" {
		for _, ph := range run.Phases {
			if !ph.Skipped && !ph.Pass && !ph.Inconclusive {
				return true
			}
		}
		return false
	}
	if run.Comparison != nil && run.Comparison.Regression {
		return false // a regression in latency may be the generator's
	}
	return ErrorsFailed(run.Summary.ErrorRate, run.Thresholds, 1)
}

// ErrorsFailed says whether the target's errors failed a load: an
// error-count or error-rate threshold, or an error rate at or above max.
func ErrorsFailed(errorRate float64, ths []result.ThresholdResult, max float64) bool {
	if errorRate >= max {
		return true
	}
	for _, th := range ths {
		if f := strings.Fields(th.Expr); !th.Pass && len(f) > 0 && (f[0] == "error_rate" || f[0] == "errors") {
			return true
		}
	}
	return false
}

// failReason says in a line why a run failed.
func failReason(run *result.Run) string {
	if run.Aborted {
		return "aborted: " + run.AbortReason
	}
	if run.Kind == "test" {
		var names []string
		for _, ph := range run.Phases {
			if !ph.Skipped && !ph.Pass && !ph.Inconclusive {
				names = append(names, ph.Name)
			}
		}
		if len(names) > 0 {
			return fmt.Sprintf("%d phase(s) failed: %s", len(names), strings.Join(names, ", "))
		}
	}
	if f := Failed(run.Thresholds, false); len(f) > 0 {
		return fmt.Sprintf("%d threshold(s) failed", len(f))
	}
	return ""
}

// MinCPUJudgedS is the shortest load whose generator CPU share says
// anything: over less, the share is mostly start-up work (goroutines, the
// collector, a collection) divided by a few milliseconds.
const MinCPUJudgedS = 1.0

// GeneratorSaturated says whether a run rests on a saturated generator:
// its generator.saturated mark (the engine no longer marks a load shorter
// than a second that kept its schedule), unless a Run recorded before
// that was shorter than MinCPUJudgedS and kept its schedule (start lag
// p99 within 10 ms), so that only a CPU share over a moment marked it.
// The generator finding and the verdict both ask this, so they agree.
func GeneratorSaturated(run *result.Run) bool {
	g := run.Generator
	if !g.Saturated {
		return false
	}
	return run.Summary.DurationS >= MinCPUJudgedS || g.StartLagP99 > 10
}
