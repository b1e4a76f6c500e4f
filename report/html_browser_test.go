package report

import (
	stdbytes "bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/internal/chromium"
)

// These tests open the HTML report in a real headless Chromium, driven
// over the DevTools protocol (internal/chromium): the page must load with no
// console error and no network request, every chart must draw, and the
// page must give a screenshot and print to PDF.

// browser is a headless Chromium and its DevTools pipe.
type browser struct{ *chromium.Browser }

func startBrowser(t *testing.T) *browser {
	t.Helper()
	return &browser{chromium.Start(t, "the HTML report was not checked in a browser")}
}

// pageCheck is what a page did while it loaded.
type pageCheck struct {
	session  string
	console  []string // console errors, exceptions, error log entries
	requests []string // URLs requested other than the page itself
}

// open loads file in a new tab and records its console errors and
// network requests.
func (b *browser) open(t *testing.T, file string) *pageCheck {
	t.Helper()
	res, err := b.Call("", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = b.Call("", "Target.attachToTarget", map[string]any{"targetId": res["targetId"], "flatten": true})
	if err != nil {
		t.Fatal(err)
	}
	s := res["sessionId"].(string)
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable", "Network.enable"} {
		if _, err := b.Call(s, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Call(s, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": false}); err != nil {
		t.Fatal(err)
	}
	start := len(b.Events)
	url := "file://" + file
	if _, err := b.Call(s, "Page.navigate", map[string]any{"url": url}); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitEvent(s, "Page.loadEventFired"); err != nil {
		t.Fatalf("%v\nbrowser log:\n%s", err, b.Log())
	}
	// A round trip after the load lets late console messages arrive.
	if _, err := b.Call(s, "Runtime.evaluate", map[string]any{"expression": "1"}); err != nil {
		t.Fatal(err)
	}
	pc := &pageCheck{session: s}
	for _, e := range b.Events[start:] {
		if e["sessionId"] != s {
			continue
		}
		p, _ := e["params"].(map[string]any)
		switch e["method"] {
		case "Runtime.consoleAPICalled":
			if p["type"] == "error" || p["type"] == "assert" {
				pc.console = append(pc.console, fmt.Sprint(p["args"]))
			}
		case "Runtime.exceptionThrown":
			pc.console = append(pc.console, fmt.Sprint(p["exceptionDetails"]))
		case "Log.entryAdded":
			if entry, _ := p["entry"].(map[string]any); entry["level"] == "error" {
				pc.console = append(pc.console, fmt.Sprintf("%v: %v", entry["source"], entry["text"]))
			}
		case "Network.requestWillBeSent":
			req, _ := p["request"].(map[string]any)
			if u, _ := req["url"].(string); u != url && !strings.HasPrefix(u, "data:") {
				pc.requests = append(pc.requests, u)
			}
		}
	}
	return pc
}

// eval runs a script in the page and decodes its JSON result into v.
func (b *browser) eval(t *testing.T, session, expr string, v any) {
	t.Helper()
	res, err := b.Call(session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	if err != nil {
		t.Fatal(err)
	}
	if ex, ok := res["exceptionDetails"]; ok {
		t.Fatalf("script failed: %v", ex)
	}
	r, _ := res["result"].(map[string]any)
	s, _ := r["value"].(string)
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("script result %q: %v", s, err)
	}
}

// chartsScript reports, for every chart, the lines the browser actually
// laid out (a path with length and a box) and the points drawn.
const chartsScript = `JSON.stringify([...document.querySelectorAll("svg.chart")].map(svg => {
  const box = svg.getBoundingClientRect();
  const drawn = [...svg.querySelectorAll("path.line")].filter(p => p.getTotalLength() > 0 && p.getBBox().width > 0);
  return {id: svg.dataset.chart, width: box.width, height: box.height, lines: drawn.length,
          dots: svg.querySelectorAll("circle.dot").length, labels: svg.querySelectorAll("text").length};
}))`

type chartState struct {
	ID            string
	Width, Height float64
	Lines, Dots   int
	Labels        int
}

func TestHTMLInChromium(t *testing.T) {
	b := startBrowser(t)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, renderRun(t, HTML, richRun()), 0o644); err != nil {
		t.Fatal(err)
	}
	pc := b.open(t, page)
	if len(pc.console) > 0 {
		t.Errorf("console errors:\n  %s", strings.Join(pc.console, "\n  "))
	}
	if len(pc.requests) > 0 {
		t.Errorf("the page made network requests: %q", pc.requests)
	}

	var charts []chartState
	b.eval(t, pc.session, chartsScript, &charts)
	want := map[string]int{"latency": 3, "throughput": 1, "users": 1, "errors": 2, "cpu": 3, "memory": 1, "io": 4, "heap": 1, "stress": 2, "scalability": 3}
	seen := map[string]bool{}
	for _, c := range charts {
		seen[c.ID] = true
		if c.Width < 300 || c.Height < 100 {
			t.Errorf("chart %s laid out at %.0f×%.0f", c.ID, c.Width, c.Height)
		}
		if c.Lines != want[c.ID] {
			t.Errorf("chart %s drew %d lines, want %d", c.ID, c.Lines, want[c.ID])
		}
		if c.Labels < 4 {
			t.Errorf("chart %s has %d labels", c.ID, c.Labels)
		}
	}
	for id := range want {
		if !seen[id] {
			t.Errorf("chart %s is not on the page", id)
		}
	}

	var info struct {
		Title    string
		Sections []string
		Findings int
		Resource []string
	}
	b.eval(t, pc.session, `JSON.stringify({title: document.title,
	  sections: [...document.querySelectorAll("main > section")].map(s => s.id),
	  findings: document.querySelectorAll("article.finding").length,
	  resource: performance.getEntriesByType("resource").map(e => e.name)})`, &info)
	if !strings.Contains(info.Title, "Demo shop") || len(info.Sections) < 12 || info.Findings != len(richRun().Findings) || len(info.Resource) > 0 {
		t.Errorf("page: %+v", info)
	}

	// The hops are laid out as rows of their own, each below the row
	// of its step and above the next step's, with the destination as
	// text (not markup).
	var rows []struct {
		Name    string
		Hop     bool
		Top     float64
		Height  float64
		Visible bool
	}
	b.eval(t, pc.session, `JSON.stringify([...document.querySelectorAll("table.steps tbody tr:not(.total)")].map(tr => {
	  const box = tr.getBoundingClientRect(), cell = tr.cells[0], style = getComputedStyle(tr);
	  return {name: cell.innerText.trim(), hop: tr.classList.contains("hop"), top: box.top + scrollY, height: box.height,
	          visible: style.visibility === "visible" && style.display !== "none" && cell.getBoundingClientRect().width > 0};
	}))`, &rows)
	var laid []string
	step, top := "", -1.0
	for _, r := range rows {
		if !r.Visible || r.Height < 10 || r.Top <= top {
			t.Errorf("row %q is not laid out below the one before it: %+v", r.Name, r)
		}
		top = r.Top
		if !r.Hop {
			step = r.Name
		}
		laid = append(laid, step+" | "+r.Name)
	}
	wantRows := []string{"Browse Products / list products | Browse Products / list products", "Add to Cart / add to cart | Add to Cart / add to cart",
		"Add to Cart / add to cart | → 302 /cart", "Add to Cart / add to cart | → 307 /cart/<b>|x*_y", "Add to Cart / add to cart | → (other destinations)"}
	if strings.Join(laid, "\n") != strings.Join(wantRows, "\n") {
		t.Errorf("step table rows (step | row):\n  %s", strings.Join(laid, "\n  "))
	}

	shot := screenshot(t, b, pc.session)
	out := filepath.Join(dir, "report.png")
	if *update {
		out = filepath.Join("testdata", "report.png")
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)

	res, err := b.Call(pc.session, "Page.printToPDF", map[string]any{"printBackground": true})
	if err != nil {
		t.Fatal(err)
	}
	pdf, err := base64.StdEncoding.DecodeString(res["data"].(string))
	if err != nil || !stdbytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 10000 {
		t.Errorf("printing gave no PDF (%d bytes, %v)", len(pdf), err)
	}
}

// screenshot captures the whole page as PNG and checks its size.
func screenshot(t *testing.T, b *browser, session string) []byte {
	t.Helper()
	lm, err := b.Call(session, "Page.getLayoutMetrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	size, _ := lm["cssContentSize"].(map[string]any)
	w, h := size["width"].(float64), size["height"].(float64)
	res, err := b.Call(session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": w, "height": h, "scale": 1}})
	if err != nil {
		t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(res["data"].(string))
	if err != nil || len(png) < 24 || !stdbytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("no PNG from the screenshot (%d bytes, %v)", len(png), err)
	}
	pw, ph := binary.BigEndian.Uint32(png[16:20]), binary.BigEndian.Uint32(png[20:24])
	if pw < 800 || ph < 2000 {
		t.Errorf("screenshot is %d×%d: the page did not lay out", pw, ph)
	}
	return png
}

// TestBrowserCheckCanFail: the same checks catch a page that draws a
// broken path and fetches from the network, so a clean result means
// something.
func TestBrowserCheckCanFail(t *testing.T) {
	b := startBrowser(t)
	page := filepath.Join(t.TempDir(), "bad.html")
	bad := `<!DOCTYPE html><html><head><title>bad</title><link rel="stylesheet" href="http://127.0.0.1:9/x.css"></head><body>
<svg class="chart" data-chart="broken" viewBox="0 0 100 100"><path class="line" d="M0 0LNaN 5"/></svg>
<script>console.error("boom")</script></body></html>`
	if err := os.WriteFile(page, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	pc := b.open(t, page)
	if len(pc.requests) == 0 {
		t.Error("the fetch of the style sheet was not seen")
	}
	joined := strings.Join(pc.console, "\n")
	if !strings.Contains(joined, "boom") || !strings.Contains(joined, "attribute d") {
		t.Errorf("console errors not caught: %q", pc.console)
	}
	var charts []chartState
	b.eval(t, pc.session, chartsScript, &charts)
	if len(charts) != 1 || charts[0].Lines != 0 {
		t.Errorf("a broken path counted as drawn: %+v", charts)
	}
}
