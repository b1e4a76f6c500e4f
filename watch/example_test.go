package watch_test

import (
	"context"
	"log"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/watch"
)

// ExampleStart watches a Go service beside a ten-minute run whose load
// ramps up for two minutes. It has no output: it needs the service. The
// documentation shows its body (TestDocGoExample keeps the two equal).
func ExampleStart() {
	ctx := context.Background()
	run := &result.Run{StartedAt: time.Now()}
	spec := &plan.System{ // what a plan's system: block decodes to
		Process:    &plan.ProcessRef{Name: "shop"},
		Prometheus: &plan.PrometheusSpec{URL: "http://127.0.0.1:8080/metrics"},
		Pprof:      "http://127.0.0.1:6060/debug/pprof",
	}
	w, err := watch.Start(ctx, spec, watch.Options{
		Start:    run.StartedAt, // the run's t0: points line up with run.Series
		Duration: 10 * time.Minute,
		Dir:      "results/run-42", // profiles go next to the run's JSON
		Logf:     log.Printf,
	})
	if err != nil {
		log.Fatal(err) // no such process, a bad URL: the plan is wrong
	}
	// ... the load ramps up for two minutes; at the peak:
	w.MarkPeak()
	// ... the load ends:
	run.System = w.Stop(ctx)
	analyze.Analyze(run.System, (2 * time.Minute).Seconds(), run.Series)
}
