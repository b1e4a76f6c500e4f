package report

import (
	"github.com/stampede-perf/stampede/report/render"

	"github.com/stampede-perf/stampede/result"
)

// The per-step tables of the console, the Markdown and the HTML report
// are one list of rows: each step, then the redirects it followed, each
// a row of its own under it (the status that asked for it and where it
// led), in the order the Run holds them. Every renderer takes its rows
// from stepRows, so the three show the same rows with the same numbers.

// stepRow is one row of a per-step table.
type stepRow struct {
	Step             result.StepResult // the step, or the step a hop is under
	Hop              bool              // a redirect the step followed
	Name             string            // "scenario / step", or the hop's Label
	Requests, Errors int64
	RPS              float64
	Latency          result.Latency
}

// ErrorRate is the share of the row's requests (or hops) that failed.
func (s stepRow) ErrorRate() float64 {
	if s.Requests == 0 {
		return 0
	}
	return float64(s.Errors) / float64(s.Requests)
}

// showSteps reports whether the per-step table has something the
// overall row does not: more than one step, a named scenario, or hops.
func showSteps(r *result.Run) bool {
	return len(r.Steps) > 1 || (len(r.Steps) == 1 && (r.Steps[0].Scenario != "default" || len(r.Steps[0].Hops) > 0))
}

// stepRows are the rows of the per-step table: each step, then its hops.
func stepRows(r *result.Run) []stepRow {
	var out []stepRow
	for _, st := range r.Steps {
		out = append(out, stepRow{Step: st, Name: st.Scenario + " / " + st.Step, Requests: st.Requests, Errors: st.Errors, RPS: st.RPS, Latency: st.Latency})
		for _, h := range st.Hops {
			out = append(out, stepRow{Step: st, Hop: true, Name: h.Label(), Requests: h.Requests, Errors: h.Errors, RPS: h.RPS, Latency: h.Latency})
		}
	}
	return out
}

// markdownSteps is how many rows the Markdown per-step table shows
// before it is folded away in <details>.
const markdownSteps = 12

// mdSteps writes the per-step table: each step, and under it, marked
// with an arrow, each redirect it followed.
func mdSteps(ew *errWriter, r *result.Run) {
	if !showSteps(r) {
		return
	}
	rows := stepRows(r)
	fold := len(rows) > markdownSteps
	if fold {
		ew.printf("<details><summary>Steps (%d rows)</summary>\n\n", len(rows))
	}
	ew.printf("| step | requests | throughput | errors | p50 | p95 | p99 |\n|---|---:|---:|---:|---:|---:|---:|\n")
	for _, sr := range rows {
		name := render.Markdown(sr.Name)
		if sr.Hop {
			name = "&emsp;→ " + name
		}
		ew.printf("| %s | %d | %s/s | %s | %s ms | %s ms | %s ms |\n", name, sr.Requests, numText(sr.RPS), pctText(sr.ErrorRate()),
			f(sr.Latency.P50), f(sr.Latency.P95), f(sr.Latency.P99))
	}
	ew.printf("\n")
	if fold {
		ew.printf("</details>\n\n")
	}
}
