package suite

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/pgtest"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/result"
)

// TestRunPoolScaling runs a workload of 50 ms statements with 8 VUs
// against pools of 1 to 16 connections of a real PostgreSQL: throughput
// grows with the pool until the pool outnumbers the VUs. The statements
// sleep rather than compute, and long enough that a busy host's
// scheduling delays are small beside them: the throughput is set by the
// pool, not by the machine's speed.
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
        sql: { query: "SELECT pg_sleep(0.05)" }
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
	sc, phases, err := RunPoolScaling(context.Background(), p, "main", sizes, 2*time.Second, LoadOptions{Getenv: getenv})
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
	inUse := map[int]float64{}
	for i, c := range sc.Configs {
		n := int(c.N)
		rps[n] = c.RPS
		ph := phases[i]
		wait[n] = ph.Summary.Phases.PoolWait
		// Little's law: statements/s × the time each holds a connection
		// (its latency less its wait for one) is the connections in use
		// on average — however fast or busy the host is.
		inUse[n] = c.RPS * (ph.Summary.Latency.Mean - ph.Summary.Phases.PoolWait) / 1000
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
	// Eight VUs keep every connection of a pool of up to eight busy, and
	// no more than eight of a larger one. (Throughput itself follows the
	// host's speed, which a busy machine changes from one size to the
	// next; the connections in use do not.)
	t.Logf("statements/s by pool size %v; connections in use %v; pool wait %v ms", rps, inUse, wait)
	for _, n := range []int{1, 2, 4, 8} {
		if inUse[n] < 0.75*float64(n) || inUse[n] > 1.1*float64(n) {
			t.Errorf("pool %d: %.2f connections in use on average, want about %d (%v)", n, inUse[n], n, inUse)
		}
	}
	if inUse[16] > 8.8 {
		t.Errorf("pool 16: %.2f connections in use, more than the 8 VUs", inUse[16])
	}
	if wait[1] <= 10*max(wait[8], 0.01) {
		t.Errorf("mean pool wait by size %v ms: want a long wait with one connection for eight VUs, little with eight", wait)
	}
	if e := sc.Efficiency; len(e) != 5 || e[0] != 1 {
		t.Errorf("efficiency %v: want 1 at pool 1", e)
	}
	best := BestPoolSize(sc)
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

// poolProtocolPlan is a plan of 50 ms statements against dsn whose
// protocol scales the pool from 1 to 4 connections under 4 users, 10 s
// per size before the time scale; its SLO holds only when every user has
// a connection of its own.
func poolProtocolPlan(t *testing.T, dsn string) (*plan.Plan, func(string) string) {
	t.Helper()
	p, err := plan.Parse("pool.yaml", []byte(`
name: pool protocol
databases:
  main: { dsn: "${DSN}", pool: 2 }
scenarios:
  - name: s
    steps:
      - name: sleep
        sql: { query: "SELECT pg_sleep(0.05)" }
load: { vus: 1, duration: 1s }
thresholds: ["p50 < 90ms"]
tests:
  pool: { sizes: [1, 2, 4], users: 4, duration: 10s }
`))
	if err != nil {
		t.Fatal(err)
	}
	return p, func(k string) string {
		if k == "DSN" {
			return dsn
		}
		return ""
	}
}

// TestPoolPhase runs the protocol's pool phase alone against a real
// PostgreSQL: three sizes of two seconds each, on the protocol's clock, with
// the best size named and the analysis in the Run's scalability section.
func TestPoolPhase(t *testing.T) {
	srv := pgtest.Start(t)
	p, getenv := poolProtocolPlan(t, srv.NewDatabase(t))
	var progress []Progress
	run, err := Test(context.Background(), p, Options{Only: []string{"pool"}, TimeScale: 0.2, Getenv: getenv,
		Progress: func(pg Progress) { progress = append(progress, pg) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, ph := range run.Phases {
		t.Logf("%-7s %-12s start %5.2f s, %5d requests, %6.1f rps, p99 %6.2f ms: %s", ph.Name, ph.Kind, ph.StartS, ph.Summary.Requests, ph.Summary.RPS, ph.Summary.Latency.P99, ph.Note)
	}
	if got, want := phaseNames(run.Phases), []string{"pool", "pool 1", "pool 2", "pool 4"}; !slices.Equal(got, want) {
		t.Fatalf("phases %v, want %v", got, want)
	}
	top := run.Phases[0]
	if top.Kind != "pool_scaling" || !top.Pass || top.Users != 4 || !strings.Contains(top.Note, "database main") ||
		!strings.Contains(top.Note, "best pool size 4,") || !strings.Contains(top.Note, "efficiency at 1, 2, 4 connections: 1.00, ") {
		t.Errorf("pool phase %+v: want kind pool_scaling, passed, 4 users, naming the database, best size 4 and the efficiencies", top)
	}
	var req int64
	rps := map[string]float64{}
	for i, ph := range run.Phases[1:] {
		rps[ph.Name] = ph.Summary.RPS
		req += ph.Summary.Requests
		if ph.Kind != "pool" || !ph.Pass || ph.Users != 4 || ph.Summary.Requests == 0 || ph.Summary.Errors != 0 || len(ph.Series) == 0 {
			t.Errorf("%s: kind %q pass %v users %d, %d requests, %d errors, %d windows", ph.Name, ph.Kind, ph.Pass, ph.Users, ph.Summary.Requests, ph.Summary.Errors, len(ph.Series))
		}
		switch prev := run.Phases[i]; {
		case i == 0 && ph.StartS != top.StartS:
			t.Errorf("%s starts at %.2f s, the pool phase at %.2f s", ph.Name, ph.StartS, top.StartS)
		case i > 0 && ph.StartS < prev.StartS+1:
			t.Errorf("%s starts at %.2f s, %s at %.2f s: each size holds a second, one after another", ph.Name, ph.StartS, prev.Name, prev.StartS)
		}
		for _, w := range ph.Series {
			if w.Phase != ph.Name || w.TS < ph.StartS-1e-9 || w.Hist != "" {
				t.Errorf("%s: window at %.2f s of phase %q", ph.Name, w.TS, w.Phase)
				break
			}
		}
		if !strings.HasPrefix(ph.Note, "efficiency ") {
			t.Errorf("%s: note %q does not start with its efficiency", ph.Name, ph.Note)
		}
		if best := ph.Name == "pool 4"; strings.Contains(ph.Note, "best pool size") != best {
			t.Errorf("%s: note %q; only pool 4 is the best", ph.Name, ph.Note)
		}
	}
	// One connection for four users quadruples the wait: the SLO fails
	// there, and that is a measurement, not a failed phase.
	if n := run.Phases[1].Note; !strings.Contains(n, "1 SLO(s) failed at this size") {
		t.Errorf("pool 1: note %q, want its failed SLO", n)
	}
	if n := run.Phases[3].Note; strings.Contains(n, "SLO") {
		t.Errorf("pool 4: note %q, want no failed SLO", n)
	}
	// Four users keep every connection busy up to four (Little's law, as
	// in TestRunPoolScaling: the connections in use do not depend on the
	// host's speed, the throughput does).
	for i, ph := range run.Phases[1:] {
		n := float64(int(1) << i)
		if inUse := ph.Summary.RPS * (ph.Summary.Latency.Mean - ph.Summary.Phases.PoolWait) / 1000; inUse < 0.75*n || inUse > 1.1*n {
			t.Errorf("%s: %.2f connections in use on average, want about %g (throughput by size %v)", ph.Name, inUse, n, rps)
		}
	}
	if run.Summary.Requests != req || run.Verdict != "pass" || run.Aborted {
		t.Errorf("run: %d requests (the sizes %d), verdict %s, aborted %v", run.Summary.Requests, req, run.Verdict, run.Aborted)
	}
	sc := run.Scalability
	if sc == nil || sc.Unit != "pool" || len(sc.Configs) != 3 || len(sc.Efficiency) != 3 || BestPoolSize(sc) != 4 {
		t.Fatalf("scalability %+v: want the pool's, 3 sizes, best 4", sc)
	}
	for i, c := range sc.Configs {
		if ph := run.Phases[i+1]; c.RPS != ph.Summary.RPS || c.P99 != ph.Summary.Latency.P99 {
			t.Errorf("size %g: %.1f rps, p99 %.2f ms in the analysis; its phase %.1f, %.2f", c.N, c.RPS, c.P99, ph.Summary.RPS, ph.Summary.Latency.P99)
		}
	}
	// Progress: one phase of one, each size announced before its windows,
	// which carry the size's phase.
	var details []string
	size := ""
	for _, pg := range progress {
		if pg.Phase != "pool" || pg.Kind != "pool_scaling" || pg.Total != 1 {
			t.Fatalf("progress %+v: want phase pool of kind pool_scaling, the only one", pg)
		}
		if pg.Window == nil {
			details = append(details, pg.Detail)
			size, _, _ = strings.Cut(pg.Detail, " (")
			continue
		}
		if pg.Window.Phase != size {
			t.Errorf("window at %.2f s labelled %q during %q", pg.Window.TS, pg.Window.Phase, size)
		}
	}
	if want := []string{"", "pool 1 (1 of 3)", "pool 2 (2 of 3)", "pool 4 (3 of 3)"}; !slices.Equal(details, want) {
		t.Errorf("progress details %q, want %q", details, want)
	}
}

// TestPoolPhaseInterrupted stops the protocol in the middle of the
// second size: the pool phase keeps what it measured and says what is
// missing.
func TestPoolPhaseInterrupted(t *testing.T) {
	srv := pgtest.Start(t)
	p, getenv := poolProtocolPlan(t, srv.NewDatabase(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// 3 s sizes: the first window of pool 2 closes well before its end.
	run, err := Test(ctx, p, Options{Only: []string{"pool"}, TimeScale: 0.3, Getenv: getenv, Progress: func(pg Progress) {
		if pg.Window != nil && pg.Window.Phase == "pool 2" {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || run == nil || !run.Aborted {
		t.Fatalf("Test = %v, %v; want an aborted run and context.Canceled", run != nil, err)
	}
	if got, want := phaseNames(run.Phases), []string{"pool", "pool 1", "pool 2"}; !slices.Equal(got, want) {
		t.Fatalf("phases %v, want %v", got, want)
	}
	top, one, two := run.Phases[0], run.Phases[1], run.Phases[2]
	if top.Pass || top.Skipped || !strings.Contains(top.Note, "1 of 3 sizes measured") {
		t.Errorf("pool phase: pass %v skipped %v note %q", top.Pass, top.Skipped, top.Note)
	}
	if !one.Pass || two.Pass || !strings.Contains(two.Note, "aborted") || two.Summary.Requests == 0 {
		t.Errorf("pool 1 pass %v; pool 2 pass %v, %d requests, note %q", one.Pass, two.Pass, two.Summary.Requests, two.Note)
	}
}

// TestPoolPhaseNeedsADatabase: without a database to scale the profile's
// pool phase is skipped; a tests.pool the plan writes must name one.
func TestPoolPhaseNeedsADatabase(t *testing.T) {
	only := Options{Only: []string{"pool"}}
	p := testPlan("http://127.0.0.1:1", nil)
	if run, err := Test(context.Background(), p, only); run != nil || !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "no phase to run") {
		t.Errorf("no database: Test = %v, %v; want no phase to run", run != nil, err)
	}
	two := map[string]*plan.Database{"a": {DSN: "postgres://127.0.0.1:1/a"}, "b": {DSN: "postgres://127.0.0.1:1/b"}}
	q := *p
	q.Databases = two
	if _, err := Test(context.Background(), &q, only); err == nil || !strings.Contains(err.Error(), "no phase to run") {
		t.Errorf("two databases, none named, no tests.pool: %v; want the phase skipped", err)
	}
	q.Tests = &plan.Tests{Pool: &plan.PoolSpec{Sizes: []int{1, 2}}}
	if _, err := Test(context.Background(), &q, only); !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), "tests.pool.db: required") {
		t.Errorf("two databases, tests.pool without db: %v; want tests.pool.db required", err)
	}
}
