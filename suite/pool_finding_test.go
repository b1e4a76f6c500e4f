package suite

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/internal/pgtest"
	"github.com/stampede-perf/stampede/result"
)

// TestPoolEfficiencyDropIsAFinding: four users of 50 ms statements keep
// a pool of four busy, and a pool of eight has nothing more to do, so its
// throughput per connection is half the smaller pools' — an efficiency
// fall of about 50% from 4 to 8 connections that must become the
// scaling_efficiency finding, with efficiencies recomputed here from the
// phases' own throughput by X(N) / (N·X(1)).
func TestPoolEfficiencyDropIsAFinding(t *testing.T) {
	srv := pgtest.Start(t)
	p, getenv := poolProtocolPlan(t, srv.NewDatabase(t))
	p.Tests.Pool.Sizes = []int{1, 4, 8}
	run, err := Test(context.Background(), p, Options{Only: []string{"pool"}, TimeScale: 0.2, Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Phases) != 4 {
		t.Fatalf("phases %v", phaseNames(run.Phases))
	}
	x1 := run.Phases[1].Summary.RPS
	want := map[float64]float64{}
	for i, n := range []float64{1, 4, 8} {
		want[n] = run.Phases[i+1].Summary.RPS / (n * x1)
	}
	sc := run.Scalability
	for i, c := range sc.Configs {
		if math.Abs(sc.Efficiency[i]-want[c.N]) > 1e-9 {
			t.Errorf("pool %g: efficiency %.4f, by hand %.4f", c.N, sc.Efficiency[i], want[c.N])
		}
	}
	drop := 100 * (want[4] - want[8]) / want[4]
	t.Logf("efficiency %v; 4 → 8 falls %.0f%%", want, drop)
	if drop < 30 {
		t.Fatalf("efficiency fell only %.0f%% from 4 to 8 connections: the pool of 8 was not idle half the time", drop)
	}
	var f *result.Finding
	for i := range run.Findings {
		if run.Findings[i].Kind == "scaling_efficiency" {
			f = &run.Findings[i]
		}
	}
	if f == nil {
		t.Fatalf("no scaling_efficiency finding among %d findings", len(run.Findings))
	}
	if !strings.Contains(f.Title, "from pool=4 to pool=8") {
		t.Errorf("finding %q does not name the fall from 4 to 8", f.Title)
	}
	for _, e := range f.Evidence {
		if e.Metric == "efficiency_drop" && math.Abs(e.Value-drop) > 1e-6 {
			t.Errorf("efficiency_drop %.3f%%, by hand %.3f%%", e.Value, drop)
		}
	}
}
