package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/result"
)

// TestBackends runs the whole behaviour of the store against every engine:
// the same cases, the same expectations.
func TestBackends(t *testing.T) {
	cases := []struct {
		name string
		why  string
		run  func(t *testing.T, b backend)
	}{
		{"empty database migrates", "a new store must come up at the current schema", testEmptyMigrates},
		{"v1 database migrates", "an existing history must survive an upgrade, schema identical to a fresh one", testFromV1},
		{"newer schema refused", "an older stampede must not misread a newer history", testSchemaTooNew},
		{"incremental write", "Begin/AppendWindows/Finish keep everything and fill the Run from Begin", testIncremental},
		{"queries", "List, Latest, baselines and Resolve select and order runs", testQueries},
		{"document round trip", "a stored Run comes back byte-identical", testRoundTrip},
		{"recover stale remote writer", "a writer on another host is gone once its heartbeat is stale", testRecoverStale},
		{"live writer left alone", "Open must not abort a run whose writer still runs", testLiveWriterKept},
		{"recover killed writer", "a SIGKILLed writer's run comes back as an aborted Run with its windows", testRecoverKilled},
		{"recover past corruption", "an unreadable window loses its second and an unreadable run only itself", testRecoverCorrupt},
		{"concurrent opens", "many processes opening a new store at once migrate it once", testConcurrentOpens},
		{"concurrent goroutine writers", "two stores in one process writing at once lose nothing", testConcurrentGoroutines},
		{"concurrent process writers", "two processes writing at once lose nothing", testConcurrentProcesses},
		{"monitor state", "a monitor's state is kept per plan and replaced, never duplicated", testMonitorState},
	}
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					t.Logf("why: %s", c.why)
					c.run(t, b)
				})
			}
		})
	}
}

func testEmptyMigrates(t *testing.T, b backend) {
	ctx := context.Background()
	dsn := b.newDSN(t)
	s := openT(t, dsn, Options{})
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, _ := migrations(s.Dialect())
	if v != len(ms) || v < 2 {
		t.Fatalf("schema version %d, want %d", v, len(ms))
	}
	es, err := s.List(ctx, Filter{})
	if err != nil || len(es) != 0 {
		t.Fatalf("List on an empty store = %v, %v", es, err)
	}
	if _, err := s.Latest(ctx, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Latest on an empty store: %v, want ErrNotFound", err)
	}
	if s.Dialect() == SQLite {
		var mode string
		var fk, busy int
		if err := queryRow(ctx, s.db, `PRAGMA journal_mode`, nil, &mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v; want wal", mode, err)
		}
		if err := queryRow(ctx, s.db, `PRAGMA foreign_keys`, nil, &fk); err != nil || fk != 1 {
			t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
		}
		if err := queryRow(ctx, s.db, `PRAGMA busy_timeout`, nil, &busy); err != nil || busy < 1000 {
			t.Errorf("busy_timeout = %d, %v", busy, err)
		}
	}
	// Foreign keys hold on both engines: a baseline must name a stored run.
	if _, err := s.db.exec(ctx, `INSERT INTO baselines (plan, run_id, set_us) VALUES ('p', 'no-such-run', 0)`); err == nil {
		t.Error("a baseline naming no run was accepted: foreign keys are off")
	}
	// Opening again is a no-op.
	s2 := openT(t, dsn, Options{})
	if v2, _ := s2.SchemaVersion(ctx); v2 != v {
		t.Fatalf("reopen changed version %d → %d", v, v2)
	}
}

func testFromV1(t *testing.T, b backend) {
	ctx := context.Background()
	fixture, err := os.ReadFile(filepath.Join("testdata", "v1_"+b.name+".sql"))
	if err != nil {
		t.Fatal(err)
	}
	oldDSN := b.newDSN(t)
	rawExec(t, oldDSN, splitSQL(string(fixture)))

	s := openT(t, oldDSN, Options{})
	if v, _ := s.SchemaVersion(ctx); v != 3 {
		t.Fatalf("after migration: version %d, want 3", v)
	}
	freshDSN := b.newDSN(t)
	openT(t, freshDSN, Options{})
	if got, want := schemaOf(t, oldDSN), schemaOf(t, freshDSN); got != want {
		t.Fatalf("schema migrated from v1 differs from a fresh one:\nmigrated:\n%s\nfresh:\n%s", got, want)
	}

	es, err := s.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ID)
		if e.State != StateFinished {
			t.Errorf("%s: state %q, want finished", e.ID, e.State)
		}
	}
	want := []string{"20250103-100000-0000cccc", "20250102-100000-0000bbbb", "20250101-100000-0000aaaa"}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Fatalf("runs after migration %v, want %v", ids, want)
	}
	if es[1].RPS != 950 || es[1].P99 != 33 || es[1].Git == nil || es[1].Git.Commit != "def456" || es[1].Tags["env"] != "ci" {
		t.Errorf("v1 columns not carried over: %+v", es[1])
	}
	if id, err := s.Baseline(ctx, "shop"); err != nil || id != "20250101-100000-0000aaaa" {
		t.Errorf("v1 baseline = %q, %v", id, err)
	}
	r, err := s.Get(ctx, "20250102-100000-0000bbbb")
	if err != nil || r.Summary.RPS != 950 || r.Plan != "shop" {
		t.Fatalf("v1 document: %+v, %v", r, err)
	}
	// The upgraded store takes new runs.
	if _, err := writeRun(ctx, s, "shop", 1, 2); err != nil {
		t.Fatal(err)
	}
	if id, _ := s.Latest(ctx, "shop"); !strings.HasPrefix(id, "20260301-") {
		t.Errorf("latest after a new run = %q", id)
	}
}

func testSchemaTooNew(t *testing.T, b backend) {
	ctx := context.Background()
	dsn := b.newDSN(t)
	openT(t, dsn, Options{}).Close()
	rawExec(t, dsn, []string{`INSERT INTO schema_version (version, applied_us) VALUES (99, 0)`})
	_, err := Open(ctx, dsn)
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open of a version 99 store: %v, want ErrSchemaTooNew", err)
	}
}

func testIncremental(t *testing.T, b backend) {
	ctx := context.Background()
	s := openT(t, b.newDSN(t), Options{})
	started := time.Date(2026, 2, 3, 4, 5, 6, 789000000, time.UTC)
	host := &result.Host{Hostname: "h", OS: "linux", Arch: "amd64", Cores: 2, GOMAXPROCS: 2, GoVersion: "go1.26"}
	git := &result.Git{Commit: "abc", Branch: "main"}
	id, err := s.Begin(ctx, Meta{Plan: "shop", PlanHash: "ph", Kind: "load", StartedAt: started,
		Tags: map[string]string{"env": "ci"}, Host: host, Git: git, Steps: testSteps})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, "20260203-040506-") {
		t.Errorf("id %q does not start with the start time", id)
	}
	if err := s.AppendWindows(ctx, id, []result.Window{syntheticWindow(0), syntheticWindow(1)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendWindows(ctx, id, nil); err != nil { // heartbeat only
		t.Fatal(err)
	}
	if err := s.AppendWindows(ctx, id, []result.Window{syntheticWindow(2)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendWindows(ctx, "no-such-run", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("AppendWindows to a missing run: %v, want ErrNotFound", err)
	}

	e, err := s.Entry(ctx, id)
	if err != nil || e.State != StateRunning || e.Plan != "shop" || !e.StartedAt.Equal(started.Truncate(time.Microsecond)) {
		t.Fatalf("running entry = %+v, %v", e, err)
	}
	if _, err := s.Latest(ctx, "shop"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Latest must skip running runs, got %v", err)
	}
	partial, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(partial.Series) != 3 || partial.Aborted || partial.Summary.Requests != 3*60 || len(partial.Warnings) == 0 {
		t.Fatalf("in-progress Get: series %d, aborted %v, requests %d, warnings %v",
			len(partial.Series), partial.Aborted, partial.Summary.Requests, partial.Warnings)
	}

	// The final Run leaves host, git, tags, steps and the series to the store.
	final := &result.Run{Version: 1, Kind: "load", StartedAt: started, EndedAt: started.Add(3 * time.Second),
		Summary: result.Summary{Requests: 180, Errors: 1, ErrorRate: 1.0 / 180, RPS: 60,
			Latency: result.Latency{P50: 1.5, P95: 7.5, P99: 9.9}},
		Phases:  []result.Phase{{Name: "load", Kind: "load"}},
		Verdict: "pass"}
	if err := s.Finish(ctx, id, final); err != nil {
		t.Fatal(err)
	}
	if final.ID != "" || final.Host != nil {
		t.Errorf("Finish modified its argument: %+v", final)
	}
	got, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != id || got.Plan != "shop" || got.PlanHash != "ph" || got.Host == nil || got.Host.Hostname != "h" ||
		got.Git == nil || got.Git.Commit != "abc" || got.Tags["env"] != "ci" || len(got.Steps) != 2 || len(got.Series) != 3 {
		t.Fatalf("finished run not completed from Begin: %+v", got)
	}
	e, err = s.Entry(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := Entry{ID: id, Plan: "shop", PlanHash: "ph", Kind: "load", Phase: "load", State: StateFinished,
		RPS: 60, P50: 1.5, P95: 7.5, P99: 9.9, ErrorRate: 1.0 / 180, Verdict: "pass"}
	if e.ID != want.ID || e.Plan != want.Plan || e.PlanHash != want.PlanHash || e.Kind != want.Kind || e.Phase != want.Phase ||
		e.State != want.State || e.RPS != want.RPS || e.P50 != want.P50 || e.P95 != want.P95 || e.P99 != want.P99 ||
		e.ErrorRate != want.ErrorRate || e.Verdict != want.Verdict || e.Aborted || e.EndedAt.IsZero() ||
		e.Git == nil || e.Git.Branch != "main" {
		t.Fatalf("entry columns = %+v\nwant %+v", e, want)
	}
	if n := countWindows(t, s, id); n != 0 {
		t.Errorf("%d windows left after Finish", n)
	}
	if latest, err := s.Latest(ctx, "shop"); err != nil || latest != id {
		t.Errorf("Latest = %q, %v; want %s", latest, err, id)
	}
}

func countWindows(t *testing.T, s *Store, id string) int {
	t.Helper()
	var n int
	if err := queryRow(context.Background(), s.db, `SELECT COUNT(*) FROM run_windows WHERE run_id = $1`, []any{id}, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// saved stores a finished run of plan started at minute m.
func saved(t *testing.T, s *Store, plan, kind string, m int, mutate func(*result.Run)) string {
	t.Helper()
	start := time.Date(2026, 1, 1, 0, m, 0, 0, time.UTC)
	r := &result.Run{Version: 1, Kind: kind, Plan: plan, StartedAt: start, EndedAt: start.Add(time.Minute),
		Summary: result.Summary{RPS: float64(100 + m)}, Verdict: "pass"}
	if mutate != nil {
		mutate(r)
	}
	id, err := s.Save(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func testQueries(t *testing.T, b backend) {
	ctx := context.Background()
	s := openT(t, b.newDSN(t), Options{})
	shop1 := saved(t, s, "shop", "load", 1, nil)
	api2 := saved(t, s, "api", "load", 2, nil)
	shop3 := saved(t, s, "shop", "test", 3, nil)
	shop4 := saved(t, s, "shop", "load", 4, func(r *result.Run) { r.Aborted = true; r.Verdict = "" })
	running, err := s.Begin(ctx, Meta{Plan: "shop", Kind: "load", StartedAt: time.Date(2026, 1, 1, 0, 5, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(es []Entry, err error) string {
		if err != nil {
			return "error: " + err.Error()
		}
		var out []string
		for _, e := range es {
			out = append(out, e.ID)
		}
		return strings.Join(out, ",")
	}
	join := func(ids ...string) string { return strings.Join(ids, ",") }
	for _, tc := range []struct {
		why  string
		f    Filter
		want string
	}{
		{"everything, newest first", Filter{}, join(running, shop4, shop3, api2, shop1)},
		{"one plan", Filter{Plan: "shop"}, join(running, shop4, shop3, shop1)},
		{"one kind", Filter{Kind: "load"}, join(running, shop4, api2, shop1)},
		{"plan and kind", Filter{Plan: "shop", Kind: "test"}, shop3},
		{"limit", Filter{Limit: 2}, join(running, shop4)},
		{"before a time", Filter{Before: time.Date(2026, 1, 1, 0, 3, 0, 0, time.UTC)}, join(api2, shop1)},
		{"nothing matches", Filter{Plan: "nope"}, ""},
	} {
		if got := ids(s.List(ctx, tc.f)); got != tc.want {
			t.Errorf("%s: List(%+v) = %s, want %s", tc.why, tc.f, got, tc.want)
		}
	}

	if id, err := s.Latest(ctx, "shop"); err != nil || id != shop4 {
		t.Errorf("Latest(shop) = %s, %v; want the aborted %s (running skipped)", id, err, shop4)
	}
	if id, err := s.Latest(ctx, ""); err != nil || id != shop4 {
		t.Errorf("Latest() = %s, %v", id, err)
	}

	// Baselines.
	if _, err := s.Baseline(ctx, "shop"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Baseline before any: %v", err)
	}
	for _, tc := range []struct {
		why      string
		plan, id string
		want     error
	}{
		{"a complete run of the plan", "shop", shop1, nil},
		{"a run of another plan", "shop", api2, ErrPlanMismatch},
		{"an aborted run", "shop", shop4, ErrNotComplete},
		{"a running run", "shop", running, ErrNotComplete},
		{"no such run", "shop", "nope", ErrNotFound},
		{"replacing the baseline", "shop", shop3, nil},
		{"another plan's baseline", "api", api2, nil},
	} {
		if err := s.SetBaseline(ctx, tc.plan, tc.id); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: SetBaseline(%s, %s) = %v, want %v", tc.why, tc.plan, tc.id, err, tc.want)
		}
	}
	if id, err := s.Baseline(ctx, "shop"); err != nil || id != shop3 {
		t.Errorf("Baseline(shop) = %s, %v; want %s", id, err, shop3)
	}
	if got := ids(s.Baselines(ctx)); got != join(api2, shop3) {
		t.Errorf("Baselines = %s", got)
	}

	// Resolve.
	file := filepath.Join(t.TempDir(), "run.json")
	if err := result.WriteFile(file, &result.Run{Version: 1, ID: "from-file", Kind: "load"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		why, ref, want string
		err            error
	}{
		{"latest overall", "latest", shop4, nil},
		{"latest of a plan", "latest:api", api2, nil},
		{"baseline of the latest run's plan", "baseline", shop3, nil},
		{"baseline of a plan", "baseline:api", api2, nil},
		{"a run id", shop1, shop1, nil},
		{"a file", file, "from-file", nil},
		{"a plan without runs", "latest:nope", "", ErrNotFound},
		{"a plan without baseline", "baseline:nope", "", ErrNotFound},
		{"neither run nor file", "no-such-thing", "", ErrNotFound},
	} {
		r, err := s.Resolve(ctx, tc.ref)
		switch {
		case tc.err != nil && !errors.Is(err, tc.err):
			t.Errorf("%s: Resolve(%s) error %v, want %v", tc.why, tc.ref, err, tc.err)
		case tc.err == nil && err != nil:
			t.Errorf("%s: Resolve(%s): %v", tc.why, tc.ref, err)
		case tc.err == nil && r.ID != tc.want:
			t.Errorf("%s: Resolve(%s) = %s, want %s", tc.why, tc.ref, r.ID, tc.want)
		}
	}

	// Save keeps a fresh valid id, replaces a taken or invalid one.
	if id, err := s.Save(ctx, &result.Run{Version: 1, ID: "imported-1", Kind: "load"}); err != nil || id != "imported-1" {
		t.Errorf("Save with a free id = %s, %v", id, err)
	}
	if id, err := s.Save(ctx, &result.Run{Version: 1, ID: "imported-1", Kind: "load"}); err != nil || id == "imported-1" {
		t.Errorf("Save with a taken id = %s, %v; want a new id", id, err)
	}
	if id, err := s.Save(ctx, &result.Run{Version: 1, ID: "../../etc", Kind: "load"}); err != nil || id == "../../etc" {
		t.Errorf("Save with an invalid id = %s, %v; want a new id", id, err)
	}
}

func testRoundTrip(t *testing.T, b backend) {
	ctx := context.Background()
	s := openT(t, b.newDSN(t), Options{})
	loc := time.FixedZone("X", 5*3600+1800)
	r := &result.Run{Version: 1, Kind: "test", Plan: "ünïcode plan", StartedAt: time.Date(2026, 5, 6, 7, 8, 9, 123456789, loc),
		EndedAt: time.Date(2026, 5, 6, 8, 8, 9, 1, loc), Tags: map[string]string{"a": "1", "quote": `"'`},
		Summary: result.Summary{Requests: 1 << 40, RPS: 1234.5678901234567, ErrorRate: 1e-9,
			Latency: result.Latency{P50: 0.001, P99: 3.6e6}},
		Errors: []result.ErrorCount{{Kind: "http_5xx", Status: 503, Count: 2, Example: "bad\x00byte and \u2028 and <html>"}},
		Series: []result.Window{syntheticWindow(0)},
		Phases: []result.Phase{{Name: "load"}, {Name: "soak"}}, Verdict: "fail"}
	id, err := s.Save(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r.ID = id
	var want, have bytes.Buffer
	result.Encode(&want, r)
	result.Encode(&have, got)
	if want.String() != have.String() {
		t.Fatalf("round trip changed the document:\nwant %s\ngot  %s", want.String(), have.String())
	}
}

func testRecoverStale(t *testing.T, b backend) {
	ctx := context.Background()
	dsn := b.newDSN(t)
	t0 := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	clock := func(d time.Duration) func() time.Time { return func() time.Time { return t0.Add(d) } }
	w := openT(t, dsn, Options{Now: clock(0)})
	id, err := w.Begin(ctx, Meta{Plan: "remote", Kind: "load", StartedAt: t0, Steps: testSteps,
		WriterHost: "build-agent-7", WriterPID: 4242})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.AppendWindows(ctx, id, []result.Window{syntheticWindow(0), syntheticWindow(1)}); err != nil {
		t.Fatal(err)
	}
	// A minute later the heartbeat is fresh: leave it.
	if s := openT(t, dsn, Options{Now: clock(time.Minute)}); len(s.Recovered()) != 0 {
		t.Fatalf("recovered %v with a fresh heartbeat", s.Recovered())
	}
	// Past StaleAfter it is gone.
	s := openT(t, dsn, Options{Now: clock(DefaultStaleAfter + time.Minute)})
	if fmt.Sprint(s.Recovered()) != fmt.Sprint([]string{id}) {
		t.Fatalf("Recovered() = %v, want [%s]", s.Recovered(), id)
	}
	r, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Aborted || !strings.Contains(r.AbortReason, "build-agent-7") || r.Summary.Requests != 120 || len(r.Series) != 2 {
		t.Fatalf("recovered run: aborted %v (%s), requests %d, series %d", r.Aborted, r.AbortReason, r.Summary.Requests, len(r.Series))
	}
	e, _ := s.Entry(ctx, id)
	if e.State != StateRecovered || !e.Aborted || e.RPS != 60 {
		t.Errorf("recovered entry: %+v", e)
	}
	// Recovering again finds nothing.
	if ids, err := s.Recover(ctx); err != nil || len(ids) != 0 {
		t.Errorf("second Recover = %v, %v", ids, err)
	}
}

// testRecoverCorrupt: of two runs whose writers are gone, the first has
// an unreadable document and the second one unreadable window of three
// (JSON of another shape: PostgreSQL's json columns refuse torn text).
// Recovery names the first in its error and still recovers the second,
// from its two good windows, saying one was left out.
func testRecoverCorrupt(t *testing.T, b backend) {
	ctx := context.Background()
	dsn := b.newDSN(t)
	t0 := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	w := openT(t, dsn, Options{Now: func() time.Time { return t0 }})
	var ids []string
	for i, plan := range []string{"torn document", "torn window"} {
		id, err := w.Begin(ctx, Meta{Plan: plan, Kind: "load", StartedAt: t0.Add(time.Duration(i) * time.Second), Steps: testSteps,
			WriterHost: "build-agent-7", WriterPID: 4242})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AppendWindows(ctx, id, []result.Window{syntheticWindow(0), syntheticWindow(1), syntheticWindow(2)}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := w.db.exec(ctx, `UPDATE runs SET doc = $1 WHERE id = $2`, `[]`, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := w.db.exec(ctx, `UPDATE run_windows SET doc = $1 WHERE run_id = $2 AND seq = (SELECT MIN(seq) FROM run_windows WHERE run_id = $2)`, `[1]`, ids[1]); err != nil {
		t.Fatal(err)
	}
	s := openT(t, dsn, Options{Now: func() time.Time { return t0.Add(DefaultStaleAfter + time.Minute) }, NoRecover: true})
	got, err := s.Recover(ctx)
	if err == nil || !strings.Contains(err.Error(), ids[0]) {
		t.Errorf("Recover error %v, want one naming run %s", err, ids[0])
	}
	if fmt.Sprint(got) != fmt.Sprint(ids[1:]) {
		t.Fatalf("recovered %v, want %v: a run that cannot be read must not hold up the next", got, ids[1:])
	}
	r, err := s.Get(ctx, ids[1])
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Series) != 2 || r.Summary.Requests != 120 || !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, "1 stored windows could not be read") }) {
		t.Errorf("recovered run: %d windows, %d requests, warnings %q", len(r.Series), r.Summary.Requests, r.Warnings)
	}
}

func testLiveWriterKept(t *testing.T, b backend) {
	ctx := context.Background()
	dsn := b.newDSN(t)
	w := openT(t, dsn, Options{})
	id, err := w.Begin(ctx, Meta{Plan: "live", Kind: "load"})
	if err != nil {
		t.Fatal(err)
	}
	// Even with an old heartbeat, a writer on this host that still runs
	// (this very process) keeps its run.
	later := func() time.Time { return time.Now().Add(24 * time.Hour) }
	if s := openT(t, dsn, Options{Now: later}); len(s.Recovered()) != 0 {
		t.Fatalf("recovered the run of a live writer: %v", s.Recovered())
	}
	if e, _ := w.Entry(ctx, id); e.State != StateRunning {
		t.Fatalf("state %q, want running", e.State)
	}
}

func testRecoverKilled(t *testing.T, b backend) {
	ctx := context.Background()
	dsn := b.newDSN(t)
	openT(t, dsn, Options{}).Close() // migrate before the child starts
	const windows = 4
	cmd := startChild(t, dsn, "crash", windows)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not report its run: %v", err)
	}
	id := strings.TrimSpace(strings.TrimPrefix(line, "ready "))
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited cleanly; it should have been killed")
	}

	s := openT(t, dsn, Options{})
	if fmt.Sprint(s.Recovered()) != fmt.Sprint([]string{id}) {
		t.Fatalf("Recovered() = %v, want [%s]", s.Recovered(), id)
	}
	r, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	checkRebuilt(t, r, windows)
	if !r.Aborted || !strings.Contains(r.AbortReason, "pid") {
		t.Errorf("aborted %v, reason %q", r.Aborted, r.AbortReason)
	}
}

// checkRebuilt compares a run rebuilt from n synthetic windows with a slow
// reference: every raw sample, sorted.
func checkRebuilt(t *testing.T, r *result.Run, n int) {
	t.Helper()
	var all, home, item []int64
	var errs int64
	for i := 0; i < n; i++ {
		h, it := windowSamples(i)
		home, item = append(home, h...), append(item, it...)
		all = append(append(all, h...), it...)
		errs += int64(i % 2)
	}
	if len(r.Series) != n {
		t.Fatalf("series has %d windows, want %d", len(r.Series), n)
	}
	if r.Summary.Requests != int64(len(all)) || r.Summary.Errors != errs {
		t.Errorf("requests/errors = %d/%d, want %d/%d", r.Summary.Requests, r.Summary.Errors, len(all), errs)
	}
	if r.Summary.DurationS != float64(n) || r.Summary.RPS != float64(len(all))/float64(n) {
		t.Errorf("duration %v s, rps %v; want %d s, %v", r.Summary.DurationS, r.Summary.RPS, n, float64(len(all))/float64(n))
	}
	checkPercentiles(t, "overall", r.Summary.Latency, all)
	if len(r.Steps) != 2 || r.Steps[0].Step != "home" || r.Steps[1].Step != "item" {
		t.Fatalf("steps = %+v", r.Steps)
	}
	checkPercentiles(t, "home", r.Steps[0].Latency, home)
	checkPercentiles(t, "item", r.Steps[1].Latency, item)
	if r.Steps[1].Errors != errs || r.Steps[0].Requests != int64(len(home)) {
		t.Errorf("step counts: %+v", r.Steps)
	}
	if errs > 0 && (len(r.Errors) != 1 || r.Errors[0].Kind != "http_5xx" || r.Errors[0].Count != errs) {
		t.Errorf("errors by kind = %+v", r.Errors)
	}
	if h, err := metrics.Decode(r.Summary.Hist); err != nil || h.TotalCount() != int64(len(all)) {
		t.Errorf("summary histogram: %v", err)
	}
}

// checkPercentiles checks p50/p95/p99 (ms) against the percentiles of the
// sorted raw samples (µs), within HDR's 3 significant digits. The rank is
// the one HdrHistogram uses: p/100·n rounded half up, at least 1.
func checkPercentiles(t *testing.T, name string, got result.Latency, samples []int64) {
	t.Helper()
	s := append([]int64(nil), samples...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := func(p float64) float64 {
		k := int(p/100*float64(len(s))+0.5) - 1
		if k < 0 {
			k = 0
		}
		return float64(s[k]) / 1000
	}
	for _, c := range []struct {
		p   float64
		got float64
	}{{50, got.P50}, {95, got.P95}, {99, got.P99}} {
		want := rank(c.p)
		if d := (c.got - want) / want; d > 0.002 || d < -0.002 {
			t.Errorf("%s p%g = %v ms, reference %v ms", name, c.p, c.got, want)
		}
	}
}

func testConcurrentOpens(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), dsn)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("opener %d: %v", i, err)
		}
	}
	s := openT(t, dsn, Options{})
	var rows int
	if err := queryRow(context.Background(), s.db, `SELECT COUNT(*) FROM schema_version`, nil, &rows); err != nil || rows != 3 {
		t.Errorf("schema_version has %d rows (%v), want 3: a migration ran twice", rows, err)
	}
}

func testConcurrentGoroutines(t *testing.T, b backend) {
	ctx := context.Background()
	dsn := b.newDSN(t)
	const writers, runs = 2, 8
	stores := make([]*Store, writers)
	for i := range stores {
		stores[i] = openT(t, dsn, Options{})
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*runs)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < runs; i++ {
				if _, err := writeRun(ctx, stores[w], fmt.Sprintf("g%d", w), i, 3); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	checkStoreHolds(t, stores[0], map[string]int{"g0": runs, "g1": runs})
}

func testConcurrentProcesses(t *testing.T, b backend) {
	dsn := b.newDSN(t)
	s := openT(t, dsn, Options{})
	const runs = 6
	var cmds []*proc
	for i := 0; i < 2; i++ {
		cmd := startChild(t, dsn, "write", runs)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, &proc{cmd.Process.Pid, cmd.Wait})
	}
	// This process writes too, while the children do.
	for i := 0; i < runs; i++ {
		if _, err := writeRun(context.Background(), s, "parent", i, 3); err != nil {
			t.Error(err)
		}
	}
	want := map[string]int{"parent": runs}
	for _, c := range cmds {
		if err := c.wait(); err != nil {
			t.Fatalf("writer process %d: %v", c.pid, err)
		}
		want[fmt.Sprintf("proc-%d", c.pid)] = runs
	}
	checkStoreHolds(t, s, want)
}

type proc struct {
	pid  int
	wait func() error
}

// checkStoreHolds checks the finished runs per plan, that no window was
// left behind and, for SQLite, the file's integrity.
func checkStoreHolds(t *testing.T, s *Store, want map[string]int) {
	t.Helper()
	ctx := context.Background()
	es, err := s.List(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range es {
		if e.State != StateFinished {
			t.Errorf("run %s left %s", e.ID, e.State)
		}
		got[e.Plan]++
		r, err := s.Get(ctx, e.ID)
		if err != nil || len(r.Series) != 3 {
			t.Errorf("run %s: %v, %d windows", e.ID, err, len(r.Series))
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("runs per plan = %v, want %v", got, want)
	}
	var left int
	if err := queryRow(ctx, s.db, `SELECT COUNT(*) FROM run_windows`, nil, &left); err != nil || left != 0 {
		t.Errorf("%d windows left behind (%v)", left, err)
	}
	if s.Dialect() == SQLite {
		var ok string
		if err := queryRow(ctx, s.db, `PRAGMA integrity_check`, nil, &ok); err != nil || ok != "ok" {
			t.Errorf("integrity_check = %q, %v", ok, err)
		}
	}
}
