package dashboard

import (
	"bufio"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stampede-perf/stampede/output"
	"github.com/stampede-perf/stampede/result"
)

func start(t *testing.T) *Dashboard {
	t.Helper()
	d, err := Start("127.0.0.1:0", Meta{Plan: "p", Kind: "load"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Finish(nil, nil) })
	return d
}

func update(ts float64, phase string) *output.Update {
	return &output.Update{TS: ts, Phase: phase, Window: result.Window{TS: ts, Requests: 10, RPS: 10, P95: 1.5, VUs: 2}}
}

// readEvents reads the names of the stream's events until it ends or n
// were read.
func readEvents(t *testing.T, body io.Reader, n int) []string {
	t.Helper()
	var names []string
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() && len(names) < n {
		if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			names = append(names, name)
		}
	}
	return names
}

func stream(t *testing.T, d *Dashboard) *http.Response {
	t.Helper()
	resp, err := http.Get(d.URL() + "events")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// A browser that connects late is sent the history first, then the live
// events, then the final one, and the stream ends.
func TestReplayThenLiveThenFinal(t *testing.T) {
	d := start(t)
	d.Update(update(0, "load"))
	d.System(result.SystemPoint{TS: 0, CPUPercent: 12})
	resp := stream(t, d)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("%d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	got := make(chan []string, 1)
	go func() { got <- readEvents(t, resp.Body, 100) }()
	d.Update(update(1, "load"))
	d.Close(&result.Run{})
	run := &result.Run{ID: "r1", Verdict: result.VerdictPass, Summary: result.Summary{Requests: 20}}
	if err := d.Finish(run, []byte("<html>report</html>")); err != nil {
		t.Fatal(err)
	}
	want := "meta window system window ended final"
	if names := strings.Join(<-got, " "); names != want {
		t.Errorf("events %q, want %q", names, want)
	}
	if _, err := http.Get(d.URL()); err == nil {
		t.Error("the page still answers after Finish")
	}
}

// No more than MaxClients browsers are streamed to at once.
func TestClientBound(t *testing.T) {
	d := start(t)
	for i := 0; i < MaxClients; i++ {
		if resp := stream(t, d); resp.StatusCode != 200 {
			t.Fatalf("browser %d: %d", i, resp.StatusCode)
		}
	}
	// The handlers register before writing their headers: all are in.
	if resp := stream(t, d); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("browser %d: %d, want 503", MaxClients+1, resp.StatusCode)
	}
}

// A browser whose queue is full is disconnected rather than waited for
// (a send that blocked would hang this test), and the history stays
// bounded.
func TestSlowBrowserDropped(t *testing.T) {
	d := start(t)
	c := &client{q: make(chan []byte, clientQueue)} // nobody drains it
	d.mu.Lock()
	d.clients[c] = struct{}{}
	d.mu.Unlock()
	n := MaxHistory + MaxHistory/2
	for i := 0; i < n; i++ {
		d.Update(update(float64(i), "load"))
	}
	d.mu.Lock()
	_, still := d.clients[c]
	hist := len(d.history)
	d.mu.Unlock()
	if still {
		t.Errorf("the browser is still queued after %d updates unread", n)
	}
	queued := 0
	for range c.q { // closed when dropped, after what it held
		queued++
	}
	if queued != clientQueue {
		t.Errorf("%d events queued before the drop, want %d", queued, clientQueue)
	}
	if hist > MaxHistory || hist < MaxHistory*9/10 {
		t.Errorf("history of %d events, want at most %d and most of it", hist, MaxHistory)
	}
}
