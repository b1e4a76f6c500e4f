package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

func newMergeCmd(e *env) *cobra.Command {
	var outSpecs []string
	c := &cobra.Command{
		Use:   "merge RUN.json RUN.json… [--out json=all.json]",
		Short: "Combine the Run documents of one test's parts exactly",
		Long: `Combine Run documents written by the parts of one test (--segment k/n on
several processes or machines). Histograms are merged, not percentiles
averaged: the merged percentiles are exactly those of the whole test.
Thresholds are evaluated again on the merged run.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			outs, err := parseOutputs(outSpecs)
			if err != nil {
				return invalid(err)
			}
			var runs []*result.Run
			for _, a := range args {
				r, err := result.ReadFile(a)
				if err != nil {
					return invalid(err)
				}
				runs = append(runs, r)
			}
			m, err := metrics.Merge(runs)
			if err != nil {
				return invalid(err)
			}
			var ths []*plan.Threshold
			for _, t := range runs[0].Thresholds {
				metric, op, v, err := plan.ParseThreshold(t.Expr)
				if err != nil {
					return invalid(fmt.Errorf("%s: threshold %q: %v", args[0], t.Expr, err))
				}
				ths = append(ths, &plan.Threshold{Expr: t.Expr, Scope: t.Scope, Abort: t.Abort, Metric: metric, Op: op, Value: v})
			}
			m.Thresholds = analyze.Thresholds(m, ths)
			m.Verdict = "pass"
			if len(analyze.Failed(m.Thresholds, false)) > 0 || m.Aborted {
				m.Verdict = "fail"
			}
			analyze.SettleVerdict(m) // a saturated part leaves the whole unmeasured
			return finish(c.Context(), e, m, outs, nil, false)
		},
	}
	c.Flags().StringArrayVar(&outSpecs, "out", nil, "write the merged run: json=PATH")
	return c
}
