// Package report renders a Run: the console summary here; HTML, Markdown,
// JUnit and JSON beside it. Renderers compute no statistics: every number
// comes from the Run (and so from analyze), which keeps what is printed
// traceable to the histograms behind it.
package report

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/stampede-perf/stampede/report/render"
	"github.com/stampede-perf/stampede/result"
)

// Console writes the end-of-run summary: overall and per step, errors by
// kind, thresholds and warnings.
func Console(w io.Writer, r *result.Run) error {
	ew := &errWriter{w: w}
	s := r.Summary
	title := "run"
	if r.Plan != "" {
		title = r.Plan
	}
	state := ""
	if r.Aborted {
		state = " · ABORTED (" + r.AbortReason + ")"
	}
	seg := ""
	if r.Segment != "" {
		seg = " · segment " + r.Segment
	}
	ew.printf("\n%s · %s model · %.1f s · up to %d VUs%s%s\n", title, r.Model, s.DurationS, s.MaxVUs, seg, state)
	if n := r.NetworkText(); n != "" {
		ew.printf("  network conditions: %s (through a shaping proxy: compare only with runs under the same conditions)\n", n)
	}
	ew.printf("  requests %d · %.1f/s · errors %d (%.2f%%) · iterations %d", s.Requests, s.RPS, s.Errors, 100*s.ErrorRate, s.Iterations)
	if s.TargetRPS > 0 {
		ew.printf(" · asked %.1f/s", s.TargetRPS*iterPerReqFactor(r))
	}
	if s.Dropped > 0 {
		ew.printf(" · dropped %d iterations", s.Dropped)
	}
	ew.printf("\n")
	if s.Requests > 0 {
		ew.printf("  data in %s · out %s · mean phases: connect %.2fms, tls %.2fms, ttfb %.2fms, receive %.2fms\n",
			bytes(s.BytesIn), bytes(s.BytesOut), s.Phases.Connect, s.Phases.TLS, s.Phases.TTFB, s.Phases.Receive)
		if r.Model == "open" {
			ew.printf("  latency is measured from each iteration's intended start; service time p99 %.2fms; start lag p99 %.2fms\n",
				s.Service.P99, s.StartLag.P99)
		}
	}
	ew.printf("\n")
	rows := stepRows(r)
	names := []string{"overall", "latency ms"}
	for i, sr := range rows {
		// A hop's row is indented under its step's, with an arrow.
		if sr.Hop {
			rows[i].Name = "  → " + sr.Name
		}
		rows[i].Name = truncate(rows[i].Name, 48)
		names = append(names, rows[i].Name)
	}
	width := 0
	for _, n := range names {
		if l := len([]rune(n)); l > width {
			width = l
		}
	}
	pad := func(s string) string { return s + strings.Repeat(" ", width-len([]rune(s))) }
	tw := render.Table(ew, render.Right)
	fmt.Fprintf(tw, "%s\trequests\trps\terr%%\tmin\tmean\tp50\tp90\tp95\tp99\tp99.9\tmax\t\n", pad("latency ms"))
	row := func(name string, req, errs int64, rps float64, l result.Latency) {
		rate := 0.0
		if req > 0 {
			rate = 100 * float64(errs) / float64(req)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.2f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", pad(name), req, rps, rate,
			f(l.Min), f(l.Mean), f(l.P50), f(l.P90), f(l.P95), f(l.P99), f(l.P999), f(l.Max))
	}
	row("overall", s.Requests, s.Errors, s.RPS, s.Latency)
	if showSteps(r) {
		for _, sr := range rows {
			row(sr.Name, sr.Requests, sr.Errors, sr.RPS, sr.Latency)
		}
	}
	tw.Flush()
	for _, st := range r.Steps {
		if st.Redirects > 0 && st.Requests > 0 {
			ew.printf("  %s / %s followed %d redirects (%.2f a request), %.2fms each\n", st.Scenario, st.Step, st.Redirects,
				float64(st.Redirects)/float64(st.Requests), st.RedirectMS)
		}
	}
	consoleLoads(ew, r)
	consoleAgents(ew, r)
	if len(r.Errors) > 0 {
		ew.printf("\nerrors\n")
		tw = render.Table(ew, render.Left)
		for _, e := range r.Errors {
			kind := e.Kind
			if e.Status != 0 {
				kind = fmt.Sprintf("%s (%d)", e.Kind, e.Status)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\n", kind, truncate(errorPlace(e), 40), e.Count, truncate(e.Example, 100))
		}
		tw.Flush()
	}
	if len(r.Thresholds) > 0 {
		ew.printf("\nthresholds\n")
		for _, t := range r.Thresholds {
			consoleThreshold(ew, "", t)
		}
	}
	if len(r.Warnings) > 0 {
		ew.printf("\nwarnings\n")
		for _, wn := range dedupe(r.Warnings) {
			ew.printf("  ! %s\n", wn)
		}
	}
	consoleProtocol(ew, r)
	consoleFindings(ew, r)
	consoleHotspots(ew, r)
	consoleWaits(ew, r)
	if r.Verdict != "" {
		ew.printf("\nverdict: %s\n", strings.ToUpper(string(r.Verdict)))
	}
	return ew.err
}

// iterPerReqFactor converts the asked iteration rate into requests per
// second: the mean number of requests per iteration.
func iterPerReqFactor(r *result.Run) float64 {
	if r.Summary.Iterations == 0 || r.Summary.Requests == 0 {
		return 1
	}
	return float64(r.Summary.Requests) / float64(r.Summary.Iterations)
}

func value(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmt.Sprintf("%.2fms", v)
	case "ratio":
		return fmt.Sprintf("%.2f%%", 100*v)
	case "rps":
		return fmt.Sprintf("%.1f/s", v)
	case "no such scope":
		return "no such scenario or step"
	}
	return fmt.Sprintf("%g", v)
}

func f(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func bytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, a ...any) { fmt.Fprintf(e, format, a...) }

// errorPlace is where errors happened, "scenario / step", or "" when the
// Run does not say (older Runs, runs recovered from windows).
func errorPlace(e result.ErrorCount) string {
	switch {
	case e.Scenario != "" && e.Step != "":
		return e.Scenario + " / " + e.Step
	case e.Step != "":
		return e.Step
	}
	return e.Scenario
}

// consoleAgents is the per-agent breakdown of a distributed run.
func consoleAgents(ew *errWriter, r *result.Run) {
	if len(r.Agents) == 0 {
		return
	}
	ew.printf("\nagents\n")
	tw := render.Table(ew, render.Right)
	fmt.Fprintf(tw, "  part\thost\trequests\trps\tp99 ms\tstart lag p99\tcpu %%\tclock ms\t\t\n")
	for _, a := range r.Agents {
		note := ""
		switch {
		case a.Lost:
			note = "lost: " + a.Reason
		case a.Saturated:
			note = "saturated"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%.1f\t%.2f\t%.2f\t%.0f\t%+.1f\t%s\t\n", a.Segment, truncate(a.Host, 24), a.Requests, a.RPS, a.P99, a.StartLagP99, a.CPUPercent, a.ClockOffsetMS, note)
	}
	tw.Flush()
}

// consoleThreshold prints one threshold's line; label names its load.
func consoleThreshold(ew *errWriter, label string, t result.ThresholdResult) {
	mark := "✓"
	if !t.Pass {
		mark = "✗"
	}
	scope := ""
	if t.Scope != "" {
		scope = " [" + t.Scope + "]"
	}
	if label != "" {
		label += ": "
	}
	ew.printf("  %s %s%s%s  (actual %s)\n", mark, label, t.Expr, scope, value(t.Value, t.Unit))
}
