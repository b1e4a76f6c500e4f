package suite

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/pgtest"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// TestRunPoolScaling runs a workload of 10 ms statements with 8 VUs
// against pools of 1 to 16 connections of a real PostgreSQL: throughput
// grows with the pool until the pool outnumbers the VUs.
func TestRunPoolScaling(t *testing.T) {
	srv := pgtest.Start(t, pgtest.WithPreload("pg_stat_statements"))
	dsn := srv.NewDatabase(t)
	p, err := plan.Parse("pool.yaml", []byte(`
name: pool scaling
databases:
  main: { dsn: "${DSN}", pool: 3 }
scenarios:
  - name: s
    steps:
      - name: sleep
        sql: { query: "SELECT pg_sleep(0.01)" }
load: { vus: 8, duration: 10s }
system: { postgres: "${DSN}" }
`))
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "DSN" {
			return dsn
		}
		return ""
	}
	sizes := []int{16, 1, 2, 4, 8} // any order
	sc, phases, err := RunPoolScaling(context.Background(), p, "main", sizes, time.Second, LoadOptions{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	if p.Databases["main"].Pool != 3 || p.Load.Duration.D() != 10*time.Second {
		t.Errorf("the plan was changed: pool %d, duration %v", p.Databases["main"].Pool, p.Load.Duration.D())
	}
	if len(sc.Configs) != 5 || len(phases) != 5 || sc.Unit != "pool" {
		t.Fatalf("%d configs, %d phases, unit %q; want 5, 5, pool", len(sc.Configs), len(phases), sc.Unit)
	}
	rps := map[int]float64{}
	wait := map[int]float64{}
	for i, c := range sc.Configs {
		n := int(c.N)
		rps[n] = c.RPS
		ph := phases[i]
		wait[n] = ph.Summary.Phases.PoolWait
		if ph.Kind != "pool" || ph.Name != "pool "+c.Params["pool"] || ph.Summary.Errors != 0 || ph.Users != 8 {
			t.Errorf("phase %d: %s (%s), %d errors, %d users; want pool %g, no errors, 8 users", i, ph.Name, ph.Kind, ph.Summary.Errors, ph.Users, c.N)
		}
		if i > 0 && ph.StartS <= phases[i-1].StartS {
			t.Errorf("phase %s starts at %.2f s, not after %s", ph.Name, ph.StartS, phases[i-1].Name)
		}
		if ph.System == nil || ph.System.Database == nil || ph.System.Database.MaxConnections == 0 {
			t.Errorf("phase %s has no database watch", ph.Name)
		}
	}
	// One connection serves ~100 statements/s; eight serve ~800.
	if rps[1] < 50 || rps[8] < 4*rps[1] || rps[2] < 1.5*rps[1] {
		t.Errorf("throughput by pool size %v: want near-linear growth up to 8", rps)
	}
	if wait[1] <= 10*max(wait[8], 0.01) {
		t.Errorf("mean pool wait by size %v ms: want a long wait with one connection for eight VUs, little with eight", wait)
	}
	if e := sc.Efficiency; len(e) != 5 || e[0] != 1 || e[4] > 0.75 {
		t.Errorf("efficiency %v: want 1 at pool 1, low at 16 (twice the VUs)", e)
	}
	best := BestPoolSize(sc)
	if best < 8 {
		t.Errorf("best pool size %d, want ≥ 8: smaller pools are clearly slower (%v)", best, rps)
	}
	var noted []string
	for _, ph := range phases {
		if strings.Contains(ph.Note, "best pool size") {
			noted = append(noted, ph.Name)
		}
	}
	if len(noted) != 1 || noted[0] != "pool "+strconv.Itoa(best) {
		t.Errorf("phases noted best: %v, want pool %d", noted, best)
	}
	if !strings.Contains(phases[4].Note, "never fills") {
		t.Errorf("pool 16 note %q: want it to say 8 VUs never fill it", phases[4].Note)
	}
}

func TestBestPoolSize(t *testing.T) {
	for _, tc := range []struct {
		why     string
		configs []result.ScaleConfig
		want    int
	}{
		{"nothing measured", nil, 0},
		{"the smallest within 5% of the top", []result.ScaleConfig{{N: 10, RPS: 500}, {N: 50, RPS: 960}, {N: 100, RPS: 1000}, {N: 200, RPS: 990}}, 50},
		{"fast failures do not count", []result.ScaleConfig{{N: 10, RPS: 500}, {N: 50, RPS: 900}, {N: 200, RPS: 5000, ErrorRate: 0.5}}, 50},
	} {
		if got := BestPoolSize(&result.Scalability{Configs: tc.configs}); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.why, got, tc.want)
		}
	}
}

func TestRunPoolScalingUnknownDatabase(t *testing.T) {
	p := &plan.Plan{Databases: map[string]*plan.Database{"main": {DSN: "x"}}}
	if _, _, err := RunPoolScaling(context.Background(), p, "other", nil, time.Second, LoadOptions{}); err == nil {
		t.Error("no error for an undeclared database")
	}
}
