package cli

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/chromium"
)

// `stampede monitor` end to end: a check against a loopback server,
// recorded in the history, its state on /metrics, and an interrupt ends
// it with exit 0.
func TestMonitorCommand(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "plan.yaml")
	os.WriteFile(file, []byte(`name: watched
target: { base_url: "`+srv.URL+`" }
scenarios:
  - name: s
    steps: [{ name: home, method: GET, path: / }]
monitor: { every: 1s, duration: 1s }
`), 0o644)
	hist := filepath.Join(dir, "history.db")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stdout, stderr := newWatchedWriter(`^$x`), newWatchedWriter(`metrics at (http://\S+)`)
	checked := newWatchedWriter(`check (\S+): ok`)
	both := io.MultiWriter(stderr, checked)
	e := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: both, getenv: os.Getenv, now: time.Now}
	done := make(chan int, 1)
	go func() { done <- run(ctx, e, []string{"monitor", file, "--store", hist, "--metrics", "127.0.0.1:0"}) }()
	url := stderr.await(t, done, stderr)
	id := checked.await(t, done, stderr)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `stampede_monitor_healthy{plan="watched"} 1`) {
		t.Errorf("/metrics:\n%s", body)
	}

	// The status page, in a real Chromium.
	b := chromium.Start(t, "the monitor's page was not checked in a browser")
	page := b.Open(t, strings.TrimSuffix(url, "metrics"))
	if err := page.WaitFor("window.stampedeMonitor && window.stampedeMonitor.loads() >= 1 && window.stampedeMonitor.points() >= 1"); err != nil {
		t.Fatal(err)
	}
	var status string
	if err := page.Eval(`document.getElementById("status").textContent`, &status); err != nil || status != "healthy" {
		t.Errorf("status %q (%v), want healthy", status, err)
	}
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		if err := page.Key("Tab"); err != nil {
			t.Fatal(err)
		}
		var el string
		page.Eval(`document.activeElement.id || document.activeElement.textContent`, &el)
		seen[el] = true
	}
	if !seen["refresh"] || !seen["metrics"] {
		t.Errorf("Tab reached %v, want the metrics link and the refresh button", seen)
	}
	if errs := page.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
	}
	page.Screenshot(t, "monitor")

	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("exit %d after an interrupt\n%s", code, stderr)
	}
	r := runCLI(t, context.Background(), "history", "--store", hist)
	if !strings.Contains(r.stdout, id) {
		t.Errorf("the check %s is not in the history:\n%s%s", id, r.stdout, r.stderr)
	}
}

// A wrong monitor: block is one line per problem, naming file, line and
// field, and nothing runs.
func TestMonitorBadPlan(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plan.yaml")
	os.WriteFile(file, []byte(`name: watched
target: { base_url: "http://127.0.0.1:1" }
scenarios:
  - name: s
    steps: [{ name: home, method: GET, path: / }]
monitor:
  every: 10s
  duration: 1m
  vus: 5000
  alerts:
    - webhook: ftp://x
`), 0o644)
	r := runCLI(t, context.Background(), "monitor", file, "--store", filepath.Join(dir, "h.db"))
	if r.code != ExitInvalid {
		t.Fatalf("exit %d, want 2\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"plan.yaml:8:", "monitor.duration", "plan.yaml:9:", "monitor.vus", "monitor.alerts[0].webhook"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}
