package report

import (
	"fmt"

	"github.com/stampede-perf/stampede/report/render"
	"github.com/stampede-perf/stampede/result"
)

// consoleNetworkStress prints the network stress variant: where the SLO
// broke, each step under its conditions, and the steps the condition
// slowed most.
func consoleNetworkStress(ew *errWriter, s *result.Stress) {
	ns := s.Network
	ew.printf("\nstress (network: %s, %s)\n", ns.Condition, ns.Unit)
	ew.printf("  %s\n", ns.Summary)
	if s.Recovered {
		ew.printf("  recovery: %.0f s after the conditions returned to the first step's\n", s.RecoveryS)
	}
	tw := render.Table(ew, render.Right)
	fmt.Fprintf(tw, "  %s\trps\tp50\tp95\tp99\terr%%\t\t\n", ns.Condition)
	for _, st := range ns.Steps {
		mark := "✓"
		if !st.OK {
			mark = "✗ " + st.Limit
		}
		fmt.Fprintf(tw, "  %s\t%.1f\t%s\t%s\t%s\t%.2f\t%s\t\n", protoNum(st.Value), st.RPS, f(st.P50), f(st.P95), f(st.P99), 100*st.ErrorRate, mark)
	}
	tw.Flush()
	for _, c := range ns.Chattiness {
		ew.printf("  %s: %s requests per iteration, %s sequential round trips (+%s ms per iteration)\n", c.Scenario, protoNum(c.RequestsPerIteration), protoNum(c.RoundTrips), protoNum(c.AddedMS))
	}
	for _, x := range ns.Sensitive {
		ew.printf("  %s / %s: +%s ms", x.Scenario, x.Step, protoNum(x.AddedMS))
		if x.RoundTrips > 0 {
			ew.printf(", %s round trips", protoNum(x.RoundTrips))
		}
		if x.BytesPerResponse > 0 {
			ew.printf(", %s per response", bytes(int64(x.BytesPerResponse)))
		}
		ew.printf("\n")
	}
	for _, w := range s.Warnings {
		ew.printf("  ! %s\n", w)
	}
}
