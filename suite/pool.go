package suite

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/plan"
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
	m, err := measurePools(ctx, p, db, sizes, perSize, o, nil)
	if m == nil {
		return nil, nil, err
	}
	if m.broken {
		return nil, m.phases, err
	}
	sc, best := analyzePools(m.configs)
	for i := range m.phases {
		if m.phases[i].Name == poolPhaseName(best) {
			m.phases[i].Note = joinNote(m.phases[i].Note, bestPoolNote)
		}
	}
	return sc, m.phases, err
}

// bestPoolNote marks the phase of the best pool size.
var bestPoolNote = fmt.Sprintf("best pool size: the smallest within %.0f%% of the highest throughput", 100*BestPoolShare)

func poolPhaseName(size int) string { return fmt.Sprintf("pool %d", size) }

// poolMeasure is what the pool sizes measured, in increasing size: a
// phase, a scalability configuration and a load each.
type poolMeasure struct {
	sizes   []int // every size asked for, sorted, without repeats
	phases  []result.Phase
	configs []result.ScaleConfig
	loads   []*result.Run
	// broken is set when a size could not run at all (a plan or a watch
	// the engine refuses): the sizes before it are all there is.
	broken bool
}

// measurePools runs RunPoolScaling's loads, one per size, and stops at
// the first that ends early, returning what it measured with why. Before
// each size's load, before (when not nil) may change the options of that
// load alone. A nil poolMeasure means nothing could start: the database
// or the sizes are wrong.
func measurePools(ctx context.Context, p *plan.Plan, db string, sizes []int, perSize time.Duration, o LoadOptions, before func(size int, o *LoadOptions) error) (*poolMeasure, error) {
	if p.Databases[db] == nil {
		return nil, fmt.Errorf("%w: pool scaling: no database %q under databases", ErrCompile, db)
	}
	if len(sizes) == 0 {
		sizes = DefaultPoolSizes()
	}
	sizes = slices.Clone(sizes)
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	if sizes[0] < 1 {
		return nil, fmt.Errorf("%w: pool scaling: pool sizes must be ≥ 1, got %d", ErrCompile, sizes[0])
	}
	m := &poolMeasure{sizes: sizes}
	var t0 time.Time
	for _, size := range sizes {
		q := poolPlan(p, db, size, perSize)
		watched, pgDSN := poolSplitWatch(q)
		var pg *postgres.Watcher
		if pgDSN != "" {
			dsn, err := plan.ExpandDSN(pgDSN, o.Getenv)
			if err == nil {
				pg, err = postgres.Start(ctx, dsn, postgres.Options{Now: o.Now})
			}
			if err != nil {
				m.broken = true
				return m, fmt.Errorf("%w: system.postgres: %v", ErrCompile, err)
			}
		}
		lo := o
		lo.DeferConclusions = true // each size is a phase, judged below
		var err error
		if before != nil {
			err = before(size, &lo)
		}
		var run *result.Run
		if err == nil {
			run, err = RunLoad(ctx, watched, lo)
		}
		var dbSeen *result.Database
		if pg != nil {
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			dbSeen = pg.Stop(stopCtx)
			cancel()
		}
		if run == nil {
			m.broken = true
			return m, err
		}
		if t0.IsZero() {
			t0 = run.StartedAt
		}
		if dbSeen != nil {
			// On the load's own System, so that merging loads keeps it.
			if run.System == nil {
				run.System = &result.System{}
			}
			run.System.Database = dbSeen
		}
		ph := result.Phase{
			Name: poolPhaseName(size), Kind: "pool", StartS: run.StartedAt.Sub(t0).Seconds(),
			Summary: run.Summary, Series: run.Series, Thresholds: run.Thresholds, Pass: run.Verdict == result.VerdictPass && !analyze.GeneratorSaturated(run),
			Users: q.Load.VUs, Rate: q.Load.Rate, System: run.System,
		}
		if vus := poolMaxVUs(q); vus < size {
			ph.Note = fmt.Sprintf("at most %d VUs: a pool of %d never fills", vus, size)
		}
		m.phases = append(m.phases, ph)
		m.loads = append(m.loads, run)
		m.configs = append(m.configs, result.ScaleConfig{
			Name: fmt.Sprintf("pool=%d", size), N: float64(size), Params: map[string]string{"pool": strconv.Itoa(size)},
			RPS: run.Summary.RPS, P99: run.Summary.Latency.P99, ErrorRate: run.Summary.ErrorRate,
		})
		if err != nil {
			return m, err
		}
	}
	return m, nil
}

// analyzePools is the scalability analysis of the sizes measured, with N
// the pool size, and the best size (BestPoolSize).
func analyzePools(configs []result.ScaleConfig) (*result.Scalability, int) {
	sc := analyze.Scalability(configs)
	sc.Unit = "pool"
	return sc, BestPoolSize(sc)
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

// The pool phase of the protocol (tests.pool) runs RunPoolScaling's
// loads against the database tests.pool.db names, or the plan's only
// one, each size meeting the phase's users or rate for its duration,
// after a cool-down. Each size is a phase of its own — "pool 50", kind
// pool — that keeps its load, so its summary, windows and what the watch
// saw are on the protocol's clock like any phase's, and the test's
// summary counts them. The phase "pool" (kind pool_scaling) comes first
// and carries the conclusion in its note: the database, the best size
// and each size's efficiency. The scalability analysis itself (unit
// "pool") fills the Run's scalability section when the scalability phase
// did not (see assemble): a Run has one such section, and the phases say
// the same either way.
//
// The sizes are measured, not judged, as the scalability phase's
// configurations are: a pool too small for the load is what the phase
// looks for, so an SLO that fails at a size is noted there and fails
// nothing. A size passes when it was measured; the phase passes when
// every size was.

// runPool runs the pool phase for database db.
func (pr *protocol) runPool(ctx context.Context, db string) error {
	s := pr.tests.Pool
	q := pr.loadPlan(spec(plan.PhaseSpec{Users: s.Users, Rate: s.Rate, Duration: s.Duration}), nil, nil)
	base := LoadOptions{Getenv: pr.o.Getenv, Now: pr.o.Now}
	i := 0
	m, err := measurePools(ctx, q, db, s.Sizes, s.Duration.D(), base, func(size int, lo *LoadOptions) error {
		i++
		name := poolPhaseName(size)
		detail := fmt.Sprintf("%s (%d of %d)", name, i, len(s.Sizes))
		pr.report(Progress{Detail: detail})
		o, err := pr.loadOptions(q, name, detail, nil)
		*lo = o
		return err
	})
	if m == nil || m.broken && len(m.loads) == 0 {
		return &fatalError{err} // nothing ran: the setup is wrong
	}
	if len(m.loads) > 0 {
		pr.recordPool(db, m, err)
	}
	switch {
	case m.broken:
		return &fatalError{err}
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return nil // an abort threshold ended a size: the phase says so
}

// recordPool records the pool phase and its sizes, and starts their
// analysis on one goroutine: the sizes' merges, then the scalability
// analysis over all of them, which the sizes' notes need.
func (pr *protocol) recordPool(db string, m *poolMeasure, stopped error) {
	s := pr.tests.Pool
	top := &phaseRec{ph: result.Phase{Name: PhasePool, Kind: "pool_scaling", StartS: offset(pr.t0, m.loads[0].StartedAt),
		Users: s.Users, Rate: s.Rate}}
	recs := []*phaseRec{top}
	for i, run := range m.loads {
		// summarize fills in the rest from the load, on the protocol's clock.
		ph := m.phases[i]
		recs = append(recs, &phaseRec{ph: result.Phase{Name: ph.Name, Kind: ph.Kind, Users: ph.Users, Rate: ph.Rate,
			Thresholds: ph.Thresholds, Note: ph.Note}, loads: []*result.Run{run}})
	}
	pr.recs = append(pr.recs, recs...)
	pr.analyses.Add(1)
	go func() {
		defer pr.analyses.Done()
		sc, best := analyzePools(m.configs)
		eff := make(map[float64]float64, len(sc.Configs))
		for i, c := range sc.Configs {
			eff[c.N] = sc.Efficiency[i]
		}
		measured := 0
		var ns, effs []string
		for i, rec := range recs[1:] {
			pr.summarize(rec)
			n := m.configs[i].N
			judgePoolSize(&rec.ph, rec.loads[0], eff[n], int(n) == best)
			if rec.ph.Pass {
				measured++
			}
			ns, effs = append(ns, strconv.Itoa(int(n))), append(effs, fmt.Sprintf("%.2f", eff[n]))
		}
		ph := &top.ph
		ph.Note = "database " + db
		if best > 0 {
			ph.Note = joinNote(ph.Note, fmt.Sprintf("best pool size %d, the smallest within %.0f%% of the highest throughput", best, 100*BestPoolShare))
		}
		ph.Note = joinNote(ph.Note, fmt.Sprintf("efficiency at %s connections: %s", strings.Join(ns, ", "), strings.Join(effs, ", ")))
		if note := linearityNote(sc); note != "" {
			ph.Note = joinNote(ph.Note, note)
		}
		if measured < len(m.sizes) {
			ph.Note = joinNote(ph.Note, fmt.Sprintf("%d of %d sizes measured", measured, len(m.sizes)))
		}
		switch {
		case stopped == nil || errors.Is(stopped, context.Canceled) || errors.Is(stopped, context.DeadlineExceeded):
			// measured or interrupted: said above
		case m.broken:
			ph.Note = joinNote(ph.Note, fmt.Sprintf("pool %d could not run: %v", m.sizes[len(m.loads)], stopped))
		default:
			ph.Note = joinNote(ph.Note, fmt.Sprintf("stopped at pool %d: %v", m.sizes[len(m.loads)-1], stopped))
		}
		ph.Pass = measured == len(m.sizes) && stopped == nil
		pr.mu.Lock()
		pr.poolScale = sc
		pr.mu.Unlock()
	}()
}

// judgePoolSize sets one size's pass and note: measured or not, with its
// efficiency and whatever else its load says.
func judgePoolSize(ph *result.Phase, run *result.Run, eff float64, best bool) {
	note := fmt.Sprintf("efficiency %.2f", eff)
	if best {
		note = joinNote(note, bestPoolNote)
	}
	ph.Note = joinNote(note, ph.Note)
	ph.Pass = !run.Aborted && run.Summary.Requests > 0
	switch {
	case run.Aborted:
		ph.Note = joinNote(ph.Note, "aborted: "+run.AbortReason)
	case run.Summary.Requests == 0:
		ph.Note = joinNote(ph.Note, "no request completed")
	}
	if f := analyze.Failed(run.Thresholds, false); len(f) > 0 {
		ph.Note = joinNote(ph.Note, fmt.Sprintf("%d SLO(s) failed at this size", len(f)))
	}
	if run.Generator.Saturated {
		ph.Note = joinNote(ph.Note, "generator saturated: "+run.Generator.Reason)
	}
}
