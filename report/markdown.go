package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/stampede-perf/stampede/report/render"
	"github.com/stampede-perf/stampede/result"
)

// What the Markdown summary shows in full: findings, and thresholds
// before only the failed ones are shown and the rest folded.
const (
	markdownFindings   = 5
	markdownThresholds = 8
)

// Markdown writes a compact summary for a pull-request comment: the
// verdict, the key numbers, the thresholds, the top findings and any
// regression against the baseline as tables, with the recommendations
// and the rules that could not be evaluated folded away in <details>.
func Markdown(w io.Writer, r *result.Run) error {
	ew := &errWriter{w: w}
	title := r.Plan
	if title == "" {
		title = "stampede run"
	}
	verdict := "no verdict"
	switch r.Verdict {
	case "pass":
		verdict = "✅ PASS"
	case "fail":
		verdict = "❌ FAIL"
	case "inconclusive":
		verdict = "⚠️ INCONCLUSIVE"
	}
	ew.printf("## %s · %s\n\n", verdict, render.Markdown(title))
	var meta []string
	if r.ID != "" {
		meta = append(meta, "run `"+r.ID+"`")
	}
	if r.Model != "" {
		meta = append(meta, string(r.Model)+" model")
	}
	if r.Summary.DurationS > 0 {
		meta = append(meta, numText(r.Summary.DurationS)+" s")
	}
	if r.Summary.MaxVUs > 0 {
		meta = append(meta, fmt.Sprintf("up to %d VUs", r.Summary.MaxVUs))
	}
	if n := r.NetworkText(); n != "" {
		meta = append(meta, "network conditions: "+render.Markdown(n))
	}
	if r.Git != nil && r.Git.Commit != "" {
		c := r.Git.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		meta = append(meta, "commit `"+c+"`")
	}
	if len(meta) > 0 {
		ew.printf("%s\n\n", strings.Join(meta, " · "))
	}
	if r.Generator.Saturated {
		ew.printf("> [!CAUTION]\n> **Not trustworthy:** the load generator was saturated (%s). The numbers measure the generator, not the system.\n\n", render.Markdown(orText(r.Generator.Reason, "no reason recorded")))
	}
	if r.Aborted {
		ew.printf("> [!WARNING]\n> **Aborted:** %s. The results cover the part that ran.\n\n", render.Markdown(orText(r.AbortReason, "stopped early")))
	}
	s := r.Summary
	ew.printf("| requests | throughput | errors | p50 | p95 | p99 |\n|---:|---:|---:|---:|---:|---:|\n")
	ew.printf("| %d | %s/s | %s | %s ms | %s ms | %s ms |\n\n", s.Requests, numText(s.RPS), pctText(s.ErrorRate), f(s.Latency.P50), f(s.Latency.P95), f(s.Latency.P99))
	mdLoads(ew, r)
	mdSteps(ew, r)

	var ths []thresholdRow
	for _, t := range r.Thresholds {
		ths = append(ths, thresholdRow{"", t})
	}
	for _, p := range r.Phases {
		for _, t := range p.Thresholds {
			ths = append(ths, thresholdRow{p.Name, t})
		}
	}
	ths = append(ths, loadThresholds(r)...)
	if len(ths) > 0 {
		passed := 0
		for _, t := range ths {
			if t.Pass {
				passed++
			}
		}
		ew.printf("**Thresholds:** %d of %d passed\n\n", passed, len(ths))
		if len(ths) <= markdownThresholds {
			mdThresholds(ew, ths)
		} else {
			// Many phases: the failures in view, everything folded.
			var failed []thresholdRow
			for _, t := range ths {
				if !t.Pass {
					failed = append(failed, t)
				}
			}
			if len(failed) > 0 {
				mdThresholds(ew, failed)
			}
			ew.printf("<details><summary>All thresholds (%d)</summary>\n\n", len(ths))
			mdThresholds(ew, ths)
			ew.printf("</details>\n\n")
		}
	}

	if len(r.Findings) > 0 {
		n := min(markdownFindings, len(r.Findings))
		shown := ""
		if n < len(r.Findings) {
			shown = fmt.Sprintf(" (top %d of %d)", n, len(r.Findings))
		}
		ew.printf("**Findings**%s\n\n| severity | finding | evidence | confidence |\n|---|---|---|---:|\n", shown)
		for _, f := range r.Findings[:n] {
			ev := ""
			if len(f.Evidence) > 0 {
				e := f.Evidence[0]
				ev = e.Metric + " " + evidenceText(e.Value, e.Unit) + " (" + e.Source + ")"
			}
			ew.printf("| %s | %s | %s | %.0f%% |\n", severityMark(f.Severity), render.Markdown(f.Title), render.Markdown(ev), 100*f.Confidence)
		}
		ew.printf("\n")
	} else {
		among := ""
		if len(r.NotEvaluated) > 0 {
			among = " among the rules that could be evaluated"
		}
		ew.printf("**Findings:** none%s.\n\n", among)
	}

	mdHotspots(ew, r)
	mdWaits(ew, r)

	if c := r.Comparison; c != nil {
		var rows []result.ComparisonRow
		for _, row := range c.Rows {
			if row.Regression {
				rows = append(rows, row)
			}
		}
		if len(rows) == 0 {
			ew.printf("**Baseline** `%s`: no regression.\n\n", render.MarkdownCode(c.Base))
		} else {
			ew.printf("**Regressions against** `%s`\n\n| name | metric | old | new | change | p |\n|---|---|---:|---:|---:|---:|\n", render.MarkdownCode(c.Base))
			for _, row := range rows {
				ew.printf("| %s | %s | %s | %s | %+.1f%% | %s |\n", render.Markdown(row.Name), render.Markdown(row.Metric), numText(row.Old), numText(row.New), row.DeltaPct, numText(row.PAdjusted))
			}
			ew.printf("\n")
		}
	}

	if len(r.Recommendations) > 0 {
		ew.printf("<details><summary>Recommendations (%d)</summary>\n\n", len(r.Recommendations))
		for _, g := range []struct {
			key   result.PlanBucket
			label string
		}{
			{result.PlanQuickWins, "Quick wins"}, {result.PlanHighPriority, "High priority"}, {result.PlanLongTerm, "Long term"},
		} {
			first := true
			for _, rc := range r.Recommendations {
				if rc.Plan != g.key {
					continue
				}
				if first {
					ew.printf("**%s**\n\n", g.label)
					first = false
				}
				ew.printf("- **%s** (priority %s, effort %s, impact %s%s): %s\n", render.Markdown(rc.Title), rc.Priority, rc.Effort, rc.Impact, riskText(rc.Risk), render.Markdown(strings.Join(rc.Techniques, "; ")))
				if rc.Estimate != "" {
					ew.printf("  - expected: %s\n", render.Markdown(rc.Estimate))
				}
				if rc.Verify != "" {
					ew.printf("  - verify: `%s`\n", strings.ReplaceAll(rc.Verify, "`", "'"))
				}
			}
			if !first {
				ew.printf("\n")
			}
		}
		ew.printf("</details>\n\n")
	}
	if len(r.NotEvaluated) > 0 {
		ew.printf("<details><summary>Not evaluated (%d)</summary>\n\n", len(r.NotEvaluated))
		for _, n := range r.NotEvaluated {
			ew.printf("- %s: %s; add `%s`\n", strings.ReplaceAll(string(n.Rule), "_", " "), render.Markdown(n.Reason), render.MarkdownCode(n.Add))
		}
		ew.printf("\n</details>\n")
	}
	return ew.err
}

// mdThresholds writes a table of threshold results.
func mdThresholds(ew *errWriter, ths []thresholdRow) {
	ew.printf("| | threshold | scope | actual |\n|---|---|---|---:|\n")
	for _, t := range ths {
		mark := "✅"
		if !t.Pass {
			mark = "❌"
		}
		scope := orText(t.Scope, "overall")
		if t.Phase != "" {
			scope += " (" + t.Phase + ")"
		}
		ew.printf("| %s | `%s` | %s | %s |\n", mark, render.MarkdownCode(t.Expr), render.Markdown(scope), render.Markdown(value(t.Value, t.Unit)))
	}
	ew.printf("\n")
}

func severityMark(s result.Severity) string {
	switch s {
	case result.SeverityHigh:
		return "🔴 high"
	case result.SeverityMedium:
		return "🟠 medium"
	}
	return "🔵 low"
}

// riskText is ", risk R" when a recommendation states its risk.
func riskText(risk string) string {
	if risk == "" {
		return ""
	}
	return ", risk " + risk
}
