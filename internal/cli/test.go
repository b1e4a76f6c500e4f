package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/stampede-perf/stampede/internal/outfile"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
	"github.com/stampede-perf/stampede/suite"
)

// testFlags are the protocol's own flags, shared by test and demo.
type testFlags struct {
	profile     string
	only        []string
	timeScale   float64
	setBaseline bool
}

func (f *testFlags) register(fs *pflag.FlagSet, defaultProfile string) {
	fs.StringVar(&f.profile, "profile", defaultProfile, "protocol profile: standard (hours) or quick (minutes); default: the plan's tests.profile, else standard")
	fs.StringSliceVar(&f.only, "only", nil, "run only these phases: "+strings.Join(suite.PhaseGroups(), ", ")+", or a load test's name (comma-separated)")
	fs.BoolVar(&f.setBaseline, "set-baseline", false, "make the baseline phase the plan's baseline in the history even when it already has one")
	fs.Float64Var(&f.timeScale, "time-scale", 0, "multiply every duration of the protocol (rehearsals)")
	fs.MarkHidden("time-scale")
}

// shapeFlags describe one load; the protocol shapes its own loads.
var shapeFlags = []string{"vus", "rate", "duration", "ramp-up", "max-vus", "iterations", "segment"}

func newTestCmd(e *env) *cobra.Command {
	var lf loadFlags
	var tf testFlags
	var outSpecs, reportSpecs []string
	var quiet bool
	var rf recordFlags
	var dash string
	c := &cobra.Command{
		Use:   "test [plan.yaml]",
		Short: "Run the whole performance-testing protocol: baseline, load, stress, recovery, soak, scalability, pool",
		Long: `Run the performance-testing protocol against the plan's target, phase by
phase, and judge it:

  1. warm-up, then a baseline at 1, 10 and 50 users
  2. the load suite: normal, peak, spike and volume tests, with a cool-down
     between them; each passes when its error rate stays under 1% and the
     plan's thresholds hold
  3. stress: the load steps up until an SLO breaks or throughput stops
     following it, then bisects to the breaking point
  4. recovery: back to a normal load, timing how long until p99 and the
     error rate are normal again
  5. soak: a long steady load, tested for latency, error and memory trends
  6. scalability: the same load on each configuration the plan lists,
     applied by its command, with efficiency and a Universal Scalability
     Law fit
  7. pool: with a database, the same load at each connection-pool size,
     with the efficiency of each and the best size
The plan's benchmarks run alongside. Every figure comes from the profile
(standard: hours; quick: minutes) unless the plan's tests: block sets it.

  stampede test plan.yaml
  stampede test plan.yaml --profile quick --out json=test.json --report html=test.html
  stampede test plan.yaml --only baseline,stress
  stampede test --url http://127.0.0.1:8080/api/items --only stress

Exit codes: 0 every phase passed, 1 a phase failed (an SLO, the error rate,
no recovery, a degrading soak, a regression gate), 2 invalid input,
130 interrupted (the summary and --out files are still written).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			for _, name := range shapeFlags {
				if f := c.Flags().Lookup(name); f != nil && f.Changed {
					return invalidf("--%s shapes one load; the protocol shapes its own (set them under tests: in the plan, or use stampede run)", name)
				}
			}
			p, err := lf.plan(e, args, c.Flags())
			if err != nil {
				return err
			}
			if p.Loads != nil {
				return invalidf("%s: loads: the test protocol runs one load: write it under load:, or run this plan with stampede run", p.At("loads"))
			}
			outs, err := parseOutputs(outSpecs)
			if err != nil {
				return invalid(err)
			}
			if outs.reports, err = parseReports(reportSpecs); err != nil {
				return invalid(err)
			}
			outs.dashboard = dash
			return runTest(c.Context(), e, p, tf, outs, quiet, &rf)
		},
	}
	lf.register(c.Flags())
	tf.register(c.Flags(), "")
	c.Flags().StringArrayVar(&outSpecs, "out", nil, "write results: json=PATH (the Run document); while running: csv=PATH, prometheus=[HOST]:PORT, otlp=URL (repeatable)")
	c.Flags().StringArrayVar(&reportSpecs, "report", nil, "write a report: FORMAT=FILE (html, md, junit, json)")
	c.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr")
	addDashboardFlag(c.Flags(), &dash)
	rf.register(c.Flags())
	return c
}

// runTest runs the protocol, records and reports it; shared by test and
// demo.
func runTest(ctx context.Context, e *env, p *plan.Plan, tf testFlags, outs outputs, quiet bool, rf *recordFlags) error {
	if _, err := p.Protocol(tf.profile); err != nil {
		return invalid(err) // before anything is recorded
	}
	var dir string
	if p.System != nil && p.System.Pprof != "" {
		dir = profileDir(e, p, rf, outs, e.now())
		if err := os.MkdirAll(dir, outfile.DirMode); err != nil {
			return invalidf("cannot create %s for the profiles: %v", dir, err)
		}
	}
	shellNotice(e, p)
	live, err := startLive(ctx, e, outs, metaOf(p, "test"), liveLabels(p))
	if err != nil {
		return err
	}
	rec, err := rf.start(ctx, e, p, "test")
	if err != nil {
		live.Close(nil)
		return err
	}
	prog := &testProgress{e: e, on: !quiet}
	bh := &baselineHook{e: e, p: p, rf: rf, force: tf.setBaseline}
	opts := suite.Options{
		Profile:    tf.profile,
		Only:       tf.only,
		TimeScale:  tf.timeScale,
		Getenv:     e.getenv,
		ProfileDir: dir,
		Log:        e.stderr,
		// The recording draws the conclusions, once, after comparing.
		DeferConclusions: true,
		Progress: func(pg suite.Progress) {
			if pg.Window != nil {
				rec.window(*pg.Window)
				live.Window(*pg.Window, pg.Run)
			}
			prog.update(pg)
		},
		OnSystem: live.System,
	}
	if !rf.noStore {
		opts.OnBaseline = bh.record
	}
	run, runErr := suite.Test(ctx, p, opts)
	prog.done()
	liveErr := live.Close(run)
	if run == nil {
		rec.abort(ctx, runErr)
		if errors.Is(runErr, context.Canceled) {
			return errInterrupted
		}
		return invalid(protocolErr(runErr))
	}
	regressed := rec.finish(ctx, run)
	live.concluded(e, run)
	if msg := bh.message(); msg != "" {
		fmt.Fprintln(e.stderr, msg)
	}
	if err := liveFinished(e, liveErr, finish(ctx, e, run, outs, runErr, regressed)); err != nil {
		return err
	}
	if run.Verdict == result.VerdictFail {
		var names []string
		for _, ph := range run.Phases {
			if !ph.Skipped && !ph.Pass && !ph.Inconclusive {
				names = append(names, ph.Name)
			}
		}
		return failed(fmt.Sprintf("%d phase(s) failed: %s", len(names), strings.Join(names, ", ")))
	}
	return nil
}

// protocolErr drops the sentinels so the message is just the problems.
func protocolErr(err error) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		if errs := j.Unwrap(); len(errs) == 2 && (errors.Is(errs[0], suite.ErrProtocol) || errors.Is(errs[0], suite.ErrCompile)) {
			return errs[1]
		}
	}
	return err
}

// baselineHook records the baseline phase as the plan's baseline in the
// history: when the plan has none yet, or always with --set-baseline (a
// later test must not silently move a baseline someone chose).
type baselineHook struct {
	e     *env
	p     *plan.Plan
	rf    *recordFlags
	force bool

	mu  sync.Mutex // guards msg
	msg string
}

func (h *baselineHook) record(ctx context.Context, run *result.Run) error {
	s, err := store.Open(ctx, storeDSN(h.e, h.p.File, h.rf.store))
	if err != nil {
		return err
	}
	defer s.Close()
	if !h.force {
		id, err := s.Baseline(ctx, run.Plan)
		switch {
		case err == nil:
			h.say(fmt.Sprintf("baseline of plan %s stays %s (--set-baseline replaces it with this test's baseline phase)", quotePlan(run.Plan), id))
			return nil
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	id, err := s.Save(ctx, run)
	if err != nil {
		return err
	}
	if err := s.SetBaseline(ctx, run.Plan, id); err != nil {
		return err
	}
	h.say(fmt.Sprintf("baseline of plan %s is now %s (the baseline phase at %d users: %.1f req/s, p95 %.2fms)",
		quotePlan(run.Plan), id, run.Summary.MaxVUs, run.Summary.RPS, run.Summary.Latency.P95))
	return nil
}

func (h *baselineHook) say(msg string) {
	h.mu.Lock()
	h.msg = msg
	h.mu.Unlock()
}

func (h *baselineHook) message() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.msg
}

// testProgress shows the protocol's progress on stderr: one live line on
// a terminal, one line per phase otherwise.
type testProgress struct {
	e     *env
	on    bool
	phase string
	wrote bool
}

func (t *testProgress) update(pg suite.Progress) {
	if !t.on {
		return
	}
	next := ""
	if pg.Next != "" {
		next = " · next " + pg.Next
	}
	if !t.e.interactive {
		if pg.Phase != t.phase {
			t.phase = pg.Phase
			fmt.Fprintf(t.e.stderr, "phase %d/%d: %s%s · %s elapsed · about %s left\n",
				pg.Index, pg.Total, pg.Phase, next, pg.Elapsed.Round(time.Second), pg.ETA.Round(time.Second))
		}
		return
	}
	line := fmt.Sprintf("[%d/%d] %s%s · %s elapsed · ETA ≈ %s", pg.Index, pg.Total, pg.Phase, next,
		pg.Elapsed.Round(time.Second), pg.ETA.Round(time.Second))
	if pg.Detail != "" {
		line += " · " + pg.Detail
	}
	if w := pg.Window; w != nil {
		rate := 0.0
		if w.Requests > 0 {
			rate = 100 * float64(w.Errors) / float64(w.Requests)
		}
		line += fmt.Sprintf(" · vus %d rps %.0f p95 %.1fms err %.2f%%", w.VUs, w.RPS, w.P95, rate)
	}
	fmt.Fprint(t.e.stderr, "\r\033[K"+line)
	t.wrote = true
}

func (t *testProgress) done() {
	if t.wrote {
		fmt.Fprint(t.e.stderr, "\r\033[K")
	}
}
