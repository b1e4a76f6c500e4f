package http

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"runtime"
	rtmetrics "runtime/metrics"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/racedetect"
	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/tmpl"
)

// harness runs compiled steps for one VU through a real engine-free path.
type harness struct {
	vu *load.VU
	c  *Client
}

func newHarness(t testing.TB, cfg Config) *harness {
	c := NewClient(cfg)
	vu := load.NewTestVU(1, []any{c}, tmpl.NewState(1, rand.New(rand.NewPCG(1, 2)), nil))
	if t != nil {
		t.Cleanup(func() { c.Close() })
	}
	return &harness{vu: vu, c: c}
}

func compile(t testing.TB, base string, st *plan.Step) *Step {
	t.Helper()
	s, err := Compile(plan.Target{BaseURL: base}, st, tmpl.NewCompiler(nil, nil, nil), Config{Timeout: 2 * time.Second, KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestErrorKinds(t *testing.T) {
	stall := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer stall.Close()
	codes := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		var code int
		fmt.Sscanf(r.URL.Path, "/%d", &code)
		w.WriteHeader(code)
	}))
	defer codes.Close()
	reset := listenAndReset(t)
	closed := closedPort(t)
	tlsSrv := httptest.NewTLSServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {}))
	defer tlsSrv.Close()

	tests := []struct {
		name   string
		base   string
		step   plan.Step
		kind   metrics.ErrKind
		status uint16
	}{
		{"refused port", "http://" + closed, plan.Step{Path: "/"}, metrics.KindConnRefused, 0},
		{"server resets", "http://" + reset, plan.Step{Path: "/"}, metrics.KindConnReset, 0},
		{"no answer in time", stall.URL, plan.Step{Path: "/", Timeout: plan.Duration(200 * time.Millisecond)}, metrics.KindTimeout, 0},
		{"5xx", codes.URL, plan.Step{Path: "/503"}, metrics.KindHTTP5xx, 503},
		{"4xx", codes.URL, plan.Step{Path: "/404"}, metrics.KindHTTP4xx, 404},
		{"expected 404 is fine", codes.URL, plan.Step{Path: "/404", Check: &plan.Check{Status: []int{404}}}, metrics.KindNone, 404},
		{"wrong 2xx fails its check", codes.URL, plan.Step{Path: "/204", Check: &plan.Check{Status: []int{200}}}, metrics.KindCheckFailed, 204},
		{"untrusted certificate", tlsSrv.URL, plan.Step{Path: "/"}, metrics.KindTLS, 0},
		{"nothing to extract", codes.URL, plan.Step{Path: "/200", Extract: map[string]*plan.Extractor{"id": {JSON: "id"}}}, metrics.KindExtractFailed, 200},
	}
	for _, tc := range tests {
		h := newHarness(t, Config{Timeout: 2 * time.Second, KeepAlive: true})
		st := compile(t, tc.base, &tc.step)
		var s metrics.Sample
		st.Do(context.Background(), h.vu, &s)
		if s.Kind != tc.kind || s.Status != tc.status {
			t.Errorf("%s: kind %v status %d, want %v %d", tc.name, s.Kind, s.Status, tc.kind, tc.status)
		}
	}
}

// A request through an insecure-allowed TLS target times its handshake.
func TestTLSPhases(t *testing.T) {
	srv := httptest.NewTLSServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	h := newHarness(t, Config{Timeout: 2 * time.Second, KeepAlive: true, Insecure: true})
	st, err := Compile(plan.Target{BaseURL: srv.URL}, &plan.Step{Path: "/"}, tmpl.NewCompiler(nil, nil, nil), Config{Timeout: 2 * time.Second, KeepAlive: true, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	var s metrics.Sample
	send, end := st.Do(context.Background(), h.vu, &s)
	if s.Kind != metrics.KindNone || s.TLSUS == 0 || s.BytesIn == 0 || s.BytesOut == 0 {
		t.Fatalf("sample %+v", s)
	}
	// The phases do not overlap: connect, handshake, first byte and the
	// rest add up to no more than the whole request.
	if sum := s.DNSUS + s.ConnUS + s.TLSUS + s.TTFBUS + s.RecvUS; time.Duration(sum)*time.Microsecond > end.Sub(send)+time.Millisecond {
		t.Fatalf("phases add to %d µs, the request took %v: %+v", sum, end.Sub(send), s)
	}
	// The second request reuses the connection: no connect, no handshake.
	s = metrics.Sample{}
	st.Do(context.Background(), h.vu, &s)
	if s.TLSUS != 0 || s.ConnUS != 0 {
		t.Fatalf("keep-alive request reconnected: %+v", s)
	}
}

func TestRequestIsBuiltFromTemplates(t *testing.T) {
	got := make(chan *nethttp.Request, 1)
	bodies := make(chan string, 1)
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		b := make([]byte, r.ContentLength)
		r.Body.Read(b)
		bodies <- string(b)
		got <- r
	}))
	defer srv.Close()
	h := newHarness(t, Config{Timeout: time.Second, KeepAlive: true})
	state := h.vu.State.(*tmpl.State)
	state.Set("id", "42")
	st, err := Compile(plan.Target{BaseURL: srv.URL + "/api/", Headers: map[string]string{"X-Base": "b"}}, &plan.Step{
		Method: "POST", Path: "/items/{{ id }}", Query: map[string]string{"q": "a b&c", "vu": "{{ vu }}"},
		Headers: map[string]string{"X-Id": "{{ id }}"}, JSON: map[string]any{"id": "{{ id }}", "n": 1},
	}, tmpl.NewCompiler(nil, nil, nil), Config{Timeout: time.Second, KeepAlive: true})
	if err != nil {
		t.Fatal(err)
	}
	var s metrics.Sample
	st.Do(context.Background(), h.vu, &s)
	r := <-got
	body := <-bodies
	if r.URL.Path != "/api/items/42" || r.URL.Query().Get("q") != "a b&c" || r.URL.Query().Get("vu") != "1" {
		t.Errorf("url %s", r.URL)
	}
	if r.Header.Get("X-Id") != "42" || r.Header.Get("X-Base") != "b" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.Header)
	}
	if body != `{"id":"42","n":1}` {
		t.Errorf("body %s", body)
	}
}

// Interrupt aborts a request in flight at once.
func TestInterrupt(t *testing.T) {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		<-r.Context().Done()
	}))
	defer srv.Close()
	h := newHarness(t, Config{Timeout: 30 * time.Second, KeepAlive: true})
	st := compile(t, srv.URL, &plan.Step{Path: "/", Timeout: plan.Duration(30 * time.Second)})
	done := make(chan metrics.Sample)
	go func() {
		var s metrics.Sample
		st.Do(context.Background(), h.vu, &s)
		done <- s
	}()
	// Wait until the request is on the wire.
	for h.c.cur.Load() == nil {
		time.Sleep(time.Millisecond)
	}
	h.c.Interrupt()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Interrupt did not abort the request")
	}
}

func listenAndReset(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 1024)
			c.Read(buf)
			c.(*net.TCPConn).SetLinger(0)
			c.Close()
		}
	}()
	return ln.Addr().String()
}

func closedPort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// BenchmarkRequest is the per-request cost of the HTTP runner against a
// loopback server, including the server's share on the same machine.
func BenchmarkRequest(b *testing.B) {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) { w.Write([]byte("hello")) }))
	defer srv.Close()
	h := newHarness(nil, Config{Timeout: time.Second, KeepAlive: true})
	defer h.c.Close()
	st := compile(b, srv.URL, &plan.Step{Path: "/x/{{ vu }}", Headers: map[string]string{"Accept": "text/plain"}})
	var s metrics.Sample
	b.ReportAllocs()
	for b.Loop() {
		s = metrics.Sample{}
		st.Do(context.Background(), h.vu, &s)
		if s.Kind != metrics.KindNone {
			b.Fatal(s.Kind)
		}
	}
	_ = strings.TrimSpace
}

// A keep-alive connection the server closed while idle is redialled once
// for an idempotent request; the request succeeds and counts a connect.
func TestStaleConnectionIsRedialled(t *testing.T) {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) { w.Write([]byte("ok")) }))
	defer srv.Close()
	h := newHarness(t, Config{Timeout: 2 * time.Second, KeepAlive: true})
	st := compile(t, srv.URL, &plan.Step{Path: "/"})
	var s metrics.Sample
	st.Do(context.Background(), h.vu, &s)
	if s.Kind != metrics.KindNone {
		t.Fatalf("first request: %v", s.Kind)
	}
	srv.CloseClientConnections() // as an idle timeout on the server would
	s = metrics.Sample{}
	st.Do(context.Background(), h.vu, &s)
	if s.Kind != metrics.KindNone || s.Status != 200 {
		t.Fatalf("request on a stale connection: kind %v status %d", s.Kind, s.Status)
	}
}

// Responses with Connection: close, HEAD requests and chunked bodies are
// read correctly and the next request still works.
func TestResponseFraming(t *testing.T) {
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		switch r.URL.Path {
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case "/chunked":
			f := w.(nethttp.Flusher)
			for i := 0; i < 3; i++ {
				fmt.Fprintf(w, "part%d;", i)
				f.Flush()
			}
		default:
			w.Header().Set("Content-Length", "5")
			if r.Method != "HEAD" {
				w.Write([]byte("hello"))
			}
		}
	}))
	defer srv.Close()
	// Kept (a check reads the body) and streamed (nothing does), in turns
	// on one connection.
	for _, keep := range []bool{true, false} {
		h := newHarness(t, Config{Timeout: 2 * time.Second, KeepAlive: true})
		for _, tc := range []struct {
			step plan.Step
			want string
		}{
			{plan.Step{Path: "/close"}, "bye"},
			{plan.Step{Method: "HEAD", Path: "/"}, ""},
			{plan.Step{Path: "/chunked"}, "part0;part1;part2;"},
			{plan.Step{Path: "/"}, "hello"},
			{plan.Step{Path: "/chunked"}, "part0;part1;part2;"},
			{plan.Step{Path: "/"}, "hello"},
		} {
			step := tc.step
			if keep && tc.want != "" {
				step.Check = &plan.Check{BodyContains: tc.want}
			}
			st := compile(t, srv.URL, &step)
			var s metrics.Sample
			st.Do(context.Background(), h.vu, &s)
			want := tc.want
			if !keep {
				want = "" // discarded as it arrived
			}
			if s.Kind != metrics.KindNone || string(h.c.resp.Body()) != want {
				t.Errorf("kept %v: %s %s: kind %v body %q, want %q", keep, step.Method, step.Path, s.Kind, h.c.resp.Body(), want)
			}
			if int(s.BytesIn) < len(tc.want) {
				t.Errorf("kept %v: %s %s: %d bytes in, the body alone has %d", keep, step.Method, step.Path, s.BytesIn, len(tc.want))
			}
		}
	}
}

// cannedServer answers every request on a connection with the same bytes
// and allocates nothing per request, so allocation counts are the
// client's own.
func cannedServer(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello")
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					// One request per read is enough for a client that
					// waits for each response.
					if n > 0 {
						if _, err := c.Write(resp); err != nil {
							return
						}
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// The per-request path allocates nothing once the VU is warm.
func TestRequestDoesNotAllocate(t *testing.T) {
	racedetect.Skip(t, "the race detector allocates")
	base := cannedServer(t)
	h := newHarness(t, Config{Timeout: time.Second, KeepAlive: true, Buffers: NewBuffers(0)})
	st := compile(t, base, &plan.Step{Path: "/x/{{ vu }}", Query: map[string]string{"q": "{{ iteration }}"},
		Headers: map[string]string{"Accept": "text/plain"}, Check: &plan.Check{Status: []int{200}, BodyContains: "hell"}})
	var s metrics.Sample
	st.Do(context.Background(), h.vu, &s) // connect and size the buffers
	allocs := testing.AllocsPerRun(200, func() {
		s = metrics.Sample{}
		st.Do(context.Background(), h.vu, &s)
	})
	if s.Kind != metrics.KindNone {
		t.Fatalf("request failed: %v", s.Kind)
	}
	if allocs > 0 {
		t.Fatalf("%.1f allocations per request, want 0", allocs)
	}
}

// BenchmarkClientRequest is the client's own per-request cost against a
// server that does almost nothing.
func BenchmarkClientRequest(b *testing.B) {
	base := cannedServer(b)
	h := newHarness(nil, Config{Timeout: time.Second, KeepAlive: true, Buffers: NewBuffers(0)})
	defer h.c.Close()
	st := compile(b, base, &plan.Step{Path: "/x/{{ vu }}", Headers: map[string]string{"Accept": "text/plain"}})
	var s metrics.Sample
	b.ReportAllocs()
	for b.Loop() {
		s = metrics.Sample{}
		st.Do(context.Background(), h.vu, &s)
		if s.Kind != metrics.KindNone {
			b.Fatal(s.Kind)
		}
	}
}

// VUs waiting on a slow server hold no read buffer: they borrow one only
// once their response has begun, and give it back when it is read.
func TestWaitingVUsHoldNoReadBuffer(t *testing.T) {
	const vus = 50
	srv, arrived, free := holdingServer(t, vus, strings.Repeat("x", 3000)) // more than a VU's first read
	bufs := NewBuffers(0)
	st := compile(t, srv.URL, &plan.Step{Path: "/", Check: &plan.Check{Status: []int{200}, BodyContains: "xxx"}})
	var wg sync.WaitGroup
	kinds := make([]metrics.ErrKind, vus)
	for i := range vus {
		h := newHarness(t, Config{Timeout: 10 * time.Second, KeepAlive: true, Buffers: bufs})
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s metrics.Sample
			st.Do(context.Background(), h.vu, &s)
			kinds[i] = s.Kind
		}()
	}
	for range vus {
		<-arrived
	}
	if n := bufs.lent.Load(); n != 0 {
		t.Fatalf("%d VUs waiting for their response hold %d read buffers, want none", vus, n)
	}
	free()
	wg.Wait()
	for i, k := range kinds {
		if k != metrics.KindNone {
			t.Fatalf("VU %d: %v", i, k)
		}
	}
	if n := bufs.lent.Load(); n != 0 {
		t.Fatalf("%d read buffers still lent after every response was read", n)
	}
}

// Dialling runs aside: a VU waiting on a slow server keeps the stack a
// request needs, not the larger one that resolving and connecting grow.
// Measured with its server's goroutine: about 8 KB a VU, 14 KB when the
// VU dialled on its own goroutine.
func TestDialLeavesTheVUStackSmall(t *testing.T) {
	racedetect.Skip(t, "the race detector grows stacks")
	waitingStack(t) // the runtime sizes new stacks from those it saw
	if n := waitingStack(t); n > 11<<10 {
		t.Fatalf("%d bytes of stack per VU waiting for its response (and its server's goroutine), want at most 11 KB", n)
	}
}

// waitingStack is the goroutine stack per VU while 200 VUs wait for a
// response, each on a connection it dials itself.
func waitingStack(t *testing.T) int64 {
	const vus = 200
	srv, arrived, free := holdingServer(t, vus, "")
	bufs := NewBuffers(0)
	wait := compile(t, srv.URL, &plan.Step{Path: "/"})
	runtime.GC()
	before := stackBytes()
	hs := make([]*harness, vus)
	for i := range hs {
		hs[i] = newHarness(t, Config{Timeout: 10 * time.Second, KeepAlive: true, Buffers: bufs})
	}
	var wg sync.WaitGroup
	for _, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s metrics.Sample
			wait.Do(context.Background(), h.vu, &s)
		}()
	}
	for range vus {
		<-arrived
	}
	runtime.GC() // the dialling goroutines have ended: their stacks go
	perVU := (stackBytes() - before) / vus
	free()
	wg.Wait()
	return perVU
}

// holdingServer answers body to each request once free is called; arrived
// receives one value per request held. The server is released before it
// closes at the end of the test, on failure too.
func holdingServer(t *testing.T, n int, body string) (*httptest.Server, <-chan struct{}, func()) {
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		arrived <- struct{}{}
		<-release
		io.WriteString(w, body)
	}))
	free := sync.OnceFunc(func() { close(release) })
	t.Cleanup(srv.Close)
	t.Cleanup(free) // cleanups run last first: the handlers end before Close waits for them
	return srv, arrived, free
}

func stackBytes() int64 {
	s := []rtmetrics.Sample{{Name: "/memory/classes/heap/stacks:bytes"}}
	rtmetrics.Read(s)
	return int64(s[0].Value.Uint64())
}
