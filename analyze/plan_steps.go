package analyze

import (
	"fmt"
	"strings"

	"github.com/stampede-perf/stampede/result"
)

// An implementation plan turns a recommendation into work: how risky the
// change is, the ordered steps, and the one stampede command that shows
// whether it paid off. A load run is verified by the same load compared
// with it (significance tested, gated at 5%): the same schedule makes the
// distributions comparable. A test run is verified by the phase that
// measures what the finding is about — a soak for a leak, stress for
// capacity — whose outcome (trend, breaking point, efficiency) is read
// against this run's; comparing one phase's histograms with a whole
// protocol's would mix loads.

// verifyPhase is the protocol phase that measures a kind of finding
// (for a test run; a load run is verified by the same load): its
// catalogue entry's.
func verifyPhase(kind result.FindingKind, unit string) string {
	switch p := catalogue[kind].phase; {
	case p == "scalability" && unit == "pool":
		return "pool"
	case p != "":
		return p
	}
	return "load"
}

// riskOf is what a change of this kind may break: its catalogue entry
// says so where the change is riskier or safer than its effort (code on
// every request's path — locks, caches, concurrency — is riskier than a
// setting or an index).
func riskOf(kind result.FindingKind, effort string) string {
	if r := catalogue[kind].risk; r != "" {
		return r
	}
	if effort == "" {
		return LevelMedium
	}
	return effort
}

// verifyCommand is the command that measures the gain of a change the
// run's findings ask for.
func verifyCommand(run *result.Run, kind result.FindingKind) string {
	if run == nil {
		return ""
	}
	against := "baseline"
	if run.ID != "" {
		against = run.ID
	}
	unit := ""
	if run.Scalability != nil {
		unit = run.Scalability.Unit
	}
	plan := "<plan file>"
	if run.Plan == "" && run.Target != "" {
		plan = "--url " + run.Target
	}
	if run.Kind == "bench" {
		// Commands run again with the old build first: the first is the
		// reference the others are compared with.
		return "stampede bench '<the command before the change>' '<the command after it>' --fail-on-regression 5%"
	}
	if run.Kind == "test" {
		return fmt.Sprintf("stampede test %s --only %s", plan, verifyPhase(kind, unit))
	}
	return fmt.Sprintf("stampede run %s --compare %s --fail-on-regression 5%%", plan, against)
}

// planSteps is the ordered implementation plan of r.
func planSteps(r *result.Recommendation) []string {
	var steps []string
	if r.Because != "" {
		steps = append(steps, "Confirm the cause: "+r.Because+".")
	}
	for i, t := range r.Techniques {
		verb := "Then, if that is not enough: "
		if i == 0 {
			verb = "Change: "
		}
		steps = append(steps, verb+t+".")
	}
	if r.Verify != "" {
		v := "Verify: " + r.Verify
		if r.Estimate != "" {
			v += " — expect " + strings.TrimSuffix(r.Estimate, ".")
		}
		steps = append(steps, v+".")
	}
	return steps
}
