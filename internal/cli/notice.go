package cli

import (
	"fmt"
	"strings"

	"github.com/stampede-perf/stampede/plan"
)

// shellCommands names what a plan runs through the shell: the commands
// and prepare steps of its benchmarks, and the apply and revert commands
// of its scalability phase.
func shellCommands(p *plan.Plan) []string {
	var out []string
	for _, b := range p.Benchmarks {
		if b.Command != "" || b.Prepare != "" {
			out = append(out, fmt.Sprintf("benchmarks: %s", b.Name))
		}
	}
	if p.Tests != nil && p.Tests.Scalability != nil {
		if s := p.Tests.Scalability; s.Apply != "" || s.Revert != "" {
			out = append(out, "tests.scalability.apply")
		}
	}
	return out
}

// shellNotice says, once and before any of them runs, that the plan runs
// shell commands: a plan from someone else is a script.
func shellNotice(e *env, p *plan.Plan) {
	cmds := shellCommands(p)
	if len(cmds) == 0 {
		return
	}
	src := p.File
	if src == "" {
		src = "the plan"
	}
	fmt.Fprintf(e.stderr, "stampede: note: %s runs shell commands with your permissions (%s); read them before running a plan you did not write (see docs/security.md)\n", src, strings.Join(cmds, ", "))
}
