// Package postgres watches a PostgreSQL server beside a load run and
// records what it saw as the Run's System.Database section:
//
//   - over time, one point per interval: client connections by state
//     (pg_stat_activity), their share of max_connections, lock requests
//     waiting (pg_locks not granted), and commits and rollbacks per second
//     (pg_stat_database);
//   - over the whole watch: the buffer cache hit ratio and the deadlocks
//     of the watched database, and its slowest statements by total and by
//     mean execution time, with their share of the database's time, from
//     pg_stat_statements.
//
// Design: the watch uses one connection of its own, not a pool, so that
// it costs the server one backend and its samples never wait behind the
// load's pool. Cumulative statistics are read at Start and at Stop and
// reported as differences, so what happened before the run (or in other
// runs) does not count and nothing is reset: resetting pg_stat_statements
// would destroy statistics other people rely on. The watch's own queries
// carry a marker comment and are left out of the statements it reports;
// its own backend is left out of the connection counts.
//
// pg_stat_statements must be loaded at server start
// (shared_preload_libraries). Start creates the extension in the watched
// database when it can (CREATE EXTENSION IF NOT EXISTS); when it cannot,
// the section says why in Notes, with how to enable it, and the rest of
// the watch goes on. Nothing the watch meets after Start stops the run:
// a failed sample becomes a note (repeats are counted) and sampling goes
// on, reconnecting if the connection was lost.
//
// Freshness: pg_stat_activity, pg_locks and pg_stat_statements are
// current, but a backend publishes its pg_stat_database counters
// (commits, rollbacks, deadlocks, block reads) at most once a second
// while busy and only some seconds after it goes idle, so those rates lag
// the load by a second or more, and the totals at Stop may miss the last
// moments of backends that are still connected.
//
// Time: points are stamped like the process watch's (package watch):
// seconds since Options.Start, the run's t0; a point covers the interval
// that ends at the next point. The watcher's ticker fires on interval
// boundaries after t0, or the caller drives it with SampleAt
// (Options.Manual).
//
// Concurrency: Start returns a running Watcher. SampleAt may be called
// from any goroutine, concurrently with the watcher's own sampling;
// samples are taken one at a time. Stop is called once, after which
// SampleAt does nothing; a second Stop returns the same section.
package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stampede-perf/stampede/internal/redact"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/watch"
)

// Defaults for the zero values of Options.
const (
	DefaultInterval = time.Second
	DefaultTop      = 10
)

// marker tags the watch's own statements, so that pg_stat_statements
// entries of the watch can be told apart and left out.
const marker = "/* stampede-watch */ "

// EnableStatements says how to make pg_stat_statements available.
const EnableStatements = "add pg_stat_statements to shared_preload_libraries in postgresql.conf " +
	"(shared_preload_libraries = 'pg_stat_statements'), restart PostgreSQL, " +
	"then run CREATE EXTENSION pg_stat_statements in the database"

// Options are how a Watcher fits into its run.
type Options struct {
	// Start is the run's t0: every point's t_s is seconds since Start.
	// Zero means the moment Start is called.
	Start time.Time
	// Interval between samples (DefaultInterval when zero).
	Interval time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Manual turns the ticker off: the caller takes every sample with
	// SampleAt.
	Manual bool
	// Top is how many statements to keep by total time and by mean time
	// (DefaultTop when zero); the two lists overlap, so at most 2×Top are
	// reported.
	Top int
}

// Watcher watches one PostgreSQL server until Stop. See the package
// documentation for its concurrency contract.
type Watcher struct {
	opts   Options
	cfg    *pgx.ConnConfig
	ctx    context.Context // cancelled by Stop: ends a sample in progress
	cancel context.CancelFunc
	loop   chan struct{} // closed when the ticker goroutine returned

	maxConns  int
	execTime  string // total execution time column of pg_stat_statements
	stmtsOK   bool
	stmtsBase map[stmtKey]stmtStat
	dbBase    dbStat

	mu       sync.Mutex // guards conn, points, last, prevDB, notes, stopping, peak
	conn     *pgx.Conn
	points   []result.DatabasePoint
	last     time.Time
	prevDB   dbStat
	notes    []note
	stopping bool
	peak     int

	stopOnce sync.Once
	final    *result.Database
}

type note struct {
	key, msg string
	n        int
}

// stmtKey identifies a pg_stat_statements entry.
type stmtKey struct {
	user, db uint32
	id       int64
}

type stmtStat struct {
	query   string
	calls   int64
	totalMS float64
	rows    int64
}

// dbStat is the cumulative pg_stat_database counters of one database.
type dbStat struct {
	commits, rollbacks, hit, read, deadlocks int64
}

// ErrNoDSN is returned by Start for an empty DSN.
var ErrNoDSN = errors.New("postgres watch: no DSN")

// Start connects to the server dsn names, reads max_connections and the
// starting statistics, makes pg_stat_statements available when it can,
// takes no point yet, and, unless opts.Manual, samples every interval
// until Stop or until ctx is done. It fails only when it cannot connect
// or read the server at all; errors never quote the DSN.
func Start(ctx context.Context, dsn string, opts Options) (*Watcher, error) {
	if dsn == "" {
		return nil, ErrNoDSN
	}
	if opts.Interval < 0 || opts.Top < 0 {
		return nil, errors.New("postgres watch: interval and top must not be negative")
	}
	if opts.Interval == 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Top == 0 {
		opts.Top = DefaultTop
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("postgres watch: cannot parse the DSN (check its form; it is not shown here because it may hold a password)")
	}
	cfg.RuntimeParams["application_name"] = "stampede-watch"
	// The watch's statements are few and each runs once a second: no
	// statement cache, so that they leave no prepared statements behind.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeExec
	w := &Watcher{opts: opts, cfg: cfg, loop: make(chan struct{})}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w.conn, err = pgx.ConnectConfig(cctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres watch: cannot connect: %s", scrub(err, cfg))
	}
	if err := w.conn.QueryRow(cctx, marker+"SELECT current_setting('max_connections')::int").Scan(&w.maxConns); err != nil {
		w.conn.Close(context.Background())
		return nil, fmt.Errorf("postgres watch: cannot read max_connections: %s", scrub(err, cfg))
	}
	w.prepareStatements(cctx)
	if w.dbBase, err = w.readDB(cctx); err != nil {
		w.conn.Close(context.Background())
		return nil, fmt.Errorf("postgres watch: cannot read pg_stat_database: %s", scrub(err, cfg))
	}
	w.prevDB = w.dbBase
	now := opts.Now()
	if w.opts.Start.IsZero() {
		w.opts.Start = now
	}
	w.last = now
	w.ctx, w.cancel = context.WithCancel(context.WithoutCancel(ctx))
	if opts.Manual {
		close(w.loop)
	} else {
		tctx, stop := context.WithCancel(w.ctx)
		context.AfterFunc(ctx, stop) // the ticker also ends with ctx
		go w.tick(tctx)
	}
	return w, nil
}

// prepareStatements makes pg_stat_statements available or notes why not,
// and reads its starting values.
func (w *Watcher) prepareStatements(ctx context.Context) {
	var version int
	if err := w.conn.QueryRow(ctx, marker+"SELECT current_setting('server_version_num')::int").Scan(&version); err != nil {
		w.addNote("statements", "slowest statements not reported: cannot read the server version: "+scrub(err, w.cfg))
		return
	}
	w.execTime = "total_exec_time"
	if version < 130000 {
		w.execTime = "total_time"
	}
	var loaded bool
	if err := w.conn.QueryRow(ctx, marker+"SELECT 'pg_stat_statements' = ANY(string_to_array(replace(current_setting('shared_preload_libraries'), ' ', ''), ','))").Scan(&loaded); err != nil || !loaded {
		w.addNote("statements", "slowest statements not reported: pg_stat_statements is not loaded; to enable it, "+EnableStatements)
		return
	}
	if _, err := w.conn.Exec(ctx, marker+"CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); err != nil {
		var pgErr *pgconn.PgError
		hint := ""
		if errors.As(err, &pgErr) && pgErr.Code == "42501" {
			hint = " (the watch's role may not create it: run CREATE EXTENSION pg_stat_statements as a superuser, and grant pg_read_all_stats to see every role's statements)"
		}
		// It may exist already although creating it failed: try reading.
		if _, rerr := w.readStatements(ctx); rerr != nil {
			w.addNote("statements", "slowest statements not reported: cannot create the pg_stat_statements extension: "+scrub(err, w.cfg)+hint)
			return
		}
	}
	base, err := w.readStatements(ctx)
	if err != nil {
		w.addNote("statements", "slowest statements not reported: cannot read pg_stat_statements: "+scrub(err, w.cfg))
		return
	}
	w.stmtsOK, w.stmtsBase = true, base
}

// readStatements reads the watched database's pg_stat_statements entries.
func (w *Watcher) readStatements(ctx context.Context) (map[stmtKey]stmtStat, error) {
	rows, err := w.conn.Query(ctx, marker+`SELECT userid::oid::int8, dbid::oid::int8, coalesce(queryid, 0), min(query),
	sum(calls)::int8, sum(`+w.execTime+`)::float8, sum(rows)::int8
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
GROUP BY 1, 2, 3`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[stmtKey]stmtStat{}
	for rows.Next() {
		var user, db int64
		var k stmtKey
		var s stmtStat
		if err := rows.Scan(&user, &db, &k.id, &s.query, &s.calls, &s.totalMS, &s.rows); err != nil {
			return nil, err
		}
		k.user, k.db = uint32(user), uint32(db)
		out[k] = s
	}
	return out, rows.Err()
}

// readDB reads the watched database's cumulative counters.
func (w *Watcher) readDB(ctx context.Context) (dbStat, error) {
	var d dbStat
	err := w.conn.QueryRow(ctx, marker+`SELECT xact_commit, xact_rollback, blks_hit, blks_read, deadlocks
FROM pg_stat_database WHERE datname = current_database()`).Scan(&d.commits, &d.rollbacks, &d.hit, &d.read, &d.deadlocks)
	return d, err
}

func (w *Watcher) ts(t time.Time) float64 {
	return math.Round(t.Sub(w.opts.Start).Seconds()*1000) / 1000
}

// tick samples on the interval boundaries after t0 until ctx ends.
func (w *Watcher) tick(ctx context.Context) {
	defer close(w.loop)
	watch.Aligned(ctx, w.opts.Start, w.opts.Interval, w.opts.Now, func(now time.Time) { w.SampleAt(ctx, now) })
}

// SampleAt takes one sample at now, on the caller's goroutine: the point
// covers the time since the previous sample. It does nothing after Stop
// or when now is not at least a millisecond after the previous sample.
func (w *Watcher) SampleAt(ctx context.Context, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopping || w.ts(now) <= w.ts(w.last) {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, max(w.opts.Interval, time.Second))
	defer cancel()
	if w.conn == nil || w.conn.IsClosed() {
		c, err := pgx.ConnectConfig(sctx, w.cfg)
		if err != nil {
			w.addNote("connect", "cannot reconnect: "+scrub(err, w.cfg))
			return
		}
		w.conn = c
	}
	pt := result.DatabasePoint{TS: w.ts(w.last), Connections: map[string]int{}}
	if err := w.sampleActivity(sctx, &pt); err != nil {
		w.addNote("activity", "a sample of pg_stat_activity failed: "+scrub(err, w.cfg))
	}
	if d, err := w.readDB(sctx); err != nil {
		w.addNote("database", "a sample of pg_stat_database failed: "+scrub(err, w.cfg))
	} else {
		dt := now.Sub(w.last).Seconds()
		pt.CommitsPerS = float64(max(d.commits-w.prevDB.commits, 0)) / dt
		pt.RollbacksPerS = float64(max(d.rollbacks-w.prevDB.rollbacks, 0)) / dt
		w.prevDB = d
	}
	w.points = append(w.points, pt)
	w.last = now
}

func (w *Watcher) sampleActivity(ctx context.Context, pt *result.DatabasePoint) error {
	rows, err := w.conn.Query(ctx, marker+`SELECT coalesce(state, 'unknown'), count(*)::int
FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() GROUP BY 1`)
	if err != nil {
		return err
	}
	total := 0
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			rows.Close()
			return err
		}
		pt.Connections[state] = n
		total += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	w.peak = max(w.peak, total)
	if w.maxConns > 0 {
		pt.PoolUsagePct = 100 * float64(total) / float64(w.maxConns)
	}
	return w.conn.QueryRow(ctx, marker+"SELECT count(*)::int FROM pg_locks WHERE NOT granted").Scan(&pt.LocksWaiting)
}

// Stop ends the watch and returns its section of the Run: the timeline,
// and the cache hit ratio, deadlocks and slowest statements since Start.
// A second call returns the same section.
func (w *Watcher) Stop(ctx context.Context) *result.Database {
	w.stopOnce.Do(func() {
		w.cancel()
		<-w.loop
		w.mu.Lock()
		defer w.mu.Unlock()
		w.stopping = true
		w.final = w.finish(ctx)
		if w.conn != nil {
			w.conn.Close(context.Background())
		}
	})
	return w.final
}

func (w *Watcher) finish(ctx context.Context) *result.Database {
	out := &result.Database{MaxConnections: w.maxConns, Timeline: w.points, PeakConnections: w.peak,
		IntervalS: w.opts.Interval.Seconds()}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if w.conn == nil || w.conn.IsClosed() {
		c, err := pgx.ConnectConfig(ctx, w.cfg)
		if err != nil {
			w.addNote("connect", "cannot reconnect for the final statistics: "+scrub(err, w.cfg))
			out.Notes = w.noteList()
			return out
		}
		w.conn = c
	}
	if d, err := w.readDB(ctx); err != nil {
		w.addNote("database", "cannot read the final pg_stat_database: "+scrub(err, w.cfg))
	} else {
		hit, read := d.hit-w.dbBase.hit, d.read-w.dbBase.read
		if hit+read > 0 {
			out.CacheHitRatio = float64(hit) / float64(hit+read)
		} else if d.hit+d.read > 0 {
			out.CacheHitRatio = float64(d.hit) / float64(d.hit+d.read)
			w.addNote("cache", "no blocks were read during the watch: the cache hit ratio is the one since the statistics were last reset")
		}
		out.Deadlocks = max(d.deadlocks-w.dbBase.deadlocks, 0)
	}
	if w.stmtsOK {
		cur, err := w.readStatements(ctx)
		if err != nil {
			w.addNote("statements", "cannot read the final pg_stat_statements: "+scrub(err, w.cfg))
		} else {
			out.SlowStatements = slowest(w.stmtsBase, cur, w.opts.Top)
		}
	}
	out.Notes = w.noteList()
	return out
}

// slowest returns what the statements did between base and cur: the top
// by total time and the top by mean time (merged, by total time), each
// with its share of all statements' time. The watch's own statements are
// left out.
func slowest(base, cur map[stmtKey]stmtStat, top int) []result.SlowStatement {
	var all []result.SlowStatement
	var totalMS float64
	for _, k := range slices.SortedFunc(maps.Keys(cur), func(a, b stmtKey) int {
		switch {
		case a.id != b.id:
			return cmp.Compare(a.id, b.id)
		case a.user != b.user:
			return cmp.Compare(a.user, b.user)
		}
		return cmp.Compare(a.db, b.db)
	}) {
		c := cur[k]
		if strings.Contains(c.query, strings.TrimSpace(marker)) {
			continue
		}
		d := c
		if b, ok := base[k]; ok && b.calls <= c.calls {
			d.calls -= b.calls
			d.totalMS -= b.totalMS
			d.rows -= b.rows
		}
		if d.calls <= 0 {
			continue
		}
		totalMS += d.totalMS
		all = append(all, result.SlowStatement{
			Query: strings.Join(strings.Fields(d.query), " "), Calls: d.calls, TotalMS: d.totalMS,
			MeanMS: d.totalMS / float64(d.calls), Rows: d.rows,
		})
	}
	if totalMS > 0 {
		for i := range all {
			all[i].SharePct = 100 * all[i].TotalMS / totalMS
		}
	}
	byTotal := slices.Clone(all)
	slices.SortStableFunc(byTotal, func(a, b result.SlowStatement) int { return cmp.Compare(b.TotalMS, a.TotalMS) })
	byMean := slices.Clone(all)
	slices.SortStableFunc(byMean, func(a, b result.SlowStatement) int { return cmp.Compare(b.MeanMS, a.MeanMS) })
	seen := map[string]bool{}
	var out []result.SlowStatement
	for _, list := range [][]result.SlowStatement{byTotal[:min(top, len(byTotal))], byMean[:min(top, len(byMean))]} {
		for _, s := range list {
			if !seen[s.Query] {
				seen[s.Query] = true
				out = append(out, s)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b result.SlowStatement) int { return cmp.Compare(b.TotalMS, a.TotalMS) })
	return out
}

// addNote records a note once per key; repeats are counted. Callers hold
// mu (or are Start, before the watcher is shared).
func (w *Watcher) addNote(key, msg string) {
	for i := range w.notes {
		if w.notes[i].key == key {
			w.notes[i].n++
			return
		}
	}
	w.notes = append(w.notes, note{key: key, msg: msg, n: 1})
}

func (w *Watcher) noteList() []string {
	var out []string
	for _, n := range w.notes {
		msg := n.msg
		if n.n > 1 {
			msg += fmt.Sprintf(" (%d times)", n.n)
		}
		out = append(out, msg)
	}
	return out
}

// scrub renders err without the connection's password.
func scrub(err error, cfg *pgx.ConnConfig) string {
	msg := err.Error()
	if cfg != nil && cfg.Password != "" {
		msg = strings.ReplaceAll(msg, cfg.Password, "xxxxx")
	}
	return redact.Text(msg)
}
