package http

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stampede-perf/stampede/internal/racedetect"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
)

// h2cServer is a cleartext server that speaks HTTP/2 with prior
// knowledge (and HTTP/1.1).
func h2cServer(t testing.TB, h nethttp.Handler) (*httptest.Server, *atomic.Int64) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(nethttp.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	countConns(srv, &conns)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// protoHandler answers with the protocol version it saw and the session
// cookie, and sets one at /login.
var protoHandler = nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
	switch r.URL.Path {
	case "/login":
		nethttp.SetCookie(w, &nethttp.Cookie{Name: "sid", Value: "h2", Path: "/"})
	case "/old":
		nethttp.Redirect(w, r, "/new", nethttp.StatusMovedPermanently)
		return
	}
	sid := ""
	if c, err := r.Cookie("sid"); err == nil {
		sid = c.Value
	}
	fmt.Fprintf(w, `{"proto": %d, "sid": %q, "path": %q}`, r.ProtoMajor, sid, r.URL.Path)
})

func TestHTTP2(t *testing.T) {
	p := newPKI(t)
	tlsSrv, tlsConns := p.server(t, false, 0, true)
	tlsSrv.Config.Handler = protoHandler
	h2c, h2cConns := h2cServer(t, protoHandler)
	for _, tc := range []struct {
		name  string
		base  string
		conns *atomic.Int64
		tls   bool
	}{
		{"h2 over TLS by ALPN", tlsSrv.URL, tlsConns, true},
		{"h2c with prior knowledge", h2c.URL, h2cConns, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := plan.Target{BaseURL: tc.base, HTTP: 2, TLS: &plan.TLS{CAFile: p.caFile}}
			cfg := withTarget(t, target, Config{KeepAlive: true, HTTP2: true})
			h := newHarness(t, cfg)
			login := compileT(t, target, &plan.Step{Path: "/login", Check: &plan.Check{JSON: []*plan.JSONCheck{{Path: "proto", Equals: 2}}}}, cfg)
			me := compileT(t, target, &plan.Step{Path: "/old", Method: "POST", Body: "x",
				Check:   &plan.Check{JSON: []*plan.JSONCheck{{Path: "sid", Equals: "h2"}, {Path: "path", Equals: "/new"}}},
				Extract: map[string]*plan.Extractor{"ct": {Header: "Content-Type"}}}, cfg)
			before := tc.conns.Load()
			for i := range 20 {
				s := h.run(login, me)
				for j, x := range s {
					if x.Kind != metrics.KindNone || x.Status != 200 {
						t.Fatalf("iteration %d step %d: kind %v status %d", i, j, x.Kind, x.Status)
					}
					if x.TTFBUS == 0 || x.BytesIn == 0 || x.BytesOut == 0 {
						t.Fatalf("iteration %d step %d: ttfb %d µs, bytes %d in %d out", i, j, x.TTFBUS, x.BytesIn, x.BytesOut)
					}
				}
				if i == 0 && tc.tls && s[0].TLSUS == 0 {
					t.Fatal("no TLS handshake time on the first request")
				}
				if i == 0 && s[0].ConnUS == 0 {
					t.Fatal("no connect time on the first request")
				}
				if i > 0 && s[0].ConnUS != 0 {
					t.Fatalf("iteration %d connected again", i)
				}
			}
			if n := tc.conns.Load() - before; n != 1 {
				t.Fatalf("%d connections for one VU, want 1", n)
			}
		})
	}
}

// HTTP/2 against a server that only speaks HTTP/1.1 fails as a protocol
// error rather than falling back silently.
func TestHTTP2RefusedByAnHTTP1Server(t *testing.T) {
	srv := httptest.NewServer(protoHandler)
	t.Cleanup(srv.Close)
	target := plan.Target{BaseURL: srv.URL, HTTP: 2, Timeout: plan.Duration(time.Second)}
	cfg := withTarget(t, target, Config{KeepAlive: true, HTTP2: true})
	h := newHarness(t, cfg)
	if s := h.run(compileT(t, target, &plan.Step{Path: "/"}, cfg))[0]; s.Kind == metrics.KindNone {
		t.Fatalf("an HTTP/1.1-only server answered an h2c request: status %d", s.Status)
	}
}

func TestHTTP2Interrupt(t *testing.T) {
	stall := nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) { <-r.Context().Done() })
	srv, _ := h2cServer(t, stall)
	target := plan.Target{BaseURL: srv.URL, HTTP: 2, Timeout: plan.Duration(30 * time.Second)}
	cfg := withTarget(t, target, Config{KeepAlive: true, HTTP2: true})
	h := newHarness(t, cfg)
	st := compileT(t, target, &plan.Step{Path: "/"}, cfg)
	done := make(chan time.Duration)
	go func() {
		var s metrics.Sample
		t0 := time.Now()
		st.Do(context.Background(), h.vu, &s)
		done <- time.Since(t0)
	}()
	for h.c.h2p.Load() == nil { // the request has begun
		time.Sleep(time.Millisecond)
	}
	h.c.Interrupt()
	if d := <-done; d > 10*time.Second {
		t.Fatalf("an interrupted request took %v", d)
	}
}

// TestMain lets a test start this binary as an h2c server in a child
// process, so the client's allocations are counted without the server's.
func TestMain(m *testing.M) {
	if os.Getenv("STAMPEDE_TEST_H2C_SERVER") == "1" {
		serveH2C()
		return
	}
	os.Exit(m.Run())
}

func serveH2C() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	srv := &nethttp.Server{Handler: nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) { w.Write([]byte("hello")) })}
	srv.Protocols = new(nethttp.Protocols)
	srv.Protocols.SetUnencryptedHTTP2(true)
	fmt.Println("http://" + ln.Addr().String())
	go func() { // the parent closes our stdin when it is done
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	srv.Serve(ln)
}

// childH2C starts an h2c server in a child process and returns its URL.
func childH2C(t testing.TB) string {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "STAMPEDE_TEST_H2C_SERVER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://") {
		t.Fatalf("the h2c server did not start: %q %v", line, err)
	}
	return strings.TrimSpace(line)
}

// The HTTP/2 path goes through x/net/http2, which allocates per request; its
// count (the client's own: the server runs in a child process) is stated
// in the README and must not grow unnoticed.
func TestHTTP2Allocations(t *testing.T) {
	racedetect.Skip(t, "the race detector allocates")
	target := plan.Target{BaseURL: childH2C(t), HTTP: 2}
	cfg := withTarget(t, target, Config{KeepAlive: true, HTTP2: true})
	h := newHarness(t, cfg)
	st := compileT(t, target, &plan.Step{Path: "/x/{{ vu }}", Headers: map[string]string{"Accept": "text/plain"}, Check: &plan.Check{Status: []int{200}, BodyContains: "hell"}}, cfg)
	var s metrics.Sample
	st.Do(context.Background(), h.vu, &s)
	n := testing.AllocsPerRun(500, func() {
		s = metrics.Sample{}
		st.Do(context.Background(), h.vu, &s)
		if s.Kind != metrics.KindNone {
			t.Fatalf("kind %v", s.Kind)
		}
	})
	t.Logf("%.0f allocations per HTTP/2 request (the client's own)", n)
	if n > maxH2Allocs {
		t.Fatalf("%.0f allocations per HTTP/2 request, want at most %d", n, maxH2Allocs)
	}
}

// BenchmarkH2Request is the HTTP/2 client's own cost against a server in
// a child process.
func BenchmarkH2Request(b *testing.B) {
	target := plan.Target{BaseURL: childH2C(b), HTTP: 2}
	cfg := withTarget(b, target, Config{KeepAlive: true, HTTP2: true})
	h := newHarness(b, cfg)
	st := compileT(b, target, &plan.Step{Path: "/x/{{ vu }}", Headers: map[string]string{"Accept": "text/plain"}}, cfg)
	var s metrics.Sample
	b.ReportAllocs()
	cpu0 := processCPU(b)
	for b.Loop() {
		s = metrics.Sample{}
		st.Do(context.Background(), h.vu, &s)
		if s.Kind != metrics.KindNone {
			b.Fatal(s.Kind)
		}
	}
	// The client's CPU (user + system, this process: the server is a
	// child), which unlike ns/op does not count the time waiting for it.
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the user + system time this process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

const maxH2Allocs = 40

// Over HTTP/2 too a body a check reads is kept up to target.max_body and
// one nothing reads is counted and discarded.
func TestHTTP2Bodies(t *testing.T) {
	big := strings.Repeat("x", 64<<10)
	srv, _ := h2cServer(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) { w.Write([]byte(big)) }))
	target := plan.Target{BaseURL: srv.URL, HTTP: 2, MaxBody: 1024}
	cfg := withTarget(t, target, Config{KeepAlive: true, HTTP2: true})
	h := newHarness(t, cfg)
	kept := compileT(t, target, &plan.Step{Path: "/", Check: &plan.Check{BodyContains: "xx"}}, cfg)
	if s := h.run(kept)[0]; s.Kind != metrics.KindBodyTooLarge {
		t.Fatalf("a 64 KiB body a check reads, max_body 1 KiB: kind %v, want body_too_large", s.Kind)
	}
	discarded := compileT(t, target, &plan.Step{Path: "/"}, cfg)
	if s := h.run(discarded)[0]; s.Kind != metrics.KindNone || s.BytesIn < 64<<10 {
		t.Fatalf("a body nothing reads: kind %v, %d bytes in; want none and ≥ 64 KiB", s.Kind, s.BytesIn)
	}
}

// A request whose header fields are those of the request before reuses
// them; one whose fields differ (another step, a value that changed)
// sends its own.
func TestHTTP2HeadersFollowEachRequest(t *testing.T) {
	srv, _ := h2cServer(t, nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		fmt.Fprintf(w, "a=%q b=%q", r.Header.Values("X-A"), r.Header.Values("X-B"))
	}))
	target := plan.Target{BaseURL: srv.URL, HTTP: 2}
	cfg := withTarget(t, target, Config{KeepAlive: true, HTTP2: true})
	h := newHarness(t, cfg)
	a := compileT(t, target, &plan.Step{Path: "/", Headers: map[string]string{"X-A": "1"},
		Check: &plan.Check{BodyContains: `a=["1"] b=[]`}}, cfg)
	b := compileT(t, target, &plan.Step{Path: "/", Headers: map[string]string{"X-B": "2"},
		Check: &plan.Check{BodyContains: `a=[] b=["2"]`}}, cfg)
	for i, s := range h.run(a, a, b, b, a) {
		if s.Kind != metrics.KindNone {
			t.Fatalf("request %d: kind %v (it sent the headers of another step)", i, s.Kind)
		}
	}
}
