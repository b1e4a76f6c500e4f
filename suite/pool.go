package suite

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
	sqlstep "github.com/stampede-perf/stampede/proto/sql"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/watch/postgres"
)

// DefaultPoolSizes returns the pool sizes RunPoolScaling tries when it is
// given none: 10, 50, 100 and 200.
func DefaultPoolSizes() []int { return []int{10, 50, 100, 200} }

// BestPoolShare is how close to the highest throughput a pool size must
// come to count as good enough: the best size is the smallest such one,
// since every connection costs the database memory and scheduling.
const BestPoolShare = 0.95

// RunPoolScaling is the connection-pool scalability phase: it runs p's
// load once per pool size of database db (sizes, default 10, 50, 100,
// 200), each for perSize (0 keeps the plan's duration), with a fresh pool
// each time, and reports throughput, p99 latency, error rate and
// efficiency per size through the scalability analysis, with N the pool
// size. The phases carry each size's summary, series and, when the plan
// watches PostgreSQL (system.postgres), what the database saw; the phase
// of the best size (BestPoolSize) says so in its note.
//
// Only the pool size changes between runs: the same VUs or arrival rate
// meet a larger pool. A pool larger than the VUs can use never fills, and
// its phase notes that. When ctx ends, the sizes measured so far are
// returned with ctx's error.
func RunPoolScaling(ctx context.Context, p *plan.Plan, db string, sizes []int, perSize time.Duration, o LoadOptions) (*result.Scalability, []result.Phase, error) {
	if p.Databases[db] == nil {
		return nil, nil, fmt.Errorf("%w: pool scaling: no database %q under databases", ErrCompile, db)
	}
	if len(sizes) == 0 {
		sizes = DefaultPoolSizes()
	}
	sizes = slices.Clone(sizes)
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	if sizes[0] < 1 {
		return nil, nil, fmt.Errorf("%w: pool scaling: pool sizes must be ≥ 1, got %d", ErrCompile, sizes[0])
	}
	var (
		configs []result.ScaleConfig
		phases  []result.Phase
		t0      time.Time
		runErr  error
	)
	for _, size := range sizes {
		q := poolPlan(p, db, size, perSize)
		watched, pgDSN := poolSplitWatch(q)
		var pg *postgres.Watcher
		if pgDSN != "" {
			dsn, err := sqlstep.ExpandDSN(pgDSN, o.Getenv)
			if err == nil {
				pg, err = postgres.Start(ctx, dsn, postgres.Options{Now: o.Now})
			}
			if err != nil {
				return nil, phases, fmt.Errorf("%w: system.postgres: %v", ErrCompile, err)
			}
		}
		run, err := RunLoad(ctx, watched, o)
		var dbSeen *result.Database
		if pg != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			dbSeen = pg.Stop(stopCtx)
			cancel()
		}
		if run == nil {
			return nil, phases, err
		}
		if t0.IsZero() {
			t0 = run.StartedAt
		}
		ph := result.Phase{
			Name: fmt.Sprintf("pool %d", size), Kind: "pool", StartS: run.StartedAt.Sub(t0).Seconds(),
			Summary: run.Summary, Series: run.Series, Thresholds: run.Thresholds, Pass: run.Verdict == "pass",
			Users: q.Load.VUs, Rate: q.Load.Rate, System: run.System,
		}
		if dbSeen != nil {
			if ph.System == nil {
				ph.System = &result.System{}
			}
			ph.System.Database = dbSeen
		}
		if vus := poolMaxVUs(q); vus < size {
			ph.Note = fmt.Sprintf("at most %d VUs: a pool of %d never fills", vus, size)
		}
		phases = append(phases, ph)
		configs = append(configs, result.ScaleConfig{
			Name: fmt.Sprintf("pool=%d", size), N: float64(size), Params: map[string]string{"pool": strconv.Itoa(size)},
			RPS: run.Summary.RPS, P99: run.Summary.Latency.P99, ErrorRate: run.Summary.ErrorRate,
		})
		if err != nil {
			runErr = err
			break
		}
	}
	sc := analyze.Scalability(configs)
	sc.Unit = "pool"
	if best := BestPoolSize(sc); best > 0 {
		for i := range phases {
			if phases[i].Name == fmt.Sprintf("pool %d", best) {
				phases[i].Note = addPoolNote(phases[i].Note, fmt.Sprintf("best pool size: the smallest within %.0f%% of the highest throughput", 100*BestPoolShare))
			}
		}
	}
	return sc, phases, runErr
}

// BestPoolSize returns the smallest pool size whose throughput comes
// within BestPoolShare of the highest, among the sizes whose error rate
// is within one point of the lowest (a pool that fails requests fast is
// not fast); 0 when nothing was measured.
func BestPoolSize(sc *result.Scalability) int {
	if sc == nil || len(sc.Configs) == 0 {
		return 0
	}
	minErr := sc.Configs[0].ErrorRate
	for _, c := range sc.Configs {
		minErr = min(minErr, c.ErrorRate)
	}
	var top float64
	for _, c := range sc.Configs {
		if c.ErrorRate <= minErr+0.01 {
			top = max(top, c.RPS)
		}
	}
	best := 0
	for _, c := range sc.Configs {
		if c.ErrorRate <= minErr+0.01 && c.RPS >= BestPoolShare*top && (best == 0 || int(c.N) < best) {
			best = int(c.N)
		}
	}
	return best
}

// poolPlan returns a copy of p whose database db has the given pool size
// and whose load holds for perSize (stages collapse to their peak level,
// as the command-line overrides do).
func poolPlan(p *plan.Plan, db string, size int, perSize time.Duration) *plan.Plan {
	q := *p
	q.Databases = maps.Clone(p.Databases)
	d := *p.Databases[db]
	d.Pool = size
	d.MinPool = min(d.MinPool, size)
	q.Databases[db] = &d
	if perSize > 0 {
		l := q.Load
		if len(l.Stages) > 0 {
			for _, s := range l.Stages {
				if s.Users != nil {
					l.VUs = max(l.VUs, *s.Users)
				}
				if s.Rate != nil {
					l.Rate = max(l.Rate, *s.Rate)
				}
			}
			l.Stages = nil
		}
		l.Duration = plan.Duration(perSize)
		l.RampDown = 0
		l.Iterations = 0
		q.Load = l
	}
	if p.System != nil {
		s := *p.System
		q.System = &s
	}
	return &q
}

// poolSplitWatch takes the PostgreSQL watch out of q's system block,
// which RunLoad's watch does not sample: this phase samples the database
// itself. It returns the plan for RunLoad and the DSN to watch.
func poolSplitWatch(q *plan.Plan) (*plan.Plan, string) {
	if q.System == nil || q.System.Postgres == "" {
		return q, ""
	}
	dsn := q.System.Postgres
	q.System.Postgres = ""
	if q.System.Process == nil && q.System.Prometheus == nil && q.System.Pprof == "" {
		q.System = nil
	}
	return q, dsn
}

// poolMaxVUs is the most VUs q's load may run.
func poolMaxVUs(q *plan.Plan) int {
	if q.Load.Model == "open" {
		return q.Load.MaxVUs
	}
	return q.Load.VUs
}

func addPoolNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
