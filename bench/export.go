package bench

import (
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/stampede-perf/stampede/report/render"
	"github.com/stampede-perf/stampede/result"
)

// Benchmark is r as a Run document entry.
func (r *Result) Benchmark(ov *Overhead) result.Benchmark {
	st := r.Stats()
	b := result.Benchmark{
		Name:          r.Command.Name,
		Command:       r.Command.Line,
		Unit:          "s",
		Runs:          st.N,
		Warmup:        r.Warmup,
		MeanS:         st.Mean,
		StddevS:       st.Stddev,
		MedianS:       st.Median,
		MinS:          st.Min,
		MaxS:          st.Max,
		P95S:          st.P95,
		P99S:          st.P99,
		OpsPerS:       OpsPerS(st.Mean),
		UserS:         Describe(r.User).Mean,
		SystemS:       Describe(r.System).Mean,
		MaxRSSMB:      float64(r.MaxRSS) / 1e6,
		MaxRSSFloorMB: float64(r.RSSFloor) / 1e6,
		ExitCodes:     slices.Clone(r.ExitCodes),
		Times:         slices.Clone(r.Wall),
		Params:        r.Command.Params,
		Warnings:      r.Warnings(),
		Partial:       r.Partial,
	}
	b.OutlierRuns = r.Outliers()
	b.Outliers = len(b.OutlierRuns)
	if ov != nil {
		b.ShellOverheadS = ov.Wall
	}
	b.Notes = Opportunities(&b)
	return b
}

// Benchmarks are the session's results as Run document entries.
func (s *Session) Benchmarks() []result.Benchmark {
	out := make([]result.Benchmark, 0, len(s.Results))
	for _, r := range s.Results {
		out = append(out, r.Benchmark(s.Overhead))
	}
	return out
}

// Comparison is the comparison of every command with the reference (the
// first) as a Run section. threshold is the regression gate as a fraction
// (0 disables it): a command significantly slower than the reference by
// more than threshold is a regression.
func (s *Session) Comparison(threshold float64) *result.Comparison {
	if len(s.Relative) == 0 {
		return nil
	}
	c := &result.Comparison{Base: s.Results[0].Command.Label(), Rows: []result.ComparisonRow{}, Alpha: Alpha, Threshold: threshold}
	var news []string
	for _, rel := range s.Relative {
		ref, other := s.Results[rel.Reference], s.Results[rel.Other]
		row := result.ComparisonRow{
			Name: other.Command.Label(), Metric: "mean", Unit: "s",
			Old: ref.Stats().Mean, New: other.Stats().Mean, DeltaPct: rel.Change * 100,
			PValue: rel.Test.P, PAdjusted: rel.Test.P, NOld: rel.Test.N1, NNew: rel.Test.N2,
			Significant: rel.Significant(),
		}
		row.Delta = row.New - row.Old
		switch {
		case !rel.Significant():
			row.Verdict = result.ChangeSame
		case rel.Change > 0:
			row.Verdict = result.ChangeWorse
		default:
			row.Verdict = result.ChangeBetter
		}
		row.Regression = threshold > 0 && row.Verdict == result.ChangeWorse && rel.Change > threshold
		c.Regression = c.Regression || row.Regression
		c.Rows = append(c.Rows, row)
		news = append(news, other.Command.Label())
		for _, w := range rel.Test.Warnings {
			c.Warnings = append(c.Warnings, fmt.Sprintf("%s: %s", other.Command.Label(), w))
		}
	}
	c.New = strings.Join(news, ", ")
	return c
}

// Regressions lists the commands that failed the gate, in words.
func (s *Session) Regressions(threshold float64) []string {
	var out []string
	if threshold <= 0 {
		return nil
	}
	for _, rel := range s.Relative {
		if rel.Significant() && rel.Change > threshold {
			out = append(out, fmt.Sprintf("'%s' is %.1f%% slower than '%s' (%s), more than %.4g%%",
				s.Results[rel.Other].Command.Label(), rel.Change*100, s.Results[rel.Reference].Command.Label(), fmtP(rel.Test.P), threshold*100))
		}
	}
	return out
}

// Run is the session as a Run document of kind "bench". threshold is the
// regression gate (see Comparison); with a gate the Verdict is "pass" or
// "fail".
func (s *Session) Run(threshold float64) *result.Run {
	run := NewRun()
	run.StartedAt, run.EndedAt = s.StartedAt, s.EndedAt
	run.Aborted = s.Partial
	if s.Partial {
		run.AbortReason = "stopped before every planned run was made"
	}
	run.Benchmarks = s.Benchmarks()
	run.Comparison = s.Comparison(threshold)
	for _, b := range run.Benchmarks {
		for _, w := range b.Warnings {
			run.Warnings = append(run.Warnings, fmt.Sprintf("%s: %s", b.Command, w))
		}
	}
	if threshold > 0 && run.Comparison != nil {
		run.Verdict = result.VerdictPass
		if run.Comparison.Regression {
			run.Verdict = result.VerdictFail
		}
	}
	return run
}

// NewRun is an empty Run document of kind "bench" describing this host.
func NewRun() *result.Run {
	host, _ := os.Hostname()
	return &result.Run{
		Version:    result.Version,
		Kind:       "bench",
		Steps:      []result.StepResult{},
		Scenarios:  []result.ScenarioResult{},
		Errors:     []result.ErrorCount{},
		Series:     []result.Window{},
		Thresholds: []result.ThresholdResult{},
		Generator:  result.Generator{GOMAXPROCS: runtime.GOMAXPROCS(0)},
		Host: &result.Host{
			Hostname: host, OS: runtime.GOOS, Arch: runtime.GOARCH,
			Cores: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(),
		},
	}
}

// WriteText writes the session the way hyperfine prints it: one block per
// command (mean ± σ, user and system time, range, median, peak memory,
// outliers and warnings), a table when there are several commands, and a
// summary comparing each with the reference.
func (s *Session) WriteText(w io.Writer) error {
	var b strings.Builder
	if s.Overhead != nil {
		fmt.Fprintf(&b, "Shell start-up: %s (mean of %d runs, subtracted from every run)\n\n", fmtSeconds(s.Overhead.Wall), s.Overhead.Runs)
	}
	for i, r := range s.Results {
		fmt.Fprintf(&b, "Benchmark %d: %s\n", i+1, r.Command.Label())
		if r.Command.Name != "" && r.Command.Name != r.Command.Line {
			fmt.Fprintf(&b, "  Command: %s\n", r.Command.Line)
		}
		if len(r.Wall) == 0 {
			b.WriteString("  no run completed\n\n")
			continue
		}
		st := r.Stats()
		f, unit := secondsUnit(st.Mean)
		in := func(v float64) string { return fmtIn(v*f, unit) }
		mem := fmtBytes(float64(r.MaxRSS))
		if r.RSSBound() {
			mem = "≤ " + mem
		}
		fmt.Fprintf(&b, "  Time (mean ± σ):    %9s ± %9s    [User: %s, System: %s]\n",
			in(st.Mean), in(st.Stddev), in(Describe(r.User).Mean), in(Describe(r.System).Mean))
		fmt.Fprintf(&b, "  Range (min … max):  %9s … %9s    %d runs\n", in(st.Min), in(st.Max), st.N)
		fmt.Fprintf(&b, "  Median:             %9s                [Peak memory: %s]\n", in(st.Median), mem)
		if out := r.Outliers(); len(out) > 0 {
			var idx []string
			for _, i := range out {
				idx = append(idx, strconv.Itoa(i+1))
			}
			fmt.Fprintf(&b, "  Outliers:           %d (run %s; flagged, not removed)\n", len(out), strings.Join(idx, ", "))
		}
		for _, warn := range r.Warnings() {
			fmt.Fprintf(&b, "  Warning: %s\n", warn)
		}
		bm := r.Benchmark(s.Overhead)
		for _, n := range bm.Notes {
			fmt.Fprintf(&b, "  Note: %s\n", n)
		}
		b.WriteString("\n")
	}
	if len(s.Results) > 1 {
		s.writeTable(&b)
		b.WriteString("\n")
	}
	if len(s.Relative) > 0 {
		fmt.Fprintf(&b, "Summary (reference: '%s')\n", s.Results[0].Command.Label())
		for _, rel := range s.Relative {
			fmt.Fprintf(&b, "  %s\n", rel.Sentence(s.Results))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTable is one line per command, every time in the unit of the
// fastest mean.
func (s *Session) writeTable(b *strings.Builder) {
	f, unit := secondsUnit(s.fastestMean())
	num := func(v float64) string { return strconv.FormatFloat(v*f, 'f', 1, 64) }
	if unit == "s" {
		num = func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	}
	rows := [][]string{{"Command", "Mean ± σ [" + unit + "]", "Median", "Min … Max", "User", "System", "Peak RSS [MB]", "Runs", "Outliers"}}
	for _, r := range s.Results {
		st := r.Stats()
		if st.N == 0 {
			rows = append(rows, []string{r.Command.Label(), "-", "-", "-", "-", "-", "-", "0", "0"})
			continue
		}
		rows = append(rows, []string{
			r.Command.Label(), num(st.Mean) + " ± " + num(st.Stddev), num(st.Median), num(st.Min) + " … " + num(st.Max),
			num(Describe(r.User).Mean), num(Describe(r.System).Mean), fmt.Sprintf("%.1f", float64(r.MaxRSS)/1e6),
			strconv.Itoa(st.N), strconv.Itoa(len(r.Outliers())),
		})
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for j, c := range row {
			widths[j] = max(widths[j], width(c))
		}
	}
	for _, row := range rows {
		var line strings.Builder
		for j, c := range row {
			if j == 0 {
				line.WriteString(padRight(c, widths[j]))
			} else {
				line.WriteString("  " + padLeft(c, widths[j]))
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
}

func (s *Session) fastestMean() float64 {
	if i := s.fastest(); i >= 0 {
		return s.Results[i].Stats().Mean
	}
	return 0
}

func (s *Session) fastest() int {
	best := -1
	for i, r := range s.Results {
		if len(r.Wall) == 0 {
			continue
		}
		if best < 0 || r.Stats().Mean < s.Results[best].Stats().Mean {
			best = i
		}
	}
	return best
}

// WriteMarkdown writes hyperfine's Markdown table, with median, user and
// system time and peak memory added; Relative is the ratio of means to the
// fastest command with the half-width of its 95% Fieller interval.
func (s *Session) WriteMarkdown(w io.Writer) error {
	f, unit := secondsUnit(s.fastestMean())
	num := func(v float64) string {
		if unit == "s" {
			return strconv.FormatFloat(v, 'f', 3, 64)
		}
		return strconv.FormatFloat(v*f, 'f', 1, 64)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| Command | Mean [%[1]s] | Median [%[1]s] | Min [%[1]s] | Max [%[1]s] | User [%[1]s] | System [%[1]s] | Peak RSS [MB] | Runs | Relative |\n", unit)
	b.WriteString("|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fast := s.fastest()
	for i, r := range s.Results {
		st := r.Stats()
		rel := "-"
		if fast >= 0 && st.N > 0 {
			if i == fast {
				rel = "1.00"
			} else {
				rel = fmtRatio(FiellerCI(r.Wall, s.Results[fast].Wall, Confidence))
			}
		}
		fmt.Fprintf(&b, "| `%s` | %s ± %s | %s | %s | %s | %s | %s | %.1f | %d | %s |\n",
			render.MarkdownCode(r.Command.Label()), num(st.Mean), num(st.Stddev), num(st.Median), num(st.Min), num(st.Max),
			num(Describe(r.User).Mean), num(Describe(r.System).Mean), float64(r.MaxRSS)/1e6, st.N, rel)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteCSV writes one line per command with hyperfine's columns (in
// seconds, with units in the names) and one parameter_NAME column per
// parameter.
func (s *Session) WriteCSV(w io.Writer) error {
	params := map[string]bool{}
	for _, r := range s.Results {
		for k := range r.Command.Params {
			params[k] = true
		}
	}
	names := slices.Sorted(maps.Keys(params))
	cw := csv.NewWriter(w)
	head := []string{"command", "mean_s", "stddev_s", "median_s", "user_s", "system_s", "min_s", "max_s", "max_rss_mb", "runs", "outliers"}
	for _, n := range names {
		head = append(head, "parameter_"+n)
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, r := range s.Results {
		st := r.Stats()
		row := []string{r.Command.Label(), g(st.Mean), g(st.Stddev), g(st.Median), g(Describe(r.User).Mean), g(Describe(r.System).Mean),
			g(st.Min), g(st.Max), g(float64(r.MaxRSS) / 1e6), strconv.Itoa(st.N), strconv.Itoa(len(r.Outliers()))}
		for _, n := range names {
			row = append(row, r.Command.Params[n])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
