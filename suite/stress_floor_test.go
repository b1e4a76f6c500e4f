package suite

import (
	"context"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/internal/pgtest"
	"github.com/stampede-perf/stampede/plan"
)

// TestDatabaseStressBreaksAtItsFloor: eight users share a pool of one
// connection to a real PostgreSQL, each statement holding it 50 ms, so
// the median waits for about seven others (≈ 400 ms, by Little's law
// for a queue of eight served one at a time) against a p50 < 100ms SLO.
// A pool cannot be smaller than one: the phase must say the database
// breaks at its smallest configuration and why, never "start lower".
func TestDatabaseStressBreaksAtItsFloor(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.NewDatabase(t)
	p, err := plan.Parse("floor.yaml", []byte(`
name: pool floor
databases:
  main: { dsn: "${DSN}", pool: 4 }
scenarios:
  - name: s
    steps:
      - name: sleep
        sql: { query: "SELECT pg_sleep(0.05)" }
load: { vus: 8, duration: 10s }
thresholds: ["p50 < 100ms"]
tests:
  cool_down: 0s
  stress: { variant: database, users: 8, start: 1, max: 2, hold: 2s, warmup: 500ms, bisect: 0 }
  recovery: { skip: true }
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
	run, err := Test(context.Background(), p, Options{Only: []string{"stress"}, Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	s := run.Stress
	if s == nil || len(s.Curve) != 1 {
		t.Fatalf("stress %+v: want one step at a pool of 1", s)
	}
	pt := s.Curve[0]
	t.Logf("pool 1: p50 %.0f ms, %.1f statements/s; warnings %q", pt.P50, pt.RPS, s.Warnings)
	// Served one at a time, statements cannot pass 1/50 ms = 20/s, and
	// the queue of eight puts the median far above 100 ms.
	if pt.OK || s.Limit != analyze.LimitLatency || s.BreakingPoint != 1 || pt.RPS > 21 || pt.P50 < 200 {
		t.Errorf("pool 1: ok=%v limit %q breaking %v rps %.1f p50 %.0f; want a latency break at 1, ≤ 20/s, p50 ≥ 200 ms", pt.OK, s.Limit, s.BreakingPoint, pt.RPS, pt.P50)
	}
	text := strings.Join(s.Warnings, "\n")
	for _, want := range []string{"the database breaks at its smallest configuration, a pool of 1 connection", "p50 < 100ms failed", s.Why} {
		if !strings.Contains(text, want) {
			t.Errorf("warnings %q do not say %q", text, want)
		}
	}
	if strings.Contains(text, "start lower") {
		t.Errorf("warnings advise starting lower than a pool of one: %q", text)
	}
}
