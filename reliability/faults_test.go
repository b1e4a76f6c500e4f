package reliability

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// body is what the target answers: long enough to be cut in half and to
// drip for a while, short enough to drip well within the step timeout.
var body = strings.Repeat("0123456789abcdef", 8)

// target is a loopback HTTP server that counts the requests it answered.
func target(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write([]byte(body))
		served.Add(1)
	}))
	t.Cleanup(srv.Close)
	return srv, &served
}

// Every request through the fault proxy is counted once, and each error
// has the kind of the fault that caused it: resets and bodies cut short
// are connection_reset, stalls longer than the step timeout are timeout,
// the 5xx burst is http_5xx with its status, drips that end within the
// timeout succeed.
func TestFaultsAreCountedOnceByKind(t *testing.T) {
	srv, served := target(t)
	const iterations = 80
	want := map[fault]int{reset: 8, stall: 4, truncate: 8, drip: 4, burst5xx: 12}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	schedule := faultSchedule(iterations, want, rand.New(rand.NewPCG(seed, 0)))
	p := newFaultProxy(t, strings.TrimPrefix(srv.URL, "http://"), func(i int) fault {
		if i >= len(schedule) {
			t.Errorf("connection %d beyond the %d requests of the run", i, iterations)
			return pass
		}
		return schedule[i]
	})
	dir := t.TempDir()
	plan := writeFile(t, dir+"/plan.yaml", fmt.Sprintf(`name: faults
target: { base_url: %s, timeout: 1500ms, keep_alive: false }
scenarios:
  - { name: s, steps: [{ name: get, path: /x }] }
load: { rate: 40, iterations: %d, max_vus: 100 }
thresholds: [ "error_rate <= 100%%" ]
`, p.URL(), iterations))
	out := dir + "/run.json"
	res := stampede(t, "run", plan, "--store", dir+"/history.db", "--out", "json="+out, "-q")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	r := readRun(t, out)

	got := p.counts()
	for f, n := range want {
		if got[f] != int64(n) {
			t.Errorf("the proxy applied %s %d times, want %d (all: %v)", f, got[f], n, got)
		}
	}
	if p.accepted.Load() != iterations {
		t.Errorf("the proxy accepted %d connections, want one per iteration: %d", p.accepted.Load(), iterations)
	}
	// What reached the target: every request but the ones the proxy
	// answered or dropped itself.
	if n := served.Load(); n != int64(iterations-want[reset]-want[stall]-want[burst5xx]) {
		t.Errorf("the target served %d requests, want %d", n, iterations-want[reset]-want[stall]-want[burst5xx])
	}
	s := r.Summary
	failed := int64(want[reset] + want[stall] + want[truncate] + want[burst5xx])
	if s.Iterations != iterations || s.Requests != iterations || s.Errors != failed || s.Dropped != 0 || s.Interrupted != 0 {
		t.Errorf("summary: %d iterations, %d requests, %d errors, %d dropped, %d interrupted; want %d, %d, %d, 0, 0",
			s.Iterations, s.Requests, s.Errors, s.Dropped, s.Interrupted, iterations, iterations, failed)
	}
	wantKinds := map[string]int64{
		"connection_reset": int64(want[reset] + want[truncate]),
		"timeout":          int64(want[stall]),
		"http_5xx 503":     int64(want[burst5xx]),
	}
	if kinds := errorsByKind(r); fmt.Sprint(kinds) != fmt.Sprint(wantKinds) {
		t.Errorf("errors by kind %v, want %v\n%+v", kinds, wantKinds, r.Errors)
	}
	if len(r.Steps) != 1 || r.Steps[0].Requests != iterations || r.Steps[0].Errors != failed {
		t.Errorf("steps: %+v", r.Steps)
	}
	var windows, werrs int64
	for _, w := range r.Series {
		windows += w.Requests
		werrs += w.Errors
	}
	if windows != iterations || werrs != failed {
		t.Errorf("the windows hold %d requests and %d errors, want %d and %d", windows, werrs, iterations, failed)
	}
}

// faultSchedule spreads the wanted faults over n connections at seeded
// places, the 5xx answers in one burst of consecutive connections.
func faultSchedule(n int, want map[fault]int, rng *rand.Rand) []fault {
	s := make([]fault, n)
	start := rng.IntN(n - want[burst5xx] + 1)
	for i := range want[burst5xx] {
		s[start+i] = burst5xx
	}
	var free []int
	for i, f := range s {
		if f == pass {
			free = append(free, i)
		}
	}
	rng.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	for f := range numFaults {
		if f == burst5xx {
			continue
		}
		for range want[f] {
			s[free[0]] = f
			free = free[1:]
		}
	}
	return s
}
