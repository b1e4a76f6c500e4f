package cli

import (
	"fmt"
	"time"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
)

// progress is the live one-line status on a terminal's stderr.
type progress struct {
	e     *env
	on    bool
	total time.Duration
	wrote bool
}

func newProgress(e *env, p *plan.Plan, quiet bool) *progress {
	total := load.NewProfile(suite.Levels(p.Load)).Duration()
	if p.Loads != nil {
		total = 0
		for _, l := range p.Loads {
			total = max(total, l.Start.D()+load.NewProfile(suite.Levels(l.LoadSpec)).Duration())
		}
	}
	return &progress{e: e, on: e.interactive && !quiet, total: total}
}

func (p *progress) window(w result.Window, run *result.Run) {
	if !p.on {
		return
	}
	el := time.Duration(w.TS+1) * time.Second
	fmt.Fprintf(p.e.stderr, "\r\033[K%s/%s  vus %d  rps %.0f  p95 %.1fms  errors %d (%.2f%%)",
		el, p.total.Round(time.Second), w.VUs, w.RPS, w.P95, run.Summary.Errors, 100*run.Summary.ErrorRate)
	p.wrote = true
}

func (p *progress) done() {
	if p.wrote {
		fmt.Fprint(p.e.stderr, "\r\033[K")
	}
}
