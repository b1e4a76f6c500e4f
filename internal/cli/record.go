package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/record"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
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
		if g > record.MaxGate {
			return nil, 0, fmt.Errorf("--fail-on-regression %s: at most %g%%", f.gate, 100*record.MaxGate)
		}
		gate = g
	}
	if f.noStore && f.compare != "" && !strings.HasSuffix(f.compare, ".json") {
		return nil, 0, fmt.Errorf("--compare %s reads the history, which --no-store turns off: compare with a Run JSON file instead", f.compare)
	}
	return tags, gate, nil
}

// recorder is a command's recording of a run (record.Recording) with the
// history it opened; the command finishes it and prints what went wrong.
type recorder struct {
	e   *env
	s   *store.Store // nil with --no-store
	rec *record.Recording
}

// start opens the history, resolves the run to compare with and begins
// recording the run. With --no-store nothing is stored, but the run is
// still compared (with a Run JSON file) and concluded.
func (f *recordFlags) start(ctx context.Context, e *env, p *plan.Plan, kind string) (*recorder, error) {
	tags, gate, err := f.check()
	if err != nil {
		return nil, invalid(err)
	}
	o := record.Options{Gate: gate}
	if f.noStore {
		if f.compare != "" {
			if o.Base, err = result.ReadFile(f.compare); err != nil {
				return nil, invalid(err)
			}
		}
		rec, err := record.Begin(ctx, o)
		if err != nil {
			return nil, invalid(err)
		}
		return &recorder{e: e, rec: rec}, nil
	}
	s, err := openStore(e, p.File, f.store)
	if err != nil {
		return nil, err
	}
	if f.compare != "" {
		ref := f.compare
		if ref == "baseline" || ref == "latest" {
			ref += ":" + p.Name
		}
		if o.Base, err = s.Resolve(ctx, ref); err != nil {
			s.Close()
			return nil, invalidf("--compare %s: %v", f.compare, err)
		}
	}
	o.Store = s
	o.Meta = record.MetaOf(ctx, p, kind, e.now())
	o.Meta.Tags = tags
	rec, err := record.Begin(ctx, o)
	if err != nil {
		s.Close()
		return nil, err
	}
	return &recorder{e: e, s: s, rec: rec}, nil
}

// window hands a closed window to the history; it never blocks the
// collector.
func (r *recorder) window(w result.Window) { r.rec.Window(w) }

// finish compares the run with its reference, concludes it, stores it,
// and reports whether the regression gate failed. Storage problems are
// told on stderr: the run itself is complete either way.
func (r *recorder) finish(ctx context.Context, run *result.Run) (regressed bool) {
	out, err := r.rec.Finish(ctx, run)
	if err != nil {
		fmt.Fprintf(r.e.stderr, "stampede: the run was not recorded in the history: %v\n", err)
	} else if out.Late != nil {
		fmt.Fprintf(r.e.stderr, "stampede: some windows reached the history late: %v\n", out.Late)
	}
	r.close()
	return out.Regressed
}

// abort records a run that never produced a Run (the history keeps it as
// aborted with why).
func (r *recorder) abort(ctx context.Context, why error) {
	if err := r.rec.Abort(ctx, why); err != nil {
		fmt.Fprintf(r.e.stderr, "stampede: the run was not recorded in the history: %v\n", err)
	}
	r.close()
}

func (r *recorder) close() {
	if r.s != nil {
		r.s.Close()
	}
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
