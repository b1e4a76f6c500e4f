package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/tmpl"
)

// h2Client is a VU's HTTP/2 state. Each host the VU talks to gets one
// connection, dialled as on the HTTP/1.1 path (the same DNS, connect, TLS
// and proxy tunnel code, ALPN offering h2). A plan without parallel steps
// runs it as an h2conn of our own, on the VU's goroutine (see sendOwn).
// A plan with them (Config.Multiplex) hands it to x/net/http2's
// ClientConn, for concurrent streams, used directly: no pool, no dial goroutine, no per-request
// context or trace callbacks. The request's deadline is the connection's
// (cleared once the response is read), so a timeout or an Interrupt cuts
// the connection as on HTTP/1.1. Requests and responses are converted from
// and to the VU's fasthttp ones, so checks, extractors, cookies and
// redirects are the same code for both versions.
//
// The ClientConn reads frames on a goroutine of its own: the byte counts
// are atomic.
type h2Client struct {
	t2   *http2.Transport
	cur  atomic.Pointer[countConn] // the connection in use, for Interrupt
	hreq nethttp.Request
	// The last request's URL, method and headers, reused when the next
	// one is the same.
	url                 *url.URL
	origin, uri, method string
	header              nethttp.Header
	// sig is the last request's header fields, name and value each
	// followed by a 0 byte: when the next request's are the same (most
	// steps send the same headers each time) header is reused untouched.
	sig, next []byte

	in, out atomic.Int64 // bytes over the VU's connections
}

func (c *Client) newH2() *h2Client {
	h := &h2Client{t2: &http2.Transport{AllowHTTP: true, DisableCompression: true, StrictMaxConcurrentStreams: true}}
	c.h2 = h
	c.h2p.Store(h)
	return h
}

// countConn counts the bytes of a connection the ClientConn reads and
// writes from its own goroutines.
type countConn struct {
	net.Conn
	in, out *atomic.Int64
}

func (cc *countConn) Read(p []byte) (int, error) {
	n, err := cc.Conn.Read(p)
	cc.in.Add(int64(n))
	return n, err
}

func (cc *countConn) Write(p []byte) (int, error) {
	n, err := cc.Conn.Write(p)
	cc.out.Add(int64(n))
	return n, err
}

// h2Body is a request body the ClientConn reads from its own goroutine.
type h2Body struct{ bytes.Reader }

func (*h2Body) Close() error { return nil }

// errNoH2 is a TLS server that did not choose h2 by ALPN.
var errNoH2 = errors.New("the server did not agree to HTTP/2 in the TLS handshake (ALPN): it may speak HTTP/1.1 only (set target.http: 1)")

// dialH2 connects h and starts x/net/http2's ClientConn on it, for a
// parallel group; the root's state (its hosts, under its mu) holds it.
func (c *Client) dialH2(h *hostConn, deadline time.Time) error {
	w, err := c.h2Wire(h, deadline)
	if err != nil {
		return err
	}
	cc, err := c.root.h2.t2.NewClientConn(w)
	if err != nil {
		w.Close()
		return err
	}
	h.cc, h.wire = cc, w
	return nil
}

// h2Wire connects h for HTTP/2, counting its bytes in the root's h2Client.
func (c *Client) h2Wire(h *hostConn, deadline time.Time) (*countConn, error) {
	if h.proxy != "" && !h.tls {
		return nil, fmt.Errorf("HTTP/2 without TLS (h2c) to %s cannot go through the proxy %s", h.addr, h.proxy)
	}
	conn, err := c.connect(h, deadline, "h2")
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol != "h2" {
		conn.Close()
		return nil, errNoH2
	}
	rh := c.root.h2
	w := &countConn{Conn: conn, in: &rh.in, out: &rh.out}
	rh.cur.Store(w)
	w.SetDeadline(deadline)
	return w, nil
}

// sendOwn sends req to d on the VU's own HTTP/2 connection (h2conn) and
// reads the answer into c.resp, on the VU's goroutine. A reused
// connection that the server had closed while the VU was idle is
// redialled once for idempotent requests, as on HTTP/1.1, and for any
// request the server says it did not process (GOAWAY, REFUSED_STREAM).
func (c *Client) sendOwn(d *dest, st *Step, req *fasthttp.Request, deadline time.Time) error {
	rh := c.h2
	scheme := "http"
	if d.tls {
		scheme = "https"
	}
	body := req.Body()
	sink := h2sink{resp: &c.resp, allHeaders: len(st.extract) > 0, cookies: c.cfg.Cookies != plan.CookiesOff,
		keepBody: st.keepBody, maxBody: st.maxBody}
	for attempt := 0; ; attempt++ {
		hc, err := c.host(d)
		if err != nil {
			return err
		}
		if hc.own != nil && !hc.own.usable() {
			hc.own.Close()
			hc.own = nil
		}
		reused := hc.own != nil
		if !reused {
			w, err := c.h2Wire(hc, deadline)
			if err != nil {
				return err
			}
			hc.own = newH2Conn(w)
		}
		h := hc.own
		w := h.conn.(*countConn)
		if err := c.arm(hc, w, deadline); err != nil {
			return err
		}
		if err := h.encode(bytesString(req.Header.Method()), scheme, d.host, c.buf, req, len(body)); err != nil {
			return err
		}
		in0, out0 := rh.in.Load(), rh.out.Load()
		c.trace.sent = time.Now() // after any dial: TTFB is the server's part
		err = h.roundTrip(body, &sink)
		if h.s.headers {
			c.trace.firstRead = h.s.headerAt
		}
		c.trace.in += rh.in.Load() - in0
		c.trace.out += rh.out.Load() - out0
		again := attempt == 0 && (errors.Is(err, errH2Unprocessed) ||
			reused && !h.s.headers && idempotent(req) && !errors.Is(err, os.ErrDeadlineExceeded))
		if retry, err := c.settle(hc, w, err, again); !retry {
			return err
		}
	}
}

// arm makes w, the wire of the HTTP/2 connection hc, the one an
// Interrupt cuts, and sets its deadline; it closes hc when that fails or
// an Interrupt came first.
func (c *Client) arm(hc *hostConn, w *countConn, deadline time.Time) error {
	r := c.root
	r.h2.cur.Store(w)
	if err := w.SetDeadline(deadline); err != nil {
		r.closeConn(hc)
		return err
	}
	if r.stopped.Load() { // an Interrupt before the deadline was set
		r.closeConn(hc)
		return context.Canceled
	}
	return nil
}

// settle ends an exchange on the HTTP/2 connection hc (on the wire w)
// that err ended: a connection left idle waits without a deadline (or is
// closed when connections are not kept alive), one that failed is
// closed. It reports retry when the request is to be sent again, which
// again allows, else the step's error.
func (c *Client) settle(hc *hostConn, w net.Conn, err error, again bool) (retry bool, _ error) {
	r := c.root
	if err == nil {
		w.SetDeadline(time.Time{}) // idle, the connection waits as long as the server keeps it
		if !c.cfg.KeepAlive {
			r.closeConn(hc)
		}
		return false, nil
	}
	r.closeConn(hc)
	if r.stopped.Load() {
		return false, context.Canceled
	}
	if again {
		c.trace.in, c.trace.out = 0, 0
		return true, nil
	}
	return false, err
}

// conn returns the root's HTTP/2 connection to d, dialling it when there
// is none or the one there can take no more requests (closed, or the
// server sent GOAWAY); reused says it was there.
func (c *Client) conn(d *dest, deadline time.Time) (hc *hostConn, reused bool, err error) {
	r := c.root
	r.mu.Lock()
	defer r.mu.Unlock()
	if hc, err = r.host(d); err != nil {
		return nil, false, err
	}
	if hc.cc != nil && !hc.cc.CanTakeNewRequest() {
		r.closeConn(hc)
	}
	if hc.cc != nil {
		return hc, true, nil
	}
	return hc, false, c.dialH2(hc, deadline)
}

// sendH2 sends req to d over HTTP/2 and reads the answer into c.resp. A
// reused connection that the server had closed (or sent GOAWAY on) while
// the VU was idle is redialled once for idempotent requests, as on
// HTTP/1.1. In a parallel group the connection is shared: its deadline is
// the group's, an error closes it only when it can take no more requests,
// and a request's bytes are its bodies' (its frames are interleaved with
// the others').
func (c *Client) sendH2(d *dest, st *Step, req *fasthttp.Request, deadline time.Time) error {
	r := c.root
	rh := r.h2
	if rh == nil {
		rh = r.newH2()
	}
	h := c.h2
	if h == nil {
		h = c.newH2()
	}
	if r.stopped.Load() {
		return context.Canceled
	}
	if !c.cfg.Multiplex && !c.grouped { // (a group under a Config without Multiplex gets a ClientConn of its own)
		return c.sendOwn(d, st, req, deadline)
	}
	hreq, err := h.request(d, c.buf, req)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		hc, reused, err := c.conn(d, deadline)
		if err != nil {
			return err
		}
		w, cc := hc.wire, hc.cc
		if c.grouped {
			deadline = r.groupDeadline
		}
		if err := c.arm(hc, w, deadline); err != nil {
			return err
		}
		if b := req.Body(); len(b) > 0 {
			// The ClientConn may still be writing a body when the answer
			// is in (a redirect, an error): a request with a body is its
			// own, with copies of its headers and body.
			r2 := *hreq
			r2.Header = hreq.Header.Clone()
			body := &h2Body{}
			body.Reset(bytes.Clone(b))
			r2.Body, r2.ContentLength = body, int64(len(b))
			hreq = &r2
		}
		in0, out0 := rh.in.Load(), rh.out.Load()
		c.trace.sent = time.Now() // after any dial: TTFB is the server's part
		hresp, err := cc.RoundTrip(hreq)
		var n int64
		if err == nil {
			c.trace.firstRead = time.Now() // the response's headers are in
			n, err = c.readH2(st, hresp)
		}
		if c.grouped {
			c.trace.in += n
			c.trace.out += int64(len(req.Body()))
			if err != nil && r.stopped.Load() {
				return context.Canceled
			}
			return err
		}
		c.trace.in += rh.in.Load() - in0
		c.trace.out += rh.out.Load() - out0
		again := reused && attempt == 0 && c.trace.firstRead.IsZero() && idempotent(req) && !errors.Is(err, os.ErrDeadlineExceeded)
		if retry, err := c.settle(hc, w, err, again); !retry {
			return err
		}
	}
}

// request is req as a net/http request to d, whose request URI is uri.
// A request like the last one reuses its URL, method and header strings:
// the ClientConn neither changes nor keeps them.
func (h *h2Client) request(d *dest, uri []byte, req *fasthttp.Request) (*nethttp.Request, error) {
	if h.url == nil || h.origin != d.origin || h.uri != bytesString(uri) {
		u, err := url.Parse(d.origin + bytesString(uri))
		if err != nil {
			return nil, err
		}
		h.url, h.origin, h.uri = u, d.origin, string(uri)
	}
	if m := req.Header.Method(); h.method != string(m) {
		h.method = string(m)
	}
	h.next = h.next[:0]
	for k, v := range req.Header.All() {
		if skipH2Header(k) {
			continue
		}
		h.next = append(append(append(append(h.next, k...), 0), v...), 0)
	}
	if h.header == nil || !bytes.Equal(h.sig, h.next) {
		h.sig, h.next = h.next, h.sig
		h.fillHeader(req)
	}
	hreq := &h.hreq
	*hreq = nethttp.Request{Method: h.method, URL: h.url, Host: d.host, Header: h.header, Proto: "HTTP/2.0", ProtoMajor: 2}
	return hreq, nil
}

// skipH2Header reports a header field HTTP/2 carries otherwise (Host as
// :authority, the body's length in frames) or forbids (Connection,
// Transfer-Encoding).
func skipH2Header(k []byte) bool {
	switch string(k) {
	case "Host", "Connection", "Content-Length", "Transfer-Encoding":
		return true
	}
	return false
}

// fillHeader sets h.header to req's header fields, reusing its slices.
func (h *h2Client) fillHeader(req *fasthttp.Request) {
	if h.header == nil {
		h.header = nethttp.Header{}
	}
	for k, vs := range h.header {
		h.header[k] = vs[:0]
	}
	for k, v := range req.Header.All() {
		if skipH2Header(k) {
			continue
		}
		vs, ok := h.header[string(k)]
		if !ok {
			h.header[string(k)] = []string{string(v)}
			continue
		}
		if n := len(vs); n < cap(vs) && vs[:n+1][n] == string(v) {
			h.header[string(k)] = vs[:n+1]
		} else {
			h.header[string(k)] = append(vs, string(v))
		}
	}
	for k, vs := range h.header {
		if len(vs) == 0 {
			delete(h.header, k)
		}
	}
}

// readH2 copies an HTTP/2 response into c.resp, keeping the body only
// when a check or an extractor reads it, and returns the body's size.
// Only the header fields something reads are copied: all of them for a
// step with extractors (which may read any), else Set-Cookie for the jar
// and a redirect's Location.
func (c *Client) readH2(st *Step, hresp *nethttp.Response) (int64, error) {
	defer hresp.Body.Close()
	resp := &c.resp
	resp.Reset()
	resp.SetStatusCode(hresp.StatusCode)
	if len(st.extract) > 0 {
		for k, vs := range hresp.Header {
			for _, v := range vs {
				resp.Header.Add(k, v)
			}
		}
	} else {
		if c.cfg.Cookies != plan.CookiesOff {
			for _, v := range hresp.Header["Set-Cookie"] {
				resp.Header.Add("Set-Cookie", v)
			}
		}
		if isRedirect(hresp.StatusCode) {
			if v := hresp.Header["Location"]; len(v) > 0 {
				resp.Header.Set("Location", v[0])
			}
		}
	}
	if !st.keepBody {
		return io.Copy(io.Discard, hresp.Body)
	}
	n, err := io.Copy(resp.BodyWriter(), io.LimitReader(hresp.Body, int64(st.maxBody)+1))
	if err == nil && n > int64(st.maxBody) {
		err = fasthttp.ErrBodyTooLarge
	}
	return n, err
}

// DoGroup runs steps, this one first, together. See load.GroupStep. Over
// HTTP/2 each is a stream of the VU's connection, sent at once from a
// goroutine of its own (the first on the VU's): templates are expanded
// before and checks and extractors run after, on the VU's goroutine, so
// what one step of the group extracts is for the steps after the group.
// Over HTTP/1.1, which has one request at a time on the VU's connection,
// they run one after another.
func (st *Step) DoGroup(ctx context.Context, vu *load.VU, steps []load.Step, ss []metrics.Sample, sends, ends []time.Time) {
	c := vu.Slots[st.cfg.Slot].(*Client)
	if !st.cfg.HTTP2 {
		for k, x := range steps {
			vu.InGroup(k)
			sends[k], ends[k] = x.Do(ctx, vu, &ss[k])
		}
		return
	}
	state, _ := vu.State.(*tmpl.State)
	if c.h2 == nil {
		c.newH2()
	}
	c.cookies.newIteration(st.cfg.Cookies, vu.Iter)
	if st.cfg.Cookies != plan.CookiesOff {
		c.cookies.ensureJar(vu.Iter) // one jar for every lane
	}
	for len(c.lanes) < len(steps)-1 {
		l := NewClient(c.cfg)
		l.root, l.bufs = c, c.bufs
		c.lanes = append(c.lanes, l)
	}
	var xs [load.MaxGroup]exchanged
	var ready [load.MaxGroup]bool
	var deadline time.Time
	lane := func(k int) *Client {
		if k == 0 {
			return c
		}
		return c.lanes[k-1]
	}
	for k, x := range steps {
		vu.InGroup(k)
		hs, l := x.(*Step), lane(k)
		l.cookies.jar, l.cookies.iter = c.cookies.jar, c.cookies.iter
		if now, failed := hs.prepare(l, vu, state, &ss[k]); failed {
			sends[k], ends[k] = now, now
			continue
		}
		ready[k] = true
		l.grouped = true
		if dl := time.Now().Add(hs.timeout); dl.After(deadline) {
			deadline = dl
		}
	}
	c.groupDeadline = deadline
	run := func(k int) {
		sends[k] = time.Now()
		xs[k] = steps[k].(*Step).exchange(lane(k), vu.Iter, deadline)
		ends[k] = time.Now()
	}
	var wg sync.WaitGroup
	for k := 1; k < len(steps); k++ {
		if ready[k] {
			wg.Go(func() { run(k) })
		}
	}
	if ready[0] {
		run(0)
	}
	wg.Wait()
	c.endGroup()
	for k, x := range steps {
		lane(k).grouped = false
		if ready[k] {
			vu.InGroup(k)
			x.(*Step).finish(lane(k), vu, state, &ss[k], &xs[k])
		}
	}
}

// endGroup clears the deadline a parallel group set on the VU's
// connections, and closes them when connections are not kept alive.
func (c *Client) endGroup() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, hc := range c.hosts {
		if hc.wire == nil {
			continue
		}
		if !c.cfg.KeepAlive || !hc.cc.CanTakeNewRequest() {
			c.closeConn(hc)
		} else {
			hc.wire.SetDeadline(time.Time{})
		}
	}
}
