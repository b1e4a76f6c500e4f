package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
)

func newMergeCmd(e *env) *cobra.Command {
	var outSpecs []string
	var force bool
	c := &cobra.Command{
		Use:   "merge RUN.json RUN.json… [--out json=all.json]",
		Short: "Combine the Run documents of one test's parts exactly",
		Long: `Combine Run documents written by the parts of one test (--segment k/n on
several processes or machines). Histograms are merged, not percentiles
averaged: the merged percentiles are exactly those of the whole test.
Thresholds are evaluated again on the merged run.

The runs must be exactly the parts of one test: every part k/n of the same
n once, all from the same plan. A missing part, whole runs (which would
add their loads) or another plan's run are refused, and --force merges
them anyway, with a warning; a part given twice is always refused.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			outs, err := parseOutputs(outSpecs)
			if err != nil {
				return invalid(err)
			}
			if len(outs.live) > 0 {
				return invalidf("--out %s: merge writes the merged Run (json=PATH); live outputs are for run, test and demo", outs.live[0].Kind)
			}
			var runs []*result.Run
			for _, a := range args {
				r, err := result.ReadFile(a)
				if err != nil {
					return invalid(err)
				}
				runs = append(runs, r)
			}
			if forcible, err := checkParts(runs, args); err != nil {
				switch {
				case !forcible:
					return invalidf("merge: %v", err)
				case !force:
					return invalidf("merge: %v (--force merges them anyway)", err)
				}
				fmt.Fprintf(e.stderr, "stampede: warning: merging anyway (--force): %v\n", err)
			}
			m, err := metrics.Merge(runs)
			if err != nil {
				return invalid(err)
			}
			ths, err := thresholdsOf(args[0], runs[0].Thresholds)
			if err != nil {
				return invalid(err)
			}
			m.Thresholds = analyze.Thresholds(m, ths)
			m.Verdict = result.VerdictPass
			if len(analyze.Failed(m.Thresholds, false)) > 0 || m.Aborted {
				m.Verdict = result.VerdictFail
			}
			// Each load's own thresholds, judged on its merged part.
			for i := range m.Loads {
				ths, err := thresholdsOf(args[0], m.Loads[i].Thresholds)
				if err != nil {
					return invalid(err)
				}
				m.Loads[i].Thresholds = analyze.Thresholds(metrics.LoadView(m, i), ths)
			}
			suite.FailLoads(m)
			analyze.SettleVerdict(m) // a saturated part leaves the whole unmeasured
			return finish(c.Context(), e, m, outs, nil, false)
		},
	}
	c.Flags().StringArrayVar(&outSpecs, "out", nil, "write the merged run: json=PATH")
	c.Flags().BoolVar(&force, "force", false, "merge even when the runs are not exactly the parts of one test (a part missing, whole runs, another plan)")
	return c
}

// thresholdsOf parses again the thresholds a Run (read from file) was
// judged by.
func thresholdsOf(file string, rs []result.ThresholdResult) ([]*plan.Threshold, error) {
	var ths []*plan.Threshold
	for _, t := range rs {
		metric, op, v, err := plan.ParseThreshold(t.Expr)
		if err != nil {
			return nil, fmt.Errorf("%s: threshold %q: %v", file, t.Expr, err)
		}
		ths = append(ths, &plan.Threshold{Expr: t.Expr, Scope: t.Scope, Abort: t.Abort, Metric: metric, Op: op, Value: v})
	}
	return ths, nil
}
