package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/internal/outfile"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/report"
	"github.com/stampede-perf/stampede/result"
)

// reportFormats are the renderings of a Run, by the names users give
// them (canonical name first).
func reportFormat(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "html", "htm":
		return "html", true
	case "md", "markdown":
		return "md", true
	case "junit", "xml":
		return "junit", true
	case "json":
		return "json", true
	}
	return "", false
}

// renderReport writes run in format (a canonical name).
func renderReport(w io.Writer, format string, run *result.Run) error {
	switch format {
	case "html":
		return report.HTML(w, run)
	case "md":
		return report.Markdown(w, run)
	case "junit":
		return report.JUnit(w, run)
	case "json":
		return report.JSON(w, run)
	}
	return fmt.Errorf("unknown report format %q", format)
}

// parseReports checks --report FORMAT=FILE specs and returns them with
// canonical format names.
func parseReports(specs []string) ([]string, error) {
	out := make([]string, 0, len(specs))
	for _, s := range specs {
		kind, path, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return nil, fmt.Errorf("--report %q: want FORMAT=FILE, e.g. html=report.html", s)
		}
		format, ok := reportFormat(kind)
		if !ok {
			return nil, fmt.Errorf("--report %q: unknown format %q (use html, md, junit or json)", s, kind)
		}
		if err := outfile.Check(path); err != nil {
			return nil, fmt.Errorf("--report %q: %v", s, err)
		}
		out = append(out, format+"="+path)
	}
	return out, nil
}

// writeReports renders run in every --report format. Each file is
// written whole or not at all; every failure is reported.
func writeReports(e *env, run *result.Run, specs []string) error {
	var errs []string
	for _, s := range specs {
		format, path, _ := strings.Cut(s, "=")
		if err := writeReportFile(e, path, format, run); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// writeReportFile renders run into path as every output is written
// (writeOutput).
func writeReportFile(e *env, path, format string, run *result.Run) error {
	var buf bytes.Buffer
	if err := renderReport(&buf, format, run); err != nil {
		return fmt.Errorf("cannot render the %s report: %v", format, err)
	}
	return writeOutput(e, path, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	})
}

// writeOutput writes one output (a Run document, a report, a comparison,
// an export) to path, the way every command does: see internal/outfile.
// Its error is one line naming the path; callers make it exit 2.
func writeOutput(e *env, path string, fill func(io.Writer) error) error {
	stdout := e.stdout
	if e.doc != nil {
		stdout = e.doc
	}
	return outfile.Write(path, stdout, fill)
}

// docOnStdout is e for a command one of whose outputs is path: when path
// is "-", standard output holds only that document and the command's
// messages go to stderr.
func docOnStdout(e *env, path string) *env {
	if !outfile.IsStdout(path) || e.doc != nil {
		return e
	}
	c := *e
	c.doc, c.stdout = e.stdout, e.stderr
	return &c
}

type reportFlags struct {
	format, out, planFile, dsn string
	analysis                   []string
}

func newReportCmd(e *env) *cobra.Command {
	var f reportFlags
	c := &cobra.Command{
		Use:   "report RUN",
		Short: "Render a run as HTML, Markdown, JUnit XML or JSON, with findings and recommendations",
		Long: `Render a run: its verdict and thresholds, what the analysis found in it and
what to do about it, and its charts and tables.

RUN is a Run JSON file (--out json=FILE of run, test or demo), or a run of
the history: an id, "latest", "baseline" (or latest:PLAN, baseline:PLAN).

The analysis runs again as the run is read, so a run recorded by an older
stampede gets today's findings. Its thresholds are the defaults unless
--plan names the plan whose analysis: block to use, or --analysis sets
one (repeatable, e.g. --analysis cpu_percent=90).

  stampede report run.json -o report.html           one self-contained page
  stampede report latest --format md                a pull-request comment
  stampede report run.json --format junit -o junit.xml

--format defaults from -o's extension (.html, .md, .xml, .json), else to
html for a file and md for standard output.

Exit codes: 0 written · 2 invalid input (unknown run, bad file or flag).`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return runReport(c.Context(), e, &f, args[0])
		},
	}
	fs := c.Flags()
	fs.StringVar(&f.format, "format", "", "html, md, junit or json (default: from -o's extension)")
	fs.StringVarP(&f.out, "output", "o", "", "write to `FILE` instead of standard output")
	fs.StringVar(&f.planFile, "plan", "", "take the analysis thresholds from this plan's analysis: block")
	fs.StringArrayVar(&f.analysis, "analysis", nil, "set an analysis threshold, `KEY=VALUE` (repeatable)")
	addStoreFlag(fs, &f.dsn)
	return c
}

func runReport(ctx context.Context, e *env, f *reportFlags, ref string) error {
	format := f.format
	if format != "" {
		canon, ok := reportFormat(format)
		if !ok {
			return invalidf("report: --format %q: use html, md, junit or json", format)
		}
		format = canon
	} else {
		format = formatFromPath(f.out)
	}
	cfg, err := analysisConfig(f.planFile, f.analysis)
	if err != nil {
		return invalid(err)
	}
	run, err := loadRun(ctx, e, f.dsn, ref)
	if err != nil {
		return err
	}
	if f.planFile == "" && len(f.analysis) == 0 {
		cfg = run.Analysis // the thresholds the run was concluded with
	}
	run.SetConclusion(analyze.Judge(run, cfg)) // a newer conclusion replaces the stored one
	if f.out == "" {
		return renderReport(e.stdout, format, run)
	}
	if err := writeReportFile(e, f.out, format, run); err != nil {
		return invalid(err)
	}
	if !outfile.IsStdout(f.out) {
		fmt.Fprintf(e.stderr, "%s report of %s written to %s\n", format, runLabel(run, ref), f.out)
	}
	return nil
}

// formatFromPath guesses the format from a file name: html for a file
// with no known extension, md for standard output.
func formatFromPath(path string) string {
	if path == "" {
		return "md"
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".md", ".markdown":
		return "md"
	case ".xml":
		return "junit"
	case ".json":
		return "json"
	}
	return "html"
}

// analysisConfig is the analysis block of planFile (if any) with the
// --analysis settings over it; every problem is reported at once.
func analysisConfig(planFile string, sets []string) (map[string]float64, error) {
	cfg := map[string]float64{}
	if planFile != "" {
		p, err := plan.Load(planFile)
		if err != nil {
			return nil, err
		}
		for k, v := range p.Analysis {
			cfg[k] = v
		}
	}
	var problems []string
	for _, s := range sets {
		k, v, ok := strings.Cut(s, "=")
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || strings.TrimSpace(k) == "" || err != nil {
			problems = append(problems, fmt.Sprintf("--analysis %q: want KEY=NUMBER, e.g. cpu_percent=90", s))
			continue
		}
		cfg[strings.TrimSpace(k)] = x
	}
	for _, err := range analyze.CheckSettings(cfg) {
		problems = append(problems, "analysis: "+err.Error())
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return cfg, nil
}

// loadRun reads a Run from a file, or from the history when ref is not a
// file.
func loadRun(ctx context.Context, e *env, dsn, ref string) (*result.Run, error) {
	if fi, err := os.Stat(ref); err == nil && !fi.IsDir() {
		run, err := result.ReadFile(ref)
		if err != nil {
			return nil, invalid(err)
		}
		return run, nil
	}
	s, err := openHistory(ctx, e, dsn)
	if err != nil {
		return nil, invalidf("%s is not a file, and %v", ref, err)
	}
	defer s.Close()
	run, err := s.Resolve(ctx, ref)
	if err != nil {
		return nil, storeErr(err)
	}
	return run, nil
}

func runLabel(run *result.Run, ref string) string {
	if run.ID != "" {
		return "run " + run.ID
	}
	return ref
}
