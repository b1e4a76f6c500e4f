package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stampede-perf/stampede/bench"
	"github.com/stampede-perf/stampede/internal/outfile"
	"github.com/stampede-perf/stampede/result"
)

// benchFlags are the flags of `stampede bench` (commands).
type benchFlags struct {
	rec                            benchRecord
	warmup, runs, minRuns, maxRuns int
	minTime                        time.Duration
	prepare                        string
	paramLists                     []string // NAME=VALUES (rewritten from `NAME VALUES`)
	paramScan                      string   // NAME␟LO␟HI (rewritten from `NAME LO HI`)
	paramStep                      string
	shell                          string
	noShell, ignoreFailure         bool
	out                            []string
	exportMarkdown, exportCSV      string
	failOnRegression               string
}

// benchScanSep joins the three values of --parameter-scan internally; it cannot
// occur in a command-line argument typed by a person.
const benchScanSep = "\x1f"

func newBenchCmd(e *env) *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench [flags] -- 'command one' ['command two' …]",
		Short: "Benchmark commands (hyperfine's method) and Go benchmarks (benchstat's statistics)",
		Long: `Benchmark commands the way hyperfine does, and Go benchmarks the way benchstat does.

  stampede bench -- 'sleep 0.1'                      one command
  stampede bench --warmup 3 -- 'grep -r x .' 'rg x'  compare two commands
  stampede bench --parameter-scan n 1 4 -- 'make -j {n}'
  stampede bench go ./... --bench Encode --count 10  run Go benchmarks
  stampede bench import old.txt                      summarise saved go test -bench output
  stampede bench compare old.txt new.txt             benchstat-style comparison

The shell's start-up time (sh -c "" run 50 times) is measured and subtracted.
Each command runs --warmup times untimed, then once to choose the number of
runs: max(--min-runs, --min-time ÷ one run), capped by --max-runs; --runs
fixes it. Several commands are run interleaved (A B A B …) and compared with
the first: ratio of means with a 95% Fieller interval and a Mann–Whitney U
test (two-sided, α = 0.05). Outliers (modified z-score > 10) are flagged,
never removed.

Exit codes: 0 done · 1 a command failed, or --fail-on-regression tripped ·
2 invalid input · 130 interrupted (what was measured is still reported).`,
		Args: cobra.ArbitraryArgs,
		// Flags are parsed in RunE: --parameter-list and --parameter-scan
		// take two and three values, which pflag cannot express.
		DisableFlagParsing: true,
		RunE: func(c *cobra.Command, args []string) error {
			args, err := benchRewriteArgs(args)
			if err != nil {
				return invalidf("bench: %v", err)
			}
			if err := c.Flags().Parse(args); err != nil {
				return invalidf("bench: %v (see 'stampede bench --help')", err)
			}
			if help, _ := c.Flags().GetBool("help"); help {
				return c.Help()
			}
			return runBenchCommands(c.Context(), e, &f, c.Flags().Args())
		},
	}
	fs := cmd.Flags()
	fs.IntVarP(&f.warmup, "warmup", "w", 0, "untimed runs of each command before measuring")
	fs.IntVarP(&f.runs, "runs", "r", 0, "exact number of timed runs per command (instead of --min-runs/--min-time)")
	fs.IntVarP(&f.minRuns, "min-runs", "m", bench.DefaultMinRuns, "at least this many timed runs per command")
	fs.IntVarP(&f.maxRuns, "max-runs", "M", 0, "at most this many timed runs per command (0: no cap)")
	fs.DurationVar(&f.minTime, "min-time", bench.DefaultMinTime, "measure each command for at least this long")
	fs.StringVarP(&f.prepare, "prepare", "p", "", "command run before every run (untimed), e.g. to drop caches")
	fs.StringArrayVarP(&f.paramLists, "parameter-list", "L", nil, "`NAME VALUES`: run once per comma-separated value, replacing {NAME}")
	fs.StringVarP(&f.paramScan, "parameter-scan", "P", "", "`NAME LO HI`: run for LO, LO+step … HI, replacing {NAME}")
	fs.StringVarP(&f.paramStep, "parameter-step", "D", "1", "step of --parameter-scan")
	fs.StringVarP(&f.shell, "shell", "S", "sh", `shell that runs each command ("none" runs it directly, split into words)`)
	fs.BoolVarP(&f.noShell, "no-shell", "N", false, "same as --shell none")
	fs.BoolVarP(&f.ignoreFailure, "ignore-failure", "i", false, "keep measuring commands that exit non-zero")
	fs.StringArrayVar(&f.out, "out", nil, "write the Run document: json=FILE")
	fs.StringVar(&f.exportMarkdown, "export-markdown", "", "write a Markdown table to FILE")
	fs.StringVar(&f.exportCSV, "export-csv", "", "write a CSV table to FILE")
	fs.StringVar(&f.failOnRegression, "fail-on-regression", "", "exit 1 when a command is significantly slower than the first by more than this (e.g. 5%)")
	f.rec.add(fs)
	cmd.AddCommand(newBenchGoCmd(e), newBenchImportCmd(e), newBenchCompareCmd(e))
	return cmd
}

// benchRewriteArgs turns `--parameter-list NAME VALUES` into
// `--parameter-list=NAME=VALUES` and `--parameter-scan NAME LO HI` into one
// argument, before `--` only.
func benchRewriteArgs(args []string) ([]string, error) {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch a {
		case "--":
			return append(out, args[i:]...), nil
		case "--parameter-list", "-L":
			if i+2 >= len(args) || args[i+1] == "--" || args[i+2] == "--" {
				return nil, fmt.Errorf("%s needs a name and a comma-separated list of values", a)
			}
			out = append(out, "--parameter-list="+args[i+1]+"="+args[i+2])
			i += 2
		case "--parameter-scan", "-P":
			if i+3 >= len(args) || benchContains(args[i+1:i+4], "--") {
				return nil, fmt.Errorf("%s needs a name, a lowest and a highest value", a)
			}
			out = append(out, "--parameter-scan="+strings.Join(args[i+1:i+4], benchScanSep))
			i += 3
		default:
			out = append(out, a)
		}
	}
	return out, nil
}

func benchContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// params builds the benchmark parameters from the flags.
func (f *benchFlags) params() ([]bench.Param, error) {
	var ps []bench.Param
	var errs []error
	for _, l := range f.paramLists {
		name, values, ok := strings.Cut(l, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("--parameter-list %q: use --parameter-list NAME a,b,c", l))
			continue
		}
		p, err := bench.ParamList(name, strings.Split(values, ","))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ps = append(ps, p)
	}
	if f.paramScan != "" {
		v := strings.Split(f.paramScan, benchScanSep)
		if len(v) != 3 {
			errs = append(errs, fmt.Errorf("--parameter-scan: use --parameter-scan NAME LO HI"))
		} else if p, err := bench.ParamScan(v[0], v[1], v[2], f.paramStep); err != nil {
			errs = append(errs, err)
		} else {
			ps = append(ps, p)
		}
	}
	return ps, errors.Join(errs...)
}

// benchOutputs are the files a bench command writes, and where it records
// its run.
type benchOutputs struct {
	json string
	rec  benchRecord
}

// benchRecord are the history flags of the bench commands that measure.
type benchRecord struct {
	store   string
	noStore bool
	tags    []string
}

func (b *benchRecord) add(fs *pflag.FlagSet) {
	addStoreFlag(fs, &b.store)
	fs.BoolVar(&b.noStore, "no-store", false, "do not record the results in the history")
	fs.StringArrayVar(&b.tags, "tag", nil, "label the stored run: `KEY=VALUE` (repeatable)")
}

// save records run in the history, as every run and test is. A history
// that cannot be written is reported, not fatal: the measurements are on
// screen and in --out already.
func (b *benchRecord) save(ctx context.Context, e *env, run *result.Run) error {
	if b.noStore {
		return nil
	}
	tags, _, err := (&recordFlags{tags: b.tags}).check()
	if err != nil {
		return err
	}
	if len(tags) > 0 {
		run.Tags = tags
	}
	if run.Plan == "" {
		run.Plan = benchPlanName(run)
	}
	s, err := openStore(e, "", b.store)
	if err != nil {
		return err
	}
	defer s.Close()
	id, err := s.Save(ctx, run)
	if err != nil {
		fmt.Fprintf(e.stderr, "stampede: the results were not recorded in the history: %v\n", err)
		return nil
	}
	run.ID = id
	fmt.Fprintf(e.stdout, "recorded as run %s\n", id)
	return nil
}

// benchPlanName names a benchmark run in the history by what it measured,
// so that runs of the same commands line up in `stampede history`.
func benchPlanName(run *result.Run) string {
	var names []string
	for _, b := range run.Benchmarks {
		n := b.Command
		if n == "" {
			n = b.Name
		}
		if n != "" && !slices.Contains(names, n) {
			names = append(names, n)
		}
		if len(names) == 3 {
			break
		}
	}
	name := "bench " + strings.Join(names, " | ")
	if len(run.Benchmarks) > len(names) {
		name += " …"
	}
	if len(name) > 120 {
		name = name[:119] + "…"
	}
	return name
}

// parseBenchOut reads --out values: json=FILE.
func parseBenchOut(vals []string) (benchOutputs, error) {
	var o benchOutputs
	for _, v := range vals {
		kind, path, ok := strings.Cut(v, "=")
		if !ok || path == "" || kind != "json" {
			return o, fmt.Errorf("--out %q: use --out json=FILE", v)
		}
		if err := outfile.Check(path); err != nil {
			return o, fmt.Errorf("--out %q: %v", v, err)
		}
		o.json = path
	}
	return o, nil
}

// parseBenchPercent reads "5%" or "5" as 0.05; empty is 0 (no gate).
func parseBenchPercent(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%")), 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("--fail-on-regression %q: use a positive percentage such as 5%%", s)
	}
	return v / 100, nil
}

func runBenchCommands(ctx context.Context, e *env, f *benchFlags, templates []string) error {
	if len(templates) == 0 {
		return invalidf("bench: no command given: stampede bench [flags] -- 'command' ['command' …] (see 'stampede bench --help')")
	}
	var problems []error
	gate, err := parseBenchPercent(f.failOnRegression)
	problems = append(problems, err)
	outs, err := parseBenchOut(f.out)
	problems = append(problems, err)
	outs.rec = f.rec
	e = docOnStdout(e, outs.json)
	params, err := f.params()
	problems = append(problems, err)
	if f.runs > 0 && (f.minRuns != bench.DefaultMinRuns || f.maxRuns != 0) {
		problems = append(problems, errors.New("--runs fixes the number of runs: drop --min-runs/--max-runs"))
	}
	shell := f.shell
	if f.noShell {
		shell = "none"
	}
	opts := bench.Options{
		Warmup: f.warmup, Runs: f.runs, MinRuns: f.minRuns, MaxRuns: f.maxRuns, MinTime: f.minTime,
		Shell: shell, IgnoreFailure: f.ignoreFailure, Now: e.now,
	}
	problems = append(problems, opts.Validate())
	if f.minTime == 0 {
		opts.MinTime = time.Nanosecond // 0 means "default" to the package; the user asked for none
	}
	if err := errors.Join(problems...); err != nil {
		return invalidf("bench: %s", benchMessage(err))
	}
	cmds, err := bench.Expand(templates, f.prepare, params)
	if err != nil {
		return invalidf("bench: %s", benchMessage(err))
	}
	if e.interactive {
		opts.Progress = benchProgress(e.stderr)
	}
	sess, runErr := bench.RunCommands(ctx, cmds, opts)
	if e.interactive {
		fmt.Fprint(e.stderr, "\r\033[K")
	}
	if sess == nil || errors.Is(runErr, bench.ErrInvalid) {
		return benchErr(runErr) // nothing was measured worth reporting
	}
	if err := sess.WriteText(e.stdout); err != nil {
		return err
	}
	run := sess.Run(gate)
	if err := writeBenchOutputs(ctx, e, outs, run, f.exportMarkdown, sess.WriteMarkdown, f.exportCSV, sess.WriteCSV); err != nil {
		return invalidf("bench: %v", err)
	}
	if runErr != nil {
		return benchErr(runErr)
	}
	if regs := sess.Regressions(gate); len(regs) > 0 {
		return failed("regression: " + strings.Join(regs, "; "))
	}
	return nil
}

// benchErr chooses the exit code for an error from the bench package.
func benchErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return errInterrupted
	case errors.Is(err, bench.ErrInvalid), errors.Is(err, bench.ErrParse):
		return invalidf("bench: %s", benchMessage(err))
	default:
		return failed("bench: " + err.Error())
	}
}

// benchMessage drops the sentinel's text from messages: the exit code
// already says the input was invalid.
func benchMessage(err error) string {
	s := err.Error()
	s = strings.ReplaceAll(s, bench.ErrInvalid.Error()+": ", "")
	return s
}

// writeBenchOutputs writes the Run document and the optional exports.
// writeJSONFile writes v as indented JSON, as every output is written
// (writeOutput).
func writeJSONFile(e *env, path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeOutput(e, path, func(w io.Writer) error { _, err := w.Write(append(b, '\n')); return err })
}

func writeBenchOutputs(ctx context.Context, e *env, o benchOutputs, run *result.Run, mdPath string, md func(io.Writer) error, csvPath string, csv func(io.Writer) error) error {
	// An interrupted bench is still recorded: the save outlives the
	// interrupt, bounded by its own timeout.
	saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := o.rec.save(saveCtx, e, run); err != nil {
		return err
	}
	if o.json != "" {
		if err := writeOutput(e, o.json, func(w io.Writer) error { return result.Encode(w, run) }); err != nil {
			return err
		}
	}
	for _, x := range []struct {
		path  string
		write func(io.Writer) error
	}{{mdPath, md}, {csvPath, csv}} {
		if x.path == "" || x.write == nil {
			continue
		}
		var b bytes.Buffer
		if err := x.write(&b); err != nil {
			return err
		}
		if err := writeOutput(e, x.path, func(w io.Writer) error { _, err := w.Write(b.Bytes()); return err }); err != nil {
			return err
		}
	}
	return nil
}

// benchProgress shows one self-overwriting status line on a terminal.
func benchProgress(w io.Writer) func(bench.Progress) {
	return func(p bench.Progress) {
		var s string
		switch p.Stage {
		case "overhead":
			s = fmt.Sprintf("Measuring the shell's start-up time: %d/%d", p.Run, p.Runs)
		case "warmup":
			s = fmt.Sprintf("Benchmark %d: %s — warm-up %d/%d", p.Index+1, p.Command, p.Run, p.Runs)
		default:
			s = fmt.Sprintf("Benchmark %d: %s — run %d", p.Index+1, p.Command, p.Run+1)
			if p.Runs > 0 {
				s += fmt.Sprintf("/%d", p.Runs)
			}
			if p.Mean > 0 {
				s += fmt.Sprintf(", current estimate %s", p.Mean.Round(time.Microsecond*100))
			}
		}
		fmt.Fprintf(w, "\r\033[K%s", s)
	}
}

// benchSetFlags are the flags shared by go, import and compare.
type benchSetFlags struct {
	out    []string
	format string
}

func (s *benchSetFlags) add(fs *pflag.FlagSet) {
	fs.StringArrayVar(&s.out, "out", nil, "write the Run document: json=FILE")
	fs.StringVar(&s.format, "format", "text", "table format: text or markdown")
}

func (s *benchSetFlags) check() (benchOutputs, error) {
	if s.format != "text" && s.format != "markdown" {
		return benchOutputs{}, fmt.Errorf("--format %q: use text or markdown", s.format)
	}
	return parseBenchOut(s.out)
}

func (s *benchSetFlags) write(w io.Writer, c *bench.Comparison) error {
	if s.format == "markdown" {
		return c.WriteMarkdown(w)
	}
	return c.WriteText(w)
}

func newBenchGoCmd(e *env) *cobra.Command {
	var sf benchSetFlags
	var rec benchRecord
	var o bench.GoOptions
	cmd := &cobra.Command{
		Use:   "go [packages] [flags]",
		Short: "Run Go benchmarks (go test -bench) and summarise them benchstat's way",
		Long: `Run go test -run '^$' -bench REGEX -benchmem -count N [packages], streaming its
output, then print the median and 95% interval of every benchmark and unit.
--out json=FILE writes a Run document that 'stampede bench compare' reads.`,
		RunE: func(c *cobra.Command, args []string) error {
			outs, err := sf.check()
			if err != nil {
				return invalidf("bench go: %v", err)
			}
			e := docOnStdout(e, outs.json)
			if o.Count <= 0 {
				return invalidf("bench go: --count must be > 0")
			}
			o.Packages = args
			o.Output = e.stdout
			started := e.now()
			set, runErr := bench.RunGo(c.Context(), o)
			if set == nil || set.Len() == 0 {
				return benchErr(runErr)
			}
			for _, w := range set.Warnings {
				fmt.Fprintf(e.stderr, "stampede: warning: %s\n", w)
			}
			fmt.Fprintln(e.stdout)
			if err := sf.write(e.stdout, bench.Summarize(set)); err != nil {
				return err
			}
			run := benchSetRun(set, "micro", started, e.now(), runErr)
			outs.rec = rec
			if err := writeBenchOutputs(c.Context(), e, outs, run, "", nil, "", nil); err != nil {
				return invalidf("bench go: %v", err)
			}
			return benchErr(runErr)
		},
	}
	cmd.Flags().StringVar(&o.Bench, "bench", ".", "run the benchmarks matching this regexp")
	cmd.Flags().IntVar(&o.Count, "count", bench.DefaultCount, "runs of each benchmark")
	cmd.Flags().StringVar(&o.Benchtime, "benchtime", "", "go test -benchtime (e.g. 1s or 1000x)")
	sf.add(cmd.Flags())
	rec.add(cmd.Flags())
	return cmd
}

// benchSetRun is a Run document holding the benchmarks of a set.
func benchSetRun(set *bench.Set, level string, started, ended time.Time, err error) *result.Run {
	run := bench.NewRun()
	run.StartedAt, run.EndedAt = started, ended
	run.Benchmarks = set.Benchmarks(level)
	if err != nil {
		run.Aborted, run.AbortReason = true, err.Error()
		for i := range run.Benchmarks {
			run.Benchmarks[i].Partial = true
		}
	}
	return run
}

func newBenchImportCmd(e *env) *cobra.Command {
	var sf benchSetFlags
	var rec benchRecord
	cmd := &cobra.Command{
		Use:   "import FILE…",
		Short: "Read saved go test -bench output into a Run document and summarise it",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			outs, err := sf.check()
			if err != nil {
				return invalidf("bench import: %v", err)
			}
			e := docOnStdout(e, outs.json)
			set := bench.NewSet(strings.Join(args, ", "))
			var errs []error
			for _, path := range args {
				if err := set.ReadFile(path); err != nil {
					errs = append(errs, err)
				}
			}
			if err := errors.Join(errs...); err != nil {
				return invalidf("bench import: %v", err)
			}
			if err := sf.write(e.stdout, bench.Summarize(set)); err != nil {
				return err
			}
			now := e.now()
			outs.rec = rec
			if err := writeBenchOutputs(c.Context(), e, outs, benchSetRun(set, "micro", now, now, nil), "", nil, "", nil); err != nil {
				return invalidf("bench import: %v", err)
			}
			return nil
		},
	}
	sf.add(cmd.Flags())
	rec.add(cmd.Flags())
	return cmd
}

func newBenchCompareCmd(e *env) *cobra.Command {
	var sf benchSetFlags
	var gateFlag string
	cmd := &cobra.Command{
		Use:   "compare OLD NEW",
		Short: "Compare two benchmark files benchstat's way (go test -bench output or Run documents)",
		Long: `Compare NEW with OLD: per benchmark and unit the median with its 95% interval,
the change, "~" where a Mann–Whitney U test (α = 0.05) finds no significant
difference, "(p=… n=…)", and a geomean row. OLD and NEW are go test -bench
output or Run documents with benchmarks. --fail-on-regression 5% exits 1 when
a benchmark is significantly worse by more than 5% (slower, or more B/op or
allocs/op, or fewer B/s). --out json=FILE writes the comparison: rows[] with
name, unit, old, new, delta_pct, p_value and significant.`,
		Args: cobra.ExactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			outs, err := sf.check()
			if err != nil {
				return invalidf("bench compare: %v", err)
			}
			e := docOnStdout(e, outs.json)
			gate, err := parseBenchPercent(gateFlag)
			if err != nil {
				return invalidf("bench compare: %v", err)
			}
			var sets []*bench.Set
			var errs []error
			for _, path := range args {
				s, err := bench.ReadFile(path)
				if err != nil {
					errs = append(errs, err)
				}
				sets = append(sets, s)
			}
			if err := errors.Join(errs...); err != nil {
				return invalidf("bench compare: %v", err)
			}
			cmp := bench.Compare(sets[0], sets[1], bench.CompareOptions{Threshold: gate})
			if err := sf.write(e.stdout, cmp); err != nil {
				return err
			}
			run := bench.NewRun()
			run.StartedAt = e.now()
			run.EndedAt = run.StartedAt
			run.Comparison = cmp.Result()
			run.Comparison.Base, run.Comparison.New = args[0], args[1]
			if gate > 0 {
				run.Verdict = result.VerdictPass
				if run.Comparison.Regression {
					run.Verdict = result.VerdictFail
				}
			}
			if outs.json != "" { // the comparison itself, as stampede compare writes it
				if err := writeJSONFile(e, outs.json, run.Comparison); err != nil {
					return invalidf("bench compare: %v", err)
				}
			}
			if regs := cmp.Regressions(); len(regs) > 0 {
				return failed(fmt.Sprintf("regression beyond %.4g%%: %s", gate*100, strings.Join(regs, "; ")))
			}
			return nil
		},
	}
	sf.add(cmd.Flags())
	cmd.Flags().StringVar(&gateFlag, "fail-on-regression", "", "exit 1 when a benchmark is significantly worse by more than this (e.g. 5%)")
	return cmd
}
