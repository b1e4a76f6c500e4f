package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/internal/outfile"
	"github.com/stampede-perf/stampede/report/render"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
)

type compareFlags struct {
	plan, dsn, format string
	threshold, gate   string
	out               []string
}

func newCompareCmd(e *env) *cobra.Command {
	var f compareFlags
	c := &cobra.Command{
		Use:   "compare [BASE] [NEW]",
		Short: "Compare two runs and find regressions (default: the baseline against the latest run)",
		Long: `Compare two runs, overall and step by step: p50, p95, p99, throughput and
error rate, old → new, the change, its p-value and a verdict.

BASE and NEW are run ids, "baseline", "latest" (or baseline:PLAN, latest:PLAN),
or paths to Run JSON files. Without arguments the baseline of the latest
run's plan is compared with that run; with one, BASE is compared with the
latest run of its plan.

Each one-second window is one observation; a two-sided Mann–Whitney U test
(α = 0.05 for the whole comparison, Holm-adjusted over the rows) says
whether a change is real. A row is worse or better only when the change is
significant and larger than --threshold; ~ means no such change; ? means
too few windows (fewer than 4 per run) for a verdict.

  stampede compare
  stampede compare baseline latest --fail-on-regression 5%
  stampede compare old.json new.json --format markdown --out json=cmp.json

Exit codes: 0 no regression (or no gate) · 1 a regression with
--fail-on-regression · 2 invalid input (unknown run, no baseline, bad file).`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			return runCompare(c.Context(), e, &f, c, args)
		},
	}
	fs := c.Flags()
	fs.StringVar(&f.plan, "plan", "", "the plan whose baseline and latest run to compare")
	fs.StringVar(&f.threshold, "threshold", "5%", "smallest change that counts as worse or better")
	fs.StringVar(&f.gate, "fail-on-regression", "", "exit 1 when a metric is significantly worse by more than this (e.g. 5%); also sets --threshold")
	fs.StringVar(&f.format, "format", "text", "output: text or markdown")
	fs.StringArrayVar(&f.out, "out", nil, "also write FORMAT=FILE: json (the comparison document), text or markdown")
	addStoreFlag(fs, &f.dsn)
	return c
}

func runCompare(ctx context.Context, e *env, f *compareFlags, c *cobra.Command, args []string) error {
	threshold, err := parsePercentFlag("--threshold", f.threshold)
	if err != nil {
		return invalid(err)
	}
	var gate float64
	if f.gate != "" {
		if gate, err = parsePercentFlag("--fail-on-regression", f.gate); err != nil {
			return invalid(err)
		}
		if c.Flags().Changed("threshold") && gate != threshold {
			return invalidf("compare: --threshold %s and --fail-on-regression %s disagree: give one", f.threshold, f.gate)
		}
		threshold = gate
	}
	if f.format != "text" && f.format != "markdown" {
		return invalidf("compare: --format %q: use text or markdown", f.format)
	}
	outs, err := parseCompareOut(f.out)
	if err != nil {
		return invalid(err)
	}

	rs := &refResolver{e: e, dsn: f.dsn}
	defer rs.close()
	base, head, err := rs.pair(ctx, f.plan, args)
	if err != nil {
		return err
	}
	cmp := analyze.Compare(base, head, analyze.CompareOptions{Threshold: threshold})
	if base.ID != "" && base.ID == head.ID {
		cmp.Warnings = append([]string{"both sides are the same run: set a baseline or name two runs"}, cmp.Warnings...)
	}

	render := map[string]func(io.Writer) error{
		"text":     func(w io.Writer) error { return writeCompareText(w, base, head, cmp, e) },
		"markdown": func(w io.Writer) error { return writeCompareMarkdown(w, base, head, cmp, e) },
		"json": func(w io.Writer) error {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(cmp)
		},
	}
	shown := e.stdout
	for _, o := range outs {
		var buf bytes.Buffer
		if err := render[o.format](&buf); err != nil {
			return err
		}
		if err := writeOutput(e, o.path, func(w io.Writer) error { _, err := w.Write(buf.Bytes()); return err }); err != nil {
			return invalidf("compare: %v", err)
		}
		if outfile.IsStdout(o.path) { // standard output holds the document
			shown = e.stderr
		}
	}
	if err := render[f.format](shown); err != nil {
		return err
	}
	if gate > 0 && cmp.Regression {
		return failed("regression: " + regressionSummary(cmp))
	}
	return nil
}

// parsePercentFlag reads "5%", "5" (both 5%) or "0.5%" as a fraction.
func parsePercentFlag(name, s string) (float64, error) {
	t := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%s %q: use a positive percentage such as 5%%", name, s)
	}
	return v / 100, nil
}

type compareOut struct{ format, path string }

func parseCompareOut(specs []string) ([]compareOut, error) {
	var outs []compareOut
	for _, s := range specs {
		format, path, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("--out %q: want FORMAT=FILE, e.g. json=comparison.json", s)
		}
		if format == "md" {
			format = "markdown"
		}
		switch format {
		case "json", "text", "markdown":
		default:
			return nil, fmt.Errorf("--out %q: unknown format %q (use json, text or markdown)", s, format)
		}
		if err := outfile.Check(path); err != nil {
			return nil, fmt.Errorf("--out %q: %v", s, err)
		}
		outs = append(outs, compareOut{format, path})
	}
	return outs, nil
}

// refResolver turns run references into Runs, opening the history only
// when a reference is not a file.
type refResolver struct {
	e   *env
	dsn string
	s   *store.Store
}

func (r *refResolver) close() {
	if r.s != nil {
		r.s.Close()
	}
}

func (r *refResolver) store(ctx context.Context) (*store.Store, error) {
	if r.s == nil {
		s, err := openHistory(ctx, r.e, r.dsn)
		if err != nil {
			return nil, err
		}
		r.s = s
	}
	return r.s, nil
}

func (r *refResolver) resolve(ctx context.Context, ref string) (*result.Run, error) {
	if fi, err := os.Stat(ref); err == nil && !fi.IsDir() {
		run, err := result.ReadFile(ref)
		if err != nil {
			return nil, invalid(err)
		}
		return run, nil
	}
	s, err := r.store(ctx)
	if err != nil {
		return nil, err
	}
	run, err := s.Resolve(ctx, ref)
	if err != nil {
		if kw, _, _ := strings.Cut(ref, ":"); kw == "baseline" {
			return nil, invalidf("%v (set one with: stampede baseline set RUN, or name both runs: stampede compare BASE NEW)", err)
		}
		return nil, storeErr(err)
	}
	return run, nil
}

// pair resolves the BASE and NEW arguments and their defaults.
func (r *refResolver) pair(ctx context.Context, plan string, args []string) (base, head *result.Run, err error) {
	scoped := func(kw, plan string) string {
		if plan == "" {
			return kw
		}
		return kw + ":" + plan
	}
	switch len(args) {
	case 0:
		if head, err = r.resolve(ctx, scoped("latest", plan)); err != nil {
			return nil, nil, err
		}
		if plan == "" {
			plan = head.Plan
		}
		base, err = r.resolve(ctx, "baseline:"+plan)
		return base, head, err
	case 1:
		if base, err = r.resolve(ctx, args[0]); err != nil {
			return nil, nil, err
		}
		if plan == "" {
			plan = base.Plan
		}
		head, err = r.resolve(ctx, scoped("latest", plan))
		return base, head, err
	}
	if base, err = r.resolve(ctx, args[0]); err != nil {
		return nil, nil, err
	}
	head, err = r.resolve(ctx, args[1])
	return base, head, err
}

// describeRun is one line about a compared run.
func describeRun(r *result.Run, e *env) string {
	parts := []string{dashIfEmpty(r.Plan)}
	if !r.StartedAt.IsZero() {
		parts = append(parts, r.StartedAt.In(e.now().Location()).Format("2006-01-02 15:04"))
	}
	if r.Git != nil && r.Git.Commit != "" {
		g := shortCommit(r.Git.Commit)
		if r.Git.Branch != "" {
			g += " " + r.Git.Branch
		}
		if r.Git.Dirty {
			g += " (dirty)"
		}
		parts = append(parts, g)
	}
	if r.Aborted {
		parts = append(parts, "aborted")
	}
	name := r.ID
	if name == "" {
		name = "(unnamed run)"
	}
	return name + " (" + strings.Join(parts, ", ") + ")"
}

func valueText(unit string, v float64) string {
	switch unit {
	case "ms":
		return msText(v)
	case "req/s":
		return fmt.Sprintf("%.1f/s", v)
	case "s":
		return secondsText(v)
	case "":
		return pctText(v)
	}
	return fmt.Sprintf("%g %s", v, unit)
}

func metricLabel(m string) string {
	if m == "error_rate" {
		return "errors"
	}
	return m
}

func deltaText(r *result.ComparisonRow) string {
	switch {
	case r.Old == r.New:
		return "0.0%"
	case r.Old == 0:
		return "+∞%"
	}
	return fmt.Sprintf("%+.1f%%", r.DeltaPct)
}

func pText(r *result.ComparisonRow) string {
	if r.Verdict == analyze.VerdictUnknown {
		return "-"
	}
	if r.PAdjusted < 0.001 {
		return "<0.001"
	}
	return fmt.Sprintf("%.3f", r.PAdjusted)
}

func nText(r *result.ComparisonRow) string {
	if r.NOld == r.NNew {
		return strconv.Itoa(r.NOld)
	}
	return fmt.Sprintf("%d+%d", r.NOld, r.NNew)
}

func compareFootnote(c *result.Comparison) string {
	return fmt.Sprintf("p: two-sided Mann–Whitney U over one-second windows, Holm-adjusted over %d rows; worse/better: significant at α = %g and beyond ±%g%%",
		c.Tested, c.Alpha, c.Threshold*100)
}

func writeCompareText(w io.Writer, base, head *result.Run, c *result.Comparison, e *env) error {
	fmt.Fprintf(w, "base: %s\nnew:  %s\n\n", describeRun(base, e), describeRun(head, e))
	if len(c.Rows) == 0 {
		fmt.Fprintln(w, "nothing to compare: the runs have no steps, windows or benchmarks in common")
	} else {
		tw := render.Table(w, render.Left)
		fmt.Fprintln(tw, "STEP\tMETRIC\tOLD\tNEW\tDELTA\tP\tN\tVERDICT")
		last := ""
		for i := range c.Rows {
			r := &c.Rows[i]
			name := r.Name
			if name == last {
				name = ""
			}
			last = r.Name
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, metricLabel(r.Metric), valueText(r.Unit, r.Old),
				valueText(r.Unit, r.New), deltaText(r), pText(r), nText(r), r.Verdict)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "\n%s\n", compareFootnote(c))
	}
	if len(c.Warnings) > 0 {
		fmt.Fprintln(w, "\nwarnings:")
		for _, x := range c.Warnings {
			fmt.Fprintf(w, "  - %s\n", x)
		}
	}
	_, err := fmt.Fprintf(w, "\n%s\n", conclusion(c))
	return err
}

func writeCompareMarkdown(w io.Writer, base, head *result.Run, c *result.Comparison, e *env) error {
	fmt.Fprintf(w, "**base:** %s  \n**new:** %s\n\n", render.Markdown(describeRun(base, e)), render.Markdown(describeRun(head, e)))
	if len(c.Rows) > 0 {
		fmt.Fprintln(w, "| step | metric | old | new | delta | p | n | verdict |")
		fmt.Fprintln(w, "|---|---|--:|--:|--:|--:|--:|---|")
		for i := range c.Rows {
			r := &c.Rows[i]
			v := render.Markdown(string(r.Verdict))
			if r.Verdict == analyze.VerdictWorse {
				v = "**" + v + "**"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", render.Markdown(r.Name), metricLabel(r.Metric),
				valueText(r.Unit, r.Old), valueText(r.Unit, r.New), deltaText(r), pText(r), nText(r), v)
		}
		fmt.Fprintf(w, "\n%s\n", compareFootnote(c))
	}
	if len(c.Warnings) > 0 {
		fmt.Fprintln(w, "\n**Warnings**")
		fmt.Fprintln(w)
		for _, x := range c.Warnings {
			fmt.Fprintf(w, "- %s\n", render.Markdown(x))
		}
	}
	_, err := fmt.Fprintf(w, "\n%s\n", render.Markdown(conclusion(c)))
	return err
}

// conclusion is the closing line: the regressions, or that there are none.
func conclusion(c *result.Comparison) string {
	if c.Regression {
		return "REGRESSION: " + regressionSummary(c)
	}
	unknown := 0
	for _, r := range c.Rows {
		if r.Verdict == analyze.VerdictUnknown {
			unknown++
		}
	}
	if unknown > 0 {
		return fmt.Sprintf("no regression found, but %d rows had too few windows for a verdict", unknown)
	}
	return fmt.Sprintf("no regression beyond %g%%", c.Threshold*100)
}

func regressionSummary(c *result.Comparison) string {
	const shown = 4
	var parts []string
	n := 0
	for i := range c.Rows {
		r := &c.Rows[i]
		if !r.Regression {
			continue
		}
		if n++; n <= shown {
			parts = append(parts, fmt.Sprintf("%s %s %s", r.Name, metricLabel(r.Metric), deltaText(r)))
		}
	}
	if n > shown {
		parts = append(parts, fmt.Sprintf("and %d more", n-shown))
	}
	return fmt.Sprintf("%d metric(s) worse by more than %g%%: %s", n, c.Threshold*100, strings.Join(parts, ", "))
}
