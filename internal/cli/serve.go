package cli

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/report"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/web/history"
)

// DefaultServeAddr is where `stampede serve` listens by default.
const DefaultServeAddr = "127.0.0.1:8089"

// defaultCompareThreshold is the smallest change the page's comparison
// calls worse or better: `stampede compare`'s default --threshold.
const defaultCompareThreshold = 0.05

func newServeCmd(e *env) *cobra.Command {
	var dsn, addr string
	c := &cobra.Command{
		Use:   "serve",
		Short: "Browse the run history in a web browser: trends, reports, comparisons",
		Long: `Serve a read-only web page over the run history: the runs of each plan,
a trend chart of a metric over time (p95, p50, p99, requests/s, error
rate; of the whole run or of one step) with the baseline marked, any
run's HTML report, and the comparison of two runs (the table stampede
compare prints, with its significance marks).

  stampede serve                                  http://127.0.0.1:8089/
  stampede serve --store ci-history.db --addr 127.0.0.1:9000

The page answers only on loopback unless --addr names another host; it
never changes the history. Interrupt (Ctrl-C) to stop it.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return runServe(c.Context(), e, dsn, addr)
		},
	}
	addStoreFlag(c.Flags(), &dsn)
	c.Flags().StringVar(&addr, "addr", DefaultServeAddr, "listen on `HOST:PORT` (loopback unless a host is named)")
	return c
}

func runServe(ctx context.Context, e *env, dsn, addr string) error {
	st, err := openHistory(ctx, e, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := history.Listen(addr, st, history.Options{
		Report: report.HTML,
		Compare: func(w io.Writer, base, head *result.Run) error {
			cmp := analyze.Compare(base, head, analyze.CompareOptions{Threshold: defaultCompareThreshold})
			if base.ID != "" && base.ID == head.ID {
				cmp.Warnings = append([]string{"both sides are the same run: choose two runs"}, cmp.Warnings...)
			}
			return writeCompareText(w, base, head, cmp, e)
		},
	})
	if err != nil {
		return invalidf("serve: --addr %s: %v", addr, err)
	}
	fmt.Fprintf(e.stderr, "history of %s at %s (read-only; Ctrl-C stops)\n", st.Location(), srv.URL())
	if !srv.Loopback() {
		fmt.Fprintf(e.stderr, "stampede: warning: --addr %s is reachable from other machines, and the page has no password\n", addr)
	}
	if err := srv.Serve(ctx); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}
