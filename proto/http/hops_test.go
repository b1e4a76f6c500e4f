package http_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/report"
	"github.com/stampede-perf/stampede/result"
	"github.com/stampede-perf/stampede/suite"
)

// A step whose request is redirected twice records each followed hop as
// an entry of its own under the step: the status that asked for it,
// where it led (the path without its query), how often and how long its
// exchange took; in the Run, its JSON and the per-step table, over
// HTTP/1.1 and HTTP/2.
func TestRedirectHopsAreEntries(t *testing.T) {
	const slow = 40 * time.Millisecond
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/middle", http.StatusFound)
	})
	mux.HandleFunc("/middle", func(w http.ResponseWriter, r *http.Request) {
		// A query that differs each time: the entry is the path's.
		http.Redirect(w, r, "/end?token="+time.Now().Format(time.RFC3339Nano), http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/end", func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		time.Sleep(slow) // the last hop is the slow one
		w.Write([]byte("done"))
	})
	h1 := httptest.NewServer(mux)
	defer h1.Close()
	h2 := httptest.NewUnstartedServer(mux)
	h2.Config.Protocols = new(http.Protocols)
	h2.Config.Protocols.SetUnencryptedHTTP2(true)
	h2.Start()
	defer h2.Close()
	for _, tc := range []struct {
		name string
		url  string
		http int
	}{{"HTTP/1.1", h1.URL, 1}, {"HTTP/2", h2.URL, 2}} {
		t.Run(tc.name, func(t *testing.T) {
			n.Store(0)
			p := &plan.Plan{
				Name:      "hops",
				Target:    plan.Target{BaseURL: tc.url, HTTP: tc.http},
				Scenarios: []*plan.Scenario{{Name: "login", Weight: 1, Steps: []*plan.Step{{Name: "start", Method: "GET", Path: "/start"}}}},
				Load:      plan.LoadSpec{VUs: 2, Iterations: 20},
			}
			p.ApplyDefaults()
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			run, err := suite.RunLoad(context.Background(), p, suite.LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := result.Encode(&buf, run); err != nil {
				t.Fatal(err)
			}
			back, err := result.Decode(&buf)
			if err != nil {
				t.Fatal(err)
			}
			st := back.Steps[0]
			if st.Requests != 20 || st.Errors != 0 || n.Load() != 20 {
				t.Fatalf("%d requests, %d errors, %d reached the end: want 20, 0, 20", st.Requests, st.Errors, n.Load())
			}
			if st.Redirects != 40 || len(st.Hops) != 2 {
				t.Fatalf("%d redirects in %d hop entries %+v, want 40 in 2", st.Redirects, len(st.Hops), st.Hops)
			}
			first, last := st.Hops[0], st.Hops[1]
			if first.To == "/end" { // equal counts: either order
				first, last = last, first
			}
			if first.Status != 302 || first.To != "/middle" || last.Status != 307 || last.To != "/end" {
				t.Fatalf("hops %d %s and %d %s, want 302 /middle and 307 /end", first.Status, first.To, last.Status, last.To)
			}
			for _, h := range st.Hops {
				if h.Requests != 20 || h.Errors != 0 || h.Hist == "" {
					t.Errorf("hop %d %s: %d requests, %d errors, hist %q", h.Status, h.To, h.Requests, h.Errors, h.Hist)
				}
			}
			// The slow exchange is the last hop's: at least its server's
			// time, and above the first hop's.
			if ms := float64(slow.Milliseconds()); last.Latency.P50 < ms || first.Latency.P50 >= last.Latency.P50 {
				t.Errorf("hop p50s %.2f ms (→ /middle) and %.2f ms (→ /end): the second waits %v on the server", first.Latency.P50, last.Latency.P50, slow)
			}
			// The step's latency holds both hops.
			if st.Latency.P50 < last.Latency.P50 {
				t.Errorf("step p50 %.2f ms below its last hop's %.2f ms", st.Latency.P50, last.Latency.P50)
			}
			var out bytes.Buffer
			if err := report.Console(&out, back); err != nil {
				t.Fatal(err)
			}
			for _, row := range []string{"→ 302 /middle", "→ 307 /end"} {
				if !strings.Contains(out.String(), row) {
					t.Errorf("the per-step table has no row %q:\n%s", row, out.String())
				}
			}
		})
	}
}
