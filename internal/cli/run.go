package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/internal/outfile"
	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/internal/selfmem"
	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/proto"
	sqlstep "github.com/stampede-perf/stampede/proto/sql"
	"github.com/stampede-perf/stampede/report"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
	"github.com/stampede-perf/stampede/suite"
	"github.com/stampede-perf/stampede/watch"
)

// loadFlags are the ad-hoc and override flags shared by run, test and demo.
type loadFlags struct {
	url        string
	method     string
	headers    []string
	body       string
	vus        int
	rate       float64
	duration   time.Duration
	rampUp     time.Duration
	maxVUs     int
	timeout    time.Duration
	thresholds []string
	arrivals   string
	iterations int64
	seed       int64
	db         string   // ad-hoc SQL: the database DSN
	query      string   // … the statement
	sqlArgs    []string // … its parameters

	watchPID      int
	watchProcess  string
	prometheus    string
	pprofURL      string
	watchInterval time.Duration
}

func (f *loadFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.url, "url", "", "target URL for an ad-hoc run (no plan)")
	fs.StringVarP(&f.method, "method", "X", "", "HTTP method (default GET, or POST with --body)")
	fs.StringArrayVarP(&f.headers, "header", "H", nil, "request header `K:V` (repeatable)")
	fs.StringVar(&f.body, "body", "", "request body `TEXT`, or @FILE to read it from a file")
	fs.IntVar(&f.vus, "vus", 0, "closed model: number of virtual users")
	fs.Float64Var(&f.rate, "rate", 0, "open model: iterations started per second")
	fs.DurationVarP(&f.duration, "duration", "d", 0, "how long to hold the load (e.g. 30s, 5m)")
	fs.DurationVar(&f.rampUp, "ramp-up", 0, "ramp from zero to the load over this time first")
	fs.IntVar(&f.maxVUs, "max-vus", 0, "open model: most VUs to run at once")
	fs.DurationVar(&f.timeout, "timeout", 0, "per-request timeout (default 10s)")
	fs.StringArrayVar(&f.thresholds, "threshold", nil, "SLO that must hold, e.g. 'p95 < 500ms', 'error_rate < 1%' (repeatable)")
	fs.StringVar(&f.arrivals, "arrivals", "", "open model arrivals: constant or poisson")
	fs.Int64Var(&f.iterations, "iterations", 0, "stop after this many iterations")
	fs.Int64Var(&f.seed, "seed", 0, "random seed (scenario choice, think times, Poisson arrivals)")
	fs.StringVar(&f.db, "db", "", "database `DSN` for an ad-hoc SQL run (postgres://…, mysql://…, sqlite:FILE; ${ENV} is expanded)")
	fs.StringVar(&f.query, "query", "", "SQL statement to run against --db, with $1… or ? parameters")
	fs.StringArrayVar(&f.sqlArgs, "arg", nil, "value of the next --query parameter; may use {{ }} templates (repeatable)")
	fs.IntVar(&f.watchPID, "watch-pid", 0, "watch the system under test: the process with this `PID`")
	fs.StringVar(&f.watchProcess, "watch-process", "", "watch the system under test: the process with this `NAME`")
	fs.StringVar(&f.prometheus, "prometheus", "", "watch the system under test: scrape this Prometheus `URL` every interval")
	fs.StringVar(&f.pprofURL, "pprof", "", "watch the system under test: take Go profiles from this /debug/pprof `URL`")
	fs.DurationVar(&f.watchInterval, "watch-interval", 0, "how often the watch samples (default 1s)")
}

// plan builds the plan: from a file, or from flags; flags override a
// file's load settings.
func (f *loadFlags) plan(e *env, args []string, fs *pflag.FlagSet) (*plan.Plan, error) {
	var p *plan.Plan
	switch {
	case len(args) > 1:
		return nil, invalidf("expected one plan file, got %d arguments", len(args))
	case len(args) == 1 && f.url != "":
		return nil, invalidf("give either a plan file or --url, not both")
	case len(args) == 1 && f.db != "":
		return nil, invalidf("give either a plan file or --db, not both")
	case f.url != "" && f.db != "":
		return nil, invalidf("give either --url (HTTP) or --db (SQL), not both")
	case f.db == "" && (f.query != "" || len(f.sqlArgs) > 0):
		return nil, invalidf("--query and --arg need --db")
	case len(args) == 1:
		var err error
		p, err = plan.Load(args[0])
		if err != nil {
			return nil, invalid(err)
		}
	case f.url != "":
		var err error
		if p, err = f.adhoc(); err != nil {
			return nil, invalid(err)
		}
	case f.db != "":
		var err error
		if p, err = f.adhocSQL(); err != nil {
			return nil, invalid(err)
		}
	default:
		return nil, invalidf("nothing to run: give a plan file, --url or --db (see --help)")
	}
	if err := f.override(p, fs); err != nil {
		return nil, invalid(err)
	}
	p.ApplyDefaults()
	if err := p.Validate(); err != nil {
		return nil, invalid(err)
	}
	if err := suite.Compile(p, e.getenv); err != nil {
		return nil, invalid(compileErr(err))
	}
	return p, nil
}

func (f *loadFlags) adhoc() (*plan.Plan, error) {
	u, err := url.Parse(f.url)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("--url %q: want an absolute http:// or https:// URL", f.url)
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	step := &plan.Step{Method: strings.ToUpper(f.method), Path: path, Headers: map[string]string{}}
	for _, h := range f.headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			name, _, _ := strings.Cut(strings.TrimSpace(h), " ")
			return nil, fmt.Errorf("--header %q: want Name: value", redact.Header(name, h))
		}
		step.Headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	if f.body != "" {
		body := f.body
		if strings.HasPrefix(body, "@") {
			b, err := os.ReadFile(body[1:])
			if err != nil {
				return nil, fmt.Errorf("--body %s: %v", body, err)
			}
			body = string(b)
		}
		step.Body = body
	}
	if step.Method == "" {
		step.Method = "GET"
		if step.Body != "" {
			step.Method = "POST"
		}
	}
	step.Name = step.Method + " " + u.Path
	p := &plan.Plan{
		Name:      "adhoc " + u.Host + u.Path,
		Target:    plan.Target{BaseURL: u.Scheme + "://" + u.Host},
		Scenarios: []*plan.Scenario{{Name: "default", Weight: 1, Steps: []*plan.Step{step}}},
	}
	if f.vus == 0 && f.rate == 0 {
		p.Load.VUs = 1
	}
	if f.duration == 0 && f.iterations == 0 {
		p.Load.Duration = plan.Duration(10 * time.Second)
	}
	return p, nil
}

// adhocSQL builds a one-step SQL plan from --db, --query and --arg, the
// way pgbench runs a custom script. The DSN is never put where it would
// be printed: the plan calls the database "db".
func (f *loadFlags) adhocSQL() (*plan.Plan, error) {
	if strings.TrimSpace(f.query) == "" {
		return nil, errors.New("--db needs --query 'SELECT …'")
	}
	driver := sqlstep.DriverFor(f.db)
	if driver == "" {
		return nil, errors.New("--db: cannot tell the database from the DSN (use postgres://…, mysql://… or sqlite:FILE)")
	}
	p := &plan.Plan{
		Name:      "adhoc " + driver,
		Databases: map[string]*plan.Database{"db": {Driver: driver, DSN: f.db}},
		Scenarios: []*plan.Scenario{{Name: "default", Weight: 1, Steps: []*plan.Step{
			{SQL: &plan.SQLStep{DB: "db", Query: f.query, Args: f.sqlArgs}},
		}}},
	}
	if f.vus == 0 && f.rate == 0 {
		p.Load.VUs = 1
	}
	if f.duration == 0 && f.iterations == 0 {
		p.Load.Duration = plan.Duration(10 * time.Second)
	}
	return p, nil
}

// override applies flags the user set to the plan's load.
func (f *loadFlags) override(p *plan.Plan, fs *pflag.FlagSet) error {
	l := &p.Load
	changed := fs.Changed
	if p.Loads != nil {
		for _, name := range []string{"vus", "rate", "duration", "ramp-up", "max-vus", "arrivals", "iterations", "seed"} {
			if changed(name) {
				return fmt.Errorf("--%s sets the plan's load:, and %s has loads: instead (set it on each load in the plan)", name, p.At("loads"))
			}
		}
	}
	if changed("vus") && changed("rate") {
		return errors.New("--vus (closed model) and --rate (open model) exclude each other")
	}
	if changed("vus") && f.vus < 1 {
		return fmt.Errorf("--vus %d: need at least 1 virtual user", f.vus)
	}
	reshape := changed("vus") || changed("rate") || changed("duration") || changed("ramp-up")
	if reshape && len(l.Stages) > 0 {
		// Flags describe a single level: they replace the plan's stages.
		var users int
		var rate float64
		for _, s := range l.Stages {
			if s.Users != nil && *s.Users > users {
				users = *s.Users
			}
			if s.Rate != nil && *s.Rate > rate {
				rate = *s.Rate
			}
		}
		var total plan.Duration
		for _, s := range l.Stages {
			total += s.RampUp + s.Duration
		}
		l.Stages = nil
		l.VUs, l.Rate, l.Duration = users, rate, total
	}
	if changed("vus") {
		l.VUs, l.Rate, l.Model = f.vus, 0, "closed"
	}
	if changed("rate") {
		l.Rate, l.VUs, l.Model = f.rate, 0, "open"
	}
	if changed("duration") {
		l.Duration = plan.Duration(f.duration)
	}
	if changed("ramp-up") {
		l.RampUp = plan.Duration(f.rampUp)
	}
	if changed("max-vus") {
		l.MaxVUs = f.maxVUs
	}
	if changed("arrivals") {
		l.Arrivals = f.arrivals
	}
	if changed("iterations") {
		l.Iterations = f.iterations
	}
	if changed("seed") {
		l.Seed = f.seed
	}
	if changed("timeout") {
		p.Target.Timeout = plan.Duration(f.timeout)
	}
	for _, t := range f.thresholds {
		p.Thresholds = append(p.Thresholds, &plan.Threshold{Expr: t})
	}
	if changed("watch-pid") && changed("watch-process") {
		return errors.New("--watch-pid and --watch-process exclude each other")
	}
	if sys := watch.SpecFromFlags(f.watchPID, f.watchProcess, f.prometheus, f.pprofURL, f.watchInterval); sys != nil {
		if p.System == nil {
			p.System = sys
		} else { // flags add to the plan's system block
			if sys.Process != nil {
				p.System.Process = sys.Process
			}
			if sys.Prometheus != nil {
				p.System.Prometheus = sys.Prometheus
			}
			if sys.Pprof != "" {
				p.System.Pprof = sys.Pprof
			}
			if sys.Interval != 0 {
				p.System.Interval = sys.Interval
			}
		}
	}
	return nil
}

// profileDir is where the watch saves profiles: next to the run's JSON,
// else beside the run history (.stampede/profiles next to history.db).
func profileDir(e *env, p *plan.Plan, rf *recordFlags, outs outputs, now time.Time) string {
	stamp := now.UTC().Format("20060102-150405")
	if outs.json != "" {
		base := strings.TrimSuffix(filepath.Base(outs.json), filepath.Ext(outs.json))
		return filepath.Join(filepath.Dir(outs.json), base+"-profiles")
	}
	dsn := storeDSN(e, p.File, rf.store)
	if store.IsPostgres(dsn) || strings.Contains(dsn, "://") {
		return filepath.Join(".stampede", "profiles", stamp)
	}
	return filepath.Join(filepath.Dir(dsn), "profiles", stamp)
}

// outputs are the --out targets (json=PATH, and the live outputs) and
// --report renderings.
type outputs struct {
	json    string
	live    []output.Spec // csv=, prometheus=, otlp=: written while the run goes
	reports []string      // FORMAT=FILE, checked by parseReports
	// dashboard is --dashboard's address: the live page ("" none).
	dashboard string
}

// toStdout reports whether an output is standard output ("-",
// /dev/stdout).
func (o outputs) toStdout() bool {
	if outfile.IsStdout(o.json) {
		return true
	}
	for _, r := range o.reports {
		if _, path, _ := strings.Cut(r, "="); outfile.IsStdout(path) {
			return true
		}
	}
	return false
}

func parseOutputs(specs []string) (outputs, error) {
	var o outputs
	for _, s := range specs {
		kind, path, ok := strings.Cut(s, "=")
		if !ok || path == "" {
			return o, fmt.Errorf("--out %q: want FORMAT=PATH, e.g. json=run.json", s)
		}
		switch {
		case kind == "json":
			o.json = path
		case output.IsKind(kind):
			spec, err := checkLive(kind, path)
			if err != nil {
				return o, fmt.Errorf("--out %q: %v", s, err)
			}
			o.live = append(o.live, spec)
			continue
		default:
			return o, fmt.Errorf("--out %q: unknown format %q (use json, csv, prometheus or otlp)", s, kind)
		}
		if err := outfile.Check(path); err != nil {
			return o, fmt.Errorf("--out %q: %v", s, err)
		}
	}
	return o, nil
}

func newRunCmd(e *env) *cobra.Command {
	var lf loadFlags
	var outSpecs, reportSpecs []string
	var segment string
	var quiet bool
	var cpuProfile, memProfile string
	var rf recordFlags
	var noDefaultSLO, dryRun bool
	var dash string
	var df distFlags
	c := &cobra.Command{
		Use:   "run [plan.yaml]",
		Short: "Run a load test from a plan or from flags",
		Long: `Run a load test from a YAML plan, or ad hoc from flags.

  stampede run plan.yaml --out json=run.json
  stampede run --url http://127.0.0.1:8080/ --vus 50 --duration 10s     closed model
  stampede run --url http://127.0.0.1:8080/ --rate 2000 --duration 30s  open model
  stampede run --db "$DSN" --query 'SELECT * FROM t WHERE id = $1' \
               --arg '{{ random_int(1, 1000) }}' --vus 10 --duration 30s  SQL

Without thresholds (in the plan or --threshold) the run is judged by a
default SLO, error_rate < 1%; --no-default-slo turns it off.

--dry-run validates and compiles the plan (data files, bodies, TLS files
included), prints what would run and sends nothing.

Exit codes: 0 passed, 1 a threshold failed, 2 invalid input, 130 interrupted
(the summary and --out files are still written, marked aborted).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			p, err := lf.plan(e, args, c.Flags())
			if err != nil {
				return err
			}
			if !p.HasLoad() {
				return invalidf("%s: load: no duration, stages or iterations: add them to the plan, pass --duration, or run the protocol with stampede test", p.At("load"))
			}
			outs, err := parseOutputs(outSpecs)
			if err != nil {
				return invalid(err)
			}
			if outs.reports, err = parseReports(reportSpecs); err != nil {
				return invalid(err)
			}
			outs.dashboard = dash
			seg, err := load.ParseSegment(segment)
			if err != nil {
				return invalid(err)
			}
			if err := df.check(c.Flags()); err != nil {
				return invalid(err)
			}
			if dryRun {
				return printDryRun(e, p, seg, !noDefaultSLO)
			}
			if df.agents > 0 {
				if segment != "" {
					return invalidf("--segment and --agents exclude each other: the coordinator gives each agent its segment")
				}
				return runDistributed(c.Context(), e, p, p.File, c.Flags(), &df, outs, quiet, &rf, !noDefaultSLO)
			}
			if memProfile != "" {
				defer writeHeapProfile(memProfile)
			}
			if cpuProfile != "" {
				stop, err := startCPUProfile(cpuProfile)
				if err != nil {
					return invalid(err)
				}
				defer stop()
			}
			return runPlanSLO(c.Context(), e, p, seg, outs, quiet, &rf, !noDefaultSLO)
		},
	}
	lf.register(c.Flags())
	c.Flags().StringArrayVar(&outSpecs, "out", nil, "write results: json=PATH (the Run document); while running: csv=PATH, prometheus=[HOST]:PORT, otlp=URL (repeatable)")
	c.Flags().StringArrayVar(&reportSpecs, "report", nil, "write a report: FORMAT=FILE (html, md, junit, json)")
	addDashboardFlag(c.Flags(), &dash)
	c.Flags().StringVar(&segment, "segment", "", "run only part k of n of the test (e.g. 2/4), for spreading it over machines")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no live progress line")
	c.Flags().BoolVar(&dryRun, "dry-run", false, "validate and compile the plan, print what would run, send nothing")
	c.Flags().BoolVar(&noDefaultSLO, "no-default-slo", false, "without thresholds, pass whatever the error rate (default: error_rate < 1%)")
	rf.register(c.Flags())
	df.register(c.Flags())
	c.Flags().StringVar(&cpuProfile, "generator-cpu-profile", "", "write a CPU profile of stampede itself to `FILE`")
	c.Flags().MarkHidden("generator-cpu-profile")
	c.Flags().StringVar(&memProfile, "generator-heap-profile", "", "write a heap profile of stampede itself to `FILE` at the end")
	c.Flags().MarkHidden("generator-heap-profile")
	return c
}

func writeHeapProfile(path string) {
	outfile.Write(path, os.Stdout, func(w io.Writer) error { return pprof.Lookup("heap").WriteTo(w, 0) })
}

func startCPUProfile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, outfile.FileMode)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// runPlan runs one load, records and reports it; shared by run and demo.
func runPlan(ctx context.Context, e *env, p *plan.Plan, seg load.Segment, outs outputs, quiet bool, rf *recordFlags) error {
	return runPlanSLO(ctx, e, p, seg, outs, quiet, rf, false)
}

// runPlanSLO is runPlan; defaultSLO judges a plan without thresholds by
// suite.DefaultSLOExpr.
func runPlanSLO(ctx context.Context, e *env, p *plan.Plan, seg load.Segment, outs outputs, quiet bool, rf *recordFlags, defaultSLO bool) error {
	peak := proto.PeakVUs(p)
	for _, l := range p.Loads { // side by side: their VUs add
		peak += proto.PeakVUs(p.Only(l))
	}
	if peak >= proto.ManyVUs && e.getenv("GOGC") == "" {
		// Thousands of VUs hold mostly live buffers: collect at 50% growth
		// rather than 100% so the heap's slack does not double memory.
		defer debug.SetGCPercent(debug.SetGCPercent(50))
	}
	var dir string
	if p.System != nil && p.System.Pprof != "" {
		dir = profileDir(e, p, rf, outs, e.now())
		if err := os.MkdirAll(dir, outfile.DirMode); err != nil {
			return invalidf("cannot create %s for the profiles: %v", dir, err)
		}
	}
	live, err := startLive(ctx, e, outs, metaOf(p, "load"), liveLabels(p))
	if err != nil {
		return err
	}
	rec, err := rf.start(ctx, e, p, "load")
	if err != nil {
		live.Close(nil)
		return err
	}
	prog := newProgress(e, p, quiet)
	// What start-up touched of the binary and left on the heap is not
	// the load's: let it go before the VUs start, so that the load's
	// pages do not come on top of start-up's, and again once the load
	// runs (see selfmem). Nothing is timed yet: let the page cache's
	// copy of the binary go too, so the load's pages come back one at a
	// time.
	selfmem.Evict()
	var trim sync.Once
	shrink := &poolTrim{trim: func() { selfmem.Trim() }}
	run, runErr := suite.RunLoad(ctx, p, suite.LoadOptions{
		Segment:    seg,
		Getenv:     e.getenv,
		ProfileDir: dir,
		DefaultSLO: defaultSLO,
		// The disk's ceiling, for the I/O rules, where the plan watches
		// a process's disk I/O and states none.
		ProbeDisk: true,
		// The recording draws the conclusions, once, after comparing.
		DeferConclusions: true,
		OnWindow: func(w result.Window, snap *result.Run) {
			rec.window(w)
			live.Window(w, snap)
			prog.window(w, snap)
			trim.Do(func() { go selfmem.Trim() })
			shrink.window(w.VUs, time.Now())
		},
		OnSystem: func(_ time.Time, pt result.SystemPoint) { live.System(pt) },
	})
	// The VUs have stopped: the load's pages and heap are not the
	// conclusions' and outputs' (a run's peak was here, both at once).
	selfmem.Trim()
	prog.done()
	liveErr := live.Close(run)
	if run == nil {
		rec.abort(ctx, runErr)
		return invalid(compileErr(runErr))
	}
	regressed := rec.finish(ctx, run)
	live.concluded(e, run)
	return liveFinished(e, liveErr, finish(ctx, e, run, outs, runErr, regressed))
}

// finish writes the outputs and the summary, then picks the exit code.
func finish(ctx context.Context, e *env, run *result.Run, outs outputs, runErr error, regressed bool) error {
	var writeErr error
	if outs.json != "" {
		writeErr = writeOutput(e, outs.json, func(w io.Writer) error { return result.Encode(w, run) })
	}
	if err := writeReports(e, run, outs.reports); err != nil && writeErr == nil {
		writeErr = err
	}
	if outs.toStdout() { // standard output holds the document: the summary goes to stderr
		c := *e
		c.stdout = e.stderr
		e = &c
	}
	report.Console(e.stdout, run)
	if run.Verdict == analyze.VerdictInconclusive && run.VerdictReason != "" {
		fmt.Fprintf(e.stdout, "  %s\n", run.VerdictReason)
	}
	if run.Comparison != nil {
		printComparison(e, run.Comparison)
	}
	if run.ID != "" {
		fmt.Fprintf(e.stdout, "recorded as run %s\n", run.ID)
	}
	if writeErr != nil { // exit 2: 1 is kept for failed gates
		return invalid(writeErr)
	}
	if ctx.Err() != nil || errors.Is(runErr, context.Canceled) {
		return errInterrupted
	}
	if run.Aborted {
		return failed("run aborted: " + run.AbortReason)
	}
	if run.Verdict == analyze.VerdictInconclusive {
		return failed("inconclusive: " + run.VerdictReason)
	}
	n := len(analyze.Failed(run.Thresholds, false))
	for _, l := range run.Loads {
		n += len(analyze.Failed(l.Thresholds, false))
	}
	if n > 0 {
		return failed(fmt.Sprintf("%d threshold(s) failed", n))
	}
	if regressed {
		return failed("regression against " + run.Comparison.Base)
	}
	return nil
}

// compileErr drops the sentinel so the message is just the problems.
func compileErr(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs := j.Unwrap()
		if len(errs) == 2 && errors.Is(errs[0], suite.ErrCompile) {
			return errs[1]
		}
	}
	return err
}

// printDryRun compiles p as a run would (feeders, bodies, TLS files and
// templates included) and prints what would run; it opens no connection.
func printDryRun(e *env, p *plan.Plan, seg load.Segment, defaultSLO bool) error {
	test, layout, err := proto.Compile(p, proto.Options{Getenv: e.getenv})
	if err != nil {
		return invalid(err)
	}
	// What the run would refuse before starting (nothing to send, more
	// VUs than this host can hold) is refused here too.
	if err := admitDry(p, test, seg, e); err != nil {
		return invalid(err)
	}
	w := e.stdout
	name := p.Name
	if p.File != "" {
		name += " (" + p.File + ")"
	}
	fmt.Fprintf(w, "plan %s is valid; nothing was sent (--dry-run)\n", name)
	t := p.Target
	if t.BaseURL != "" {
		fmt.Fprintf(w, "target   %s  %s\n", redact.String(t.BaseURL), targetText(t))
	}
	if p.Loads == nil {
		printLoadSpec(w, "load    ", p.Load)
	}
	for _, nl := range p.Loads {
		printLoadSpec(w, "load "+nl.Name+":", nl.LoadSpec)
		if nl.Start > 0 {
			fmt.Fprintf(w, "  starts %v after the run\n", nl.Start.D())
		}
		fmt.Fprintf(w, "  scenarios %s\n", strings.Join(nl.Scenarios, ", "))
		if len(nl.Tags) > 0 {
			var tags []string
			for _, k := range slices.Sorted(maps.Keys(nl.Tags)) {
				tags = append(tags, k+"="+nl.Tags[k])
			}
			fmt.Fprintf(w, "  tags %s\n", strings.Join(tags, " "))
		}
		printThresholds(w, "  threshold", nl.Thresholds)
	}
	if seg.N > 1 {
		fmt.Fprintf(w, "segment  %s of the test\n", seg)
	}
	for i, sc := range layout.Scenarios {
		fmt.Fprintf(w, "scenario %s (weight %d)\n", sc.Name, sc.Weight)
		for j, st := range sc.Steps {
			ps := p.Scenarios[i].Steps[j]
			what := st.Name
			if st.Kind == "http" && st.Name != ps.Method+" "+ps.Path {
				what += ": " + ps.Method + " " + redact.String(ps.Path)
			}
			fmt.Fprintf(w, "  %d. %-4s %s%s\n", j+1, st.Kind, what, stepText(ps))
		}
	}
	switch {
	case len(p.Thresholds) > 0:
		printThresholds(w, "threshold", p.Thresholds)
	case defaultSLO:
		fmt.Fprintf(w, "threshold %s (the default SLO; --no-default-slo turns it off)\n", suite.DefaultSLOExpr)
	}
	return nil
}

// admitDry refuses what the run would refuse before starting: a load that
// sends nothing or needs more VUs than this host holds.
func admitDry(p *plan.Plan, test *load.Test, seg load.Segment, e *env) error {
	admit := func(l plan.LoadSpec, t *load.Test) error {
		return load.New(t, load.Options{Model: result.Model(l.Model), Levels: suite.Levels(l), MaxVUs: l.MaxVUs, PreVUs: l.PreVUs,
			Iterations: l.Iterations, Segment: seg}).Admit()
	}
	if p.Loads == nil {
		return admit(p.Load, test)
	}
	for _, nl := range p.Loads {
		t, _, err := proto.Compile(p.Only(nl), proto.Options{Getenv: e.getenv})
		if err != nil {
			return err
		}
		if err := admit(nl.LoadSpec, t); err != nil {
			return fmt.Errorf("%s: %w", nl.Path(), err)
		}
	}
	return nil
}

// printLoadSpec describes one load block: its model and levels.
func printLoadSpec(w io.Writer, head string, l plan.LoadSpec) {
	unit := "VUs"
	if l.Model == "open" {
		unit = "iterations/s"
		fmt.Fprintf(w, "%s open model, %s arrivals\n", head, l.Arrivals)
	} else {
		fmt.Fprintf(w, "%s closed model\n", head)
	}
	var total time.Duration
	for i, lv := range suite.Levels(l) {
		if l.Iterations > 0 && lv.Hold == load.IterationsCap {
			lv.Hold = 0
		}
		fmt.Fprintf(w, "  level %d: %s %g", i+1, unit, lv.Target)
		if lv.Ramp > 0 {
			fmt.Fprintf(w, ", ramp %v", lv.Ramp)
		}
		if lv.Hold > 0 {
			fmt.Fprintf(w, ", hold %v", lv.Hold)
		}
		fmt.Fprintln(w)
		total += lv.Ramp + lv.Hold
	}
	if l.Iterations > 0 {
		fmt.Fprintf(w, "  until %d iterations\n", l.Iterations)
	}
	if l.Network.Shapes() {
		fmt.Fprintf(w, "  network conditions %s, through a shaping proxy on loopback\n", l.Network)
	}
	if total > 0 {
		fmt.Fprintf(w, "  %v in all, graceful stop %v", total, l.GracefulStop.D())
		if l.Model == "open" {
			fmt.Fprintf(w, ", at most %d VUs", l.MaxVUs)
		}
		fmt.Fprintln(w)
	}
}

// printThresholds lists thresholds, each line starting with head.
func printThresholds(w io.Writer, head string, ths []*plan.Threshold) {
	for _, th := range ths {
		scope := ""
		if th.Scope != "" {
			scope = " [" + th.Scope + "]"
		}
		fmt.Fprintf(w, "%s %s%s\n", head, th.Expr, scope)
	}
}

// targetText describes the HTTP settings every request shares.
func targetText(t plan.Target) string {
	var parts []string
	if t.HTTP == 2 {
		parts = append(parts, "HTTP/2")
	} else {
		parts = append(parts, "HTTP/1.1")
	}
	switch t.Cookies {
	case plan.CookiesOff:
		parts = append(parts, "no cookies")
	case plan.CookiesKeep:
		parts = append(parts, "cookies kept per VU")
	default:
		parts = append(parts, "cookies per iteration")
	}
	redirects := plan.DefaultRedirects
	if t.Redirects != nil {
		redirects = *t.Redirects
	}
	if redirects == 0 {
		parts = append(parts, "redirects not followed")
	} else {
		parts = append(parts, fmt.Sprintf("redirects ≤ %d", redirects))
	}
	if t.Proxy != "" {
		parts = append(parts, "proxy "+redact.String(t.Proxy))
	}
	if s := t.TLS; s != nil {
		if s.CAFile != "" {
			parts = append(parts, "CA "+s.CAFile)
		}
		if s.CertFile != "" {
			parts = append(parts, "client certificate "+s.CertFile)
		}
		if s.MinVersion != "" {
			parts = append(parts, "TLS ≥ "+s.MinVersion)
		}
		if s.Resumption != nil && !*s.Resumption {
			parts = append(parts, "no TLS resumption")
		}
	}
	if t.Insecure {
		parts = append(parts, "certificates not verified")
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// stepText names what a step sends beyond its method and path.
func stepText(st *plan.Step) string {
	var parts []string
	switch {
	case len(st.Form) > 0:
		parts = append(parts, "form of "+countOf(len(st.Form), "field"))
	case st.Multipart != nil:
		parts = append(parts, "multipart of "+countOf(len(st.Multipart.Fields), "field")+" and "+countOf(len(st.Multipart.Files), "file"))
	case st.BodyFile != "":
		parts = append(parts, "body from "+st.BodyFile)
	case st.JSON != nil:
		parts = append(parts, "JSON body")
	case st.Body != "":
		parts = append(parts, "body")
	}
	if a := st.Auth; a != nil {
		if a.Basic != nil {
			parts = append(parts, "basic auth")
		} else {
			parts = append(parts, "bearer auth")
		}
	}
	switch {
	case st.Redirects == nil:
	case *st.Redirects == 0:
		parts = append(parts, "redirects not followed")
	default:
		parts = append(parts, fmt.Sprintf("redirects ≤ %d", *st.Redirects))
	}
	if len(st.Extract) > 0 {
		parts = append(parts, "extracts "+strings.Join(slices.Sorted(maps.Keys(st.Extract)), ", "))
	}
	if st.Parallel {
		parts = append(parts, "together with the next step")
	}
	if st.Check != nil {
		parts = append(parts, "checked")
	}
	if len(parts) == 0 {
		return ""
	}
	return "  (" + strings.Join(parts, "; ") + ")"
}

// countOf writes "1 field", "3 fields".
func countOf(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
