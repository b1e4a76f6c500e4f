package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/chromium"
	"github.com/stampede-perf/stampede/result"
)

// watchedWriter is a goroutine-safe stderr that tells, once, the first
// match of a pattern.
type watchedWriter struct {
	mu    sync.Mutex // guards buf and sent
	buf   bytes.Buffer
	re    *regexp.Regexp
	found chan string
	sent  bool
}

func newWatchedWriter(pattern string) *watchedWriter {
	return &watchedWriter{re: regexp.MustCompile(pattern), found: make(chan string, 1)}
}

func (w *watchedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		if m := w.re.FindStringSubmatch(w.buf.String()); m != nil {
			w.found <- m[1]
			w.sent = true
		}
	}
	return len(p), nil
}

// await waits for the pattern's first match; the command ending first
// fails the test, showing log.
func (w *watchedWriter) await(t *testing.T, done <-chan int, log fmt.Stringer) string {
	t.Helper()
	select {
	case m := <-w.found:
		return m
	case code := <-done:
		t.Fatalf("the command ended (exit %d) before printing %s:\n%s", code, w.re, log)
	}
	return ""
}

func (w *watchedWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startCLI runs the command line on its own goroutine with stderr given,
// its history in the test's directory; the exit code comes on the
// channel.
func startCLI(t *testing.T, ctx context.Context, stdout, stderr *watchedWriter, args ...string) <-chan int {
	t.Helper()
	store := filepath.Join(t.TempDir(), "history.db")
	getenv := func(k string) string {
		if k == "STAMPEDE_STORE" {
			return store
		}
		return os.Getenv(k)
	}
	e := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stderr, getenv: getenv, now: time.Now,
		self: func() (string, []string, error) { return os.Args[0], []string{"STAMPEDE_TEST_MAIN=1"}, nil }}
	done := make(chan int, 1)
	go func() { done <- run(ctx, e, args) }()
	return done
}

type dashPoints struct {
	Throughput, Latency, VUs, System int
}

type dashFinal struct {
	ID       string  `json:"id"`
	Verdict  string  `json:"verdict"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	P95      float64 `json:"p95"`
	Findings []struct {
		Title string `json:"title"`
	} `json:"findings"`
	Report int `json:"report"` // its length
}

// The dashboard of a running test in a real Chromium: it loads without
// console errors, its charts get points while the load runs against a
// real loopback server, its final state is the Run's, and its tabs work
// from the keyboard.
func TestDashboardInChromium(t *testing.T) {
	t.Parallel()
	b := chromium.Start(t, "the dashboard was not checked in a browser")
	// The target answers only once the page is connected (the requests
	// wait, under a long --timeout), so the run cannot end before the
	// browser watches it, however slow the machine.
	connected := make(chan struct{})
	var once sync.Once
	connect := func() { once.Do(func() { close(connected) }) }
	defer connect()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-connected:
		case <-r.Context().Done():
			return
		}
		time.Sleep(2 * time.Millisecond) // a latency to draw, and a bounded rate
		w.Write([]byte("hello"))
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "run.json")
	stdout, stderr := newWatchedWriter(`^$x`), newWatchedWriter(`dashboard: (http://\S+)`)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	done := startCLI(t, ctx, stdout, stderr, "run", "--url", srv.URL+"/", "--vus", "2", "--duration", "6s", "--timeout", "2m",
		"--watch-pid", fmt.Sprint(os.Getpid()), "--out", "json="+out, "--dashboard=127.0.0.1:0", "-q")
	url := stderr.await(t, done, stderr)

	page := b.Open(t, url)
	if err := page.WaitFor(`document.getElementById("status").textContent === "running"`); err != nil {
		var st any
		page.Eval(`[document.getElementById("status").textContent, typeof window.stampedeDashboard, typeof uPlot, performance.getEntriesByType("resource").map(e => e.name + " " + e.responseStatus)]`, &st)
		t.Fatalf("the page did not connect: %v (%v; console %q)", err, st, page.ConsoleErrors())
	}
	connect()
	if err := page.WaitFor("window.stampedeDashboard && window.stampedeDashboard.points().latency >= 2 && window.stampedeDashboard.points().system >= 1"); err != nil {
		var state any
		page.Eval(`[window.stampedeDashboard && window.stampedeDashboard.points(), document.getElementById("status").textContent]`, &state)
		t.Fatalf("no points while the run went: %v (%v; console %q)\nstderr:\n%s", err, state, page.ConsoleErrors(), stderr)
	}
	var pts dashPoints
	if err := page.Eval("window.stampedeDashboard.points()", &pts); err != nil {
		t.Fatal(err)
	}
	if pts.Throughput < 2 || pts.VUs < 2 {
		t.Errorf("charts while running: %+v, want points in each", pts)
	}
	var drawn int
	if err := page.Eval(`document.querySelectorAll(".uplot canvas").length`, &drawn); err != nil || drawn < 4 {
		t.Errorf("%d uPlot canvases (%v), want the 3 load charts and the system's", drawn, err)
	}
	page.Screenshot(t, "dashboard-live")

	if err := page.WaitFor("window.stampedeDashboard.final() !== null"); err != nil {
		t.Fatalf("no final state: %v\nstderr:\n%s", err, stderr)
	}
	code := <-done
	run, _ := readRun(t, out)
	// Requests held until the page connected may time out on a slow
	// machine: the verdict is the Run's, whichever it is.
	if code != ExitOK && (code != ExitFailed || run.Verdict == result.VerdictPass) {
		t.Fatalf("exit %d with verdict %s\nstderr:\n%s", code, run.Verdict, stderr)
	}
	var fin dashFinal
	if err := page.Eval("window.stampedeDashboard.final()", &fin); err != nil {
		t.Fatal(err)
	}
	if fin.ID == "" || fin.ID != run.ID || fin.Verdict != string(run.Verdict) || fin.Requests != run.Summary.Requests ||
		fin.Errors != run.Summary.Errors || fin.P95 != run.Summary.Latency.P95 || len(fin.Findings) != len(run.Findings) {
		t.Errorf("final state %+v\nRun: id %s verdict %s requests %d errors %d p95 %v findings %d", fin, run.ID, run.Verdict,
			run.Summary.Requests, run.Summary.Errors, run.Summary.Latency.P95, len(run.Findings))
	}
	if fin.Report == 0 {
		t.Error("the final state carries no report")
	}
	if err := page.WaitFor(`document.getElementById("report-frame").contentDocument.querySelectorAll("svg.chart").length > 0`); err != nil {
		t.Errorf("the report did not render: %v", err)
	}
	var shown struct {
		Tile    string
		Charts  int
		Visible bool
	}
	if err := page.Eval(`({tile: document.getElementById("t-requests").textContent,
		charts: document.getElementById("report-frame").contentDocument.querySelectorAll("svg.chart").length,
		visible: !document.getElementById("report").hidden})`, &shown); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%d", run.Summary.Requests); strings.ReplaceAll(shown.Tile, ",", "") != want {
		t.Errorf("requests tile %q, want %s", shown.Tile, want)
	}
	if shown.Charts == 0 || !shown.Visible {
		t.Errorf("the report is not shown at the end (%d charts, visible %v)", shown.Charts, shown.Visible)
	}
	page.Screenshot(t, "dashboard-report")

	// Keyboard: the report tab has the focus; the arrow key goes back to
	// the live view, Enter on the report tab shows the report again.
	steps := []struct {
		key, selected string
	}{{"ArrowLeft", "tab-live"}, {"ArrowRight", "tab-report"}, {"ArrowLeft", "tab-live"}}
	for _, s := range steps {
		if err := page.Key(s.key); err != nil {
			t.Fatal(err)
		}
		var sel string
		if err := page.Eval(`document.querySelector("[role=tab][aria-selected=true]").id + (document.activeElement.id === document.querySelector("[role=tab][aria-selected=true]").id ? "" : " (focus elsewhere)")`, &sel); err != nil {
			t.Fatal(err)
		}
		if sel != s.selected {
			t.Errorf("after %s: %q selected, want %s", s.key, sel, s.selected)
		}
	}
	// From the start of the page, Tab reaches the tabs (one stop, the
	// selected tab), and Enter on a tab selects it.
	if err := page.Eval(`(document.activeElement.blur(), 1)`, nil); err != nil {
		t.Fatal(err)
	}
	reached := false
	for i := 0; i < 5 && !reached; i++ {
		if err := page.Key("Tab"); err != nil {
			t.Fatal(err)
		}
		if err := page.Eval(`document.activeElement.getAttribute("role") === "tab"`, &reached); err != nil {
			t.Fatal(err)
		}
	}
	if !reached {
		t.Error("Tab does not reach the tabs")
	}
	if err := page.Eval(`(document.getElementById("tab-report").focus(), 1)`, nil); err != nil {
		t.Fatal(err)
	}
	if err := page.Key("Enter"); err != nil {
		t.Fatal(err)
	}
	var reportShown bool
	if err := page.Eval(`document.activeElement.id === "tab-report" && !document.getElementById("report").hidden`, &reportShown); err != nil || !reportShown {
		t.Errorf("Enter on the report tab did not show the report (%v)", err)
	}
	if errs := page.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
	}
}
