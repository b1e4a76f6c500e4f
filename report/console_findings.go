package report

import (
	"github.com/stampede-perf/stampede/result"
)

// consoleFindingsShown is how many findings the end-of-run summary lists.
const consoleFindingsShown = 5

// consoleFindings writes the top findings of the run for the end-of-run
// summary, most important first (the order analyze gave them), and how
// many rules lacked data.
func consoleFindings(ew *errWriter, r *result.Run) {
	if len(r.Findings) == 0 && len(r.NotEvaluated) == 0 {
		return
	}
	n := min(consoleFindingsShown, len(r.Findings))
	switch {
	case len(r.Findings) == 0:
		ew.printf("\nfindings: none\n")
	case n < len(r.Findings):
		ew.printf("\nfindings (top %d of %d; all of them with --report html=FILE)\n", n, len(r.Findings))
	default:
		ew.printf("\nfindings\n")
	}
	for _, f := range r.Findings[:n] {
		ew.printf("  %-6s %s  (%.0f%% sure)\n", f.Severity, f.Title, 100*f.Confidence)
	}
	if k := len(r.NotEvaluated); k > 0 {
		rules := "rules"
		if k == 1 {
			rules = "rule"
		}
		ew.printf("  %d %s not evaluated for lack of data (the report says what to add to the plan)\n", k, rules)
	}
}
