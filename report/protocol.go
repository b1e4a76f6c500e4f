package report

import (
	"fmt"
	"strings"

	"github.com/stampede-perf/stampede/report/render"
	"github.com/stampede-perf/stampede/result"
)

// consoleProtocol writes the sections of a protocol Run (kind "test") for
// the end-of-run summary: one line per phase, then what the stress,
// soak and scalability phases concluded, and the protocol's verdict with
// the phases that failed. It writes nothing for other kinds of Run.
func consoleProtocol(ew *errWriter, r *result.Run) {
	if r.Kind != "test" || len(r.Phases) == 0 {
		return
	}
	ew.printf("\nphases\n")
	tw := render.Table(ew, render.Left)
	fmt.Fprintf(tw, "  phase\tload\ttime\trequests\trps\terr%%\tp50\tp95\tp99\tnote\n")
	var failed, unmeasured []string
	passed, judged := 0, 0
	for _, ph := range r.Phases {
		mark := "✓"
		switch {
		case ph.Skipped:
			mark = "–"
		case ph.Inconclusive:
			mark = "?"
			unmeasured = append(unmeasured, ph.Name)
		case !ph.Pass:
			mark = "✗"
			failed = append(failed, ph.Name)
		}
		if !ph.Skipped {
			judged++
			if ph.Pass {
				passed++
			}
		}
		s := ph.Summary
		if s.Requests == 0 {
			fmt.Fprintf(tw, "  %s %s\t%s\t\t\t\t\t\t\t\t%s\n", mark, ph.Name, phaseLoad(ph), ph.Note)
			continue
		}
		fmt.Fprintf(tw, "  %s %s\t%s\t%.1fs\t%d\t%.1f\t%.2f\t%s\t%s\t%s\t%s\n", mark, ph.Name, phaseLoad(ph), s.DurationS,
			s.Requests, s.RPS, 100*s.ErrorRate, f(s.Latency.P50), f(s.Latency.P95), f(s.Latency.P99), ph.Note)
	}
	tw.Flush()
	consoleStress(ew, r.Stress)
	consoleSoak(ew, r.Soak)
	consoleScalability(ew, r.Scalability)
	switch {
	case r.Aborted:
		ew.printf("\nprotocol: stopped (%s) after %d of %d phases; the phases that ran are above\n", r.AbortReason, judged, len(r.Phases))
	case len(failed) == 0 && len(unmeasured) == 0:
		ew.printf("\nprotocol: all %d phases passed\n", passed)
	default:
		ew.printf("\nprotocol: %d of %d phases passed", passed, judged)
		if len(failed) > 0 {
			ew.printf("; failed: %s", strings.Join(failed, ", "))
		}
		if len(unmeasured) > 0 {
			ew.printf("; inconclusive (the generator was saturated): %s", strings.Join(unmeasured, ", "))
		}
		ew.printf("\n")
	}
}

func phaseLoad(ph result.Phase) string {
	switch {
	case ph.Rate > 0:
		return fmt.Sprintf("%g/s", ph.Rate)
	case ph.Users == 1:
		return "1 user"
	case ph.Users > 0:
		return fmt.Sprintf("%d users", ph.Users)
	}
	return ""
}

func consoleStress(ew *errWriter, s *result.Stress) {
	if s == nil || len(s.Curve) == 0 {
		return
	}
	if s.Network != nil {
		consoleNetworkStress(ew, s)
		return
	}
	unit := s.Unit
	ew.printf("\nstress (%s)\n", s.Variant)
	if s.Limit == "none" {
		ew.printf("  held every limit up to %s %s; max sustained %.1f req/s\n", protoNum(s.LastGood), unit, s.MaxThroughputRPS)
	} else {
		ew.printf("  breaking point %s %s", protoNum(s.BreakingPoint), unit)
		if s.RequestsPerIteration > 0 && s.BreakingPointRPS != s.BreakingPoint {
			ew.printf(" (%s requests/s at %.2f requests per iteration)", protoNum(s.BreakingPointRPS), s.RequestsPerIteration)
		}
		ew.printf(" — limit: %s (%s)\n", s.Limit, s.Why)
		if s.Precision > 0 {
			ew.printf("  bracketed within %.1f%%\n", 100*s.Precision)
		}
		ew.printf("  last good %s %s; max sustained throughput %.1f requests/s", protoNum(s.LastGood), unit, s.MaxThroughputRPS)
		if s.Knee > 0 {
			ew.printf("; throughput curve bends at %s %s", protoNum(s.Knee), unit)
		}
		ew.printf("\n")
	}
	if c := s.Closed; c != nil {
		ew.printf("  closed model: %.1f requests/s at %d users (%.2f× the open model's)\n", c.MaxThroughputRPS, c.Users, c.Ratio)
	}
	if r := s.Resource; r != nil {
		ew.printf("  %s limit: %s\n", r.Resource, r.Text)
	}
	if s.System != "" {
		ew.printf("  the system at the break: %s\n", s.System)
	}
	switch {
	case s.Recovered:
		ew.printf("  recovery: %.0f s after the load dropped to %s %s\n", s.RecoveryS, protoNum(s.RecoveryLoad), unit)
	case s.RecoveryLoad > 0:
		ew.printf("  recovery: not within the limit (at %s %s)\n", protoNum(s.RecoveryLoad), unit)
	}
	tw := render.Table(ew, render.Right)
	fmt.Fprintf(tw, "  load\tachieved rps\tp50\tp99\terr%%\tefficiency\t\t\n") // verdict, probe
	for _, pt := range s.Curve {
		mark := "✓"
		if !pt.OK {
			mark = "✗ " + pt.Limit
		}
		probe := ""
		if pt.Probe {
			probe = "probe"
		}
		fmt.Fprintf(tw, "  %s\t%.1f\t%s\t%s\t%.2f\t%.2f\t%s\t%s\t\n", protoNum(pt.Load), pt.RPS, f(pt.P50), f(pt.P99), 100*pt.ErrorRate, pt.Efficiency, mark, probe)
	}
	tw.Flush()
	for _, w := range s.Warnings {
		ew.printf("  ! %s\n", w)
	}
}

func consoleSoak(ew *errWriter, s *result.Soak) {
	if s == nil {
		return
	}
	ew.printf("\nsoak: %s\n", s.Trend)
	for _, d := range s.Details {
		if d.Trend == "unknown" {
			ew.printf("  %-10s unknown (%d points)\n", d.Metric, d.Points)
			continue
		}
		ew.printf("  %-10s %-9s %+.3g %s per hour (99%% CI %+.3g to %+.3g, p=%.3g, from %.3g %s)\n",
			d.Metric, d.Trend, d.SlopePerHour, d.Unit, d.CILow, d.CIHigh, d.PValue, d.Start, d.Unit)
	}
	for _, w := range s.Warnings {
		ew.printf("  ! %s\n", w)
	}
}

func consoleScalability(ew *errWriter, s *result.Scalability) {
	if s == nil {
		return
	}
	unit := s.Unit
	if unit == "" {
		unit = "N"
	}
	ew.printf("\nscalability (%s)\n", unit)
	tw := render.Table(ew, render.Right)
	fmt.Fprintf(tw, "  %s\trps\tp99\terr%%\tefficiency\t\n", unit)
	for i, c := range s.Configs {
		eff := 0.0
		if i < len(s.Efficiency) {
			eff = s.Efficiency[i]
		}
		fmt.Fprintf(tw, "  %s\t%.1f\t%s\t%.2f\t%.2f\t\n", protoNum(c.N), c.RPS, f(c.P99), 100*c.ErrorRate, eff)
	}
	tw.Flush()
	if len(s.Configs) >= 3 {
		ew.printf("  %s\n", linearity(s))
	}
	if u := s.USL; u != nil {
		peak := "no peak (κ = 0)"
		if !u.Unbounded {
			peak = fmt.Sprintf("peak at N* ≈ %.1f", u.PeakConcurrency)
		}
		ew.printf("  USL: λ %.1f/s per unit, σ %.4f (contention), κ %.5f (crosstalk), R² %.3f — %s\n", u.Lambda, u.Sigma, u.Kappa, u.R2, peak)
	}
	for _, d := range s.Drops {
		ew.printf("  efficiency drops %.0f%% from %s to %s\n", d.DropPct, protoNum(d.From), protoNum(d.To))
	}
	for _, w := range s.Warnings {
		ew.printf("  ! %s\n", w)
	}
}

// linearity says how linear throughput is in N: the Pearson correlation
// r, r² and the verdict (linear when r² > 0.8 and r > 0).
func linearity(s *result.Scalability) string {
	if s.LinearityR == 0 && s.LinearityR2 != 0 { // recorded when linearity was a line through the origin
		return fmt.Sprintf("linearity R² %.3f (line through the origin, as recorded)", s.LinearityR2)
	}
	verdict := "not linear"
	if s.Linear {
		verdict = "linear"
	}
	return fmt.Sprintf("linearity r² %.3f (Pearson r %.3f of throughput with N): %s", s.LinearityR2, s.LinearityR, verdict)
}

// protoNum prints a load level without trailing zeros.
func protoNum(v float64) string { return fmt.Sprintf("%.4g", v) }
