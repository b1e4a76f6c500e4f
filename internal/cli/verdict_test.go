package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stampede-perf/stampede/analyze"
	"github.com/stampede-perf/stampede/result"
)

// TestSaturatedGeneratorIsInconclusive: a run whose generator could not
// keep its schedule does not pass, whatever its thresholds say. The
// generator is starved for real: one processor, shared with goroutines
// that never stop computing, so the Go scheduler hands a waiting VU its
// turn tens of milliseconds late — on any machine, the slower the more.
func TestSaturatedGeneratorIsInconclusive(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 2 s of load on a starved processor")
	}
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x := 0
			for ctx.Err() == nil {
				for i := range 1 << 16 {
					x += i
				}
			}
			_ = x
		}()
	}
	out := filepath.Join(t.TempDir(), "run.json")
	junit := filepath.Join(t.TempDir(), "junit.xml")
	res := runCLI(t, context.Background(), "run", "--url", srv.URL, "--rate", "200", "--duration", "2s",
		"--threshold", "p99 < 1h", "--out", "json="+out, "--report", "junit="+junit, "-q", "--no-store")
	cancel()
	wg.Wait()

	r, _ := readRun(t, out)
	if !r.Generator.Saturated {
		t.Fatalf("the generator kept up on a starved processor (%+v): the test's premise failed", r.Generator)
	}
	if res.code != ExitFailed {
		t.Errorf("exit %d, want %d (the gate could not be judged)\n%s%s", res.code, ExitFailed, res.stdout, res.stderr)
	}
	if r.Verdict != analyze.VerdictInconclusive || !strings.Contains(r.VerdictReason, "saturated") || !strings.Contains(r.VerdictReason, "--segment") {
		t.Errorf("verdict %q: %q", r.Verdict, r.VerdictReason)
	}
	if !strings.Contains(res.stdout, "verdict: INCONCLUSIVE\n  the load generator was saturated") || strings.Contains(res.stdout, "verdict: PASS") {
		t.Errorf("the summary does not give the verdict and its reason:\n%s", res.stdout)
	}
	if !strings.Contains(res.stderr, "inconclusive: the load generator was saturated") {
		t.Errorf("stderr does not say why the gate failed: %s", res.stderr)
	}
	// The JUnit report is red as the exit code is.
	if b, err := os.ReadFile(junit); err != nil || !strings.Contains(string(b), `type="inconclusive"`) || strings.Contains(string(b), `<testsuites name="stampede" tests="2" failures="0"`) {
		t.Errorf("the JUnit report does not fail the inconclusive run (%v):\n%s", err, b)
	}
	// The threshold held, the finding and the verdict agree.
	if len(r.Thresholds) != 1 || !r.Thresholds[0].Pass || len(r.Findings) == 0 || r.Findings[0].Kind != result.KindGeneratorSaturated {
		t.Errorf("thresholds %+v, findings %d", r.Thresholds, len(r.Findings))
	}
}

// passedOrInconclusive: the run passed, or a busy host kept its generator
// from the schedule and it was inconclusive (exit 1, its numbers still
// written). Tests of what a run measures accept both.
func passedOrInconclusive(res cliResult) bool {
	return res.code == 0 || res.code == ExitFailed && strings.Contains(res.stderr, "inconclusive:")
}
