package reliability

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/store"
)

// arrivals is a loopback target that notes when it answered each request.
type arrivals struct {
	mu    sync.Mutex // guards times
	times []time.Time
	srv   *httptest.Server
}

func newArrivals(t *testing.T) *arrivals {
	a := &arrivals{}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
		now := time.Now()
		a.mu.Lock()
		a.times = append(a.times, now)
		a.mu.Unlock()
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// since counts the requests answered since from, and the first of them.
func (a *arrivals) since(from time.Time) (n int, first time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, at := range a.times {
		if !at.Before(from) {
			if n == 0 {
				first = at
			}
			n++
		}
	}
	return n, first
}

// answered counts the requests answered in [from, to].
func (a *arrivals) answered(from, to time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, at := range a.times {
		if !at.Before(from) && !at.After(to) {
			n++
		}
	}
	return n
}

// child starts the built stampede in dir, its history only where --store says.
func child(t *testing.T, dir string, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	return childOut(t, dir, nil, args...)
}

// childOut is child with its standard output into stdout.
func childOut(t *testing.T, dir string, stdout *strings.Builder, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STAMPEDE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr syncBuilder
	cmd.Stderr = &stderr
	// A child never outlives the test: killed with it, and at its end.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	go watchMemory(t, cmd.Process.Pid, &stderr)
	return cmd, &stderr.Builder
}

// maxChildRSS is the most resident memory a stampede child of these tests
// may take: their loads are tiny, so more is a runaway.
const maxChildRSS = 1 << 30

// watchMemory samples a child's resident memory until it exits; over
// maxChildRSS it asks the child for its goroutines (SIGQUIT, written to
// its standard error) and fails the test with them.
func watchMemory(t *testing.T, pid int, stderr *syncBuilder) {
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil || strings.Contains(string(b), "State:\tZ") {
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				var kb int64
				fmt.Sscan(rest, &kb)
				if kb*1024 > maxChildRSS {
					syscall.Kill(pid, syscall.SIGQUIT)
					time.Sleep(2 * time.Second) // the dump is written as the child dies
					t.Errorf("child %d took %d MB of memory; its goroutines:\n%s", pid, kb/1024, stderr.String())
					return
				}
			}
		}
		time.Sleep(200 * time.Millisecond) // sampling /proc: nothing to wait on
	}
}

// syncBuilder is a strings.Builder safe for the child's writes and the
// watchdog's read.
type syncBuilder struct {
	mu sync.Mutex
	strings.Builder
}

func (b *syncBuilder) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Builder.Write(p)
}

func (b *syncBuilder) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Builder.String()
}

// waitFirst waits for the first request the target answered since from.
func waitFirst(t *testing.T, a *arrivals, from time.Time, cmd *exec.Cmd, stderr *strings.Builder) time.Time {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if n, first := a.since(from); n > 0 {
			return first
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("stampede never loaded the target\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sigkill(t *testing.T, cmd *exec.Cmd) time.Time {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL: %v (stampede ended before its kill)", err)
	}
	killed := time.Now()
	cmd.Wait()
	return killed
}

// history runs `stampede history`, which recovers the runs of dead
// writers, and checks that it says nothing of a locked database.
func history(t *testing.T, dir, db string) string {
	t.Helper()
	cmd := exec.Command(binary(t), "history", "--store", db)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("stampede history after the kill: %v\n%s", err, out)
	}
	if strings.Contains(strings.ToLower(string(out)), "locked") {
		t.Errorf("stampede history: %s", out)
	}
	return string(out)
}

// entries lists the history's runs by state.
func entries(t *testing.T, db string) (all []store.Entry, byState map[string][]store.Entry) {
	t.Helper()
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all, err = s.List(context.Background(), store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	byState = map[string][]store.Entry{}
	for _, e := range all {
		byState[e.State] = append(byState[e.State], e)
	}
	return all, byState
}

// killRng is the seeded source of kill moments; the seed is logged so a
// failure can be replayed with STAMPEDE_KILL_SEED.
func killRng(t *testing.T) *rand.Rand {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("STAMPEDE_KILL_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("kill moments from seed %d (STAMPEDE_KILL_SEED replays them)", seed)
	return rand.New(rand.NewPCG(seed, 1))
}

func between(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// killAndRecover kills a loading stampede delay after its first request,
// recovers its run with `stampede history` and checks that every request
// the target answered 2.5 s or more before the kill is in a window of the
// recovered run (such a window had closed 1.5 s before the kill), and that
// no request is counted twice. It returns the windows recovered.
func killAndRecover(t *testing.T, a *arrivals, dir, db string, delay time.Duration, args ...string) int {
	t.Helper()
	_, before := entries(t, db)
	from := time.Now()
	cmd, stderr := child(t, dir, args...)
	first := waitFirst(t, a, from, cmd, stderr)
	time.Sleep(time.Until(first.Add(delay))) // the kill's moment, not a synchronisation
	killed := sigkill(t, cmd)
	history(t, dir, db)
	_, after := entries(t, db)
	if n := len(after[store.StateRunning]); n != 0 {
		t.Fatalf("after stampede history, %d run(s) still running: %+v", n, after[store.StateRunning])
	}
	if len(after[store.StateRecovered]) != len(before[store.StateRecovered])+1 {
		t.Fatalf("recovered runs: %d before the kill, %d after; want one more\n%s", len(before[store.StateRecovered]), len(after[store.StateRecovered]), stderr)
	}
	e := after[store.StateRecovered][0] // newest first
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run, err := s.Get(context.Background(), e.ID)
	if err != nil {
		t.Fatal(err)
	}
	var inWindows int64
	for _, w := range run.Series {
		inWindows += w.Requests
	}
	closed := a.answered(from, killed.Add(-2500*time.Millisecond))
	total := a.answered(from, killed)
	t.Logf("killed %v after the first request: %d windows recovered holding %d requests; the target answered %d before the kill, %d of them 2.5 s before it",
		delay.Round(time.Millisecond), len(run.Series), inWindows, total, closed)
	if !run.Aborted {
		t.Errorf("the recovered run %s is not marked aborted", e.ID)
	}
	if inWindows < int64(closed) || inWindows > int64(total) {
		t.Errorf("the recovered windows hold %d requests, want at least the %d answered 2.5 s before the kill and at most the %d answered in all", inWindows, closed, total)
	}
	return len(run.Series)
}

// SIGKILL of `stampede run` at seeded moments: each time, every window
// closed 1.5 s before the kill is recovered, and the next run on the same
// history works.
func TestKilledRunsAreRecovered(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child stampedes after seconds of load")
	}
	t.Parallel()
	a := newArrivals(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "history.db")
	plan := writeFile(t, filepath.Join(dir, "plan.yaml"), fmt.Sprintf(`name: killed-run
target: { base_url: %s }
scenarios:
  - { name: s, steps: [{ path: / }] }
load: { rate: 50, duration: 1m }
`, a.srv.URL))
	rng := killRng(t)
	for i := range 3 {
		delay := between(rng, 2500*time.Millisecond, 5*time.Second)
		n := killAndRecover(t, a, dir, db, delay, "run", plan, "--store", db, "-q")
		// One phase, windows from the run's start: those ended 1.5 s
		// before the kill are there, in order.
		if want := int(delay.Seconds() - 1.5); n < want {
			t.Errorf("kill %d: %d windows recovered, want at least %d", i, n, want)
		}
	}
}

// SIGKILL of `stampede test --profile quick --only soak` in its soak.
func TestKilledTestsAreRecovered(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child stampedes after seconds of load")
	}
	t.Parallel()
	a := newArrivals(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "history.db")
	plan := writeFile(t, filepath.Join(dir, "plan.yaml"), fmt.Sprintf(`name: killed-test
target: { base_url: %s }
scenarios:
  - { name: s, think: 50ms, steps: [{ path: / }] }
load: { vus: 2, duration: 5s }
`, a.srv.URL))
	rng := killRng(t)
	for range 2 {
		delay := between(rng, 3*time.Second, 8*time.Second)
		killAndRecover(t, a, dir, db, delay, "test", plan, "--profile", "quick", "--only", "soak", "--store", db, "-q")
	}
}

// SIGKILL of `stampede bench`, which records its results only at the end:
// the history stays readable with nothing half-written in it, its output
// is whole or absent, and the next bench on the same history is recorded.
func TestKilledBenchLeavesHistoryWhole(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child stampedes")
	}
	t.Parallel()
	dir := t.TempDir()
	db := filepath.Join(dir, "history.db")
	out := filepath.Join(dir, "bench.json")
	rng := killRng(t)
	for i := range 2 {
		delay := between(rng, 300*time.Millisecond, 2500*time.Millisecond)
		cmd, stderr := child(t, dir, "bench", "--store", db, "--runs", "500", "--out", "json="+out, "--", "sleep 0.01")
		time.Sleep(delay) // the kill's moment
		sigkill(t, cmd)
		t.Logf("kill %d: bench killed after %v", i, delay.Round(time.Millisecond))
		if _, err := os.Stat(out); err == nil {
			readRun(t, out) // whole if there at all
		}
		if _, err := os.Stat(db); err != nil {
			continue // killed before it recorded anything: no history yet
		}
		history(t, dir, db)
		all, byState := entries(t, db)
		if len(all) != len(byState[store.StateFinished]) {
			t.Errorf("kill %d: the history holds unfinished runs: %+v\n%s", i, all, stderr)
		}
	}
	res := stampedeIn(t, dir, "bench", "--store", db, "--runs", "3", "--out", "json="+out, "--", "true")
	if res.code != 0 {
		t.Fatalf("a bench after the kills: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	readRun(t, out)
	if all, _ := entries(t, db); len(all) != 1 {
		t.Errorf("after the kills and one whole bench, the history holds %d runs, want that bench", len(all))
	}
}
