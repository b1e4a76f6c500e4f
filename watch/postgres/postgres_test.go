package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stampede-perf/stampede/internal/pgtest"
)

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func mustExec(t *testing.T, c *pgx.Conn, sql string) {
	t.Helper()
	if _, err := c.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// clock is a manual clock for the watcher's timestamps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// TestWatch watches a real PostgreSQL with pg_stat_statements loaded
// while the test makes connections, a lock wait, a deadlock and slow and
// fast statements, and checks what the section says about each.
func TestWatch(t *testing.T) {
	srv := pgtest.Start(t, pgtest.WithPreload("pg_stat_statements"), pgtest.WithSetting("deadlock_timeout", "50ms"))
	url := srv.NewDatabase(t)
	ctx := context.Background()
	setup := connect(t, url)
	mustExec(t, setup, "CREATE TABLE acct (id int PRIMARY KEY, balance int NOT NULL)")
	mustExec(t, setup, "INSERT INTO acct SELECT i, 0 FROM generate_series(1, 1000) i")
	// A statement of its own shape (pg_stat_statements tells statements
	// apart by their parse tree, not their constants or column names).
	mustExec(t, setup, "SELECT sum(id) FROM acct WHERE id < 0")

	clk := &clock{t: time.Unix(1_000_000, 0)}
	w, err := Start(ctx, url, Options{Manual: true, Now: clk.now, Top: 20})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop(ctx)

	// Connections: three idle, one idle in a transaction holding a row
	// lock, one waiting for that lock.
	for range 3 {
		mustExec(t, connect(t, url), "SELECT 1")
	}
	holder := connect(t, url)
	mustExec(t, holder, "BEGIN")
	mustExec(t, holder, "UPDATE acct SET balance = 1 WHERE id = 1")
	waiter := connect(t, url)
	waited := make(chan error, 1)
	go func() {
		_, err := waiter.Exec(ctx, "UPDATE acct SET balance = 2 WHERE id = 1")
		waited <- err
	}()
	waitFor(t, setup, "SELECT count(*) FROM pg_locks WHERE NOT granted", 1)
	w.SampleAt(ctx, clk.add(time.Second))
	mustExec(t, holder, "COMMIT")
	if err := <-waited; err != nil {
		t.Fatal(err)
	}

	// A deadlock between two transactions.
	a, b := connect(t, url), connect(t, url)
	mustExec(t, a, "BEGIN")
	mustExec(t, b, "BEGIN")
	mustExec(t, a, "UPDATE acct SET balance = balance + 1 WHERE id = 10")
	mustExec(t, b, "UPDATE acct SET balance = balance + 1 WHERE id = 20")
	errs := make(chan error, 2)
	for _, c := range []struct {
		conn *pgx.Conn
		id   int
	}{{a, 20}, {b, 10}} {
		go func() {
			_, err := c.conn.Exec(ctx, "UPDATE acct SET balance = balance + 1 WHERE id = $1", c.id)
			errs <- err
		}()
	}
	deadlocks := 0
	for range 2 {
		var pgErr *pgconn.PgError
		if err := <-errs; errors.As(err, &pgErr) && pgErr.Code == "40P01" {
			deadlocks++
		}
	}
	a.Exec(ctx, "ROLLBACK")
	b.Exec(ctx, "ROLLBACK")
	if deadlocks != 1 {
		t.Fatalf("provoked %d deadlocks, want 1", deadlocks)
	}

	// Statements: a few slow ones, many fast ones, each its own
	// transaction.
	var commits0 int64
	if err := setup.QueryRow(ctx, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").Scan(&commits0); err != nil {
		t.Fatal(err)
	}
	worker, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		mustExec(t, worker, "SELECT pg_sleep(0.05)")
	}
	for i := range 200 {
		if _, err := worker.Exec(ctx, "SELECT balance FROM acct WHERE id = $1", i+1); err != nil {
			t.Fatal(err)
		}
	}
	// A backend publishes its counters at most once a second, and at
	// exit: end the ones that did the work and wait for their counts.
	worker.Close(ctx)
	a.Close(ctx)
	b.Close(ctx)
	waitFor(t, setup, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()", 1)
	waitFor(t, setup, fmt.Sprintf("SELECT xact_commit - %d FROM pg_stat_database WHERE datname = current_database()", commits0), 200)
	w.SampleAt(ctx, clk.add(time.Second))
	db := w.Stop(ctx)

	if db.MaxConnections != 60 {
		t.Errorf("max_connections %d, want 60 (pgtest's setting)", db.MaxConnections)
	}
	if len(db.Timeline) != 2 {
		t.Fatalf("%d points, want 2", len(db.Timeline))
	}
	p := db.Timeline[0]
	if p.TS != 0 || p.Connections["idle"] < 3 || p.Connections["idle in transaction"] != 1 || p.Connections["active"] < 1 || p.LocksWaiting < 1 {
		t.Errorf("first point %+v: want t_s 0, ≥ 3 idle, 1 idle in transaction, ≥ 1 active, ≥ 1 lock waiting", p)
	}
	if total := sum(p.Connections); p.PoolUsagePct != 100*float64(total)/60 || db.PeakConnections < total {
		t.Errorf("pool usage %.1f%% of 60 with %d connections, peak %d", p.PoolUsagePct, total, db.PeakConnections)
	}
	if db.Timeline[1].TS != 1 || db.Timeline[1].CommitsPerS < 200 || db.Timeline[1].LocksWaiting != 0 {
		t.Errorf("second point %+v: want t_s 1 and ≥ 200 commits/s (the fast statements, over one fake second)", db.Timeline[1])
	}
	if db.Deadlocks != 1 {
		t.Errorf("deadlocks %d, want 1", db.Deadlocks)
	}
	if db.CacheHitRatio <= 0 || db.CacheHitRatio > 1 {
		t.Errorf("cache hit ratio %v, want in (0, 1]", db.CacheHitRatio)
	}
	if len(db.Notes) != 0 {
		t.Errorf("notes %q, want none", db.Notes)
	}

	var sleep, point *int
	for i, s := range db.SlowStatements {
		switch {
		case strings.Contains(s.Query, "pg_sleep"):
			sleep = &i
		case strings.Contains(s.Query, "SELECT balance FROM acct"):
			point = &i
		case strings.Contains(s.Query, "sum(id)"):
			t.Errorf("a statement run before the watch is reported: %+v", s)
		case strings.Contains(s.Query, "stampede-watch"):
			t.Errorf("the watch's own statement is reported: %+v", s)
		}
	}
	if sleep == nil || point == nil {
		t.Fatalf("slow statements %+v: want the pg_sleep and the point select", db.SlowStatements)
	}
	sl, pt := db.SlowStatements[*sleep], db.SlowStatements[*point]
	if sl.Calls != 4 || sl.MeanMS < 45 || sl.SharePct < 50 {
		t.Errorf("pg_sleep: %+v; want 4 calls, mean ≥ 45 ms, most of the time", sl)
	}
	if pt.Calls != 200 || pt.Rows != 200 || pt.MeanMS >= sl.MeanMS {
		t.Errorf("point select: %+v; want 200 calls, 200 rows, faster than pg_sleep", pt)
	}
	// The watch's statements are in pg_stat_statements, marked: the
	// filter above has something to leave out.
	var own int
	if err := setup.QueryRow(ctx, "SELECT count(*) FROM pg_stat_statements WHERE query LIKE '%stampede-watch%'").Scan(&own); err != nil || own == 0 {
		t.Errorf("marked watch statements in pg_stat_statements: %d (%v), want some", own, err)
	}
	if again := w.Stop(ctx); again != db {
		t.Error("a second Stop returned another section")
	}
}

// TestWatchWithoutStatements: a server without pg_stat_statements
// preloaded still gets watched, and the section says how to enable it.
func TestWatchWithoutStatements(t *testing.T) {
	srv := pgtest.Start(t)
	url := srv.NewDatabase(t)
	var preload string
	if err := connect(t, url).QueryRow(context.Background(), "SELECT current_setting('shared_preload_libraries')").Scan(&preload); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(preload, "pg_stat_statements") {
		t.Skip("the server preloads pg_stat_statements")
	}
	w, err := Start(context.Background(), url, Options{Manual: true})
	if err != nil {
		t.Fatal(err)
	}
	w.SampleAt(context.Background(), time.Now().Add(time.Second))
	db := w.Stop(context.Background())
	if len(db.SlowStatements) != 0 || len(db.Notes) == 0 || !strings.Contains(db.Notes[0], "shared_preload_libraries") {
		t.Errorf("statements %v, notes %q: want none and one note on enabling pg_stat_statements", db.SlowStatements, db.Notes)
	}
	if len(db.Timeline) != 1 || db.MaxConnections == 0 {
		t.Errorf("timeline %v, max_connections %d: want the rest watched", db.Timeline, db.MaxConnections)
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(context.Background(), "", Options{}); !errors.Is(err, ErrNoDSN) {
		t.Errorf("empty DSN: %v", err)
	}
	_, err := Start(context.Background(), "postgres://app:Sup3rS3cret@127.0.0.1:1/x?connect_timeout=2", Options{})
	if err == nil || strings.Contains(err.Error(), "Sup3rS3cret") {
		t.Errorf("unreachable server: err = %v; want an error without the password", err)
	}
}

// waitFor polls a count until it reaches want: the condition, not a
// fixed sleep, is what the test waits on.
func waitFor(t *testing.T, c *pgx.Conn, q string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := c.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s stayed at %d, want %d", q, n, want)
		}
		time.Sleep(5 * time.Millisecond) // between polls, not instead of them
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
