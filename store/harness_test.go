package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/pgtest"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// Child-process modes: the test binary re-executes itself to act as a
// second stampede process writing the same store.
const (
	envChildDSN  = "STAMPEDE_STORE_TEST_CHILD_DSN"
	envChildMode = "STAMPEDE_STORE_TEST_CHILD_MODE"
	envChildN    = "STAMPEDE_STORE_TEST_CHILD_N"
)

func TestMain(m *testing.M) {
	if dsn := os.Getenv(envChildDSN); dsn != "" {
		os.Exit(child(dsn, os.Getenv(envChildMode), os.Getenv(envChildN)))
	}
	os.Exit(m.Run())
}

// child is the body of a child process.
//
//	crash: begin a run, append N windows, print "ready ID", then wait for
//	       stdin to close (the parent kills it first).
//	write: write N complete runs, each through Begin/AppendWindows/Finish.
func child(dsn, mode, nText string) int {
	ctx := context.Background()
	n, _ := strconv.Atoi(nText)
	s, err := OpenWith(ctx, dsn, Options{NoRecover: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	defer s.Close()
	switch mode {
	case "crash":
		id, err := s.Begin(ctx, Meta{Plan: "crashy", Kind: "load", Steps: testSteps})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 3
		}
		for i := 0; i < n; i++ {
			if err := s.AppendWindows(ctx, id, []result.Window{syntheticWindow(i)}); err != nil {
				fmt.Fprintln(os.Stderr, "child:", err)
				return 3
			}
		}
		fmt.Printf("ready %s\n", id)
		bufio.NewReader(os.Stdin).ReadString('\n') // blocks until killed
		return 0
	case "write":
		for i := 0; i < n; i++ {
			if _, err := writeRun(ctx, s, fmt.Sprintf("proc-%d", os.Getpid()), i, 3); err != nil {
				fmt.Fprintln(os.Stderr, "child:", err)
				return 3
			}
		}
		return 0
	}
	fmt.Fprintln(os.Stderr, "child: unknown mode", mode)
	return 3
}

// startChild runs this test binary as a child process in mode.
func startChild(t *testing.T, dsn, mode string, n int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChildDSN+"="+dsn, envChildMode+"="+mode, envChildN+"="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	return cmd
}

// writeRun writes one complete run incrementally.
func writeRun(ctx context.Context, s *Store, plan string, i, windows int) (string, error) {
	started := time.Date(2026, 3, 1, 12, 0, i, 0, time.UTC)
	id, err := s.Begin(ctx, Meta{Plan: plan, Kind: "load", StartedAt: started, Steps: testSteps})
	if err != nil {
		return "", err
	}
	for w := 0; w < windows; w++ {
		if err := s.AppendWindows(ctx, id, []result.Window{syntheticWindow(w)}); err != nil {
			return "", err
		}
	}
	r := &result.Run{Version: 1, Kind: "load", Plan: plan, StartedAt: started, EndedAt: started.Add(3 * time.Second),
		Summary: result.Summary{Requests: 30, RPS: 10}, Verdict: "pass"}
	return id, s.Finish(ctx, id, r)
}

var testSteps = []result.StepResult{{Scenario: "browse", Step: "home", Kind: "http"}, {Scenario: "browse", Step: "item", Kind: "http"}}

// windowSamples are the latencies (µs) recorded in window i: a
// deterministic spread so percentiles can be checked against a sort.
func windowSamples(i int) (home, item []int64) {
	for k := 0; k < 40; k++ {
		home = append(home, int64(1000+37*k+101*i))
		if k%2 == 0 {
			item = append(item, int64(5000+311*k+7*i))
		}
	}
	return home, item
}

func syntheticWindow(i int) result.Window {
	home, item := windowSamples(i)
	all, hh, hi := metrics.NewHist(), metrics.NewHist(), metrics.NewHist()
	for _, v := range home {
		metrics.RecordUS(all, v)
		metrics.RecordUS(hh, v)
	}
	for _, v := range item {
		metrics.RecordUS(all, v)
		metrics.RecordUS(hi, v)
	}
	p := metrics.Percentiles(all)
	errs := int64(i % 2)
	w := result.Window{
		TS: float64(i), Requests: int64(len(home) + len(item)), RPS: float64(len(home) + len(item)), VUs: 5 + i,
		P50: p.P50, P95: p.P95, P99: p.P99, Max: p.Max, Errors: errs, Hist: metrics.MustEncode(all),
		Steps: []result.StepWindow{
			{Index: 0, Requests: int64(len(home)), Hist: metrics.MustEncode(hh)},
			{Index: 1, Requests: int64(len(item)), Errors: errs, Hist: metrics.MustEncode(hi)},
		},
	}
	if errs > 0 {
		w.ErrKinds = map[string]int64{"http_5xx": errs}
	}
	return w
}

// backend is one engine the suite runs against; newDSN gives each test a
// fresh, empty database.
type backend struct {
	name   string
	newDSN func(t *testing.T) string
}

func sqliteBackend() backend {
	return backend{name: SQLite, newDSN: func(t *testing.T) string {
		// A directory that does not exist yet: Open must create it.
		return filepath.Join(t.TempDir(), "nested", ".stampede", "history.db")
	}}
}

// backends returns SQLite and, when PostgreSQL can be started, PostgreSQL.
// The PostgreSQL cluster lives as long as t.
func backends(t *testing.T) []backend {
	bs := []backend{sqliteBackend()}
	srv, why := pgtest.StartOrExplain(t)
	if srv == nil {
		// Visible as a skipped subtest, and on stderr for plain `go test`.
		t.Run(Postgres, func(t *testing.T) { t.Skip(why) })
		fmt.Fprintln(os.Stderr, "store:", why)
		return bs
	}
	return append(bs, backend{name: Postgres, newDSN: func(t *testing.T) string { return srv.NewDatabase(t) }})
}

func openT(t *testing.T, dsn string, opts Options) *Store {
	t.Helper()
	s, err := OpenWith(context.Background(), dsn, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawExec runs SQL statements on dsn without any migration.
func rawExec(t *testing.T, dsn string, stmts []string) {
	t.Helper()
	db, _, _, err := openDB(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.close()
	for _, st := range stmts {
		if _, err := db.exec(context.Background(), st); err != nil {
			t.Fatalf("%v\nin: %.200s", err, st)
		}
	}
}

// schemaOf describes the schema of dsn as comparable text: tables with
// their columns, indexes and constraints.
func schemaOf(t *testing.T, dsn string) string {
	t.Helper()
	db, dialect, _, err := openDB(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.close()
	type introspect struct {
		sql  string
		cols int
	}
	var queries []introspect
	if dialect == SQLite {
		queries = []introspect{
			{`SELECT m.name, p.name, p.type, p."notnull", COALESCE(p.dflt_value, ''), p.pk
FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.cid`, 6},
			{`SELECT m.tbl_name, m.name, i.name FROM sqlite_master m JOIN pragma_index_info(m.name) i
WHERE m.type = 'index' ORDER BY m.tbl_name, m.name, i.seqno`, 3},
			{`SELECT m.name, f."table", f."from", f."to", f.on_delete
FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table' ORDER BY m.name, f.id, f.seq`, 5},
		}
	} else {
		queries = []introspect{
			{`SELECT table_name::text, column_name::text, data_type::text, is_nullable::text, COALESCE(column_default::text, '')
FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`, 5},
			{`SELECT tablename::text, indexname::text, indexdef::text FROM pg_indexes WHERE schemaname = 'public' ORDER BY tablename, indexname`, 3},
			{`SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2`, 3},
		}
	}
	var b strings.Builder
	for _, q := range queries {
		rs, err := db.query(context.Background(), q.sql)
		if err != nil {
			t.Fatalf("%v\n%s", err, q.sql)
		}
		for rs.Next() {
			var cols [6]any
			n := q.cols
			ptrs := make([]any, n)
			for i := range ptrs {
				ptrs[i] = &cols[i]
			}
			if err := rs.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&b, cols[:n]...)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			t.Fatal(err)
		}
		b.WriteString("--\n")
	}
	return b.String()
}
