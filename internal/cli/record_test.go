package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/store"
)

// A stampede killed with SIGKILL mid-run loses only the windows that had
// not closed yet: every window that ended more than 1.5 s before the kill
// is in the history, and the next stampede that opens it recovers them.
func TestKilledRunKeepsItsClosedWindows(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child stampede for several seconds")
	}
	var (
		mu    sync.Mutex
		first time.Time // the first request: the load started at or before it
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if first.IsZero() {
			first = time.Now()
		}
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	planFile := filepath.Join(dir, "plan.yaml")
	db := filepath.Join(dir, "history.db")
	os.WriteFile(planFile, []byte(fmt.Sprintf(`name: killed
target: { base_url: %s }
scenarios:
  - { name: s, steps: [{ path: / }] }
load: { rate: 50, duration: 1m }
`, srv.URL)), 0o644)
	cmd := exec.Command(os.Args[0], "run", planFile, "--store", db, "-q")
	cmd.Env = append(os.Environ(), "STAMPEDE_TEST_MAIN=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		f := first
		mu.Unlock()
		if !f.IsZero() && time.Since(f) > 5200*time.Millisecond {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("the child never loaded the server")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	cmd.Wait()
	mu.Lock()
	older := int(killed.Sub(first).Seconds() - 1.5) // windows [i, i+1) that ended by killed-1.5s
	mu.Unlock()

	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := s.Recovered()
	if len(ids) != 1 {
		t.Fatalf("recovered %v, want the killed run", ids)
	}
	run, err := s.Resolve(context.Background(), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if !run.Aborted || len(run.Series) < older {
		t.Fatalf("recovered %d windows (aborted %v), want at least the %d that closed more than 1.5 s before the kill", len(run.Series), run.Aborted, older)
	}
	for i := 0; i < older; i++ {
		if run.Series[i].TS != float64(i) || run.Series[i].Requests == 0 {
			t.Errorf("window %d: %+v", i, run.Series[i])
		}
	}
}
