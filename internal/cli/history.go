package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/report/render"
	"github.com/stampede-perf/stampede/store"
)

// historyTrendBand is the relative change below which the history shows a
// metric as steady (→): run-to-run noise of a loopback test is a few
// percent.
const historyTrendBand = 0.05

func newHistoryCmd(e *env) *cobra.Command {
	var (
		plan, kind, dsn string
		limit           int
	)
	c := &cobra.Command{
		Use:   "history [--plan NAME] [--kind KIND] [--limit N]",
		Short: "List recorded runs, newest first, with trends",
		Long: `List the runs recorded in the run history, newest first.

Each metric carries an arrow against the previous complete run of the same
plan and kind: ↑ higher, ↓ lower, → within ±5%. On a terminal the arrow is
green when the change is for the better and red when for the worse. Aborted
runs (interrupted, or recovered after a crash) say so in the verdict column.

  stampede history
  stampede history --plan shop --kind test --limit 50
  stampede history --store postgres://perf@db/history

Exit codes: 0 listed · 2 invalid input or unreadable history.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if limit < 0 {
				return invalidf("history: --limit must be ≥ 0")
			}
			s, err := openHistory(c.Context(), e, dsn)
			if err != nil {
				return err
			}
			defer s.Close()
			if plan != "" {
				if plan, err = planName(c.Context(), s, plan); err != nil {
					return storeErr(err)
				}
			}
			return storeErr(printHistory(c.Context(), e, s, store.Filter{Plan: plan, Kind: kind, Limit: limit}))
		},
	}
	fs := c.Flags()
	fs.StringVar(&plan, "plan", "", "only runs of this plan: its name, a unique prefix of it or of one of its words (any case), or its plan file")
	fs.StringVar(&kind, "kind", "", "only runs of this kind: load, test or bench")
	fs.IntVar(&limit, "limit", 20, "at most this many runs (0: all)")
	addStoreFlag(fs, &dsn)
	return c
}

// planName is the plan of the history that name means: the name of the
// plan in the file name, NAME.yaml or NAME.yml when there is one, else
// name; taken as store.PlanName takes it (exact, any case, a unique
// prefix of the name or of one of its words).
func planName(ctx context.Context, s *store.Store, name string) (string, error) {
	for _, path := range []string{name, name + ".yaml", name + ".yml"} {
		ext := strings.ToLower(filepath.Ext(path))
		if ext != ".yaml" && ext != ".yml" {
			continue
		}
		if fi, err := os.Stat(path); err != nil || fi.IsDir() {
			continue
		}
		if p, err := plan.Load(path); err == nil && p.Name != "" {
			if got, err := s.PlanName(ctx, p.Name); err == nil {
				return got, nil
			}
		}
	}
	return s.PlanName(ctx, name)
}

func printHistory(ctx context.Context, e *env, s *store.Store, f store.Filter) error {
	es, err := s.List(ctx, f)
	if err != nil {
		return err
	}
	if len(es) == 0 {
		fmt.Fprintf(e.stdout, "no runs in %s\n", s.Location())
		return nil
	}
	color := colorOK(e, e.stdout)
	loc := e.now().Location()
	tw := render.Table(e.stdout, render.Left)
	fmt.Fprintln(tw, "ID\tWHEN\tPLAN\tKIND\tRPS\tP95\tP99\tERRORS\tVERDICT")
	for i := range es {
		r := &es[i]
		prev, err := previousRun(ctx, s, es, i)
		if err != nil {
			return err
		}
		kind := r.Kind
		if r.Phase != "" {
			kind += "/" + r.Phase
		}
		cells := []string{r.ID, r.StartedAt.In(loc).Format("2006-01-02 15:04"), dashIfEmpty(r.Plan), kind}
		if r.State == store.StateRunning {
			cells = append(cells, "-", "-", "-", "-", "running")
		} else {
			var pr, p95, p99, pe *float64
			if prev != nil && !r.Aborted { // a partial run has no trend
				pr, p95, p99, pe = &prev.RPS, &prev.P95, &prev.P99, &prev.ErrorRate
			}
			cells = append(cells,
				trendText(fmt.Sprintf("%.1f", r.RPS), r.RPS, pr, false, color),
				trendText(msText(r.P95), r.P95, p95, true, color),
				trendText(msText(r.P99), r.P99, p99, true, color),
				trendText(pctText(r.ErrorRate), r.ErrorRate, pe, true, color),
				historyVerdict(r))
		}
		for j, cell := range cells {
			if j > 0 {
				io.WriteString(tw, "\t")
			}
			io.WriteString(tw, cell)
		}
		io.WriteString(tw, "\n")
	}
	return tw.Flush()
}

// previousRun is the newest complete run of the same plan and kind older
// than es[i]: from the listed rows when there, else from the store.
func previousRun(ctx context.Context, s *store.Store, es []store.Entry, i int) (*store.Entry, error) {
	cur := &es[i]
	comparable := func(e *store.Entry) bool {
		return e.Plan == cur.Plan && e.Kind == cur.Kind && e.State != store.StateRunning && !e.Aborted && e.ID != cur.ID
	}
	for j := i + 1; j < len(es); j++ {
		if comparable(&es[j]) {
			return &es[j], nil
		}
	}
	older, err := s.List(ctx, store.Filter{Plan: cur.Plan, Kind: cur.Kind, Before: cur.StartedAt, Limit: 20})
	if err != nil {
		return nil, err
	}
	for j := range older {
		if comparable(&older[j]) {
			return &older[j], nil
		}
	}
	return nil, nil
}

func historyVerdict(r *store.Entry) string {
	switch {
	case r.State == store.StateRecovered:
		return "aborted (recovered)"
	case r.Aborted:
		return "aborted"
	case r.Verdict == "":
		return "-"
	}
	return r.Verdict
}

// trendText is text followed by an arrow against prev (nil: no arrow).
func trendText(text string, cur float64, prev *float64, higherIsWorse, color bool) string {
	if prev == nil {
		return text + "  "
	}
	arrow, dir := trendArrow(cur, *prev)
	if !color || dir == 0 {
		return text + " " + arrow
	}
	worse := (dir > 0) == higherIsWorse
	code := "32" // green: better
	if worse {
		code = "31" // red: worse
	}
	return text + " \x1b[" + code + "m" + arrow + "\x1b[0m"
}

// trendArrow is the arrow for a change from prev to cur, and its direction.
func trendArrow(cur, prev float64) (string, int) {
	switch {
	case prev == 0 && cur == 0:
		return "→", 0
	case prev == 0:
		if cur > 0 {
			return "↑", 1
		}
		return "↓", -1
	}
	rel := (cur - prev) / math.Abs(prev)
	switch {
	case rel > historyTrendBand:
		return "↑", 1
	case rel < -historyTrendBand:
		return "↓", -1
	}
	return "→", 0
}

// colorOK: ANSI colours only on a terminal, and never with NO_COLOR set.
func colorOK(e *env, w io.Writer) bool {
	if e.getenv != nil && e.getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

func dashIfEmpty(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// msText prints milliseconds with three significant digits.
func msText(ms float64) string {
	switch {
	case ms == 0:
		return "0ms"
	case ms >= 10_000:
		return fmt.Sprintf("%.1fs", ms/1000)
	case ms >= 100:
		return fmt.Sprintf("%.0fms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1fms", ms)
	case ms >= 1:
		return fmt.Sprintf("%.2fms", ms)
	}
	return fmt.Sprintf("%.3fms", ms)
}

// pctText prints a 0..1 fraction as a percentage.
func pctText(f float64) string { return fmt.Sprintf("%.2f%%", f*100) }

// secondsText prints seconds with three significant digits.
func secondsText(s float64) string {
	if s != 0 && s < 1 {
		return msText(s * 1000)
	}
	switch {
	case s >= 100:
		return fmt.Sprintf("%.0fs", s)
	case s >= 10:
		return fmt.Sprintf("%.1fs", s)
	}
	return fmt.Sprintf("%.2fs", s)
}
