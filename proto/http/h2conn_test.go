package http

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
)

// Against Go's own HTTP/2 server, over TLS and h2c: every request arrives
// once, and bodies larger than the windows both ways (a 1 MiB upload, a
// 1 MiB answer kept for a check) go through, so WINDOW_UPDATE is both
// sent and waited for.
func TestH2ConnFlowControl(t *testing.T) {
	const size = 1 << 20
	var gets, posts atomic.Int64
	h := nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		if r.ProtoMajor != 2 {
			nethttp.Error(w, "not h2", 400)
			return
		}
		if r.Method == "POST" {
			n, _ := io.Copy(io.Discard, r.Body)
			posts.Add(1)
			fmt.Fprintf(w, "got %d", n)
			return
		}
		gets.Add(1)
		w.Write(bytes.Repeat([]byte("x"), size-3))
		w.Write([]byte("end"))
	})
	p := newPKI(t)
	tlsSrv, tlsConns := p.server(t, false, 0, true)
	tlsSrv.Config.Handler = h
	h2c, h2cConns := h2cServer(t, h)
	for _, tc := range []struct {
		name, base string
		conns      *atomic.Int64
	}{
		{"h2 over TLS", tlsSrv.URL, tlsConns},
		{"h2c", h2c.URL, h2cConns},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gets.Store(0)
			posts.Store(0)
			target := plan.Target{BaseURL: tc.base, HTTP: 2, MaxBody: 2 << 20, TLS: &plan.TLS{CAFile: p.caFile}}
			cfg := withTarget(t, target, Config{KeepAlive: true, HTTP2: true})
			hs := newHarness(t, cfg)
			get := compileT(t, target, &plan.Step{Path: "/big", Check: &plan.Check{BodyContains: "xend"}}, cfg)
			post := compileT(t, target, &plan.Step{Path: "/up", Method: "POST", Body: strings.Repeat("y", size),
				Check: &plan.Check{BodyContains: fmt.Sprintf("got %d", size)}}, cfg)
			before := tc.conns.Load()
			const n = 8
			for i := range n {
				for j, s := range hs.run(get, post) {
					if s.Kind != metrics.KindNone || s.Status != 200 {
						t.Fatalf("iteration %d step %d: kind %v status %d", i, j, s.Kind, s.Status)
					}
					if j == 0 && s.BytesIn < size {
						t.Fatalf("iteration %d: %d bytes in for a 1 MiB answer", i, s.BytesIn)
					}
					if j == 1 && s.BytesOut < size {
						t.Fatalf("iteration %d: %d bytes out for a 1 MiB upload", i, s.BytesOut)
					}
				}
			}
			if g, p := gets.Load(), posts.Load(); g != n || p != n {
				t.Fatalf("the server saw %d GETs and %d POSTs, want %d of each", g, p, n)
			}
			if c := tc.conns.Load() - before; c != 1 {
				t.Fatalf("%d connections, want 1", c)
			}
		})
	}
}

// A server that ends each connection after a few streams (GOAWAY, then
// close): the VU dials again and every request is counted once, by the
// server and by the client. The requests are POSTs, which are sent again
// only when the server says it did not process them (a request sent
// after the GOAWAY was on its way).
func TestH2ConnGoAway(t *testing.T) {
	const perConn, total = 5, 23
	var served atomic.Int64
	type connKey struct{}
	h := nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		n := r.Context().Value(connKey{}).(*atomic.Int64).Add(1)
		served.Add(1)
		if n == perConn {
			w.Header().Set("Connection", "close") // Go's server sends GOAWAY after this answer
		}
		fmt.Fprintf(w, "request %d of its connection", n)
	})
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(nethttp.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, new(atomic.Int64))
	}
	countConns(srv, &conns)
	srv.Start()
	t.Cleanup(srv.Close)
	target := plan.Target{BaseURL: srv.URL, HTTP: 2}
	cfg := withTarget(t, target, Config{KeepAlive: true, HTTP2: true})
	hs := newHarness(t, cfg)
	st := compileT(t, target, &plan.Step{Path: "/", Method: "POST", Body: "order", Check: &plan.Check{BodyContains: "of its connection"}}, cfg)
	for i := range total {
		if s := hs.run(st)[0]; s.Kind != metrics.KindNone {
			t.Fatalf("request %d: kind %v", i, s.Kind)
		}
	}
	if n := served.Load(); n != total {
		t.Fatalf("the server answered %d requests, want %d", n, total)
	}
	if c, want := conns.Load(), int64((total+perConn-1)/perConn); c != want {
		t.Fatalf("%d connections, want %d", c, want)
	}
}

// fakeConn is a connection whose server side is the bytes of r; what
// the client writes is dropped.
type fakeConn struct{ r io.Reader }

func (c *fakeConn) Read(p []byte) (int, error)     { return c.r.Read(p) }
func (c *fakeConn) Write(p []byte) (int, error)    { return len(p), nil }
func (*fakeConn) Close() error                     { return nil }
func (*fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (*fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (*fakeConn) SetDeadline(time.Time) error      { return nil }
func (*fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (*fakeConn) SetWriteDeadline(time.Time) error { return nil }

// serverFrames is what a server writes: its frames, made by write.
func serverFrames(write func(fr *http2.Framer, enc func(...string) []byte)) []byte {
	var out, hb bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	e := hpack.NewEncoder(&hb)
	enc := func(kv ...string) []byte {
		hb.Reset()
		for i := 0; i+1 < len(kv); i += 2 {
			e.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return bytes.Clone(hb.Bytes())
	}
	write(fr, enc)
	return out.Bytes()
}

// FuzzH2Response feeds a hostile server's bytes to the HTTP/2 client
// connection, for a GET and for a POST whose body is larger than the
// default windows: bad frames, huge header lists, window overflows. It
// never panics or loops (the input ends, so must the request); a
// success is a whole final response, and a kept body stays within its
// bound.
func FuzzH2Response(f *testing.F) {
	ok := func(fr *http2.Framer, enc func(...string) []byte) {
		fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100})
		fr.WriteSettingsAck()
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(":status", "200", "set-cookie", "a=b"), EndHeaders: true})
		fr.WriteData(1, true, []byte("hello"))
	}
	for _, w := range []func(*http2.Framer, func(...string) []byte){
		ok,
		func(fr *http2.Framer, enc func(...string) []byte) { // windows opened for the body, a ping, an interim answer, trailers
			fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20}, http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 14})
			fr.WriteWindowUpdate(0, 1<<20)
			fr.WritePing(false, [8]byte{1})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(":status", "103", "link", "</a>"), EndHeaders: true})
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(":status", "302", "location", "/x"), EndHeaders: true})
			fr.WriteData(1, false, bytes.Repeat([]byte("b"), 9000))
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc("grpc-status", "0"), EndHeaders: true, EndStream: true})
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // a window overflow
			fr.WriteWindowUpdate(0, 1<<31-1)
			fr.WriteWindowUpdate(1, 1<<31-1)
			ok(fr, enc)
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // a huge header list in CONTINUATION frames
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(":status", "200"), EndHeaders: false})
			big := enc("x-big", strings.Repeat("z", 16000))
			for range 5 {
				fr.WriteContinuation(1, false, big)
			}
			fr.WriteContinuation(1, true, nil)
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // more DATA than the window
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(":status", "200"), EndHeaders: true})
			for range 20 {
				fr.WriteData(1, false, make([]byte, 16384))
			}
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // GOAWAY before the stream, and a reset
			fr.WriteGoAway(0, http2.ErrCodeNo, []byte("bye"))
			fr.WriteRSTStream(1, http2.ErrCodeRefusedStream)
		},
		func(fr *http2.Framer, enc func(...string) []byte) { // a push promise and a frame for a stream never opened
			fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: enc(":method", "GET"), EndHeaders: true})
			fr.WriteData(7, true, []byte("?"))
		},
	} {
		b := serverFrames(w)
		f.Add(b, false, uint16(100))
		f.Add(b, true, uint16(10))
	}
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"), false, uint16(100))
	f.Fuzz(func(t *testing.T, server []byte, post bool, maxBody uint16) {
		var req fasthttp.Request
		req.Header.SetMethod("GET")
		req.Header.Set("Accept", "*/*")
		var body []byte
		if post {
			req.Header.SetMethod("POST")
			body = make([]byte, 100<<10)
		}
		h := newH2Conn(&fakeConn{r: bytes.NewReader(server)})
		if err := h.encode(string(req.Header.Method()), "http", "127.0.0.1", []byte("/"), &req, len(body)); err != nil {
			t.Fatal(err)
		}
		var resp fasthttp.Response
		sink := h2sink{resp: &resp, cookies: true, keepBody: true, maxBody: int(maxBody)}
		err := h.roundTrip(body, &sink)
		if err != nil {
			if h.usable() {
				t.Fatalf("the connection is still usable after %v", err)
			}
			return
		}
		if !h.s.ended || !h.s.headers || h.s.status < 200 || resp.StatusCode() != h.s.status {
			t.Fatalf("a success without a whole answer: ended %v, headers %v, status %d", h.s.ended, h.s.headers, h.s.status)
		}
		if len(resp.Body()) > int(maxBody) {
			t.Fatalf("kept %d bytes of body, max %d", len(resp.Body()), maxBody)
		}
	})
}
