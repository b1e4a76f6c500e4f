// Package http is the HTTP step runner. It builds each request from a
// compiled step and the VU's template state, times it (DNS, connect, TLS,
// send, time to first byte, receive) and classifies its outcome.
//
// HTTP/2 (h2.go) dials as HTTP/1.1 does and hands the connection to
// x/net/http2's ClientConn, converting requests and responses from and to
// the fasthttp ones, so cookies (cookies.go), redirects (redirect.go),
// bodies and auth (bodies.go) and checks are one code for both versions;
// it allocates per request where HTTP/1.1 does not, the price of a
// complete HTTP/2 implementation. A parallel group (DoGroup) sends its
// steps as concurrent streams of the VU's connection, each from a lane:
// a Client of its own for request and response whose root, the VU's
// Client, holds the connections, TLS sessions and cookie jar they share. The cookie jar and
// redirect parsing cost nothing until a response sets a cookie or
// redirects.
//
// Design: every VU owns one keep-alive connection per host, like wrk, held
// by a fasthttp HostClient with MaxConns 1 and no hidden retries, so the
// per-request cost stays near wrk's and every failure is counted. Phase
// timings come from a thin wrapper around the connection (dial, first
// write, first read) rather than from a tracing callback chain. Requests
// and responses are reused per VU: a request allocates nothing once the
// VU is warm.
package http

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/net/http2"

	"github.com/stampede-perf/stampede/load"
	"github.com/stampede-perf/stampede/metrics"
	"github.com/stampede-perf/stampede/plan"
	"github.com/stampede-perf/stampede/tmpl"
)

// Config is what all steps of a plan share.
type Config struct {
	Timeout   time.Duration
	Insecure  bool
	KeepAlive bool
	// Slot is the index of the VU slot holding HTTP state.
	Slot int
	// WriteBuffer is the size of the write buffers (default 4096) when
	// Buffers is nil.
	WriteBuffer int
	// Buffers are shared by the VUs of a run; nil gives each VU its own.
	Buffers *Buffers
	// Cookies is the jar mode (plan.CookiesOn, CookiesOff, CookiesKeep).
	Cookies plan.CookieMode
	// TLS is the base of every TLS connection (trusted authorities,
	// client certificate, server name, minimum version); nil: Go's
	// defaults and Insecure.
	TLS *tls.Config
	// NoResumption makes every TLS connection a full handshake; otherwise
	// each VU keeps its sessions and resumes them.
	NoResumption bool
	// HTTP2 sends requests over HTTP/2 (h2 by ALPN over TLS, h2c with
	// prior knowledge over cleartext).
	HTTP2 bool
	// Multiplex: the plan has parallel steps, whose concurrent streams
	// need x/net/http2's ClientConn; the VU's one connection per host is
	// then a ClientConn for all its requests. Otherwise it is the VU's
	// own h2conn, one stream at a time.
	Multiplex bool
	// Proxy chooses the proxy of a URL (nil: none); see ProxyFunc.
	Proxy func(*url.URL) (*url.URL, error)
}

// Step is one compiled HTTP step.
type Step struct {
	cfg      Config
	name     string
	method   []byte
	dest     dest
	path     *tmpl.Template // path and static query
	query    []queryParam
	headers  []header
	body     *tmpl.Template
	timeout  time.Duration
	extract  []extractor
	check    *tmpl.Check
	hasQuery bool // path already contains '?'
	// keepBody: a check or an extractor reads the body, which is then
	// kept up to maxBody bytes; otherwise it is counted and discarded as
	// it arrives, whatever its size.
	keepBody bool
	maxBody  int
	// redirects is how many redirects the step follows.
	redirects int
	bodies
}

// dest is where a request goes: the step's own target, or where a
// redirect led.
type dest struct {
	addr   string // host:port to dial
	host   string // Host header
	origin string // scheme://host, for cookies, redirects and HTTP/2
	tls    bool
}

func newDest(u *url.URL) dest {
	d := dest{tls: u.Scheme == "https", host: u.Host, addr: u.Host, origin: u.Scheme + "://" + u.Host}
	if u.Port() == "" {
		if d.tls {
			d.addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			d.addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	return d
}

type header struct {
	name string
	val  *tmpl.Template
}

type queryParam struct {
	name string
	val  *tmpl.Template
}

type extractor struct {
	name string
	x    *tmpl.Extractor
}

// Compile builds a step from its plan form. base is the plan's target.
func Compile(t plan.Target, s *plan.Step, c *tmpl.Compiler, cfg Config) (*Step, error) {
	st := &Step{cfg: cfg, name: s.Name, method: []byte(strings.ToUpper(s.Method)), timeout: s.Timeout.D()}
	if len(st.method) == 0 {
		st.method = []byte("GET")
	}
	if st.timeout <= 0 {
		st.timeout = cfg.Timeout
	}
	raw := s.Path
	var base *url.URL
	if strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://") {
		// An absolute URL: its scheme and host must be literal.
		i := strings.Index(raw[strings.Index(raw, "//")+2:], "/")
		prefix := raw
		rest := "/"
		if i >= 0 {
			cut := strings.Index(raw, "//") + 2 + i
			prefix, rest = raw[:cut], raw[cut:]
		}
		if strings.Contains(prefix, "{{") {
			return nil, errors.New("path: the scheme and host of an absolute URL cannot be templated")
		}
		u, err := url.Parse(prefix)
		if err != nil {
			return nil, fmt.Errorf("path: %v", err)
		}
		base, raw = u, rest
	} else {
		u, err := url.Parse(t.BaseURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("target.base_url %q is not an absolute URL (e.g. http://127.0.0.1:8080)", t.BaseURL)
		}
		base = u
		p := strings.TrimRight(u.Path, "/")
		if raw == "" {
			raw = "/"
		}
		if !strings.HasPrefix(raw, "/") {
			raw = "/" + raw
		}
		raw = p + raw
	}
	st.dest = newDest(base)
	st.redirects = plan.DefaultRedirects
	if t.Redirects != nil {
		st.redirects = *t.Redirects
	}
	if s.Redirects != nil {
		st.redirects = *s.Redirects
	}
	var err error
	if st.path, err = c.Compile(raw); err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	st.hasQuery = strings.Contains(raw, "?")
	for _, k := range slices.Sorted(maps.Keys(s.Query)) {
		v, err := c.Compile(s.Query[k])
		if err != nil {
			return nil, fmt.Errorf("query.%s: %w", k, err)
		}
		st.query = append(st.query, queryParam{name: k, val: v})
	}
	hdrs := map[string]string{}
	for k, v := range t.Headers {
		hdrs[k] = v
	}
	for k, v := range s.Headers {
		hdrs[k] = v
	}
	if !hasHeader(hdrs, "User-Agent") {
		hdrs["User-Agent"] = "stampede"
	}
	body := s.Body
	if s.JSON != nil {
		b, err := jsonBody(s.JSON)
		if err != nil {
			return nil, fmt.Errorf("json: %w", err)
		}
		body = b
		if !hasHeader(hdrs, "Content-Type") {
			hdrs["Content-Type"] = "application/json"
		}
	}
	if err := st.bodies.compile(t, s, c, hdrs); err != nil {
		return nil, err
	}
	for _, k := range slices.Sorted(maps.Keys(hdrs)) {
		v, err := c.Compile(hdrs[k])
		if err != nil {
			return nil, fmt.Errorf("headers.%s: %w", k, err)
		}
		st.headers = append(st.headers, header{name: k, val: v})
	}
	if len(body) > plan.MaxRequestBody {
		// A flag-built plan's --body @file, or a large json block: each VU
		// holds its own expanded copy.
		return nil, fmt.Errorf("body: %d bytes is above the limit of %d MiB", len(body), plan.MaxRequestBody>>20)
	}
	if body != "" {
		if st.body, err = c.Compile(body); err != nil {
			return nil, fmt.Errorf("body: %w", err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Extract)) {
		x, err := tmpl.CompileExtractor(s.Extract[k])
		if err != nil {
			return nil, fmt.Errorf("extract.%s: %w", k, err)
		}
		st.extract = append(st.extract, extractor{name: k, x: x})
	}
	// A step without a check still fails on 4xx and 5xx.
	if st.check, err = tmpl.CompileCheck(s.Check); err != nil {
		return nil, fmt.Errorf("check: %w", err)
	}
	st.keepBody = st.check.NeedsBody()
	for _, x := range st.extract {
		st.keepBody = st.keepBody || x.x.NeedsBody()
	}
	st.maxBody = int(t.MaxBody)
	switch {
	case st.maxBody <= 0:
		st.maxBody = plan.DefaultMaxBody
	case st.maxBody > plan.MaxMaxBody:
		return nil, fmt.Errorf("target.max_body %d is above the limit of %d bytes", t.MaxBody, plan.MaxMaxBody)
	}
	return st, nil
}

func hasHeader(h map[string]string, name string) bool {
	for k := range h {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

// Client is a VU's HTTP state: its own connection per host, a reusable
// request and response, and the timing of the current request. fasthttp
// writes requests and parses responses; the connection is the VU's alone
// (no pool, no background goroutine), which keeps thousands of VUs light
// and makes every phase of a request attributable.
type Client struct {
	cfg Config
	cookies
	sessions tls.ClientSessionCache // nil until the first TLS dial
	h2       *h2Client              // nil until the first HTTP/2 request
	bufs     *Buffers
	hosts    []*hostConn
	req      fasthttp.Request
	resp     fasthttp.Response
	buf      []byte // the request URI
	val      []byte
	uri      []byte       // an absolute request URI, for proxies
	scratch  []byte       // a form body, an Authorization value
	mp       bytes.Buffer // a templated multipart body
	// first holds the start of a response while the VU waits for it: a
	// VU borrows a read buffer only once its response has begun, so
	// thousands of VUs waiting on a slow server hold firstSize bytes
	// each, not a whole read buffer.
	first   *firstRead
	trace   trace
	cur     atomic.Pointer[tconn] // the connection in use, for Interrupt
	stopped atomic.Bool
	peek    func(string) string
	h2p     atomic.Pointer[h2Client] // c.h2, for Interrupt

	// A parallel group over HTTP/2 runs each of its steps but the first
	// on a lane: a Client of its own for the request and response, whose
	// root is the VU's Client, which holds the connections, the TLS
	// sessions and the cookie jar they share. root is c itself for the
	// VU's Client.
	root  *Client
	lanes []*Client
	// grouped: a parallel group is running on this Client (a lane or
	// the root); its connection's deadline is the group's.
	grouped bool
	// The root's: mu guards the hosts and the TLS sessions while a group
	// runs; groupDeadline is the running group's.
	mu            sync.Mutex
	groupDeadline time.Time
}

type hostConn struct {
	addr, serverName string
	tls              bool
	// proxy is the proxy's host:port when requests to this host go
	// through one; proxyAuth its Proxy-Authorization value.
	proxy, proxyAuth string
	conn             *tconn        // nil when not connected
	br               *bufio.Reader // held only while a response is partly read
	// HTTP/2: the connection's client and the counting wrapper under it;
	// nil when not connected.
	cc   *http2.ClientConn
	wire *countConn
	// own is the HTTP/2 connection of a plan without parallel steps
	// (Config.Multiplex false); nil when not connected.
	own *h2conn
}

// Buffers are the read and write buffers VUs borrow while a request is on
// the wire; an idle VU holds none. Safe for concurrent use.
type Buffers struct {
	readers, writers sync.Pool
	writeSize        int
	lent             atomic.Int64 // read buffers borrowed now
}

// NewBuffers returns buffers whose writers hold writeSize bytes (4096 when
// zero). Readers hold 4096 bytes, which also bounds a response's headers.
func NewBuffers(writeSize int) *Buffers {
	if writeSize <= 0 {
		writeSize = 4096
	}
	return &Buffers{writeSize: writeSize}
}

func (b *Buffers) reader(r io.Reader) *bufio.Reader {
	b.lent.Add(1)
	if v, ok := b.readers.Get().(*bufio.Reader); ok {
		v.Reset(r)
		return v
	}
	return bufio.NewReaderSize(r, 4096)
}

func (b *Buffers) putReader(r *bufio.Reader) {
	b.lent.Add(-1)
	r.Reset(nil)
	b.readers.Put(r)
}

func (b *Buffers) writer(w io.Writer) *bufio.Writer {
	if v, ok := b.writers.Get().(*bufio.Writer); ok {
		v.Reset(w)
		return v
	}
	return bufio.NewWriterSize(w, b.writeSize)
}

func (b *Buffers) putWriter(w *bufio.Writer) {
	w.Reset(nil)
	b.writers.Put(w)
}

// NewClient returns the HTTP state of one VU.
func NewClient(cfg Config) *Client {
	c := &Client{cfg: cfg, bufs: cfg.Buffers}
	if c.bufs == nil {
		c.bufs = NewBuffers(cfg.WriteBuffer)
	}
	c.root = c
	c.peek = func(name string) string { return string(c.resp.Header.Peek(name)) }
	return c
}

func (c *Client) host(d *dest) (*hostConn, error) {
	for _, h := range c.hosts {
		if h.addr == d.addr && h.tls == d.tls {
			return h, nil
		}
	}
	h := &hostConn{addr: d.addr, tls: d.tls, serverName: hostOnly(d.addr)}
	if c.cfg.Proxy != nil {
		scheme := "http"
		if d.tls {
			scheme = "https"
		}
		pu, err := c.cfg.Proxy(&url.URL{Scheme: scheme, Host: d.host})
		if err != nil {
			return nil, fmt.Errorf("proxy: %w", err)
		}
		if pu != nil {
			if h.proxy, err = proxyAddr(pu); err != nil {
				return nil, err
			}
			h.proxyAuth = proxyAuthorization(pu)
		}
	}
	if len(c.hosts) >= maxHosts { // redirects to ever new hosts: forget the oldest
		c.closeConn(c.hosts[0])
		c.hosts = slices.Delete(c.hosts, 0, 1)
	}
	c.hosts = append(c.hosts, h)
	return h, nil
}

// maxHosts bounds the hosts a VU keeps a connection to.
const maxHosts = 64

func hostOnly(addr string) string {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return h
}

// Close closes the VU's connections.
func (c *Client) Close() error {
	for _, h := range c.hosts {
		c.closeConn(h)
	}
	return nil
}

// Interrupt aborts the request in flight, if any; safe to call from any
// goroutine.
func (c *Client) Interrupt() {
	c.stopped.Store(true)
	if tc := c.cur.Load(); tc != nil {
		tc.Conn.SetDeadline(time.Unix(1, 0))
	}
	if h := c.h2p.Load(); h != nil {
		if w := h.cur.Load(); w != nil {
			w.SetDeadline(time.Unix(1, 0))
		}
	}
}

var _ load.Interrupter = (*Client)(nil)

func (c *Client) closeConn(h *hostConn) {
	if h.br != nil {
		c.bufs.putReader(h.br)
		h.br = nil
	}
	if h.conn != nil {
		h.conn.Conn.Close()
		h.conn = nil
	}
	if h.cc != nil {
		h.cc.Close()
		h.cc, h.wire = nil, nil
	}
	if h.own != nil {
		h.own.Close()
		h.own = nil
	}
}

// roundTrip sends req and reads resp on the VU's connection to the step's
// host, dialling when there is none. A reused keep-alive connection that
// the server had closed while idle is redialled once for idempotent
// requests, as browsers do; nothing of the response had arrived then.
func (c *Client) roundTrip(h *hostConn, st *Step, req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error {
	for attempt := 0; ; attempt++ {
		reused := h.conn != nil
		if !reused {
			if err := c.dial(h, deadline); err != nil {
				return err
			}
		}
		c.cur.Store(h.conn) // what Interrupt cuts
		if err := h.conn.SetDeadline(deadline); err != nil {
			c.closeConn(h)
			return err
		}
		if c.stopped.Load() { // an Interrupt before the deadline was set
			c.closeConn(h)
			return context.Canceled
		}
		c.trace.sent = time.Now() // after any dial: TTFB is the server's part
		err := c.exchange(h, st, req, resp)
		if err == nil {
			if resp.ConnectionClose() || req.ConnectionClose() {
				c.closeConn(h)
			}
			return nil
		}
		c.closeConn(h)
		if reused && attempt == 0 && c.trace.in == 0 && idempotent(req) && stale(err) && !c.stopped.Load() {
			c.trace.out = 0
			continue
		}
		return err
	}
}

func (c *Client) exchange(h *hostConn, st *Step, req *fasthttp.Request, resp *fasthttp.Response) error {
	bw := c.bufs.writer(h.conn)
	err := req.Write(bw)
	if err == nil {
		err = bw.Flush()
	}
	c.bufs.putWriter(bw)
	if err != nil {
		return err
	}
	if h.br == nil {
		if c.first == nil {
			c.first = new(firstRead)
		}
		h.br = c.bufs.reader(c.first.wait(h.conn))
	}
	resp.Reset() // the body buffer goes back to fasthttp's pool
	resp.SkipBody = req.Header.IsHead()
	// A body nothing reads streams through a pooled buffer: its size costs
	// no memory. (The byte count comes from the connection.)
	resp.StreamBody = !st.keepBody
	if err := resp.ReadLimitBody(h.br, st.maxBody); err != nil {
		return err
	}
	if bs := resp.BodyStream(); bs != nil {
		_, err := io.Copy(io.Discard, bs)
		if cerr := resp.CloseBodyStream(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if h.br.Buffered() == 0 { // nothing pipelined behind: an idle VU holds no buffer
		c.bufs.putReader(h.br)
		h.br = nil
	}
	return nil
}

// firstSize is the bytes of a response a VU reads before it borrows a
// read buffer: a small response is whole in them, so waiting costs no
// extra read.
const firstSize = 512

// firstRead is a reader that waits for a response's first bytes in a
// small buffer of its own and then yields them, any error of that first
// read, and the rest of the connection.
type firstRead struct {
	buf  [firstSize]byte
	head []byte
	err  error
	conn io.Reader
}

// wait blocks until conn has sent something (or failed) and returns the
// reader that gives it back, followed by the rest of conn.
func (f *firstRead) wait(conn io.Reader) io.Reader {
	n, err := conn.Read(f.buf[:])
	f.head, f.err, f.conn = f.buf[:n], err, conn
	return f
}

func (f *firstRead) Read(p []byte) (int, error) {
	if len(f.head) > 0 {
		n := copy(p, f.head)
		f.head = f.head[n:]
		return n, nil
	}
	if f.err != nil {
		err := f.err
		f.err = nil
		return 0, err
	}
	return f.conn.Read(p)
}

func idempotent(req *fasthttp.Request) bool {
	h := &req.Header
	return h.IsGet() || h.IsHead() || h.IsPut() || h.IsDelete() || h.IsOptions() || h.IsTrace()
}

// stale reports an error that a connection closed by the server while idle
// gives on its next use.
func stale(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, fasthttp.ErrConnectionClosed)
}

// trace is the timing of one request, written by the connection wrapper.
type trace struct {
	dns, connect, tls time.Duration
	sent              time.Time // the request started going out, after any dial
	firstRead         time.Time // first read that returned bytes, after the request went out
	in, out           int64
}

// tconn wraps a connection to count bytes and time the first byte of a
// response. (Go's runtime tries a read before waiting for readability;
// skipping that read is not safe because waiting resets the readiness the
// poller already saw, so the wrapper reads plainly.)
type tconn struct {
	net.Conn
	t *trace
}

func (tc *tconn) Write(p []byte) (int, error) {
	n, err := tc.Conn.Write(p)
	tc.t.out += int64(n)
	return n, err
}

func (tc *tconn) Read(p []byte) (int, error) {
	n, err := tc.Conn.Read(p)
	if n > 0 {
		tc.t.in += int64(n)
		if tc.t.firstRead.IsZero() {
			tc.t.firstRead = time.Now()
		}
	}
	return n, err
}

// dial connects h for HTTP/1.1; see connect.
func (c *Client) dial(h *hostConn, deadline time.Time) error {
	conn, err := c.connectAside(h, deadline)
	if err != nil {
		return err
	}
	w := &tconn{Conn: conn, t: &c.trace}
	h.conn = w
	c.cur.Store(w)
	if c.stopped.Load() {
		c.closeConn(h)
		return context.Canceled
	}
	return nil
}

// connectAside runs connect on a goroutine of its own. Resolving,
// dialling and a TLS handshake need several times the stack that a
// request on an open connection does; on the VU's goroutine they would
// grow its stack for the rest of the run (a goroutine's stack shrinks
// only by halves, at collections), and with thousands of VUs the stacks
// are a large part of the generator's memory. A connection is made once
// per keep-alive connection, so the extra goroutine costs little.
func (c *Client) connectAside(h *hostConn, deadline time.Time) (net.Conn, error) {
	type dialed struct {
		conn net.Conn
		err  error
	}
	done := make(chan dialed, 1)
	go func() {
		conn, err := c.connect(h, deadline, "http/1.1")
		done <- dialed{conn, err}
	}()
	d := <-done
	return d.conn, d.err
}

// connect dials h (through its proxy's tunnel when it has one), timing
// name resolution, connect and TLS handshake, which offers proto by
// ALPN; all of it must finish by the request's deadline.
func (c *Client) connect(h *hostConn, deadline time.Time, proto string) (net.Conn, error) {
	if c.root.stopped.Load() {
		return nil, context.Canceled
	}
	target := h.addr
	if h.proxy != "" {
		target = h.proxy
	}
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	ip := host
	if net.ParseIP(host) == nil {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
		cancel()
		if err != nil {
			return nil, err
		}
		if len(ips) == 0 {
			return nil, &net.DNSError{Err: "no addresses", Name: host}
		}
		ip = ips[0].IP.String()
	}
	t1 := time.Now()
	c.trace.dns = t1.Sub(t0)
	conn, err := (&net.Dialer{Deadline: deadline}).Dial("tcp", net.JoinHostPort(ip, port))
	if err != nil {
		return nil, err
	}
	if h.proxy != "" && h.tls { // the tunnel is part of connecting
		if err := connectTunnel(conn, h, deadline); err != nil {
			conn.Close()
			return nil, err
		}
	}
	t2 := time.Now()
	c.trace.connect = t2.Sub(t1)
	if h.tls {
		tc := tls.Client(conn, c.root.tlsConfig(h.serverName, proto))
		tc.SetDeadline(deadline)
		if err := tc.Handshake(); err != nil {
			conn.Close()
			return nil, err
		}
		tc.SetDeadline(time.Time{})
		c.trace.tls = time.Since(t2)
		conn = tc
	}
	return conn, nil
}

// Do runs the step once. See load.Step.
func (st *Step) Do(ctx context.Context, vu *load.VU, s *metrics.Sample) (send, end time.Time) {
	c := vu.Slots[st.cfg.Slot].(*Client)
	state, _ := vu.State.(*tmpl.State)
	if now, failed := st.prepare(c, vu, state, s); failed {
		return now, now
	}
	c.cookies.newIteration(st.cfg.Cookies, vu.Iter)
	send = time.Now()
	x := st.exchange(c, vu.Iter, send.Add(st.timeout))
	end = time.Now()
	st.finish(c, vu, state, s, &x)
	return send, end
}

// prepare builds the step's request in c from the VU's template state.
// It reports failed, and when, if a template met a variable without a
// value.
func (st *Step) prepare(c *Client, vu *load.VU, state *tmpl.State, s *metrics.Sample) (time.Time, bool) {
	req := &c.req
	req.Reset()
	req.Header.SetMethodBytes(st.method)
	c.buf = st.path.AppendURL(c.buf[:0], state) // the request URI, kept for cookies and redirects
	sep := byte('?')
	if st.hasQuery {
		sep = '&'
	}
	for _, q := range st.query {
		c.buf = append(c.buf, sep)
		sep = '&'
		c.buf = appendEscaped(c.buf, q.name)
		c.buf = append(c.buf, '=')
		c.val = q.val.Append(c.val[:0], state)
		c.buf = appendEscaped(c.buf, bytesString(c.val))
	}
	req.Header.SetHost(st.dest.host)
	for _, h := range st.headers {
		c.val = h.val.Append(c.val[:0], state)
		req.Header.SetBytesV(h.name, c.val)
	}
	if st.body != nil {
		req.SetBody(st.body.Append(req.Body()[:0], state))
	}
	st.bodies.set(c, req, state)
	if !st.cfg.KeepAlive {
		req.Header.SetConnectionClose()
	}
	return vu.FailMissing(st.name, s)
}

// exchanged is what a step's exchanges gave: their phases, where the last
// one went, and the error that ended them.
type exchanged struct {
	t    hops
	d    *dest
	err  error
	hops []hop // the redirects followed, in order
}

// hop is one followed redirect: the status that asked for it, where it
// led, and its exchange.
type hop struct {
	status int
	to     string
	d      time.Duration
	failed bool
}

// exchange sends the request prepared in c and follows its redirects,
// all by deadline. Each redirect is one more exchange of the step: its
// phases and bytes add to the step's, so they still add up to its time.
func (st *Step) exchange(c *Client, iter int64, deadline time.Time) exchanged {
	var x exchanged
	t := &x.t
	req := &c.req
	x.d = &st.dest
	status := 0 // the redirect being followed
	for n := 0; ; n++ {
		t.n++
		start := time.Now()
		x.err = c.send(x.d, st, req, deadline, n)
		end := time.Now()
		t.add(&c.trace, end)
		if n > 0 {
			t.redirects += end.Sub(start)
			x.hops = append(x.hops, hop{status: status, to: hopTo(x.d, &st.dest, c.buf), d: end.Sub(start), failed: x.err != nil})
		}
		if x.err != nil {
			break
		}
		if st.cfg.Cookies != plan.CookiesOff {
			c.cookies.store(&c.resp, x.d.origin, c.buf, iter)
		}
		if n >= st.redirects || !isRedirect(c.resp.StatusCode()) {
			break
		}
		status = c.resp.StatusCode()
		next, ok, ferr := c.follow(x.d, req)
		if ferr != nil {
			x.err = ferr
			break
		}
		if !ok {
			break
		}
		x.d = next
	}
	return x
}

// finish fills s from the step's exchanges and runs its check and
// extractors on the response in c.
func (st *Step) finish(c *Client, vu *load.VU, state *tmpl.State, s *metrics.Sample, x *exchanged) {
	t, d := &x.t, x.d
	s.DNSUS, s.ConnUS, s.TLSUS = metrics.Micros(t.dns), metrics.Micros(t.connect), metrics.Micros(t.tls)
	s.TTFBUS, s.RecvUS = metrics.Micros(t.ttfb), metrics.Micros(t.recv)
	s.BytesIn, s.BytesOut = metrics.Clamp32(t.in), metrics.Clamp32(t.out)
	s.Redirects, s.RedirectUS = uint8(min(t.n-1, 255)), metrics.Micros(t.redirects)
	for _, h := range x.hops {
		vu.Hop(h.status, h.to, h.d, h.failed)
	}
	if err := x.err; err != nil {
		s.Kind = Classify(err)
		if vu.WantExample(s.Kind) {
			if s.Kind == metrics.KindBodyTooLarge {
				vu.Example(s.Kind, fmt.Sprintf("%s %s: the response body is larger than target.max_body (%d bytes), which a step that checks or extracts from the body keeps: raise target.max_body (at most %d MiB) or check less of the body",
					st.method, st.where(d, c.buf, t.n), st.maxBody, plan.MaxMaxBody>>20))
			} else {
				vu.Example(s.Kind, fmt.Sprintf("%s %s: %v", st.method, st.where(d, c.buf, t.n), err))
			}
		}
		return
	}
	status := c.resp.StatusCode()
	s.Status = uint16(status)
	body := c.resp.Body()
	if ok, reason := st.check.Check(status, body); !ok {
		s.Kind = statusKind(status, metrics.KindCheckFailed)
		if vu.WantExample(s.Kind) {
			vu.Example(s.Kind, fmt.Sprintf("%s %s: %s", st.method, st.where(d, c.buf, t.n), reason))
		}
		return
	}
	for _, e := range st.extract {
		v, ok := e.x.Extract(body, c.peek)
		if !ok {
			s.Kind = metrics.KindExtractFailed
			if vu.WantExample(s.Kind) {
				vu.Example(s.Kind, fmt.Sprintf("%s %s: nothing to extract into %q", st.method, st.where(d, c.buf, t.n), e.name))
			}
			return
		}
		if state != nil {
			state.Set(e.name, v)
		}
	}
}

// where names the request of an example message: the step's path, and
// where its redirects led when it followed any.
func (st *Step) where(d *dest, uri []byte, exchanges int) string {
	if exchanges <= 1 {
		return st.path.Raw()
	}
	return fmt.Sprintf("%s (after %d redirects, at %s%s)", st.path.Raw(), exchanges-1, d.origin, uri)
}

func statusKind(status int, otherwise metrics.ErrKind) metrics.ErrKind {
	switch {
	case status >= 500:
		return metrics.KindHTTP5xx
	case status >= 400:
		return metrics.KindHTTP4xx
	}
	return otherwise
}

// Classify maps a transport error to its kind.
func Classify(err error) metrics.ErrKind {
	var dnsErr *net.DNSError
	var recErr tls.RecordHeaderError
	var certErr *tls.CertificateVerificationError
	var unkAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return metrics.KindBodyTooLarge
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return metrics.KindTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return metrics.KindConnRefused
	case errors.As(err, &dnsErr):
		return metrics.KindDNS
	case errors.As(err, &recErr), errors.As(err, &certErr), errors.As(err, &unkAuth), errors.As(err, &hostErr),
		strings.HasPrefix(err.Error(), "tls:"), strings.HasPrefix(err.Error(), "remote error: tls:"):
		return metrics.KindTLS
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, net.ErrClosed):
		return metrics.KindConnReset
	case errors.As(err, &netErr) && netErr.Timeout():
		return metrics.KindTimeout
	}
	return metrics.KindOther
}

// Vars lists the variables the step's templates read that are neither
// built-ins nor feeder columns nor plan variables.
func (st *Step) Vars() []string {
	var out []string
	add := func(t *tmpl.Template) {
		if t != nil {
			out = append(out, t.Vars()...)
		}
	}
	add(st.path)
	add(st.body)
	out = append(out, st.bodies.vars()...)
	for _, q := range st.query {
		add(q.val)
	}
	for _, h := range st.headers {
		add(h.val)
	}
	return out
}
