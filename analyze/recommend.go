package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// Effort and impact levels of a recommendation.
const (
	LevelLow    = "low"
	LevelMedium = "medium"
	LevelHigh   = "high"
)

// Recommend turns findings into recommendations: each finding maps to
// the advice its kind calls for in the catalogue (catalogue.go), aimed
// at its subject and quoting the evidence that triggered it (there is no
// advice without a finding).
// Priority follows the finding's severity; effort and impact are
// estimates for the kind of change. Each goes to a plan: a stated one,
// else quick_wins when the effort is low, high_priority when the
// priority is high, long_term otherwise. The result is ordered by plan
// (quick wins first), then in the findings' order.
//
// Each carries its implementation plan: a risk, ordered steps and, when
// run is given, the stampede command that verifies the gain.
func Recommend(findings []result.Finding, run *result.Run) []result.Recommendation {
	var out []result.Recommendation
	for i := range findings {
		f := &findings[i]
		e := catalogue[f.Kind]
		for _, a := range e.actionsFor(f.Subject) {
			title := a.title
			if strings.Contains(title, "%s") {
				title = fmt.Sprintf(title, f.Subject)
			}
			r := result.Recommendation{
				Finding:    f.Kind,
				Subject:    f.Subject,
				Title:      title,
				Priority:   priorityOf(f.Severity),
				Effort:     a.effort,
				Impact:     a.impact,
				Techniques: a.techniques,
				Plan:       a.plan,
				Because:    because(f),
				Estimate:   e.estimate(f),
			}
			if r.Impact == "" {
				r.Impact = r.Priority
			}
			r.Risk = riskOf(f.Kind, r.Effort)
			r.Verify = verifyCommand(run, f.Kind)
			r.Steps = planSteps(&r)
			if r.Plan == "" {
				switch {
				case r.Effort == LevelLow:
					r.Plan = result.PlanQuickWins
				case r.Priority == LevelHigh:
					r.Plan = result.PlanHighPriority
				default:
					r.Plan = result.PlanLongTerm
				}
			}
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b result.Recommendation) int { return cmp.Compare(planRank(a.Plan), planRank(b.Plan)) })
	return out
}

func planRank(p result.PlanBucket) int {
	switch p {
	case result.PlanQuickWins:
		return 0
	case result.PlanHighPriority:
		return 1
	}
	return 2
}

func priorityOf(severity result.Severity) string {
	switch severity {
	case SeverityHigh:
		return LevelHigh
	case SeverityMedium:
		return LevelMedium
	}
	return LevelLow
}

// because quotes a finding's first numbers: what was measured, where,
// against which threshold.
func because(f *result.Finding) string {
	var parts []string
	for i, e := range f.Evidence {
		if i == 2 {
			break
		}
		s := fmt.Sprintf("%s %s", e.Metric, evidenceValue(e.Value, e.Unit))
		if e.Threshold != 0 {
			s += fmt.Sprintf(" (threshold %s)", evidenceValue(e.Threshold, e.Unit))
		}
		parts = append(parts, s+" from "+e.Source)
	}
	return strings.Join(parts, "; ")
}

func evidenceValue(v float64, unit string) string {
	switch unit {
	case "ratio":
		return percent(v)
	case "%":
		return num(v) + "%"
	case "":
		return num(v)
	case "B":
		if v >= 1<<20 {
			return num(v/(1<<20)) + " MiB"
		}
		return num(v) + " B"
	}
	return num(v) + " " + unit
}

// value returns the value of the finding's first evidence named metric
// (ending in it, when suffix is set).
func value(f *result.Finding, metric string, suffix bool) (float64, bool) {
	for _, e := range f.Evidence {
		if e.Metric == metric || suffix && strings.HasSuffix(e.Metric, metric) {
			return e.Value, true
		}
	}
	return 0, false
}

// first returns the value of the finding's first evidence named metric.
func first(f *result.Finding, metric string) (float64, bool) { return value(f, metric, false) }
