package cli

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
	"github.com/stampede-perf/stampede/suite"
)

// recordFlags are the history flags of the commands that make runs.
type recordFlags struct {
	store   string
	noStore bool
	tags    []string
	compare string // a run reference: baseline, latest, an id, a file
	gate    string // --fail-on-regression
}

func (f *recordFlags) register(fs *pflag.FlagSet) {
	addStoreFlag(fs, &f.store)
	fs.BoolVar(&f.noStore, "no-store", false, "do not record this run in the history")
	fs.StringArrayVar(&f.tags, "tag", nil, "label the stored run: `KEY=VALUE` (repeatable)")
	fs.StringVar(&f.compare, "compare", "", "compare the run with `RUN` (baseline, latest, a run id or a Run JSON file)")
	fs.StringVar(&f.gate, "fail-on-regression", "", "with --compare: exit 1 when a metric is significantly worse by more than this (e.g. 5%)")
}

// check validates the flags before anything runs.
func (f *recordFlags) check() (map[string]string, float64, error) {
	tags := map[string]string{}
	for _, t := range f.tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, 0, fmt.Errorf("--tag %q: want KEY=VALUE, e.g. env=staging", t)
		}
		tags[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	var gate float64
	if f.gate != "" {
		if f.compare == "" {
			return nil, 0, fmt.Errorf("--fail-on-regression needs --compare (e.g. --compare baseline)")
		}
		g, err := parsePercentFlag("--fail-on-regression", f.gate)
		if err != nil {
			return nil, 0, err
		}
		gate = g
	}
	if f.noStore && f.compare != "" && !strings.HasSuffix(f.compare, ".json") {
		return nil, 0, fmt.Errorf("--compare %s reads the history, which --no-store turns off: compare with a Run JSON file instead", f.compare)
	}
	return tags, gate, nil
}

// recorder writes a run into the history as it goes: each window is
// appended from its own goroutine as soon as it closes, so a crash loses
// only the windows still open; the final Run replaces them at the end.
type recorder struct {
	e    *env
	s    *store.Store
	id   string
	gate float64
	ref  string
	base *result.Run // the run to compare with, resolved before the load

	windows chan result.Window
	done    chan struct{}
	mu      sync.Mutex // guards err
	err     error
}

// startRecording opens the history and begins the run. It returns a nil
// recorder (and no error) when recording is off.
func (f *recordFlags) start(ctx context.Context, e *env, p *plan.Plan, kind string) (*recorder, error) {
	tags, gate, err := f.check()
	if err != nil {
		return nil, invalid(err)
	}
	if f.noStore {
		r := &recorder{e: e, gate: gate, ref: f.compare}
		if f.compare != "" {
			if r.base, err = result.ReadFile(f.compare); err != nil {
				return nil, invalid(err)
			}
		}
		return r, nil
	}
	s, err := openStore(e, p.File, f.store)
	if err != nil {
		return nil, err
	}
	r := &recorder{e: e, s: s, gate: gate, ref: f.compare}
	if f.compare != "" {
		ref := f.compare
		if ref == "baseline" || ref == "latest" {
			ref += ":" + p.Name
		}
		if r.base, err = s.Resolve(ctx, ref); err != nil {
			s.Close()
			return nil, invalidf("--compare %s: %v", f.compare, err)
		}
	}
	host, git := store.Facts(ctx, planDir(p))
	var steps []result.StepResult
	for _, sc := range p.Scenarios {
		for _, st := range sc.Steps {
			k := "http"
			if st.SQL != nil {
				k = "sql"
			}
			steps = append(steps, result.StepResult{Scenario: sc.Name, Step: st.Name, Kind: k})
		}
	}
	id, err := s.Begin(ctx, store.Meta{Plan: p.Name, PlanHash: suite.Hash(p), Kind: kind, Target: p.Target.BaseURL,
		StartedAt: e.now(), Tags: tags, Host: host, Git: git, Steps: steps})
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("cannot record the run in %s: %v", s.Location(), err)
	}
	r.id = id
	r.windows = make(chan result.Window, 64)
	r.done = make(chan struct{})
	go r.loop()
	return r, nil
}

func planDir(p *plan.Plan) string {
	if p.File == "" {
		return "."
	}
	i := strings.LastIndexAny(p.File, `/\`)
	if i < 0 {
		return "."
	}
	return p.File[:i]
}

// window queues a closed window; it never blocks the collector.
func (r *recorder) window(w result.Window) {
	if r == nil || r.windows == nil {
		return
	}
	select {
	case r.windows <- w:
	default: // the history is slow; the final Run still has every window
	}
}

func (r *recorder) loop() {
	defer close(r.done)
	var batch []result.Window
	flush := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := r.s.AppendWindows(ctx, r.id, batch)
		cancel()
		if err != nil {
			r.mu.Lock()
			if r.err == nil {
				r.err = err
			}
			r.mu.Unlock()
		}
		batch = batch[:0]
	}
	// Each window is written as soon as it closes (with any others that
	// closed meanwhile, in one batch), so a killed stampede loses only the
	// windows not yet closed.
	for w := range r.windows {
		batch = append(batch, w)
	drain:
		for {
			select {
			case w, ok := <-r.windows:
				if !ok {
					break drain
				}
				batch = append(batch, w)
			default:
				break drain
			}
		}
		flush()
	}
}

// finish compares the run with its reference, stores it, and reports
// whether the regression gate failed.
func (r *recorder) finish(run *result.Run) (regressed bool) {
	if r == nil {
		return false
	}
	if r.base != nil {
		c := analyze.Compare(r.base, run, analyze.CompareOptions{Threshold: r.gate})
		run.Comparison = c
		regressed = r.gate > 0 && c.Regression
		analyze.Conclude(run, run.Analysis) // again, now with the comparison
	}
	if r.s == nil {
		return regressed
	}
	close(r.windows)
	<-r.done
	run.ID = r.id
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.s.Finish(ctx, r.id, run); err != nil {
		fmt.Fprintf(r.e.stderr, "stampede: the run was not recorded in the history: %v\n", err)
		run.ID = "" // no "recorded as run": the history holds only its windows, recovered later as an aborted run
	} else if r.err != nil {
		fmt.Fprintf(r.e.stderr, "stampede: some windows reached the history late: %v\n", r.err)
	}
	r.s.Close()
	return regressed
}

// printComparison is the short account of --compare after the summary:
// the rows that changed significantly (the whole table is `stampede
// compare`).
func printComparison(e *env, c *result.Comparison) {
	fmt.Fprintf(e.stdout, "\ncompared with %s\n", c.Base)
	changed := 0
	for _, r := range c.Rows {
		if r.Verdict != analyze.VerdictWorse && r.Verdict != analyze.VerdictBetter {
			continue
		}
		changed++
		fmt.Fprintf(e.stdout, "  %-6s %s %s: %s → %s (%+.1f%%, p=%.3g)\n", r.Verdict, r.Name, r.Metric,
			valueText(r.Unit, r.Old), valueText(r.Unit, r.New), r.DeltaPct, r.PValue)
	}
	if changed == 0 {
		fmt.Fprintln(e.stdout, "  no significant change (~)")
	}
	for _, w := range c.Warnings {
		fmt.Fprintf(e.stdout, "  ! %s\n", w)
	}
}
