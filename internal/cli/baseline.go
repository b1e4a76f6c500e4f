package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stampede-perf/stampede/report/render"
	"github.com/stampede-perf/stampede/store"
)

func newBaselineCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "baseline",
		Short: "Set or show the run each plan is compared with",
		Long: `A baseline is the run of a plan that stampede compare measures later runs
against (and that a CI job gates on). Each plan has at most one.

  stampede baseline set latest          the newest run becomes its plan's baseline
  stampede baseline set 20260301-120000-1a2b3c4d
  stampede baseline show                every plan's baseline
  stampede baseline show --plan shop

Exit codes: 0 done · 2 invalid input (no such run, an aborted or unfinished
run, unreadable history).`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return invalidf("baseline: say set RUN or show (see 'stampede baseline --help')")
		},
	}
	c.AddCommand(newBaselineSetCmd(e), newBaselineShowCmd(e))
	return c
}

func newBaselineSetCmd(e *env) *cobra.Command {
	var dsn string
	c := &cobra.Command{
		Use:   "set RUN",
		Short: "Make a recorded run its plan's baseline (RUN: an id, latest or latest:PLAN)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			ref := args[0]
			if fi, err := os.Stat(ref); err == nil && !fi.IsDir() {
				return invalidf("baseline set: %s is a file; a baseline must be a run in the history (give its id)", ref)
			}
			s, err := openHistory(ctx, e, dsn)
			if err != nil {
				return err
			}
			defer s.Close()
			id := ref
			if kw, plan, _ := strings.Cut(ref, ":"); kw == "latest" {
				if plan != "" {
					if plan, err = planName(ctx, s, plan); err != nil {
						return storeErr(err)
					}
				}
				if id, err = s.Latest(ctx, plan); err != nil {
					return storeErr(err)
				}
			}
			r, err := s.Entry(ctx, id)
			if err != nil {
				return storeErr(err)
			}
			if err := s.SetBaseline(ctx, r.Plan, id); err != nil {
				if errors.Is(err, store.ErrNotComplete) {
					why := strings.TrimSuffix(err.Error(), ": "+store.ErrNotComplete.Error())
					return invalidf("baseline set: %s; a baseline must be a complete run", why)
				}
				return storeErr(err)
			}
			fmt.Fprintf(e.stdout, "baseline of plan %s is now %s (%s, %.1f req/s, p95 %s, p99 %s, errors %s)\n",
				quotePlan(r.Plan), r.ID, r.StartedAt.In(e.now().Location()).Format("2006-01-02 15:04"),
				r.RPS, msText(r.P95), msText(r.P99), pctText(r.ErrorRate))
			return nil
		},
	}
	addStoreFlag(c.Flags(), &dsn)
	return c
}

func newBaselineShowCmd(e *env) *cobra.Command {
	var dsn, plan string
	c := &cobra.Command{
		Use:   "show [--plan NAME]",
		Short: "Show the baseline of one plan, or of every plan",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, err := openHistory(c.Context(), e, dsn)
			if err != nil {
				return err
			}
			defer s.Close()
			if c.Flags().Changed("plan") {
				if plan, err = planName(c.Context(), s, plan); err != nil {
					return storeErr(err)
				}
				return storeErr(showOneBaseline(c.Context(), e, s, plan))
			}
			return storeErr(showBaselines(c.Context(), e, s))
		},
	}
	c.Flags().StringVar(&plan, "plan", "", "the plan whose baseline to show")
	addStoreFlag(c.Flags(), &dsn)
	return c
}

func showOneBaseline(ctx context.Context, e *env, s *store.Store, plan string) error {
	id, err := s.Baseline(ctx, plan)
	if errors.Is(err, store.ErrNotFound) {
		return invalidf("no baseline for plan %s in %s (set one with: stampede baseline set RUN)", quotePlan(plan), s.Location())
	}
	if err != nil {
		return err
	}
	r, err := s.Entry(ctx, id)
	if err != nil {
		return err
	}
	tw := render.Table(e.stdout, render.Left)
	fmt.Fprintf(tw, "plan\t%s\n", dashIfEmpty(r.Plan))
	fmt.Fprintf(tw, "run\t%s\n", r.ID)
	fmt.Fprintf(tw, "started\t%s\n", r.StartedAt.In(e.now().Location()).Format("2006-01-02 15:04:05"))
	kind := r.Kind
	if r.Phase != "" {
		kind += "/" + r.Phase
	}
	fmt.Fprintf(tw, "kind\t%s\n", kind)
	if r.Git != nil {
		fmt.Fprintf(tw, "git\t%s %s\n", shortCommit(r.Git.Commit), r.Git.Branch)
	}
	fmt.Fprintf(tw, "rps\t%.1f\n", r.RPS)
	fmt.Fprintf(tw, "p50 / p95 / p99\t%s / %s / %s\n", msText(r.P50), msText(r.P95), msText(r.P99))
	fmt.Fprintf(tw, "errors\t%s\n", pctText(r.ErrorRate))
	fmt.Fprintf(tw, "verdict\t%s\n", historyVerdict(&r))
	return tw.Flush()
}

func showBaselines(ctx context.Context, e *env, s *store.Store) error {
	es, err := s.Baselines(ctx)
	if err != nil {
		return err
	}
	if len(es) == 0 {
		fmt.Fprintf(e.stdout, "no baselines in %s (set one with: stampede baseline set RUN)\n", s.Location())
		return nil
	}
	tw := render.Table(e.stdout, render.Left)
	fmt.Fprintln(tw, "PLAN\tRUN\tWHEN\tRPS\tP95\tP99\tERRORS")
	for _, r := range es {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f\t%s\t%s\t%s\n", dashIfEmpty(r.Plan), r.ID,
			r.StartedAt.In(e.now().Location()).Format("2006-01-02 15:04"), r.RPS, msText(r.P95), msText(r.P99), pctText(r.ErrorRate))
	}
	return tw.Flush()
}

func quotePlan(p string) string {
	if p == "" {
		return "(ad-hoc)"
	}
	return fmt.Sprintf("%q", p)
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}
