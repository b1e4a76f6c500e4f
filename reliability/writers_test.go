package reliability

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/pgtest"
	"github.com/stampede-perf/stampede/store"
)

// concurrentRuns runs n `stampede run` processes at once, all recording
// into dsn, while readers list the history, and checks that every run is
// complete and readable and that no one was told the database was locked.
func concurrentRuns(t *testing.T, dsn string, n int) {
	const iterations = 40
	a := newArrivals(t)
	dir := t.TempDir()
	name := fmt.Sprintf("writers-%d", n)
	plan := writeFile(t, filepath.Join(dir, "plan.yaml"), fmt.Sprintf(`name: %s
target: { base_url: %s }
scenarios:
  - { name: s, steps: [{ path: / }] }
load: { rate: 20, iterations: %d }
`, name, a.srv.URL, iterations))

	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd, stderr := child(t, dir, "run", plan, "--store", dsn, "--out", fmt.Sprintf("json=%s/run-%d.json", dir, i))
			err := cmd.Wait()
			out := stderr.String()
			if err != nil {
				t.Errorf("writer %d: %v\n%s", i, err, out)
			}
			if bad := lockedMessage(out); bad != "" {
				t.Errorf("writer %d told its user: %s", i, bad)
			}
		}()
	}
	// Readers of the same history while the writers write.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res := stampedeIn(t, dir, "history", "--store", dsn)
				if bad := lockedMessage(res.stderr); bad != "" {
					t.Errorf("reader %d told its user: %s", r, bad)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()

	for i := range n {
		r := readRun(t, fmt.Sprintf("%s/run-%d.json", dir, i))
		ids[i] = r.ID
	}
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.List(context.Background(), store.Filter{Plan: name})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != n {
		t.Fatalf("the history holds %d runs of %s, want the %d written at once", len(list), name, n)
	}
	seen := map[string]bool{}
	for _, e := range list {
		if e.State != store.StateFinished || e.Aborted {
			t.Errorf("run %s: state %s, aborted %v", e.ID, e.State, e.Aborted)
		}
		seen[e.ID] = true
		run, err := s.Get(context.Background(), e.ID)
		if err != nil {
			t.Errorf("run %s: %v", e.ID, err)
			continue
		}
		var inWindows int64
		for _, w := range run.Series {
			inWindows += w.Requests
		}
		if run.Summary.Requests != iterations || inWindows != iterations {
			t.Errorf("run %s: %d requests, %d in its windows; want %d", e.ID, run.Summary.Requests, inWindows, iterations)
		}
	}
	for i, id := range ids {
		if !seen[id] {
			t.Errorf("writer %d's run %s is not in the history", i, id)
		}
	}
	if got, _ := a.since(time.Time{}); got != n*iterations {
		t.Errorf("the target answered %d requests, want %d", got, n*iterations)
	}
}

func lockedMessage(out string) string {
	for _, line := range strings.Split(out, "\n") {
		l := strings.ToLower(line)
		if strings.Contains(l, "locked") || strings.Contains(l, "sqlite_busy") || strings.Contains(l, "not recorded") {
			return line
		}
	}
	return ""
}

// Two and eight stampede processes record runs into one SQLite history.
func TestConcurrentWritersSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts stampede processes")
	}
	for _, n := range []int{2, 8} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			concurrentRuns(t, filepath.Join(t.TempDir(), ".stampede", "history.db"), n)
		})
	}
}

// Two and eight stampede processes record runs into one PostgreSQL history.
func TestConcurrentWritersPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts stampede processes")
	}
	srv := pgtest.Start(t) // fails rather than skips with STAMPEDE_REQUIRE_POSTGRES=1
	for _, n := range []int{2, 8} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			concurrentRuns(t, srv.NewDatabase(t), n)
		})
	}
}
