package http

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	nethttp "net/http"
	"net/http/httptrace"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// h2Client is a VU's HTTP/2 state: a net/http Transport that speaks only
// HTTP/2 (h2 by ALPN over TLS, h2c with prior knowledge over cleartext)
// and holds at most one connection per host, so a VU is one connection
// as on the HTTP/1.1 path. Requests and responses are converted from and
// to the VU's fasthttp ones, so checks, extractors, cookies and redirects
// are the same code for both versions.
//
// The Transport reads frames and dials on goroutines of its own: the
// phases they report are guarded by mu and the byte counts are atomic.
type h2Client struct {
	tr     *nethttp.Transport
	ctx    context.Context // cancelled by Interrupt
	cancel context.CancelFunc
	trace  *httptrace.ClientTrace
	body   bytes.Reader
	hreq   nethttp.Request
	// The last request's URL, method and headers, reused when the next
	// one is the same.
	url                 *url.URL
	origin, uri, method string
	header              nethttp.Header

	in, out atomic.Int64 // bytes over the VU's connections

	mu sync.Mutex // guards ph
	ph h2phases
}

type h2phases struct {
	dnsStart, connStart, tlsStart time.Time
	dns, connect, tls             time.Duration
	sent, firstByte               time.Time
}

func (c *Client) newH2() *h2Client {
	h := &h2Client{}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	protos := new(nethttp.Protocols)
	protos.SetHTTP2(true)
	protos.SetUnencryptedHTTP2(true)
	dialer := &net.Dialer{}
	h.tr = &nethttp.Transport{
		Protocols:          protos,
		ForceAttemptHTTP2:  true,
		MaxConnsPerHost:    1,
		DisableCompression: true,
		DisableKeepAlives:  !c.cfg.KeepAlive,
		TLSClientConfig:    c.tlsConfig("", "h2"),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &countConn{Conn: conn, in: &h.in, out: &h.out}, nil
		},
	}
	if c.cfg.Proxy != nil {
		h.tr.Proxy = func(r *nethttp.Request) (*url.URL, error) { return c.cfg.Proxy(r.URL) }
	}
	at := func(f func(p *h2phases)) {
		h.mu.Lock()
		f(&h.ph)
		h.mu.Unlock()
	}
	h.trace = &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { at(func(p *h2phases) { p.dnsStart = time.Now() }) },
		DNSDone:           func(httptrace.DNSDoneInfo) { at(func(p *h2phases) { p.dns = time.Since(p.dnsStart) }) },
		ConnectStart:      func(_, _ string) { at(func(p *h2phases) { p.connStart = time.Now() }) },
		ConnectDone:       func(_, _ string, _ error) { at(func(p *h2phases) { p.connect = time.Since(p.connStart) }) },
		TLSHandshakeStart: func() { at(func(p *h2phases) { p.tlsStart = time.Now() }) },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { at(func(p *h2phases) { p.tls = time.Since(p.tlsStart) }) },
		GotConn:           func(httptrace.GotConnInfo) { at(func(p *h2phases) { p.sent = time.Now() }) },
		GotFirstResponseByte: func() {
			at(func(p *h2phases) {
				if p.firstByte.IsZero() {
					p.firstByte = time.Now()
				}
			})
		},
	}
	h.ctx = httptrace.WithClientTrace(h.ctx, h.trace) // every request's context derives from it
	c.h2 = h
	c.h2p.Store(h)
	return h
}

func (h *h2Client) close() {
	h.cancel()
	h.tr.CloseIdleConnections()
}

// countConn counts the bytes of a connection the Transport reads and
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

// sendH2 sends req to d over HTTP/2 and reads the answer into c.resp.
func (c *Client) sendH2(d *dest, st *Step, req *fasthttp.Request, deadline time.Time) error {
	h := c.h2
	if h == nil {
		h = c.newH2()
	}
	if c.stopped.Load() {
		return context.Canceled
	}
	// A request like the last one reuses its URL, method and header
	// strings: the Transport neither changes nor keeps them.
	if h.url == nil || h.origin != d.origin || h.uri != bytesString(c.buf) {
		u, err := url.Parse(d.origin + bytesString(c.buf))
		if err != nil {
			return err
		}
		h.url, h.origin, h.uri = u, d.origin, string(c.buf)
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
	if b := req.Body(); len(b) > 0 {
		h.body.Reset(b)
		hreq.Body = io.NopCloser(&h.body)
		hreq.ContentLength = int64(len(b))
	}
	h.mu.Lock()
	h.ph = h2phases{}
	h.mu.Unlock()
	in0, out0 := h.in.Load(), h.out.Load()
	ctx, cancel := context.WithDeadline(h.ctx, deadline)
	defer cancel()
	start := time.Now()
	hresp, err := h.tr.RoundTrip(hreq.WithContext(ctx))
	if err == nil {
		err = c.readH2(st, hresp)
	}
	h.mu.Lock()
	ph := h.ph
	h.mu.Unlock()
	t := &c.trace
	t.dns, t.connect, t.tls = ph.dns, ph.connect, ph.tls
	t.sent, t.firstRead = ph.sent, ph.firstByte
	if t.sent.IsZero() {
		t.sent = start
	}
	t.in, t.out = h.in.Load()-in0, h.out.Load()-out0
	if err != nil && c.stopped.Load() {
		return context.Canceled
	}
	return err
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
