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
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"
)

// h2Client is a VU's HTTP/2 state. Each host the VU talks to gets one
// connection, dialled as on the HTTP/1.1 path (the same DNS, connect, TLS
// and proxy tunnel code, ALPN offering h2) and handed to x/net/http2's
// ClientConn, used directly: no pool, no dial goroutine, no per-request
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

// dialH2 connects h and starts its HTTP/2 connection.
func (c *Client) dialH2(h *hostConn, deadline time.Time) error {
	if h.proxy != "" && !h.tls {
		return fmt.Errorf("HTTP/2 without TLS (h2c) to %s cannot go through the proxy %s", h.addr, h.proxy)
	}
	conn, err := c.connect(h, deadline, "h2")
	if err != nil {
		return err
	}
	if tc, ok := conn.(*tls.Conn); ok && tc.ConnectionState().NegotiatedProtocol != "h2" {
		conn.Close()
		return errNoH2
	}
	w := &countConn{Conn: conn, in: &c.h2.in, out: &c.h2.out}
	c.h2.cur.Store(w)
	w.SetDeadline(deadline)
	cc, err := c.h2.t2.NewClientConn(w)
	if err != nil {
		conn.Close()
		return err
	}
	h.cc, h.wire = cc, w
	return nil
}

// sendH2 sends req to d over HTTP/2 and reads the answer into c.resp. A
// reused connection that the server had closed (or sent GOAWAY on) while
// the VU was idle is redialled once for idempotent requests, as on
// HTTP/1.1.
func (c *Client) sendH2(d *dest, st *Step, req *fasthttp.Request, deadline time.Time) error {
	h := c.h2
	if h == nil {
		h = c.newH2()
	}
	if c.stopped.Load() {
		return context.Canceled
	}
	hc, err := c.host(d)
	if err != nil {
		return err
	}
	hreq, err := h.request(d, c.buf, req)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		if hc.cc != nil && !hc.cc.CanTakeNewRequest() {
			c.closeConn(hc)
		}
		reused := hc.cc != nil
		if !reused {
			if err := c.dialH2(hc, deadline); err != nil {
				return err
			}
		}
		w := hc.wire
		h.cur.Store(w)
		if err := w.SetDeadline(deadline); err != nil {
			c.closeConn(hc)
			return err
		}
		if c.stopped.Load() { // an Interrupt before the deadline was set
			c.closeConn(hc)
			return context.Canceled
		}
		if b := req.Body(); len(b) > 0 {
			body := &h2Body{}
			body.Reset(b)
			hreq.Body = body
			hreq.ContentLength = int64(len(b))
		}
		in0, out0 := h.in.Load(), h.out.Load()
		c.trace.sent = time.Now() // after any dial: TTFB is the server's part
		hresp, err := hc.cc.RoundTrip(hreq)
		if err == nil {
			c.trace.firstRead = time.Now() // the response's headers are in
			err = c.readH2(st, hresp)
		}
		c.trace.in += h.in.Load() - in0
		c.trace.out += h.out.Load() - out0
		if err == nil {
			w.SetDeadline(time.Time{}) // idle, the connection waits as long as the server keeps it
			if !c.cfg.KeepAlive {
				c.closeConn(hc)
			}
			return nil
		}
		c.closeConn(hc)
		if c.stopped.Load() {
			return context.Canceled
		}
		if reused && attempt == 0 && c.trace.firstRead.IsZero() && idempotent(req) && !errors.Is(err, os.ErrDeadlineExceeded) {
			c.trace.in, c.trace.out = 0, 0
			continue
		}
		return err
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
	if h.header == nil {
		h.header = nethttp.Header{}
	}
	for k, vs := range h.header {
		h.header[k] = vs[:0]
	}
	for k, v := range req.Header.All() {
		switch string(k) {
		case "Host", "Connection", "Content-Length", "Transfer-Encoding":
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
	hreq := &h.hreq
	*hreq = nethttp.Request{Method: h.method, URL: h.url, Host: d.host, Header: h.header, Proto: "HTTP/2.0", ProtoMajor: 2}
	return hreq, nil
}

// readH2 copies an HTTP/2 response into c.resp, keeping the body only
// when a check or an extractor reads it.
func (c *Client) readH2(st *Step, hresp *nethttp.Response) error {
	defer hresp.Body.Close()
	resp := &c.resp
	resp.Reset()
	resp.SetStatusCode(hresp.StatusCode)
	for k, vs := range hresp.Header {
		for _, v := range vs {
			resp.Header.Add(k, v)
		}
	}
	if !st.keepBody {
		_, err := io.Copy(io.Discard, hresp.Body)
		return err
	}
	n, err := io.Copy(resp.BodyWriter(), io.LimitReader(hresp.Body, int64(st.maxBody)+1))
	if err != nil {
		return err
	}
	if n > int64(st.maxBody) {
		return fasthttp.ErrBodyTooLarge
	}
	return nil
}
