package record

import (
	"context"
	"path/filepath"
	"time"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/store"
	"github.com/stampede-perf/stampede/suite"
)

// MetaOf is what the history is told of a run of p before it starts: the
// plan's name, hash and target, its steps (so that a run recovered after
// a crash can still name them), this machine, and the git state of the
// plan's directory (the current one for a plan not read from a file).
// kind is "load" or "test"; the caller adds tags.
func MetaOf(ctx context.Context, p *plan.Plan, kind string, start time.Time) store.Meta {
	dir := "."
	if p.File != "" {
		dir = filepath.Dir(p.File)
	}
	host, git := store.Facts(ctx, dir)
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
	return store.Meta{Plan: p.Name, PlanHash: suite.Hash(p), Kind: kind, Target: p.Target.BaseURL,
		StartedAt: start, Host: host, Git: git, Steps: steps}
}
