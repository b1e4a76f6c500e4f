package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
)

// protocolServer serves one request at a time, each taking hold.
func protocolServer(t *testing.T, hold time.Duration) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		time.Sleep(hold)
		mu.Unlock()
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func protocolPhases(r *result.Run) []string {
	var out []string
	for _, ph := range r.Phases {
		out = append(out, ph.Name)
	}
	return out
}

func TestTestCommandAdHoc(t *testing.T) {
	t.Parallel()
	srv := protocolServer(t, time.Millisecond)
	dir := t.TempDir()
	js, rep := filepath.Join(dir, "test.json"), filepath.Join(dir, "report.json")
	res := runCLI(t, context.Background(), "test", "--url", srv.URL+"/api/items", "--only", "baseline", "--profile", "quick",
		"--time-scale", "0.1", "--no-store", "--out", "json="+js, "--report", "json="+rep)
	if res.code != ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	run, raw := readRun(t, js)
	if run.Kind != "test" || !slices.Equal(protocolPhases(run), []string{"baseline-1", "baseline-10", "baseline-50"}) || run.Verdict != "pass" {
		t.Errorf("kind %q phases %v verdict %q", run.Kind, protocolPhases(run), run.Verdict)
	}
	for _, key := range []string{"phases", "series", "summary"} {
		if _, ok := raw[key]; !ok {
			t.Errorf("JSON lacks %q", key)
		}
	}
	if _, err := os.Stat(rep); err != nil {
		t.Errorf("--report was not written: %v", err)
	}
	for _, want := range []string{"phases", "✓ baseline-50", "protocol: all 3 phases passed", "verdict: PASS"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, res.stdout)
		}
	}
	// Not a terminal: one progress line per phase, with what is next.
	if !strings.Contains(res.stderr, "phase 2/3: baseline-10 · next baseline-50") {
		t.Errorf("progress lines:\n%s", res.stderr)
	}
}

func TestTestCommandExitCodes(t *testing.T) {
	t.Parallel()
	srv := protocolServer(t, 3*time.Millisecond)
	dir := t.TempDir()
	strict := filepath.Join(dir, "strict.yaml")
	os.WriteFile(strict, []byte(`name: strict
target: {base_url: "`+srv.URL+`"}
scenarios:
  - name: s
    steps: [{path: /}]
load: {vus: 1, duration: 1s}
thresholds: ["p99 < 1ms"]
tests:
  profile: quick
`), 0o644)
	badTests := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badTests, []byte(`name: bad
target: {base_url: "`+srv.URL+`"}
scenarios:
  - name: s
    steps: [{path: /}]
load: {vus: 1, duration: 1s}
tests:
  baseline: {levels: [0]}
  stress: {variant: rate, max: 5, start: 10}
`), 0o644)
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"an SLO fails in a phase", []string{"test", strict, "--only", "baseline", "--time-scale", "0.1", "--no-store"}, ExitFailed, "phase(s) failed: baseline-1, baseline-10, baseline-50"},
		{"load-shaping flags belong to run", []string{"test", "--url", srv.URL, "--vus", "5"}, ExitInvalid, "--vus shapes one load"},
		{"unknown phase", []string{"test", "--url", srv.URL, "--only", "baseline,nope", "--no-store"}, ExitInvalid, "unknown phase nope"},
		{"nothing to test", []string{"test"}, ExitInvalid, "nothing to run"},
		{"every problem of the tests block, with positions", []string{"test", badTests, "--no-store"}, ExitInvalid, "bad.yaml:8:23: tests.baseline.levels[0]: must be ≥ 1 user"},
		{"unknown profile", []string{"test", "--url", srv.URL, "--profile", "thorough", "--no-store"}, ExitInvalid, `unknown profile "thorough"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := runCLI(t, context.Background(), c.args...)
			if res.code != c.code || !strings.Contains(res.stderr, c.stderr) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", res.code, c.code, c.stderr, res.stderr)
			}
		})
	}
	res := runCLI(t, context.Background(), "test", badTests, "--no-store")
	if !strings.Contains(res.stderr, "tests.stress.max") {
		t.Errorf("not every problem reported:\n%s", res.stderr)
	}
}

func TestTestCommandInterrupted(t *testing.T) {
	srv := protocolServer(t, time.Millisecond)
	js := filepath.Join(t.TempDir(), "partial.json")
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond) // Ctrl+C during the second phase
	defer cancel()
	res := runCLI(t, ctx, "test", "--url", srv.URL, "--only", "warmup,baseline", "--profile", "quick", "--time-scale", "0.2",
		"--no-store", "--out", "json="+js)
	if res.code != ExitInterrupted {
		t.Fatalf("exit %d, want 130\n%s", res.code, res.stderr)
	}
	run, _ := readRun(t, js)
	if !run.Aborted || run.Verdict != "fail" || len(run.Phases) != 4 || !run.Phases[3].Skipped {
		t.Errorf("partial run: aborted %v verdict %q phases %v", run.Aborted, run.Verdict, protocolPhases(run))
	}
	if !strings.Contains(res.stdout, "protocol: stopped") {
		t.Errorf("summary of a stopped protocol:\n%s", res.stdout)
	}
}

func TestDemoRunsTheQuickProtocol(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs the whole protocol against the demo shop (about 30 s)")
	}
	dir := t.TempDir()
	js, html := filepath.Join(dir, "demo.json"), filepath.Join(dir, "demo.html")
	hist := filepath.Join(dir, "history.db")
	res := runCLI(t, context.Background(), "demo", "--time-scale", "0.03", "--store", hist, "--out", "json="+js, "--report", "html="+html)
	if res.code != ExitOK && res.code != ExitFailed {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", res.code, res.stdout, res.stderr)
	}
	run, _ := readRun(t, js)
	want := []string{"warmup", "baseline-1", "baseline-10", "baseline-50", "normal", "peak", "spike", "volume", "stress", "recovery", "soak"}
	if !slices.Equal(protocolPhases(run), want) || run.Stress == nil || run.Soak == nil || run.System == nil {
		t.Errorf("phases %v; stress %v soak %v watched %v", protocolPhases(run), run.Stress != nil, run.Soak != nil, run.System != nil)
	}
	for _, s := range []string{"phases", "stress (rate)", "soak:", "protocol:", "verdict:"} {
		if !strings.Contains(res.stdout, s) {
			t.Errorf("summary lacks %q:\n%s", s, res.stdout)
		}
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), "<html") {
		t.Errorf("the HTML report was not written: %v", err)
	}
	if !strings.Contains(res.stderr, "baseline of plan") {
		t.Errorf("the baseline phase was not recorded as the plan's baseline:\n%s", res.stderr)
	}
	res = runCLI(t, context.Background(), "baseline", "show", "--store", hist)
	if res.code != ExitOK || !strings.Contains(res.stdout, "Demo shop") {
		t.Errorf("baseline show: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
}

func TestDemoSingleLoadStillWorks(t *testing.T) {
	res := runCLI(t, context.Background(), "demo", "--duration", "1s", "--only", "stress")
	if res.code != ExitInvalid || !strings.Contains(res.stderr, "use one or the other") {
		t.Errorf("exit %d\n%s", res.code, res.stderr)
	}
}

func TestTestProgressOnATerminal(t *testing.T) {
	var errb strings.Builder
	p := &testProgress{e: &env{stderr: &errb, interactive: true}, on: true}
	p.update(suite.Progress{Phase: "stress", Index: 9, Total: 11, Next: "recovery", Detail: "step 3: 240 rps",
		Elapsed: 95 * time.Second, ETA: 7*time.Minute + 30*time.Second,
		Window: &result.Window{VUs: 40, RPS: 238, P95: 3.14, Requests: 238, Errors: 1}})
	p.done()
	got := errb.String()
	for _, want := range []string{"\r\033[K[9/11] stress · next recovery · 1m35s elapsed · ETA ≈ 7m30s · step 3: 240 rps · vus 40 rps 238 p95 3.1ms err 0.42%", "\r\033[K"} {
		if !strings.Contains(got, want) {
			t.Errorf("progress %q lacks %q", got, want)
		}
	}
	if !strings.HasSuffix(got, "\r\033[K") {
		t.Error("the live line is not cleared at the end")
	}
}
