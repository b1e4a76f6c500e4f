package sql_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/proto"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
	"github.com/stampede-perf/stampede/tmpl"
)

// env is a fake environment for ${NAME} in DSNs.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// parse decodes, defaults and validates a plan document.
func parse(t *testing.T, doc string) *plan.Plan {
	t.Helper()
	p, err := plan.Parse("test.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

// compile compiles p; a failure fails t.
func compile(t *testing.T, p *plan.Plan, e env) (*load.Test, metrics.Layout) {
	t.Helper()
	test, layout, err := proto.Compile(p, proto.Options{Getenv: e.get})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return test, layout
}

// run carries out p's load with the real engine and returns the Run.
func run(t *testing.T, p *plan.Plan, e env) *result.Run {
	t.Helper()
	test, layout := compile(t, p, e)
	eng := load.New(test, load.Options{
		Model: result.Model(p.Load.Model), Levels: suite.Levels(p.Load), Iterations: p.Load.Iterations,
		MaxVUs: p.Load.MaxVUs, PreVUs: p.Load.PreVUs, GracefulStop: 30 * time.Second, Seed: 1,
	})
	r := &result.Run{}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := eng.Run(ctx, layout, r); err != nil {
		t.Fatalf("run: %v", err)
	}
	return r
}

// step returns the result of the step named name.
func step(t *testing.T, r *result.Run, name string) result.StepResult {
	t.Helper()
	var names []string
	for _, s := range r.Steps {
		if s.Step == name {
			return s
		}
		names = append(names, s.Step)
	}
	t.Fatalf("no step %q in the run (steps: %s)", name, strings.Join(names, ", "))
	return result.StepResult{}
}

// errs renders a step's errors for a failure message.
func errs(r *result.Run) string {
	var b strings.Builder
	for _, e := range r.Errors {
		b.WriteString(e.Kind + ": " + e.Example + "; ")
	}
	return b.String()
}

// vu is one VU outside the engine, to drive steps one by one.
type vu struct {
	*load.VU
	test  *load.Test
	state *tmpl.State
}

func newVU(t *testing.T, test *load.Test, id int) *vu {
	t.Helper()
	state := tmpl.NewState(id, nil, nil)
	v := &vu{VU: load.NewTestVU(id, test.NewSlots(nil), state), test: test, state: state}
	t.Cleanup(func() { v.close() })
	v.next()
	return v
}

func (v *vu) close() {
	for _, s := range v.Slots {
		if c, ok := s.(interface{ Close() error }); ok {
			c.Close()
		}
	}
}

// next starts a new iteration.
func (v *vu) next() {
	v.Iter++
	v.state.NewIteration(v.Iter)
}

// do runs step j of scenario 0 and returns its sample.
func (v *vu) do(j int) metrics.Sample {
	var s metrics.Sample
	v.test.Scenarios[0].Steps[j].Do(context.Background(), v.VU, &s)
	return s
}
