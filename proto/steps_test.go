package proto_test

// End-to-end tests of how HTTP steps are run and recorded through the
// load engine: parallel groups and redirects.

import (
	"context"
	"fmt"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/proto/prototest"
	"github.com/stampede-perf/stampede/result"
)

// delayServer is an h2c (and HTTP/1.1) server whose every answer takes
// delay, counting connections, requests in flight at once and what it
// answered.
type delayServer struct {
	url              string
	conns, peak, now atomic.Int64
	mu               sync.Mutex
	paths            map[string]int
}

func newDelayServer(t *testing.T, delay time.Duration) *delayServer {
	ds := &delayServer{paths: map[string]int{}}
	srv := httptest.NewUnstartedServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		n := ds.now.Add(1)
		for p := ds.peak.Load(); n > p && !ds.peak.CompareAndSwap(p, n); p = ds.peak.Load() {
		}
		time.Sleep(delay) // the server's own slowness, not a synchronization
		ds.now.Add(-1)
		ds.mu.Lock()
		ds.paths[r.URL.Path]++
		ds.mu.Unlock()
		if r.URL.Path == "/login" {
			nethttp.SetCookie(w, &nethttp.Cookie{Name: "sid", Value: "p", Path: "/"})
		}
		var hop int
		if _, err := fmt.Sscanf(r.URL.Path, "/r/%d", &hop); err == nil && hop > 0 {
			nethttp.Redirect(w, r, fmt.Sprintf("/r/%d", hop-1), nethttp.StatusFound)
			return
		}
		fmt.Fprintf(w, `{"proto": %d, "path": %q}`, r.ProtoMajor, r.URL.Path)
	}))
	srv.Config.Protocols = new(nethttp.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Config.ConnState = func(_ net.Conn, s nethttp.ConnState) {
		if s == nethttp.StateNew {
			ds.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	ds.url = srv.URL
	return ds
}

// runPlan compiles doc and runs it in the load engine for its iterations.
func runPlan(t *testing.T, doc string, iterations int64) *result.Run {
	t.Helper()
	test, layout, err := prototest.CompileLayout(t, t.TempDir(), doc)
	if err != nil {
		t.Fatal(err)
	}
	e := load.New(test, load.Options{Model: "closed", Levels: []load.Level{{Target: 1, Hold: time.Minute}}, Iterations: iterations, GracefulStop: time.Minute})
	var run result.Run
	if err := e.Run(context.Background(), layout, &run); err != nil {
		t.Fatal(err)
	}
	return &run
}

const parallelPlan = `name: parallel
target: { base_url: %q, http: %d }
load: { vus: 1, duration: 1m }
scenarios:
  - name: page
    steps:
      - { name: login, path: /login }
      - { name: a, path: /a, parallel: true, extract: { pa: { json: path } } }
      - { name: b, path: /b, parallel: true }
      - { name: c, path: /c, parallel: true }
      - { name: d, path: /d }
      - { name: after, path: "/after{{ pa }}", check: { json: [{ path: proto, equals: %d }] } }
`

// Steps marked parallel fire together over HTTP/2: against a server
// that delays every answer, the group takes about the longest of its
// steps, not their sum; the server sees them in flight at once, on the
// VU's one connection; each is recorded under its own step, and what one
// extracts is there for the steps after the group.
func TestParallelStepsOverlapOnHTTP2(t *testing.T) {
	const delay = 100 * time.Millisecond
	ds := newDelayServer(t, delay)
	run := runPlan(t, fmt.Sprintf(parallelPlan, ds.url, 2, 2), 3)
	if run.Summary.Errors != 0 {
		t.Fatalf("%d errors: %+v", run.Summary.Errors, run.Errors)
	}
	if got := ds.peak.Load(); got != 4 {
		t.Errorf("the server saw at most %d requests at once, want the group's 4", got)
	}
	if got := ds.conns.Load(); got != 1 {
		t.Errorf("%d connections, want the VU's one", got)
	}
	if got := ds.paths["/after/a"]; got != 3 {
		t.Errorf("the step after the group used the group's extraction %d times in 3 iterations: %v", got, ds.paths)
	}
	// An iteration is login, the group, after: ~3 delays if the group
	// overlaps, 6 if it ran in sequence. Compare it with the steps' own
	// times, whatever the machine's speed.
	var sum float64
	for _, st := range run.Steps {
		if st.Requests != 3 {
			t.Errorf("step %s: %d requests, want 3", st.Step, st.Requests)
		}
		sum += st.Latency.Mean
	}
	iter := run.Scenarios[0].Latency.Mean
	if ratio := iter / sum; ratio > 0.75 {
		t.Errorf("an iteration took %.1f ms, %.2f of its steps' summed %.1f ms: the group did not overlap", iter, ratio, sum)
	}
	t.Logf("iteration %.1f ms, steps summed %.1f ms (ratio %.2f; 0.5 is full overlap)", iter, sum, iter/sum)
}

// Over HTTP/1.1 the VU has one connection with one request at a time:
// the group runs one step after another, each still recorded.
func TestParallelStepsRunInTurnOnHTTP1(t *testing.T) {
	ds := newDelayServer(t, 10*time.Millisecond)
	run := runPlan(t, fmt.Sprintf(parallelPlan, ds.url, 1, 1), 2)
	if run.Summary.Errors != 0 || run.Summary.Requests != 12 {
		t.Fatalf("%d requests, %d errors: %+v", run.Summary.Requests, run.Summary.Errors, run.Errors)
	}
	if got := ds.peak.Load(); got != 1 {
		t.Errorf("the server saw %d requests at once over HTTP/1.1, want 1", got)
	}
}

// Only HTTP steps run in parallel, and what a step of a group extracts is
// not there for the others of its group.
func TestParallelStepsProblems(t *testing.T) {
	doc := `name: p
target: { base_url: "http://127.0.0.1:1", http: 2 }
load: { vus: 1, duration: 1s }
databases: { db: { driver: sqlite, dsn: "file::memory:" } }
scenarios:
  - name: s
    steps:
      - { path: /a, parallel: true, extract: { x: { json: x } } }
      - { path: "/b/{{ x }}", parallel: true }
      - { sql: { db: db, query: "select 1" } }
`
	_, err := prototest.Compile(t, t.TempDir(), doc)
	if err == nil {
		t.Fatal("compiled")
	}
	for _, want := range []string{
		`scenarios[0].steps[1]: uses {{ x }} but no earlier step`,
		`scenarios[0].steps[2].parallel: only HTTP steps run in parallel`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("lacks %q:\n%v", want, err)
		}
	}
}

// Each redirect a step follows is timed and recorded under the step: how
// many, and the mean time of one, beside the step's own latency, which
// holds them.
func TestRedirectsRecordedUnderTheStep(t *testing.T) {
	for _, version := range []int{1, 2} {
		t.Run(fmt.Sprintf("HTTP/%d", version), func(t *testing.T) {
			ds := newDelayServer(t, 5*time.Millisecond)
			run := runPlan(t, fmt.Sprintf(`name: redirects
target: { base_url: %q, http: %d }
load: { vus: 1, duration: 1m }
scenarios:
  - name: s
    steps:
      - { name: chain, path: /r/3, check: { json: [{ path: path, equals: /r/0 }] } }
      - { name: plain, path: /r/0 }
`, ds.url, version), 4)
			if run.Summary.Errors != 0 {
				t.Fatalf("%d errors: %+v", run.Summary.Errors, run.Errors)
			}
			chain, plain := run.Steps[0], run.Steps[1]
			if chain.Redirects != 12 || plain.Redirects != 0 || plain.RedirectMS != 0 {
				t.Fatalf("redirects: chain %d (want 3 × 4 iterations), plain %d", chain.Redirects, plain.Redirects)
			}
			// The redirects are within the step's time, and each is one
			// exchange like the plain step's.
			if in := 3 * chain.RedirectMS; in > chain.Latency.Mean*1.01 {
				t.Errorf("3 redirects of %.2f ms each in a step of %.2f ms on average", chain.RedirectMS, chain.Latency.Mean)
			}
			if r := chain.RedirectMS / plain.Latency.P50; r < 0.5 || r > 3 {
				t.Errorf("a redirect took %.2f ms, a plain exchange %.2f ms: a ratio of %.2f, want about 1", chain.RedirectMS, plain.Latency.P50, r)
			}
		})
	}
}
