package reliability

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// restartingTarget is an HTTP server on a fixed loopback port that dies
// when its kill-th request arrives, with that request and any other in
// flight unanswered, and comes back on the same port after an outage.
type restartingTarget struct {
	addr      string
	kill      int64
	outage    time.Duration
	arrived   atomic.Int64
	served1   atomic.Int64 // answered before the kill
	served2   atomic.Int64 // answered after the restart
	hung      atomic.Int64 // in flight at the kill: never answered
	killing   chan struct{}
	killOnce  sync.Once
	mu        sync.Mutex // guards srv
	srv       *http.Server
	restarted chan struct{}
}

func (rt *restartingTarget) start(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rt.addr = ln.Addr().String()
	rt.killing = make(chan struct{})
	rt.restarted = make(chan struct{})
	dead := make(chan struct{})
	rt.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.arrived.Add(1) >= rt.kill {
			rt.hung.Add(1)
			rt.killOnce.Do(func() { close(rt.killing) })
			<-dead // the connection is gone: whatever this writes is lost
			return
		}
		w.Write([]byte(body))
		rt.served1.Add(1)
	})}
	go rt.srv.Serve(ln)
	go func() {
		<-rt.killing
		rt.srv.Close() // the listener and every connection, answered or not
		close(dead)
		time.Sleep(rt.outage) // the outage's length, not a synchronisation
		var ln net.Listener
		var err error
		for range 100 { // the port may take a moment to be free again
			if ln, err = net.Listen("tcp", rt.addr); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			t.Errorf("restarting the target on %s: %v", rt.addr, err)
			close(rt.restarted)
			return
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(body))
			rt.served2.Add(1)
		})}
		rt.mu.Lock()
		rt.srv = srv
		rt.mu.Unlock()
		close(rt.restarted)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("target: %v", err)
		}
	}()
	t.Cleanup(func() {
		rt.killOnce.Do(func() { close(rt.killing) })
		<-rt.restarted
		rt.mu.Lock()
		rt.srv.Close()
		rt.mu.Unlock()
	})
}

// A target killed mid-run and restarted on the same port: the requests in
// flight at the kill are connection_reset, those sent while it was down
// connection_refused, the rest succeed; each request counted once.
func TestTargetKilledAndRestarted(t *testing.T) {
	const iterations = 60
	rt := &restartingTarget{kill: 15, outage: 400 * time.Millisecond}
	rt.start(t)
	dir := t.TempDir()
	plan := writeFile(t, dir+"/plan.yaml", fmt.Sprintf(`name: restart
target: { base_url: http://%s, timeout: 2s, keep_alive: false }
scenarios:
  - { name: s, steps: [{ name: get, path: /x }] }
load: { rate: 40, iterations: %d, max_vus: 100 }
thresholds: [ "error_rate <= 100%%" ]
`, rt.addr, iterations))
	out := dir + "/run.json"
	res := stampede(t, "run", plan, "--store", dir+"/history.db", "--out", "json="+out, "-q")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	r := readRun(t, out)
	served := rt.served1.Load() + rt.served2.Load()
	t.Logf("served %d before the kill, %d after the restart; %d in flight at the kill", rt.served1.Load(), rt.served2.Load(), rt.hung.Load())
	s := r.Summary
	if s.Iterations != iterations || s.Requests != iterations || s.Errors != iterations-served {
		t.Errorf("summary: %d iterations, %d requests, %d errors; want %d, %d and the %d the target did not answer",
			s.Iterations, s.Requests, s.Errors, iterations, iterations, iterations-served)
	}
	if rt.served1.Load() != rt.kill-1 || rt.served2.Load() == 0 {
		t.Errorf("the target answered %d requests before the kill and %d after the restart, want %d and some", rt.served1.Load(), rt.served2.Load(), rt.kill-1)
	}
	kinds := errorsByKind(r)
	reset, refused := kinds["connection_reset"], kinds["connection_refused"]
	// Requests in flight at the kill are reset; so are connections the
	// kernel had accepted that the server had not taken yet.
	if reset < rt.hung.Load() || refused == 0 || reset+refused != iterations-served || len(kinds) != 2 {
		t.Errorf("errors by kind %v: want connection_reset for the %d in flight (or queued) at the kill and connection_refused for the rest of the %d unanswered",
			kinds, rt.hung.Load(), iterations-served)
	}
}
