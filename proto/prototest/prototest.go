// Package prototest runs compiled plans for the step runners' tests: a
// plan document compiled as a run would, its first scenario run once on
// a VU outside any engine, every step's sample kept.
package prototest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/proto"
	"github.com/stampede-perf/stampede/tmpl"
)

// Compile writes doc to dir/plan.yaml, loads and compiles it.
func Compile(t testing.TB, dir, doc string) (*load.Test, error) {
	t.Helper()
	test, _, err := CompileLayout(t, dir, doc)
	return test, err
}

// CompileLayout is Compile with the metrics layout that names the test's
// steps, for running it in the load engine.
func CompileLayout(t testing.TB, dir, doc string) (*load.Test, metrics.Layout, error) {
	t.Helper()
	file := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := plan.Load(file)
	if err != nil {
		return nil, metrics.Layout{}, err
	}
	return proto.Compile(p, proto.Options{Getenv: func(string) string { return "" }})
}

// NewVU returns a VU of test outside any engine, in its first
// iteration; its protocol state is closed when t ends.
func NewVU(t testing.TB, test *load.Test) *load.VU {
	vu := load.NewTestVU(1, nil, nil)
	vu.State = test.NewState(vu)
	vu.Slots = test.NewSlots(vu)
	t.Cleanup(func() {
		for _, s := range vu.Slots {
			if c, ok := s.(interface{ Close() error }); ok {
				c.Close()
			}
		}
	})
	vu.Iter = 1
	vu.State.NewIteration(1)
	return vu
}

// RunOnce compiles doc and runs its first scenario once, returning each
// step's sample up to the first that failed, and the VU's variables.
func RunOnce(t testing.TB, doc string) ([]metrics.Sample, *tmpl.State) {
	t.Helper()
	test, err := Compile(t, t.TempDir(), doc)
	if err != nil {
		t.Fatal(err)
	}
	vu := NewVU(t, test)
	var out []metrics.Sample
	for _, st := range test.Scenarios[0].Steps {
		var s metrics.Sample
		st.Do(t.Context(), vu, &s)
		out = append(out, s)
		if s.Kind != metrics.KindNone {
			break
		}
	}
	return out, vu.State.(*tmpl.State)
}
