package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
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

// `run --compare FILE --fail-on-regression` compares the run with a Run
// document before concluding it: the regression is one of the run's
// findings, and fails the gate. The base is a document made here whose
// windows answered in a microsecond; the target takes 20 ms an answer.
func TestRunComparesBeforeConcluding(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("loads a server for 8 s")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond) // the target's slowness, not synchronization
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	base := &result.Run{Version: result.Version, Kind: "load", Model: "open", Verdict: result.VerdictPass,
		Summary: result.Summary{Requests: 160, RPS: 20, TargetRPS: 20, DurationS: 8, Iterations: 160, Latency: result.Latency{Min: 0.001, Mean: 0.001, P50: 0.001, P90: 0.001, P95: 0.001, P99: 0.002, Max: 0.002}}}
	for i := range 8 {
		base.Series = append(base.Series, result.Window{TS: float64(i), Requests: 20, RPS: 20, VUs: 1,
			P50: 0.001 + float64(i)/1e4, P95: 0.0015 + float64(i)/1e4, P99: 0.002 + float64(i)/1e4, Max: 0.002})
	}
	baseFile, newFile := filepath.Join(dir, "base.json"), filepath.Join(dir, "new.json")
	if err := result.WriteFile(baseFile, base); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, context.Background(), "run", "--url", srv.URL, "--rate", "20", "--duration", "8s", "--no-store",
		"--compare", baseFile, "--fail-on-regression", "5%", "--out", "json="+newFile, "-q")
	run, _ := readRun(t, newFile)
	// A host too busy to keep the schedule makes the run inconclusive,
	// which exits 1 first; the comparison and findings are the same.
	gated := strings.Contains(res.stderr, "regression against") || run.Verdict == result.VerdictInconclusive
	if res.code != ExitFailed || !gated {
		t.Fatalf("exit %d, want %d for the regression\n%s%s", res.code, ExitFailed, res.stdout, res.stderr)
	}
	if run.Comparison == nil || !run.Comparison.Regression {
		t.Fatalf("comparison %+v", run.Comparison)
	}
	if !slices.ContainsFunc(run.Findings, func(f result.Finding) bool { return f.Kind == result.KindRegression }) {
		t.Errorf("the regression is not among the findings %v: the run was concluded before it was compared", run.Findings)
	}
	if slices.ContainsFunc(run.NotEvaluated, func(n result.NotEvaluated) bool { return n.Rule == result.KindRegression }) {
		t.Error("the regression rule says the run was not compared")
	}
}
