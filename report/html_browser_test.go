package report

import (
	"bufio"
	stdbytes "bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests open the HTML report in a real headless Chromium, driven
// over the DevTools protocol on the --remote-debugging-pipe file
// descriptors (no port, no websocket): the page must load with no
// console error and no network request, every chart must draw, and the
// page must give a screenshot and print to PDF.

func chromiumPath() string {
	if p := os.Getenv("STAMPEDE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is a headless Chromium and its DevTools pipe.
type browser struct {
	cmd    *exec.Cmd
	send   *os.File
	msgs   chan map[string]any
	stderr *lockedBuffer
	nextID int
	events []map[string]any // events seen so far, in order
}

type lockedBuffer struct {
	mu sync.Mutex // guards b
	b  stdbytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startBrowser(t *testing.T) *browser {
	t.Helper()
	bin := chromiumPath()
	if bin == "" {
		msg := "no Chromium found (install Debian's chromium, or set STAMPEDE_CHROMIUM): the HTML report was not checked in a browser"
		if os.Getenv("STAMPEDE_REQUIRE_CHROMIUM") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	toBrowser, send, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	recv, fromBrowser, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--remote-debugging-pipe", "--window-size=1200,900",
		"--enable-logging=stderr", "--v=0", "about:blank")
	cmd.ExtraFiles = []*os.File{toBrowser, fromBrowser} // fd 3: commands in, fd 4: answers out
	b := &browser{cmd: cmd, send: send, msgs: make(chan map[string]any, 256), stderr: &lockedBuffer{}}
	cmd.Stderr = b.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start %s: %v", bin, err)
	}
	toBrowser.Close()
	fromBrowser.Close()
	go func() {
		defer close(b.msgs)
		r := bufio.NewReaderSize(recv, 1<<20)
		for {
			line, err := r.ReadBytes(0)
			if err != nil {
				return
			}
			var m map[string]any
			if json.Unmarshal(line[:len(line)-1], &m) == nil {
				b.msgs <- m
			}
		}
	}()
	t.Cleanup(func() {
		b.call("", "Browser.close", nil)
		send.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		recv.Close()
	})
	return b
}

// call sends one command (to a page's session, or to the browser when
// session is "") and waits for its answer, keeping the events that come
// before it.
func (b *browser) call(session, method string, params map[string]any) (map[string]any, error) {
	b.nextID++
	id := b.nextID
	msg := map[string]any{"id": id, "method": method, "params": params}
	if params == nil {
		msg["params"] = map[string]any{}
	}
	if session != "" {
		msg["sessionId"] = session
	}
	data, _ := json.Marshal(msg)
	if _, err := b.send.Write(append(data, 0)); err != nil {
		return nil, err
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-b.msgs:
			if !ok {
				return nil, fmt.Errorf("%s: the browser closed the pipe", method)
			}
			if m["id"] == nil {
				b.events = append(b.events, m)
				continue
			}
			if int(m["id"].(float64)) != id {
				continue
			}
			if e, ok := m["error"]; ok {
				return nil, fmt.Errorf("%s: %v", method, e)
			}
			res, _ := m["result"].(map[string]any)
			return res, nil
		case <-timeout:
			return nil, fmt.Errorf("%s: no answer in 30 s", method)
		}
	}
}

// waitEvent waits for an event of a session.
func (b *browser) waitEvent(session, method string) error {
	for _, e := range b.events {
		if e["method"] == method && e["sessionId"] == session {
			return nil
		}
	}
	timeout := time.After(30 * time.Second)
	for {
		select {
		case m, ok := <-b.msgs:
			if !ok {
				return errors.New("the browser closed the pipe")
			}
			if m["id"] == nil {
				b.events = append(b.events, m)
				if m["method"] == method && m["sessionId"] == session {
					return nil
				}
			}
		case <-timeout:
			return fmt.Errorf("no %s in 30 s", method)
		}
	}
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
	res, err := b.call("", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		t.Fatal(err)
	}
	res, err = b.call("", "Target.attachToTarget", map[string]any{"targetId": res["targetId"], "flatten": true})
	if err != nil {
		t.Fatal(err)
	}
	s := res["sessionId"].(string)
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable", "Network.enable"} {
		if _, err := b.call(s, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.call(s, "Emulation.setDeviceMetricsOverride", map[string]any{"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": false}); err != nil {
		t.Fatal(err)
	}
	start := len(b.events)
	url := "file://" + file
	if _, err := b.call(s, "Page.navigate", map[string]any{"url": url}); err != nil {
		t.Fatal(err)
	}
	if err := b.waitEvent(s, "Page.loadEventFired"); err != nil {
		t.Fatalf("%v\nbrowser log:\n%s", err, b.stderr.String())
	}
	// A round trip after the load lets late console messages arrive.
	if _, err := b.call(s, "Runtime.evaluate", map[string]any{"expression": "1"}); err != nil {
		t.Fatal(err)
	}
	pc := &pageCheck{session: s}
	for _, e := range b.events[start:] {
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
	res, err := b.call(session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
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
	if err := os.WriteFile(page, render(t, HTML, richRun()), 0o644); err != nil {
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
	want := map[string]int{"latency": 3, "throughput": 1, "users": 1, "errors": 2, "cpu": 3, "memory": 1, "heap": 1, "stress": 2, "scalability": 3}
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

	shot := screenshot(t, b, pc.session)
	out := filepath.Join(dir, "report.png")
	if *update {
		out = filepath.Join("testdata", "report.png")
	}
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", out)

	res, err := b.call(pc.session, "Page.printToPDF", map[string]any{"printBackground": true})
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
	lm, err := b.call(session, "Page.getLayoutMetrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	size, _ := lm["cssContentSize"].(map[string]any)
	w, h := size["width"].(float64), size["height"].(float64)
	res, err := b.call(session, "Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
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
