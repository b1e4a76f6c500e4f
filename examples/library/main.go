// Command library runs a load with stampede as a Go library and records
// it the way `stampede run` does: the run goes into a SQLite history as it
// goes, is compared with the plan's previous run, is concluded once, and
// its summary and comparison are printed.
//
//	go run ./examples/library                       # against a server of its own on 127.0.0.1
//	go run ./examples/library -store /tmp/h.db      # run it twice: the second is compared with the first
//
// The server it starts answers on the loopback interface only; -target
// points the load at another server of yours instead.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/record"
	"github.com/stampede-perf/stampede/report"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
	"github.com/stampede-perf/stampede/suite"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "library:", err)
		os.Exit(1)
	}
}

// planYAML is the plan: one endpoint, an open model, one SLO.
const planYAML = `name: library example
target: { base_url: %q }
scenarios:
  - { name: home, steps: [{ name: get, path: / }] }
load: { rate: %d, duration: %s }
thresholds: ["p95 < 500ms"]
`

func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("library", flag.ContinueOnError)
	target := fs.String("target", "", "base URL to load (default: a server of its own on 127.0.0.1)")
	db := fs.String("store", ".stampede/library.db", "the SQLite history")
	rate := fs.Int("rate", 20, "requests per second (at most 1000)")
	duration := fs.Duration("duration", 5*time.Second, "how long to load (at most 1m)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *rate < 1 || *rate > 1000 || *duration < time.Second || *duration > time.Minute {
		return fmt.Errorf("-rate %d -duration %s: want 1–1000 requests/s for 1s–1m", *rate, *duration)
	}
	if *target == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") }))
		*target = "http://" + ln.Addr().String()
	}
	p, err := plan.Parse("library.yaml", fmt.Appendf(nil, planYAML, *target, *rate, *duration))
	if err != nil {
		return err
	}

	// The user code: open the history, find the run to compare with,
	// record the load, print the outcome.
	s, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer s.Close()
	base, err := s.Resolve(ctx, "latest:"+p.Name)
	if errors.Is(err, store.ErrNotFound) {
		base = nil // the first run of this plan: nothing to compare with
	} else if err != nil {
		return err
	}
	rec, err := record.Begin(ctx, record.Options{Store: s, Meta: record.MetaOf(ctx, p, "load", time.Now()), Base: base})
	if err != nil {
		return err
	}
	r, runErr := suite.RunLoad(ctx, p, suite.LoadOptions{
		DeferConclusions: true, // the recording concludes, after comparing
		OnWindow:         func(w result.Window, _ *result.Run) { rec.Window(w) },
	})
	if r == nil { // the load never started: the history keeps why
		return errors.Join(runErr, rec.Abort(ctx, runErr))
	}
	if _, err := rec.Finish(ctx, r); err != nil {
		return err
	}
	report.Console(out, r)
	if c := r.Comparison; c != nil {
		fmt.Fprintf(out, "compared with %s:\n", c.Base)
		for _, row := range c.Rows {
			fmt.Fprintf(out, "  %-8s %-10s %-10s %10.3f → %10.3f %s\n", row.Verdict, row.Name, row.Metric, row.Old, row.New, row.Unit)
		}
		for _, w := range c.Warnings {
			fmt.Fprintf(out, "  ! %s\n", w)
		}
	}
	fmt.Fprintf(out, "recorded as run %s in %s\n", r.ID, s.Location())
	return runErr
}
