package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/chromium"
	"github.com/stampede-perf/stampede/store"
)

type trendPoint struct {
	ID       string  `json:"id"`
	Value    float64 `json:"value"`
	Baseline bool    `json:"baseline"`
}

// The history browser in a real Chromium, over a history of real runs
// against a loopback server: the trend has one point a run with the
// baseline marked, a step's trend too, the comparison is the table
// `stampede compare` prints, a run's report opens, and everything is
// reachable from the keyboard.
func TestServeInChromium(t *testing.T) {
	t.Parallel()
	b := chromium.Start(t, "the history browser was not checked in a browser")
	srv := httptest.NewServer(http.HandlerFunc(hello))
	defer srv.Close()
	hist := filepath.Join(t.TempDir(), "history.db")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var ids []string
	for i := 0; i < 3; i++ {
		r := runCLI(t, ctx, "run", "--url", srv.URL+"/items", "--vus", "1", "--duration", "1s", "-q", "--store", hist)
		if r.code != ExitOK {
			t.Fatalf("run %d: exit %d\n%s", i, r.code, r.stderr)
		}
		_, id, _ := strings.Cut(r.stdout, "recorded as run ")
		ids = append(ids, strings.TrimSpace(id))
	}
	if r := runCLI(t, ctx, "baseline", "set", ids[0], "--store", hist); r.code != ExitOK {
		t.Fatalf("baseline set: %d\n%s", r.code, r.stderr)
	}
	want := runCLI(t, ctx, "compare", ids[0], ids[2], "--store", hist)
	if want.code != ExitOK {
		t.Fatalf("compare: %d\n%s", want.code, want.stderr)
	}

	sctx, stop := context.WithCancel(ctx)
	stdout, stderr := newWatchedWriter(`^$x`), newWatchedWriter(`at (http://\S+) \(read-only`)
	done := startCLI(t, sctx, stdout, stderr, "serve", "--store", hist, "--addr", "127.0.0.1:0")
	defer func() {
		stop()
		if code := <-done; code != ExitOK {
			t.Errorf("serve exit %d after an interrupt\n%s", code, stderr)
		}
	}()
	url := stderr.await(t, done, stderr)

	page := b.Open(t, url)
	if err := page.WaitFor("window.stampedeHistory && window.stampedeHistory.loads() >= 1"); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, hist)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := st.List(ctx, store.Filter{})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	var trend []trendPoint
	if err := page.Eval("window.stampedeHistory.trend()", &trend); err != nil {
		t.Fatal(err)
	}
	if len(trend) != 3 {
		t.Fatalf("trend of %d points, want the 3 runs: %+v", len(trend), trend)
	}
	for i, p := range trend { // oldest first; the list is newest first
		e := entries[len(entries)-1-i]
		if p.ID != e.ID || p.Value != e.P95 || p.Baseline != (e.ID == ids[0]) {
			t.Errorf("trend point %d: %+v, want run %s p95 %v baseline %v", i, p, e.ID, e.P95, e.ID == ids[0])
		}
	}
	var drawn int
	if err := page.Eval("window.stampedeHistory.points()", &drawn); err != nil || drawn != 3 {
		t.Errorf("the chart has %d points (%v), want 3", drawn, err)
	}
	page.Screenshot(t, "history")

	// A step's trend: chosen with the keyboard on the step list.
	if err := page.Eval(`(document.getElementById("step").focus(), 1)`, nil); err != nil {
		t.Fatal(err)
	}
	if err := page.Eval(`(() => { const s = document.getElementById("step"); s.selectedIndex = 1; s.dispatchEvent(new Event("change")); return s.value })()`, nil); err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor("window.stampedeHistory.loads() >= 2"); err != nil {
		t.Fatal(err)
	}
	if err := page.Eval("window.stampedeHistory.trend()", &trend); err != nil || len(trend) != 3 || trend[0].Value <= 0 {
		t.Errorf("the step's trend: %+v (%v), want 3 points with a p95", trend, err)
	}

	// The comparison: base and new chosen, Enter on the button.
	if err := page.Eval(`(document.getElementById("base").value = `+jsString(ids[0])+`, document.getElementById("head").value = `+jsString(ids[2])+`, document.getElementById("compare-button").focus(), 1)`, nil); err != nil {
		t.Fatal(err)
	}
	if err := page.Key("Enter"); err != nil {
		t.Fatal(err)
	}
	if err := page.WaitFor(`!document.getElementById("compare").hidden`); err != nil {
		t.Fatal(err)
	}
	var table string
	if err := page.Eval(`document.getElementById("compare").textContent`, &table); err != nil {
		t.Fatal(err)
	}
	if table != want.stdout {
		t.Errorf("the page's comparison:\n%s\nstampede compare printed:\n%s", table, want.stdout)
	}
	page.Screenshot(t, "history-compare")

	// Tab reaches every control: the three lists, base, new, the button
	// and each run's report link.
	if err := page.Eval(`(document.activeElement.blur(), 1)`, nil); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := 0; i < 12; i++ {
		if err := page.Key("Tab"); err != nil {
			t.Fatal(err)
		}
		var id string
		if err := page.Eval(`document.activeElement.id || document.activeElement.getAttribute("aria-label") || ""`, &id); err != nil {
			t.Fatal(err)
		}
		seen[id] = true
	}
	for _, id := range []string{"plan", "metric", "step", "base", "head", "compare-button", "report of run " + ids[0]} {
		if !seen[id] {
			t.Errorf("Tab never reached %q (reached %v)", id, seen)
		}
	}
	if errs := page.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(errs, "\n  "))
	}

	rep := b.Open(t, url+"runs/"+ids[1]+"/report")
	if err := rep.WaitFor(`document.querySelectorAll("svg.chart").length > 0 && document.body.textContent.includes(` + jsString(ids[1]) + `)`); err != nil {
		t.Errorf("the report of run %s: %v", ids[1], err)
	}
	if errs := rep.ConsoleErrors(); len(errs) > 0 {
		t.Errorf("console errors in the report:\n  %s", strings.Join(errs, "\n  "))
	}
}

// jsString quotes s for a script.
func jsString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
